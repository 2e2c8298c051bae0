/**
 * Handing one job to a runner and reading back what it left: the job is written to its folder in
 * the store first (jobs/<key>/job.json, replacing any earlier attempt), the runner runs it, and
 * the outcome is what the runner holds or, failing that, what the store holds — the result, the
 * failure record, or (neither) a lost job. A job that succeeded leaves no folder behind; a failed
 * one keeps its folder (failure record, events, log) for the user to read until the next attempt
 * or `gc`.
 */
import type { Store } from "../cache/store.js";
import type { BatchJobRef } from "./events.js";
import type { JobOutcome } from "./job.js";
import { removeJob, writeJob } from "./job-folder.js";
import { jobFailureFile, writeJobDoc, type Job, type JobFailure } from "./records.js";
import { readJobOutcome } from "./results.js";
import type { RunnerContext, StageRunner } from "./runners/runner.js";

export type DispatchOutcome =
  JobOutcome | { readonly ok: false; readonly cancelled: true; readonly cancelledJob?: BatchJobRef };

export async function dispatchJob(
  store: Store,
  runner: StageRunner,
  job: Job,
  ctx: Omit<RunnerContext, "store">,
): Promise<DispatchOutcome> {
  const started = performance.now();
  await writeJob(store, job);
  const result = await runner.run(job, { ...ctx, store });
  if (result.cancelled) {
    // Interrupted or stopped by the run itself: nothing of the stage's to keep.
    await removeJob(store, job.key);
    return {
      ok: false,
      cancelled: true,
      ...(result.cancelledJob ? { cancelledJob: result.cancelledJob } : {}),
    };
  }
  let outcome: JobOutcome | undefined = result.outcome;
  if (!outcome) {
    const stored = await readJobOutcome(store, job);
    if (stored) outcome = stored.ok ? { ...stored, values: {} } : stored;
  }
  if (!outcome) {
    const failure: JobFailure = {
      key: job.key,
      stageId: job.stageId,
      at: new Date().toISOString(),
      durationMs: Math.round(performance.now() - started),
      failure: {
        kind: "lost",
        code: "QV_EXEC_FAILED",
        detail: `the ${runner.name} runner returned without a result or a failure record`,
      },
    };
    await writeJobDoc(store, jobFailureFile, failure, job.key).catch(() => {});
    outcome = { ok: false, failure };
  }
  if (outcome.ok) await removeJob(store, job.key);
  return outcome;
}
