/**
 * Runs a validated pipeline against a store: walks the graph, and as soon as a stage's inputs are
 * known asks the planner whether it is cached; a stage that must run goes, as a job written to the
 * store, to a `StageRunner` — up to the runner's slots (or `jobs`) at once. A stage whose upstream
 * reran but produced identical bytes stays cached (early cutoff: keys hash inputs' contents).
 * With `dryRun` it only plans: the same decisions, reported as `planned` events.
 *
 * Here live the graph walk and what surrounds a job: single-flight locks, read-through from a
 * remote, repair of damaged cached outputs, failures and what they stop, in-memory hand-off of
 * values between stages, the last-run record. How a job runs is the runner's business.
 */
import { own } from "../core/dict.js";
import type { ObjectRef, Store } from "../cache/store.js";
import type { Diagnostic } from "../core/diagnostics.js";
import type { CacheKey, FileHashMemo } from "../core/hash.js";
import type { JsonObject, JsonValue } from "../core/json.js";
import type { ArtifactValue } from "../core/stage.js";
import type { EventSink, RunReason, SkipReason } from "./events.js";
import { stageFiles } from "./files.js";
import type { FingerprintDoc } from "./fingerprint.js";
import { ancestorsInclusive } from "./graph.js";
import { readLastRun, writeLastRun } from "./history.js";
import type { dispatchJob as DispatchJob } from "./dispatch.js";
import type { PipelineSpec, StageSpec } from "./pipeline/spec.js";
import { planStage, planWithUnknownInputs, type KnownInput, type PlanContext } from "./plan.js";
import {
  fileHashesRecord,
  writeRecord,
  type Job,
  type LastRun,
  type StageResultManifest,
} from "./records.js";
import { findResult, readStageResult } from "./results.js";
import type { StageRunner } from "./runners/runner.js";
import { failureDiagnostic, markWriters, stageErrorToDiagnostic } from "./stage-errors.js";

export interface RunOptions {
  readonly spec: PipelineSpec;
  readonly store: Store;
  readonly jobs: number;
  readonly emit: EventSink;
  readonly fileMemo: FileHashMemo;
  readonly force?: readonly string[];
  /**
   * Stages whose stored result turned out to be damaged after the run used it (a metrics object
   * that does not read back): recomputed as a repair, like a forced stage with that reason.
   */
  readonly repair?: readonly string[];
  readonly until?: readonly string[];
  readonly keepGoing?: boolean;
  readonly dryRun?: boolean;
  /** Extra data roots from the command line (absolute or relative to the working directory). */
  readonly dataRoots?: readonly string[];
  readonly signal?: AbortSignal;
  /** Where stages run; created when the first stage must run (a cached run creates none). */
  readonly runner: () => Promise<StageRunner>;
  /** Called with each stage's cache key and fingerprint once its inputs are known (status vs lock). */
  readonly onFingerprint?: (stage: string, key: CacheKey, doc: FingerprintDoc) => void;
  /** Read-through remote cache: on a local miss, try to fetch the key's result into the store. */
  readonly remote?: { fetch(key: CacheKey): Promise<boolean> };
  /**
   * Whether this run becomes the pipeline's "latest run" (what status compares with, what gc and
   * the report read). A sweep's points do not. Default true.
   */
  readonly recordAsLatest?: boolean;
  /** The pipeline's latest run, when the caller has read it already (else it is read here). */
  readonly last?: LastRun | undefined;
}

export type StageStatus =
  "cached" | "ran" | "failed" | "skipped" | "would-run" | "would-run-if-inputs-change";

export interface StageOutcome {
  readonly status: StageStatus;
  readonly key?: CacheKey;
  readonly outputs?: Readonly<Record<string, ObjectRef>>;
  readonly durationMs?: number;
  /** Input ports whose producers' names the result depends on. */
  readonly inputNames?: readonly string[];
}

export interface RunResult {
  readonly ok: boolean;
  readonly outcomes: ReadonlyMap<string, StageOutcome>;
}

interface Node {
  readonly spec: StageSpec;
  status?: StageStatus;
  key?: CacheKey;
  job?: Job;
  outputs?: Record<string, ObjectRef>;
  durationMs?: number;
  /** The run summary (ran or cached), read to name the stage that wrote a lineage step. */
  summary?: JsonObject;
  inputNames?: readonly string[];
  /** The root failure when skipped. */
  failedRoot?: string;
  readonly values: Map<string, Promise<ArtifactValue>>;
  /** Consumers in this run that have not finished yet; at zero the in-memory values are dropped. */
  pendingConsumers: number;
  repairing?: Promise<void>;
  done: Promise<void>;
}

/** p-queue, loaded when something has to run: a fully cached run never pays for it. */
interface Queue {
  add(task: () => Promise<void>): Promise<void>;
  onIdle(): Promise<void>;
}

/**
 * Registers a writer of the store (a run, a sweep, verify), so gc and clean leave its results
 * alone; waits for a gc or clean already under way, saying so. Nested registrations of one
 * process share one entry.
 */
export function registerWriter(
  store: Store,
  emit: EventSink,
  command: string,
  pipeline: string,
): Promise<() => Promise<void>> {
  return store.registerUse({ command, pipeline }, () =>
    emit({
      type: "warning",
      diagnostic: {
        severity: "warning",
        code: "QV_STORE_WAIT",
        message: `waiting for a gc or clean of ${store.root} to finish`,
      },
    }),
  );
}

export async function runPipeline(opts: RunOptions): Promise<RunResult> {
  if (opts.dryRun) return walk(opts);
  const leave = await registerWriter(opts.store, opts.emit, "run", opts.spec.name);
  try {
    return await walk(opts);
  } finally {
    await leave();
  }
}

async function walk(opts: RunOptions): Promise<RunResult> {
  const { spec, store, emit } = opts;
  const t0 = performance.now();
  const selected = opts.until?.length ? ancestorsInclusive(spec.graph, opts.until) : new Set(spec.order);
  const forced = new Set(opts.force ?? []);
  const repairs = new Set(opts.repair ?? []);
  const last: LastRun | undefined = "last" in opts ? opts.last : await readLastRun(store, spec.name);
  const planCtx: PlanContext = {
    store,
    last,
    ...(opts.remote && !opts.dryRun ? { fetch: (key: CacheKey) => opts.remote!.fetch(key) } : {}),
  };
  const nodes = new Map<string, Node>();
  let stopAfter: string | undefined;
  const abort = new AbortController();
  opts.signal?.addEventListener("abort", () => abort.abort());
  // Aborted at the first failure without keepGoing: runners that can cancel queued or running jobs
  // cheaply (a batch system) do, so nothing of a stopped run is left in a queue.
  const stopping = new AbortController();

  // The runner, the queue and the dispatcher load when something has to run: a fully cached run
  // never pays for them.
  let started: Promise<{ runner: StageRunner; queue: Queue; dispatchJob: typeof DispatchJob }> | undefined;
  const execution = () =>
    (started ??= (async () => {
      const runner = await opts.runner();
      const PQueue = (await import("p-queue")).default;
      const { dispatchJob } = await import("./dispatch.js");
      const q = new PQueue({ concurrency: Math.max(1, runner.slots ?? opts.jobs) });
      return { runner, dispatchJob, queue: { add: (task) => q.add(task), onIdle: () => q.onIdle() } };
    })());

  if (!opts.dryRun)
    emit({ type: "run-start", pipeline: spec.name, file: spec.file, stages: selected.size, jobs: opts.jobs });

  const fail = (n: Node, diagnostics: Diagnostic[], durationMs: number) => {
    n.status = "failed";
    emit({ type: "failed", stage: n.spec.id, ...(n.key ? { key: n.key } : {}), durationMs, diagnostics });
    // A plan (dry run) goes on past a failure: status should show every independent stage.
    if (!opts.keepGoing && !opts.dryRun) {
      stopAfter ??= n.spec.id;
      stopping.abort();
    }
  };

  const loadValue = async (id: string, port: string): Promise<ArtifactValue> => {
    const n = nodes.get(id)!;
    let p = n.values.get(port);
    if (!p) {
      p = (async () => {
        for (let attempt = 0; attempt < 2; attempt++) {
          const ref = n.outputs?.[port];
          if (!ref) throw new Error(`no output ${id}.${port} recorded`);
          // The codecs load when a value is first needed: a cached run decodes nothing.
          const { getArtifact } = await import("./artifacts-store.js");
          const v = await getArtifact(store, n.spec.def.outputs[port]!.kind, ref);
          if (v) return v;
          await repair(n, `object of ${id}.${port} failed verification`);
        }
        throw new Error(`could not recover output ${id}.${port}`);
      })();
      n.values.set(port, p);
      p.catch(() => n.values.delete(port));
    }
    return p;
  };

  /** Recomputes a cached stage whose stored output turned out to be damaged. */
  const repair = async (n: Node, detail: string): Promise<void> => {
    n.repairing ??= (async () => {
      const job = n.job!;
      emit({ type: "started", stage: n.spec.id, key: job.key, reasons: [{ kind: "repair", detail }] });
      if (!(await execute(n, job))) throw new Error(`repair of ${n.spec.id} failed`);
    })().finally(() => {
      n.repairing = undefined;
    });
    return n.repairing;
  };

  /**
   * Hands the job to the runner (written to the store first) and reads back what it left:
   * emits finished or failed; true on success.
   */
  const execute = async (n: Node, job: Job): Promise<boolean> => {
    const t = performance.now();
    const prevOutputs = n.outputs;
    try {
      const { runner, dispatchJob } = await execution();
      const resources = n.spec.resources;
      const threads = runner.threads?.(resources);
      // Ports still to load per upstream output: the last consumer's job takes the value over.
      const outputOf = (r: { stage: string; port: string }) => `${r.stage}\0${r.port}`;
      const toLoad = new Map<string, number>();
      for (const r of Object.values(n.spec.inputs))
        toLoad.set(outputOf(r), (toLoad.get(outputOf(r)) ?? 0) + 1);
      const outcome = await dispatchJob(store, runner, threads ? { ...job, jobs: threads } : job, {
        def: n.spec.def,
        signal: abort.signal,
        stopping: stopping.signal,
        emit: (e) => emit({ ...e, stage: n.spec.id }),
        loadInput: async (port) => {
          const ref = n.spec.inputs[port]!;
          const v = await loadValue(ref.stage, ref.port);
          // This stage is the last one in the run to need the value and its job now holds it: the
          // hand-off lets go, so a stage that consumes its input (ctx.inputs.consume) frees columns
          // as it rewrites them. A later reader (a repair) goes to the store.
          const k = outputOf(ref);
          const left = (toLoad.get(k) ?? 1) - 1;
          toLoad.set(k, left);
          const u = nodes.get(ref.stage);
          if (left === 0 && u?.pendingConsumers === 1) u.values.delete(ref.port);
          return v;
        },
        resources,
      });
      if ("cancelled" in outcome) {
        // Cancelled by this run (interrupted, or stopped after another stage failed).
        n.status = "skipped";
        n.failedRoot = stopAfter;
        // A batch job taken out of the queue is named, so the run's record says what was cancelled.
        const cancelled = outcome.cancelledJob ? { cancelled: outcome.cancelledJob } : {};
        emitSkip(
          n,
          stopAfter !== undefined
            ? { kind: "stopped", after: stopAfter, ...cancelled }
            : { kind: "interrupted", ...cancelled },
        );
        return false;
      }
      if (!outcome.ok) {
        const f = outcome.failure.failure;
        const writers = f.kind === "stage-error" && f.marks ? writersOf(n, f.marks) : undefined;
        fail(n, [failureDiagnostic(f, n.spec, store.root, writers)], outcome.failure.durationMs);
        return false;
      }
      await recordFinished(n, outcome.key, outcome.manifest, prevOutputs, outcome.values);
      return true;
    } catch (err) {
      fail(
        n,
        [stageErrorToDiagnostic(err, n.spec, store.root, (marks) => writersOf(n, marks))],
        performance.now() - t,
      );
      return false;
    }
  };

  /** The upstream stages that wrote the lineage steps a failure of `n` names. */
  const writersOf = (n: Node, marks: readonly string[]) =>
    markWriters(
      marks,
      n.spec,
      (id) => nodes.get(id)?.spec,
      (id) => nodes.get(id)?.summary,
    );

  /** A stage ran: keep its outputs (in memory while consumers need them) and report early cutoff. */
  const recordFinished = async (
    n: Node,
    key: CacheKey,
    m: StageResultManifest,
    before: Record<string, ObjectRef> | undefined,
    values: Readonly<Record<string, ArtifactValue>>,
  ): Promise<void> => {
    const prev = before ?? (await previousOutputs(n));
    n.key = key;
    n.outputs = { ...m.objects };
    n.durationMs = m.durationMs;
    n.summary = m.summary;
    n.inputNames = Object.keys(m.fingerprint.inputNames ?? {});
    n.values.clear();
    if (n.pendingConsumers > 0)
      for (const [port, v] of Object.entries(values)) n.values.set(port, Promise.resolve(v));
    n.status = "ran";
    const sameOutputs = prev ? Object.entries(m.objects).every(([p, r]) => prev[p]?.hash === r.hash) : null;
    emit({
      type: "finished",
      stage: n.spec.id,
      key,
      durationMs: m.durationMs,
      outputs: m.objects,
      sameOutputs,
      summary: m.summary,
    });
  };

  const previousOutputs = async (n: Node): Promise<Record<string, ObjectRef> | undefined> => {
    const prevKey = own(last?.stages, n.spec.id)?.key;
    if (!prevKey) return undefined;
    return (await readStageResult(store, prevKey))?.objects;
  };

  const cached = (n: Node, key: CacheKey, m: StageResultManifest) => {
    n.status = "cached";
    n.key = key;
    n.outputs = { ...m.objects };
    n.durationMs = m.durationMs;
    n.summary = m.summary;
    n.inputNames = Object.keys(m.fingerprint.inputNames ?? {});
  };

  const environmentOf = (s: StageSpec) => async (): Promise<JsonValue | undefined> =>
    s.def.environment ? await s.def.environment(s.params) : undefined;

  const visit = async (n: Node): Promise<void> => {
    const id = n.spec.id;
    const ups = Object.values(n.spec.inputs).map((r) => nodes.get(r.stage)!);
    await Promise.all(ups.map((u) => u.done));
    const badUp = ups.find((u) => u.status === "failed" || u.status === "skipped");
    if (badUp) {
      n.status = "skipped";
      n.failedRoot = badUp.failedRoot ?? badUp.spec.id;
      emitSkip(n, { kind: "upstream-failed", upstream: n.failedRoot });
      return;
    }
    if (stopAfter !== undefined || abort.signal.aborted) {
      n.status = "skipped";
      n.failedRoot = stopAfter;
      emitSkip(n, stopAfter !== undefined ? { kind: "stopped", after: stopAfter } : { kind: "interrupted" });
      return;
    }
    // Files: expand globs, resolve, confine, hash (through the memo).
    const resolved = await stageFiles(n.spec, spec, opts.dataRoots ?? [], opts.fileMemo);
    if (!resolved.ok) {
      fail(n, resolved.diagnostics, 0);
      return;
    }
    const { files, fileHashes, globs } = resolved;
    // Upstream stages that would run in a dry run have no output hashes yet.
    if (ups.some((u) => !u.outputs)) {
      const reasons = await planWithUnknownInputs(n.spec, fileHashes, environmentOf(n.spec), planCtx);
      n.status = reasons.length ? "would-run" : "would-run-if-inputs-change";
      emit({
        type: "planned",
        stage: id,
        decision: reasons.length ? "run" : "run-if-inputs-change",
        reasons,
      });
      return;
    }
    let environment: JsonValue | undefined;
    try {
      environment = await environmentOf(n.spec)();
    } catch (err) {
      fail(n, [stageErrorToDiagnostic(err, n.spec)], 0);
      return;
    }
    const inputs: Record<string, KnownInput> = {};
    for (const [port, r] of Object.entries(n.spec.inputs))
      inputs[port] = {
        kind: r.kind,
        ref: nodes.get(r.stage)!.outputs![r.port]!,
        from: `${r.stage}.${r.port}`,
      };
    const isForced = forced.has(id) || repairs.has(id);
    const planned = await planStage(
      { spec: n.spec, inputs, files, fileHashes, globs, environment, jobs: opts.jobs },
      planCtx,
      isForced,
    );
    const plan: typeof planned =
      planned.decision === "run" && repairs.has(id) && !forced.has(id)
        ? {
            ...planned,
            reasons: [{ kind: "repair", detail: "its stored result did not read back complete" }],
          }
        : planned;
    n.key = plan.key;
    n.job = plan.job;
    opts.onFingerprint?.(id, plan.key, plan.doc);
    if (plan.decision === "cached") {
      cached(n, plan.key, plan.manifest);
      if (plan.fetched) emit({ type: "note", stage: id, message: "result fetched from the remote cache" });
      if (opts.dryRun) emit({ type: "planned", stage: id, key: plan.key, decision: "cached", reasons: [] });
      else emit({ type: "cached", stage: id, key: plan.key, durationMs: plan.manifest.durationMs });
      return;
    }
    if (opts.dryRun) {
      n.status = "would-run";
      emit({ type: "planned", stage: id, key: plan.key, decision: "run", reasons: plan.reasons });
      return;
    }
    const { queue } = await execution();
    await queue.add(async () => {
      if ((stopAfter !== undefined && !opts.keepGoing) || abort.signal.aborted) {
        n.status = "skipped";
        n.failedRoot = stopAfter;
        emitSkip(
          n,
          stopAfter !== undefined ? { kind: "stopped", after: stopAfter } : { kind: "interrupted" },
        );
        return;
      }
      const job = plan.job;
      const release = await lockKey(store, job.key, () => emit({ type: "waiting", stage: id, key: job.key }));
      try {
        if (!isForced) {
          // Another process may have computed it while we waited for the lock (single-flight).
          const other = await findResult(store, { key: job.key, doc: job.doc }, inputsFrom(job));
          if (other.found) {
            cached(n, other.key, other.manifest);
            emit({
              type: "cached",
              stage: id,
              key: other.key,
              durationMs: other.manifest.durationMs,
              by: "other-process",
            });
            return;
          }
        }
        emit({ type: "started", stage: id, key: plan.key, reasons: plan.reasons });
        await execute(n, job);
      } finally {
        await release();
      }
    });
  };

  const emitSkip = (n: Node, reason: SkipReason) => {
    if (!opts.dryRun) emit({ type: "skipped", stage: n.spec.id, reason });
  };

  for (const id of spec.order) {
    if (!selected.has(id)) continue;
    nodes.set(id, {
      spec: spec.stages.get(id)!,
      values: new Map(),
      done: Promise.resolve(),
      pendingConsumers: 0,
    });
  }
  for (const n of nodes.values())
    for (const up of upstreamIds(n)) {
      const u = nodes.get(up);
      if (u) u.pendingConsumers++;
    }
  for (const n of nodes.values()) {
    n.done = visit(n)
      .catch((err: unknown) => {
        fail(n, [stageErrorToDiagnostic(err, n.spec, store.root)], 0);
      })
      .finally(() => {
        // Keep decoded tables in memory only while someone still needs them; later reads
        // (a repair, a late consumer) go to the store.
        for (const up of upstreamIds(n)) {
          const u = nodes.get(up);
          if (u && --u.pendingConsumers === 0) u.values.clear();
        }
      });
  }
  await Promise.all([...nodes.values()].map((n) => n.done));
  if (started) {
    const { runner, queue } = await started;
    await queue.onIdle();
    await runner.close();
  }

  const outcomes = new Map<string, StageOutcome>();
  const counts = { ran: 0, cached: 0, failed: 0, skipped: 0 };
  for (const [id, n] of nodes) {
    const status = n.status ?? "skipped";
    outcomes.set(id, {
      status,
      ...(n.key ? { key: n.key } : {}),
      ...(n.outputs ? { outputs: n.outputs } : {}),
      ...(n.durationMs !== undefined ? { durationMs: n.durationMs } : {}),
      ...(n.inputNames?.length ? { inputNames: n.inputNames } : {}),
    });
    if (status === "ran" || status === "cached" || status === "failed" || status === "skipped")
      counts[status]++;
  }
  const ok = counts.failed === 0 && counts.skipped === 0;
  if (!opts.dryRun) {
    if (opts.recordAsLatest !== false) await writeLastRun(store, spec, last, outcomes);
    if (opts.fileMemo.dirty) await writeRecord(store, fileHashesRecord, opts.fileMemo.toJson());
    emit({ type: "run-end", ok, durationMs: Math.round(performance.now() - t0), counts });
  }
  return { ok, outcomes };
}

/**
 * Keys being computed by runs of this process (a sweep's points share it): a second run of the
 * same key waits for the first here, and wakes the moment it is done — together with every other
 * waiter, so that their next stages are ready together (one array on a batch system) — instead of
 * each polling the lock file on its own schedule. The file lock still guards against other processes.
 */
const computing = new Map<string, Promise<void>>();

async function lockKey(store: Store, key: CacheKey, onWait: () => void): Promise<() => Promise<void>> {
  const id = `${store.root}\0${key}`;
  let told = false;
  for (let other = computing.get(id); other; other = computing.get(id)) {
    if (!told) onWait();
    told = true;
    await other;
  }
  let done!: () => void;
  computing.set(
    id,
    new Promise<void>((resolve) => {
      done = resolve;
    }),
  );
  try {
    const release = await store.lock(key, told ? undefined : onWait);
    return async () => {
      try {
        await release();
      } finally {
        computing.delete(id);
        done();
      }
    };
  } catch (err) {
    computing.delete(id);
    done();
    throw err;
  }
}

function upstreamIds(n: Node): Set<string> {
  return new Set(Object.values(n.spec.inputs).map((r) => r.stage));
}

function inputsFrom(job: Job): Record<string, string> {
  return Object.fromEntries(Object.entries(job.inputs).map(([p, i]) => [p, i.from]));
}

export type { RunReason };
