// Entry point of the boosted-trees module. The host (stages/lib/gbt/) owns the memory layout:
// this module has no allocator and no static data, so every thread can instantiate it on one
// shared memory and run tasks of the same job.

import { gradientTask } from "./loss";
import { histogramTask, transposeTask } from "./hist";
import { applyTask, partitionTask } from "./rows";
import {
  word,
  ptr,
  J_KIND,
  J_NEXT,
  J_TASKS,
  J_TASK_PTR,
  KIND_APPLY,
  KIND_GRADIENTS,
  KIND_HISTOGRAMS,
  KIND_PARTITION,
  KIND_TRANSPOSE,
  TASK_BYTES,
} from "./layout";

/**
 * Runs tasks of the job at `job` until none is left: each thread calls this, and each task goes to
 * whichever thread claims it first. Returns the number of tasks this thread ran.
 */
export function runJob(ctx: usize, job: usize): i32 {
  const kind = word(job, J_KIND);
  const count = word(job, J_TASKS);
  const tasks = ptr(job, J_TASK_PTR);
  let ran = 0;
  let t = atomic.add<i32>(job + ((<usize>J_NEXT) << 2), 1);
  while (t < count) {
    const task = tasks + <usize>t * TASK_BYTES;
    if (kind == KIND_GRADIENTS) gradientTask(ctx, job, t);
    else if (kind == KIND_HISTOGRAMS) histogramTask(ctx, task);
    else if (kind == KIND_PARTITION) partitionTask(ctx, task);
    else if (kind == KIND_APPLY) applyTask(ctx, task);
    else if (kind == KIND_TRANSPOSE) transposeTask(ctx, t);
    else unreachable();
    ran++;
    t = atomic.add<i32>(job + ((<usize>J_NEXT) << 2), 1);
  }
  return ran;
}

export { sortFloat64 } from "./sort";

/** First byte the host may use. */
export function heapBase(): usize {
  return __heap_base;
}
