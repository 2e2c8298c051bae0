// Entry point of the boosted-trees module. The host (stages/lib/gbt/) owns the memory layout:
// this module has no allocator and no static data, so every thread can instantiate it on one
// shared memory and run tasks of the same job.

import { gradientTask } from "./loss";
import { binTask } from "./bin";
import { buildTask, histogramTask, transposeTask } from "./hist";
import { applyTask, partitionBlockTask, partitionMergeTask, partitionTask, splitApplyTask } from "./rows";
import {
  word,
  ptr,
  J_KIND,
  J_TASK_PTR,
  KIND_APPLY,
  KIND_BIN,
  KIND_GRADIENTS,
  KIND_HIST_BUILD,
  KIND_HISTOGRAMS,
  KIND_PARTITION,
  KIND_PARTITION_BLOCK,
  KIND_PARTITION_MERGE,
  KIND_SPLIT_APPLY,
  KIND_TRANSPOSE,
  TASK_BYTES,
} from "./layout";

/**
 * Runs tasks of job number `gen` until none is left, and returns how many this thread ran. Every
 * thread calls this; a task goes to whichever thread claims it first, and a thread that wakes up
 * late (or for a job that is over) claims nothing, so no thread ever waits for a slow one to start.
 *
 * The claim word (i64 at `claim`) holds job number (24 bits), task count (20) and next task (20):
 * a claim is one compare-exchange that succeeds only for the current job while tasks remain, and
 * the job header is read only after it, when the job cannot be over. `done` counts finished tasks.
 */
export function runJob(ctx: usize, job: usize, claim: usize, done: usize, gen: i32): i32 {
  let ran = 0;
  let old = atomic.load<i64>(claim);
  // While the word is this job's and tasks remain.
  while (<i32>(old >>> 40) == (gen & 0xffffff) && <i32>(old & 0xfffff) < <i32>((old >>> 20) & 0xfffff)) {
    const seen = atomic.cmpxchg<i64>(claim, old, old + 1);
    if (seen != old) {
      old = seen;
      continue;
    }
    const next = <i32>(old & 0xfffff);
    const kind = word(job, J_KIND);
    const task = ptr(job, J_TASK_PTR) + <usize>next * TASK_BYTES;
    if (kind == KIND_GRADIENTS) gradientTask(ctx, job, next);
    else if (kind == KIND_HISTOGRAMS) histogramTask(ctx, task);
    else if (kind == KIND_PARTITION) partitionTask(ctx, task);
    else if (kind == KIND_APPLY) applyTask(ctx, task);
    else if (kind == KIND_TRANSPOSE) transposeTask(ctx, next);
    else if (kind == KIND_HIST_BUILD) buildTask(ctx, task);
    else if (kind == KIND_SPLIT_APPLY) splitApplyTask(ctx, task);
    else if (kind == KIND_PARTITION_BLOCK) partitionBlockTask(ctx, task);
    else if (kind == KIND_PARTITION_MERGE) partitionMergeTask(ctx, task);
    else if (kind == KIND_BIN) binTask(task);
    else unreachable();
    ran++;
    atomic.add<i32>(done, 1);
    atomic.notify(done, 1);
    old = atomic.load<i64>(claim);
  }
  return ran;
}

export { sortFloat64 } from "./sort";

/** First byte the host may use. */
export function heapBase(): usize {
  return __heap_base;
}
