/**
 * `exec`: run one stage job that another process wrote to the store (record `job-<key>`): inputs
 * are read from the store, the result or a failure record is written to it. What the subprocess
 * runner starts on this machine, and a batch system's node starts elsewhere.
 */
import type { Store } from "../cache/store.js";
import { isCacheKey, type CacheKey } from "../core/hash.js";
import type { JobEvent } from "../engine/runners/index.js";
import { executeJob, inputsFromStore } from "../engine/job.js";
import type { Registry } from "../engine/pipeline/validate.js";
import { jobRecord, readRecord, type JobFailure } from "../engine/records.js";
import { OpError, UsageError } from "./errors.js";
import { openStore } from "./store.js";

export interface ExecOptions {
  /** The store holding the job. */
  readonly cacheDir: string;
  readonly key: string;
  /** The stage types this process knows (the job's type and version must be among them). */
  readonly registry: Registry;
  /** Progress and notes of the stage. */
  readonly onEvent?: (e: JobEvent & { readonly stage: string }) => void;
  readonly signal?: AbortSignal;
}

export type ExecReport =
  | { readonly ok: true; readonly stage: string; readonly key: string; readonly durationMs: number }
  | { readonly ok: false; readonly stage: string; readonly failure: JobFailure };

export async function exec(opts: ExecOptions): Promise<ExecReport> {
  const key = opts.key;
  if (!isCacheKey(key)) throw new UsageError(`"${key}" is not a cache key`);
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
  const job = await readRecord(store, jobRecord, opts.key);
  if (!job || job.key !== opts.key) throw OpError.of("QV_NO_JOB", `no job ${opts.key} in ${opts.cacheDir}`);
  const def = opts.registry.get(job.doc.stage.type);
  if (!def || def.version !== job.doc.stage.version)
    throw OpError.of(
      "QV_STAGE_VERSION",
      `this Quiver has no stage type ${job.doc.stage.type} version ${job.doc.stage.version}`,
    );
  const t0 = performance.now();
  const emit = (e: JobEvent) => opts.onEvent?.({ ...e, stage: job.stageId });
  const outcome = await executeJob(store, job, def, {
    loadInput: inputsFromStore(store, job),
    progress: (fraction, message) =>
      emit({ type: "progress", fraction, ...(message !== undefined ? { message } : {}) }),
    note: (message) => emit({ type: "note", message }),
    signal: opts.signal ?? new AbortController().signal,
  });
  if (!outcome.ok) return { ok: false, stage: job.stageId, failure: outcome.failure };
  return { ok: true, stage: job.stageId, key: outcome.key, durationMs: Math.round(performance.now() - t0) };
}
