/**
 * Handing one job to a runner and reading back what it left: the job is written to the store
 * first (record `job-<key>`, with any stale failure record of that key removed), the runner runs
 * it, and the outcome is what the runner holds or, failing that, what the store holds — the result,
 * the failure record, or (neither) a lost job. The job and failure records are removed once read.
 */
import type { Store } from "../cache/store.js";
import type { JobOutcome } from "./job.js";
import { jobFailureRecord, jobRecord, writeRecord, type Job } from "./records.js";
import { readJobOutcome } from "./results.js";
import type { RunnerContext, StageRunner } from "./runners/runner.js";

export async function dispatchJob(
  store: Store,
  runner: StageRunner,
  job: Job,
  ctx: Omit<RunnerContext, "store">,
): Promise<JobOutcome> {
  const started = performance.now();
  await store.deleteRecord(jobFailureRecord.name(job.key));
  await writeRecord(store, jobRecord, job, job.key);
  try {
    const result = await runner.run(job, { ...ctx, store });
    if (result.outcome) return result.outcome;
    const stored = await readJobOutcome(store, job);
    if (stored) return stored.ok ? { ...stored, values: {} } : stored;
    return {
      ok: false,
      failure: {
        key: job.key,
        stageId: job.stageId,
        at: new Date().toISOString(),
        durationMs: Math.round(performance.now() - started),
        failure: {
          kind: "lost",
          code: "QV_EXEC_FAILED",
          detail: `the ${runner.name} runner returned without a result or a failure record`,
        },
      },
    };
  } finally {
    await store.deleteRecord(jobRecord.name(job.key)).catch(() => {});
    await store.deleteRecord(jobFailureRecord.name(job.key)).catch(() => {});
  }
}
