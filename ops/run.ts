/**
 * `run` and `status`: run the stages of a pipeline that are not cached (then record the run, write
 * the lock, optionally push and write the report), or only plan them and compare with the lock.
 */
import os from "node:os";
import path from "node:path";
import type { Store } from "../cache/store.js";
import type { Diagnostic } from "../core/diagnostics.js";
import type { CacheKey, FileHashMemo } from "../core/hash.js";
import type { EngineEvent, EventSink, RunReason } from "../engine/events.js";
import type { FingerprintDoc } from "../engine/fingerprint.js";
import { readLastRun, recordDistinctRun } from "../engine/history.js";
import { lockPathFor, readLockFile, type LockVerdict, type PlannedStage } from "../engine/lock-file.js";
import { runEventsRecord, writeRecord, type LastRun } from "../engine/records.js";
import { registerWriter, runPipeline, type RunResult, type StageOutcome } from "../engine/scheduler.js";
import { OpError, UsageError } from "./errors.js";
import { executorFor, type Executor } from "./executor.js";
import { displayPath, type Pipeline } from "./load.js";
import { compareLock, keysOf, writeLockAfterRun } from "./lock.js";
import { openStore, storeDir } from "./store.js";
import type { ExpectedOutputs, TransferReport } from "./remote.js";

export interface PlanOptions {
  /** The store (default: $QUIVER_CACHE, else `.quiver/` next to the pipeline). */
  readonly cacheDir?: string;
  /** Rerun these stages even if cached. */
  readonly force?: readonly string[];
  /** Only these stages and what they need. */
  readonly until?: readonly string[];
  /** Extra folders data files may be read from. */
  readonly dataRoots?: readonly string[];
  /**
   * Read and hash every input file again instead of trusting the file-hash memo (for a file
   * rewritten with its size and mtime restored on purpose; see docs/caching.md).
   */
  readonly rehash?: boolean;
  /** Every decision as it is made (also returned in the result). */
  readonly onEvent?: EventSink;
}

export interface RunOptions extends PlanOptions {
  /** Stages running at once (default: the number of cores). */
  readonly jobs?: number;
  /** After a failure, keep running the stages that do not depend on it. */
  readonly keepGoing?: boolean;
  /** Where stages run: a runner name (`in-process`, the default, `subprocess` or `slurm`). */
  readonly executor?: string;
  /** The command that starts Quiver's command line, for runners that start `quiver exec`. */
  readonly command?: readonly string[];
  /** Read through this remote cache (a directory, file://PATH or http(s)://URL). */
  readonly remote?: string;
  /** After a successful run, upload its results to `remote`. */
  readonly push?: boolean;
  /**
   * Write `<pipeline>.lock` after a successful run: `auto` (default) unless params were
   * overridden (the lock describes the pipeline as committed), `always`, or `never`.
   */
  readonly lock?: "auto" | "always" | "never";
  /** Make this the pipeline's latest run (default true; a sweep's points are not). */
  readonly recordAsLatest?: boolean;
  /** Write the HTML report of this run to this file (`true`: NAME-report.html here). */
  readonly report?: string | true;
  readonly signal?: AbortSignal;
}

export type LockOutcome =
  | { readonly state: "written" | "unchanged"; readonly file: string }
  | { readonly state: "skipped"; readonly reason: "overrides" | "disabled" | "run-failed" };

export interface RunReport {
  readonly ok: boolean;
  readonly outcomes: ReadonlyMap<string, StageOutcome>;
  /** Stage → key of every stage that ran or was cached. */
  readonly keys: Readonly<Record<string, CacheKey>>;
  readonly events: readonly EngineEvent[];
  readonly lock: LockOutcome;
  /** With `push`: what was uploaded, or why the upload failed (the results are safe locally). */
  readonly push?:
    | { readonly ok: true; readonly report: TransferReport }
    | { readonly ok: false; readonly error: Diagnostic };
  readonly remote?: string;
  /** With `report`: the file written. */
  readonly report?: {
    readonly file: string;
    readonly plots: number;
    readonly bytes: number;
    readonly durationMs: number;
  };
}

function checkStages(p: Pipeline, opts: PlanOptions): void {
  for (const s of [...(opts.force ?? []), ...(opts.until ?? [])])
    if (!p.spec.stages.has(s))
      throw new UsageError(`no stage "${s}" in ${p.spec.file}; stages: ${p.spec.order.join(", ")}`);
}

/** Runs the stages that are not cached. */
export async function run(pipeline: Pipeline, opts: RunOptions = {}): Promise<RunReport> {
  const { spec } = pipeline;
  checkStages(pipeline, opts);
  const jobs = opts.jobs ?? os.availableParallelism();
  const executor = await executorFor(opts.executor, {
    jobs,
    pipeline: spec.name,
    ...(opts.command ? { command: opts.command } : {}),
  });
  const events: EngineEvent[] = [];
  const emit: EventSink = (e) => {
    events.push(e);
    opts.onEvent?.(e);
  };
  const { store, memo } = await openStore(storeDir(spec.file, opts.cacheDir), emit, {
    rehash: opts.rehash === true,
  });
  // Registered until the lock and the records name this run's results (gc keeps what they name).
  const leave = await registerWriter(store, emit, "run", spec.name);
  try {
    return await runRegistered(pipeline, opts, { store, memo, events, emit, executor, jobs });
  } finally {
    // The runner is shared by every walk of this run (a repair walk too); a batch runner cancels
    // anything still queued.
    await executor.close();
    await leave();
  }
}

async function runRegistered(
  pipeline: Pipeline,
  opts: RunOptions,
  ctx: {
    store: Store;
    memo: FileHashMemo;
    events: EngineEvent[];
    emit: EventSink;
    executor: Executor;
    jobs: number;
  },
): Promise<RunReport> {
  const { spec } = pipeline;
  const { store, memo, events, emit, executor, jobs } = ctx;
  // The remote-cache client is loaded only when a remote is named.
  const share = opts.remote ? await import("./remote.js") : undefined;
  const remote = share && opts.remote ? share.remoteFor(store, opts.remote) : undefined;
  // A result read through from the remote for a key the lock pins must hold the lock's outputs.
  const expect = remote ? await lockExpectations(spec) : undefined;
  // The run before this one, for the report's "what changed" (this run replaces the record).
  const previous = await readLastRun(store, spec.name);
  const walk = (
    extra: {
      until?: readonly string[];
      force?: readonly string[];
      repair?: readonly string[];
      last?: LastRun | undefined;
    } = {},
  ) =>
    runPipeline({
      spec,
      store,
      jobs,
      emit,
      fileMemo: memo,
      ...(opts.force ? { force: opts.force } : {}),
      ...(opts.until ? { until: opts.until } : {}),
      keepGoing: opts.keepGoing === true,
      ...(opts.dataRoots ? { dataRoots: opts.dataRoots } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      runner: executor.runner,
      ...(share && remote ? { remote: share.readThrough(remote, emit, expect) } : {}),
      recordAsLatest: opts.recordAsLatest !== false,
      ...extra,
    });
  let result = await walk({ last: previous });
  let report: RunReport["report"];
  if (opts.recordAsLatest !== false) {
    const latest = await readLastRun(store, spec.name);
    if (latest) await recordDistinctRun(store, latest);
    const at = new Date().toISOString();
    await writeRecord(store, runEventsRecord, { at, events: recordableEvents(events), previous }, spec.name);
    if (opts.report !== undefined) {
      // Loaded only when asked for: a run without a report never loads the report's code.
      const { report: writeReport } = await import("./report.js");
      const r = await writeReport(pipeline, {
        cacheDir: store.root,
        ...(opts.report === true ? {} : { out: opts.report }),
        run: { events, previous },
      });
      report = { file: r.file, plots: r.plots.length, bytes: r.bytes, durationMs: r.durationMs };
    }
  }
  const lockWanted = opts.lock === "always" || (opts.lock !== "never" && !pipeline.overridden);
  let lock: LockOutcome;
  let push: RunReport["push"];
  if (!result.ok) lock = { state: "skipped", reason: "run-failed" };
  else if (!lockWanted) lock = { state: "skipped", reason: opts.lock === "never" ? "disabled" : "overrides" };
  else {
    let w = await writeLockAfterRun(spec, store, result);
    if ("missing" in w) {
      // A result the run found cached does not read back (a damaged metrics object no stage
      // consumed in this run): recompute it, then write the lock.
      const again = await walk({ until: w.missing, force: [], repair: w.missing });
      result = { ok: again.ok, outcomes: new Map([...result.outcomes, ...again.outcomes]) };
      w = again.ok ? await writeLockAfterRun(spec, store, result) : w;
      if ("missing" in w)
        throw OpError.of(
          "QV_RESULTS_MISSING",
          `the results of ${w.missing.join(", ")} are not complete in the store ${store.root} (removed while the run ended?); ${displayPath(w.file)} was not written`,
          "run again: missing results are recomputed and the lock written",
        );
    }
    lock = { state: w.changed ? "written" : "unchanged", file: w.file };
  }
  if (result.ok && share && remote && opts.push) {
    try {
      push = { ok: true, report: await remote.push(Object.values(keysOf(result))) };
    } catch (err) {
      const error = share.remoteFailure(err);
      if (!error) throw err;
      push = { ok: false, error };
    }
  }
  return {
    ok: result.ok,
    outcomes: result.outcomes,
    keys: keysOf(result),
    events,
    lock,
    ...(push ? { push } : {}),
    ...(remote ? { remote: remote.backend.display } : {}),
    ...(report ? { report } : {}),
  };
}

/** The outputs `<pipeline>.lock` records per key (none when there is no readable lock). */
async function lockExpectations(spec: Pipeline["spec"]): Promise<ExpectedOutputs | undefined> {
  const lock = await readLockFile(lockPathFor(path.resolve(spec.file))).catch(() => undefined);
  return lock ? new Map(Object.values(lock.stages).map((s) => [s.key, s.outputs] as const)) : undefined;
}

/** Progress lines are many and say nothing the report shows; everything else is kept. */
function recordableEvents(events: readonly EngineEvent[]): EngineEvent[] {
  return events.filter((e) => e.type !== "progress");
}

export interface StatusOptions extends PlanOptions {
  /** Compare with this lock file instead of `<pipeline>.lock`. */
  readonly lockFile?: string;
}

export interface PlannedLine {
  readonly stage: string;
  readonly decision: "cached" | "run" | "run-if-inputs-change";
  readonly key?: CacheKey;
  readonly reasons: readonly RunReason[];
  /** Only its inputs changed (or may change): it reruns because of an upstream stage. */
  readonly cascade: boolean;
}

export interface StatusReport {
  /** Stages in plan order with their decision and why. */
  readonly planned: readonly PlannedLine[];
  /** Stages that cannot run (a missing or confined file, ...). */
  readonly failed: readonly { readonly stage: string; readonly diagnostics: readonly Diagnostic[] }[];
  /** Stages behind a stage that cannot run. */
  readonly blocked: readonly string[];
  /** Per stage, whether this checkout reproduces the lock file, when there is one. */
  readonly lock?:
    | { readonly file: string; readonly verdicts: ReadonlyMap<string, LockVerdict> }
    | { readonly file: string; readonly error: string };
  readonly events: readonly EngineEvent[];
  readonly ok: boolean;
}

/** What a run would do and why, stage by stage, and how it compares with the lock. Runs nothing. */
export async function status(pipeline: Pipeline, opts: StatusOptions = {}): Promise<StatusReport> {
  const { spec } = pipeline;
  checkStages(pipeline, opts);
  const events: EngineEvent[] = [];
  const emit: EventSink = (e) => {
    events.push(e);
    opts.onEvent?.(e);
  };
  const { store, memo } = await openStore(storeDir(spec.file, opts.cacheDir), emit, {
    rehash: opts.rehash === true,
  });
  const docs = new Map<string, { key: CacheKey; doc: FingerprintDoc }>();
  const result: RunResult = await runPipeline({
    spec,
    store,
    jobs: 1,
    emit,
    fileMemo: memo,
    dryRun: true,
    ...(opts.force ? { force: opts.force } : {}),
    ...(opts.until ? { until: opts.until } : {}),
    ...(opts.dataRoots ? { dataRoots: opts.dataRoots } : {}),
    runner: () => Promise.reject(new Error("a plan runs nothing")),
    onFingerprint: (id, key, doc) => docs.set(id, { key, doc }),
  });
  const planned: PlannedLine[] = [];
  const failed: { stage: string; diagnostics: readonly Diagnostic[] }[] = [];
  const forLock = new Map<string, PlannedStage>();
  for (const e of events) {
    if (e.type === "failed") failed.push({ stage: e.stage, diagnostics: e.diagnostics });
    if (e.type !== "planned") continue;
    const cascade =
      e.decision === "run-if-inputs-change" ||
      (e.decision === "run" && e.reasons.every((r) => r.kind === "changed" && r.cascade));
    planned.push({
      stage: e.stage,
      decision: e.decision,
      ...(e.key ? { key: e.key } : {}),
      reasons: e.reasons,
      cascade,
    });
    const d = docs.get(e.stage);
    forLock.set(e.stage, {
      decision: e.decision,
      ...(d ? { key: d.key } : {}),
      ...(d && d.key === e.key ? { doc: d.doc } : {}),
    });
  }
  const seen = new Set([...planned.map((p) => p.stage), ...failed.map((f) => f.stage)]);
  const blocked = [...result.outcomes.keys()].filter((id) => !seen.has(id));
  const lock = await compareLock(spec, store, forLock, opts.lockFile);
  return { planned, failed, blocked, ...(lock ? { lock } : {}), events, ok: failed.length === 0 };
}
