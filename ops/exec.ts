/**
 * `exec`: run one stage job that another process wrote to the store (jobs/<key>/job.json): inputs
 * are read from the store, the result or a failure record is written to it, and so is everything
 * the job says on the way (engine/job-folder.ts): `started` (proof that this machine sees and can
 * write the store), progress, notes, and `exit`. What the subprocess runner starts on this machine,
 * and a batch system's node starts elsewhere.
 *
 * Two executions of one key (a head that died and a new one, both with a job in a queue) do not
 * both compute: each holds the key's `exec` lock while it runs, and the second finds the result.
 */
import fs from "node:fs";
import os from "node:os";
import type { Store } from "../cache/store.js";
import { isCacheKey, type CacheKey } from "../core/hash.js";
import type { JobEvent } from "../engine/runners/index.js";
import { executeJob, inputsFromStore } from "../engine/job.js";
import { JobEventsWriter } from "../engine/job-folder.js";
import type { Registry } from "../engine/pipeline/validate.js";
import { jobFile, readJobDoc, type JobFailure } from "../engine/records.js";
import { readJobOutcome } from "../engine/results.js";
import { OpError, UsageError } from "./errors.js";
import { openStore } from "./store.js";

export interface ExecOptions {
  /** The store holding the job. */
  readonly cacheDir: string;
  readonly key: string;
  /** The stage types this process knows (the job's type and version must be among them). */
  readonly registry: Registry;
  /** Progress and notes of the stage (they are written to the store as well). */
  readonly onEvent?: (e: JobEvent & { readonly stage: string }) => void;
  readonly signal?: AbortSignal;
}

export type ExecReport =
  | {
      readonly ok: true;
      readonly stage: string;
      readonly key: string;
      readonly durationMs: number;
      /** Another execution of the same job stored the result first. */
      readonly byOther: boolean;
    }
  | { readonly ok: false; readonly stage: string; readonly failure: JobFailure };

/** The batch system's id of this process's job, when it runs under one. */
function batchId(): string | undefined {
  const env = process.env;
  if (env.SLURM_ARRAY_JOB_ID && env.SLURM_ARRAY_TASK_ID)
    return `${env.SLURM_ARRAY_JOB_ID}_${env.SLURM_ARRAY_TASK_ID}`;
  return env.SLURM_JOB_ID ?? env.QUIVER_BATCH_ID;
}

export async function exec(opts: ExecOptions): Promise<ExecReport> {
  const key = opts.key;
  if (!isCacheKey(key)) throw new UsageError(`"${key}" is not a cache key`);
  // Never create a store here: on a machine that does not see the head's, that would hide the problem.
  if (!fs.existsSync(opts.cacheDir))
    throw OpError.of(
      "QV_STORE_NOT_SHARED",
      `the store ${opts.cacheDir} does not exist on ${os.hostname()}`,
      "the store must be on a filesystem every node mounts at the same path (--cache-dir)",
    );
  const { store } = await openStore(opts.cacheDir);
  // Registered (and heartbeated from a worker thread, whatever the stage does to the main one) for
  // as long as the job runs — on this machine or on a cluster node — so gc leaves what it writes.
  const leave = await store.registerUse({ command: "exec" }, undefined, { blocking: true });
  try {
    return await execRegistered(store, { ...opts, key });
  } finally {
    await leave();
  }
}

async function execRegistered(store: Store, opts: ExecOptions & { key: CacheKey }): Promise<ExecReport> {
  const job = await readJobDoc(store, jobFile, opts.key);
  if (!job || job.key !== opts.key)
    throw OpError.of("QV_NO_JOB", `no job ${opts.key} in ${opts.cacheDir} (seen from ${os.hostname()})`);
  const def = opts.registry.get(job.doc.stage.type);
  if (!def || def.version !== job.doc.stage.version)
    throw OpError.of(
      "QV_STAGE_VERSION",
      `this Quiver has no stage type ${job.doc.stage.type} version ${job.doc.stage.version}`,
      "the nodes must run the same Quiver as the head (see docs/cluster.md)",
    );
  const t0 = performance.now();
  const events = await JobEventsWriter.open(store, job.key);
  const id = batchId();
  events.write({
    type: "started",
    at: new Date().toISOString(),
    host: os.hostname(),
    pid: process.pid,
    ...(id !== undefined ? { batchId: id } : {}),
  });
  const emit = (e: Extract<JobEvent, { type: "progress" | "note" }>) => {
    events.write(e);
    opts.onEvent?.({ ...e, stage: job.stageId });
  };
  const release = await store.lock(job.key, undefined, "exec");
  let report: ExecReport;
  try {
    if (await readJobOutcome(store, job)) {
      // Another execution of this job finished while this one waited for the lock.
      report = { ok: true, stage: job.stageId, key: job.key, durationMs: 0, byOther: true };
    } else {
      const outcome = await executeJob(store, job, def, {
        loadInput: inputsFromStore(store, job),
        progress: (fraction, message) =>
          emit({ type: "progress", fraction, ...(message !== undefined ? { message } : {}) }),
        note: (message) => emit({ type: "note", message }),
        signal: opts.signal ?? new AbortController().signal,
      });
      const durationMs = Math.round(performance.now() - t0);
      report = outcome.ok
        ? { ok: true, stage: job.stageId, key: outcome.key, durationMs, byOther: false }
        : { ok: false, stage: job.stageId, failure: outcome.failure };
    }
  } finally {
    await release();
  }
  await events.close({
    type: "exit",
    at: new Date().toISOString(),
    code: report.ok ? 0 : 1,
    durationMs: Math.round(performance.now() - t0),
  });
  return report;
}
