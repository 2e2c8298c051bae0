/**
 * Runs a validated pipeline against a store. Stages start as soon as their inputs are ready, up
 * to `jobs` at once. A stage's cache key is computed from the content hashes of its inputs, so a
 * stage whose upstream reran but produced identical bytes stays cached (early cutoff).
 * With `dryRun` it only plans: the same decisions, reported as `planned` events.
 */
import type { ObjectRef, Store } from "../cache/store.js";
import { decodeArtifact } from "./artifacts.js";
import type { Diagnostic } from "../core/diagnostics.js";
import type { EngineEvent, EventSink, RunReason, SkipReason } from "./events.js";
import { expandGlob, resolveConfined } from "./files.js";
import { isGlob } from "../core/glob.js";
import { makeFingerprint, type FingerprintDoc, type FingerprintInput } from "./fingerprint.js";
import { runInChildProcess } from "./isolate.js";
import { stageErrorToDiagnostic } from "./stage-errors.js";
import type { FileHashMemo } from "../core/hash.js";
import { jobRecordName, runJob, type Job, type RunManifest } from "./job.js";
import type { JsonValue } from "../core/json.js";
import type { PipelineSpec, StageSpec } from "./pipeline/spec.js";
import { explainChanges, readLastRun, writeLastRun, type LastRun } from "./history.js";
import type { ArtifactValue } from "../core/stage.js";
import { ancestorsInclusive } from "./graph.js";

export interface RunOptions {
  readonly spec: PipelineSpec;
  readonly store: Store;
  readonly jobs: number;
  readonly emit: EventSink;
  readonly fileMemo: FileHashMemo;
  readonly force?: readonly string[];
  readonly until?: readonly string[];
  readonly keepGoing?: boolean;
  readonly dryRun?: boolean;
  /** Extra data roots from the command line (absolute or relative to the working directory). */
  readonly dataRoots?: readonly string[];
  readonly signal?: AbortSignal;
  /**
   * Run each stage in its own process (`quiver exec`), given only the store and the job: true
   * parallelism across cores, and the path a batch-system executor takes. The value is the command
   * that starts the CLI (node script path), e.g. bin/quiver.js.
   */
  readonly isolate?: { readonly cli: string };
  /** Called with each stage's cache key and fingerprint once its inputs are known (status vs lock). */
  readonly onFingerprint?: (stage: string, key: string, doc: FingerprintDoc) => void;
  /** Read-through remote cache: on a local miss, try to fetch the key's result into the store. */
  readonly remote?: { fetch(key: string): Promise<boolean> };
}

export type StageStatus =
  "cached" | "ran" | "failed" | "skipped" | "would-run" | "would-run-if-inputs-change";

export interface StageOutcome {
  readonly status: StageStatus;
  readonly key?: string;
  readonly outputs?: Readonly<Record<string, ObjectRef>>;
  readonly durationMs?: number;
}

export interface RunResult {
  readonly ok: boolean;
  readonly outcomes: ReadonlyMap<string, StageOutcome>;
}

interface Node {
  readonly spec: StageSpec;
  status?: StageStatus;
  key?: string;
  doc?: FingerprintDoc;
  job?: Job;
  outputs?: Record<string, ObjectRef>;
  durationMs?: number;
  /** The root failure when skipped. */
  failedRoot?: string;
  readonly values: Map<string, Promise<ArtifactValue>>;
  /** Consumers in this run that have not finished yet; at zero the in-memory values are dropped. */
  pendingConsumers: number;
  repairing?: Promise<void>;
  done: Promise<void>;
}

export async function runPipeline(opts: RunOptions): Promise<RunResult> {
  const { spec, store, emit } = opts;
  const t0 = performance.now();
  const selected = opts.until?.length ? ancestorsInclusive(spec.graph, opts.until) : new Set(spec.order);
  const forced = new Set(opts.force ?? []);
  // p-queue is loaded only when something has to run: a fully cached run never pays for it.
  let queuePromise: Promise<import("p-queue").default> | undefined;
  const queue = {
    add: async (task: () => Promise<void>): Promise<void> => {
      queuePromise ??= import("p-queue").then((m) => new m.default({ concurrency: Math.max(1, opts.jobs) }));
      await (await queuePromise).add(task);
    },
    onIdle: async (): Promise<void> => {
      if (queuePromise) await (await queuePromise).onIdle();
    },
  };
  const last: LastRun | undefined = await readLastRun(store, spec.name);
  const nodes = new Map<string, Node>();
  let stopAfter: string | undefined;
  const abort = new AbortController();
  opts.signal?.addEventListener("abort", () => abort.abort());

  if (!opts.dryRun)
    emit({ type: "run-start", pipeline: spec.name, file: spec.file, stages: selected.size, jobs: opts.jobs });

  const fail = (n: Node, diagnostics: Diagnostic[], durationMs: number) => {
    n.status = "failed";
    emit({ type: "failed", stage: n.spec.id, ...(n.key ? { key: n.key } : {}), durationMs, diagnostics });
    // A plan (dry run) goes on past a failure: status should show every independent stage.
    if (!opts.keepGoing && !opts.dryRun) stopAfter ??= n.spec.id;
  };

  const loadValue = async (id: string, port: string): Promise<ArtifactValue> => {
    const n = nodes.get(id)!;
    let p = n.values.get(port);
    if (!p) {
      p = (async () => {
        for (let attempt = 0; attempt < 2; attempt++) {
          const ref = n.outputs?.[port];
          if (!ref) throw new Error(`no output ${id}.${port} recorded`);
          const bytes = await store.getObject(ref);
          if (bytes) return decodeArtifact(n.spec.def.outputs[port]!.kind, bytes);
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
      const outcome = await execJob(n, job);
      if (!outcome) throw new Error(`repair of ${n.spec.id} failed`);
    })().finally(() => {
      n.repairing = undefined;
    });
    return n.repairing;
  };

  /** Runs a job for node n; emits finished/failed; returns the manifest on success. */
  const execJob = async (n: Node, job: Job): Promise<RunManifest | undefined> => {
    const started = performance.now();
    const prevOutputs = n.outputs;
    try {
      if (opts.isolate) return await execIsolated(n, job, started);
      const outcome = await runJob(store, job, n.spec.def, {
        loadInput: (port) => {
          const ref = n.spec.inputs[port]!;
          return loadValue(ref.stage, ref.port);
        },
        progress: (fraction, message) =>
          emit({ type: "progress", stage: n.spec.id, fraction, ...(message ? { message } : {}) }),
        note: (message) => emit({ type: "note", stage: n.spec.id, message }),
        signal: abort.signal,
      });
      if (!outcome.ok) {
        fail(n, outcome.diagnostics, performance.now() - started);
        return undefined;
      }
      await recordFinished(n, job, outcome.manifest, prevOutputs, outcome.values);
      return outcome.manifest;
    } catch (err) {
      fail(n, [stageErrorToDiagnostic(err, n.spec, store.root)], performance.now() - started);
      return undefined;
    }
  };

  /** Hands the job to a `quiver exec` child process; its results come back through the store. */
  const execIsolated = async (n: Node, job: Job, started: number): Promise<RunManifest | undefined> => {
    await store.writeRecord(jobRecordName(job.key), job);
    const { code, stderr } = await runInChildProcess(opts.isolate!.cli, store.root, job.key, (e) =>
      emit({ ...e, stage: n.spec.id }),
    );
    const m = (await store.readCompleteManifest(job.key)) as RunManifest | undefined;
    if (code !== 0 || !m) {
      fail(
        n,
        [
          {
            severity: "error",
            code: "QV_EXEC_FAILED",
            message: `${n.spec.id}: ${stderr.trim() || `quiver exec exited with ${code}`}`,
            location: n.spec.locate([]),
          },
        ],
        performance.now() - started,
      );
      return undefined;
    }
    await recordFinished(n, job, m, n.outputs, {});
    return m;
  };

  /** A stage ran: keep its outputs (in memory while consumers need them) and report early cutoff. */
  const recordFinished = async (
    n: Node,
    job: Job,
    m: RunManifest,
    before: Record<string, ObjectRef> | undefined,
    values: Record<string, ArtifactValue>,
  ): Promise<void> => {
    const prev = before ?? (await previousOutputs(n));
    n.outputs = { ...m.objects };
    n.durationMs = m.durationMs;
    n.values.clear();
    if (n.pendingConsumers > 0)
      for (const [port, v] of Object.entries(values)) n.values.set(port, Promise.resolve(v));
    n.status = "ran";
    const sameOutputs = prev ? Object.entries(m.objects).every(([p, r]) => prev[p]?.hash === r.hash) : null;
    emit({
      type: "finished",
      stage: n.spec.id,
      key: job.key,
      durationMs: m.durationMs,
      outputs: m.objects,
      sameOutputs,
      summary: m.summary,
    });
  };

  const previousOutputs = async (n: Node): Promise<Record<string, ObjectRef> | undefined> => {
    const prevKey = last?.stages[n.spec.id]?.key;
    if (!prevKey) return undefined;
    const m = await store.readManifest(prevKey);
    return m?.objects;
  };

  const process1 = async (n: Node): Promise<void> => {
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
      emitSkip(n, { kind: "stopped", after: stopAfter ?? "interrupt" });
      return;
    }
    // Files: resolve, confine, hash (through the memo).
    const files: Record<string, string> = {};
    const fileHashes: Record<string, string> = {};
    const fileDiags: Diagnostic[] = [];
    for (const f of n.spec.files) {
      // A glob stands for the files it matches now: each is confined and hashed like a plain
      // path, so a new matching file changes the key and `status` names it.
      const glob = isGlob(f.file) ? expandGlob(f.file, opts.spec.dir) : undefined;
      if (glob && glob.files.length === 0) {
        fileDiags.push({
          severity: "error",
          code: "QV_FILE_GLOB_EMPTY",
          message: `${id}: no file matches "${f.file}" (looked in ${glob.folder})`,
          location: n.spec.locate(f.path),
          hint: "paths are relative to the pipeline file's folder; check the folder and the pattern",
        });
        continue;
      }
      for (const file of glob ? glob.files : [f.file]) {
        const r = resolveConfined(file, opts.spec.dir, [...opts.spec.dataRoots, ...(opts.dataRoots ?? [])]);
        if (!r.ok) {
          fileDiags.push({
            severity: "error",
            code: r.code,
            message: `${id}: ${r.message}${glob ? ` (matched by "${f.file}")` : ""}`,
            location: n.spec.locate(f.path),
            hint: r.hint,
          });
          continue;
        }
        files[file] = r.abs;
        fileHashes[file.split("\\").join("/")] = (await opts.fileMemo.hash(r.abs)).hash;
      }
    }
    if (fileDiags.length) {
      fail(n, fileDiags, 0);
      return;
    }
    // Upstream stages that would run in a dry run have no output hashes yet.
    const unknownInputs = ups.some((u) => !u.outputs);
    if (unknownInputs) {
      n.status = "would-run-if-inputs-change";
      const reasons = await planReasonsWithUnknownInputs(n, fileHashes);
      emit({
        type: "planned",
        stage: id,
        decision: reasons.length ? "run" : "run-if-inputs-change",
        reasons,
      });
      if (reasons.length) n.status = "would-run";
      return;
    }
    let environment: JsonValue | undefined;
    try {
      environment = n.spec.def.environment ? await n.spec.def.environment(n.spec.params) : undefined;
    } catch (err) {
      fail(n, [stageErrorToDiagnostic(err, n.spec)], 0);
      return;
    }
    const fp = stageFingerprint(
      n.spec,
      Object.fromEntries(
        Object.entries(n.spec.inputs).map(([port, r]) => [
          port,
          { kind: r.kind, hash: nodes.get(r.stage)!.outputs![r.port]!.hash, from: `${r.stage}.${r.port}` },
        ]),
      ),
      fileHashes,
      environment,
    );
    n.key = fp.key;
    n.doc = fp.doc;
    opts.onFingerprint?.(id, fp.key, fp.doc);
    n.job = {
      key: fp.key,
      stageId: id,
      doc: fp.doc,
      params: n.spec.params as JsonValue,
      seed: n.spec.seed,
      inputs: Object.fromEntries(
        Object.entries(n.spec.inputs).map(([port, r]) => [
          port,
          { kind: r.kind, ref: nodes.get(r.stage)!.outputs![r.port]!, from: `${r.stage}.${r.port}` },
        ]),
      ),
      files,
      jobs: opts.jobs,
    };
    const isForced = forced.has(id);
    if (!isForced) {
      let m = (await store.readCompleteManifest(fp.key)) as RunManifest | undefined;
      if (!m && opts.remote && !opts.dryRun && (await opts.remote.fetch(fp.key))) {
        m = (await store.readCompleteManifest(fp.key)) as RunManifest | undefined;
        if (m) emit({ type: "note", stage: id, message: "result fetched from the remote cache" });
      }
      if (m) {
        n.status = "cached";
        n.outputs = { ...m.objects };
        n.durationMs = m.durationMs;
        if (opts.dryRun) emit({ type: "planned", stage: id, key: fp.key, decision: "cached", reasons: [] });
        else emit({ type: "cached", stage: id, key: fp.key, durationMs: m.durationMs });
        return;
      }
    }
    const reasons: RunReason[] = isForced
      ? [{ kind: "forced" }]
      : await explainChanges(store, last, n.spec, fp.doc, (up) => nodes.get(up)?.status === "ran");
    if (opts.dryRun) {
      n.status = "would-run";
      emit({ type: "planned", stage: id, key: fp.key, decision: "run", reasons });
      return;
    }
    await queue.add(async () => {
      if (stopAfter !== undefined && !opts.keepGoing) {
        n.status = "skipped";
        emitSkip(n, { kind: "stopped", after: stopAfter });
        return;
      }
      const release = await store.lock(fp.key, () => emit({ type: "waiting", stage: id, key: fp.key }));
      try {
        if (!isForced) {
          // Another process may have computed it while we waited for the lock (single-flight).
          const m = (await store.readCompleteManifest(fp.key)) as RunManifest | undefined;
          if (m) {
            n.status = "cached";
            n.outputs = { ...m.objects };
            n.durationMs = m.durationMs;
            emit({ type: "cached", stage: id, key: fp.key, durationMs: m.durationMs, by: "other-process" });
            return;
          }
        }
        emit({ type: "started", stage: id, key: fp.key, reasons });
        await execJob(n, n.job!);
      } finally {
        await release();
      }
    });
  };

  const emitSkip = (n: Node, reason: SkipReason) => {
    if (!opts.dryRun) emit({ type: "skipped", stage: n.spec.id, reason });
  };

  /** For planning only: what we can say about a stage whose inputs are not known yet. */
  const planReasonsWithUnknownInputs = async (
    n: Node,
    fileHashes: Record<string, string>,
  ): Promise<RunReason[]> => {
    const prevKey = last?.stages[n.spec.id]?.key;
    const prev = prevKey ? ((await store.readManifest(prevKey)) as RunManifest | undefined) : undefined;
    if (!prev) return [{ kind: "first-run" }];
    let environment: JsonValue | undefined;
    try {
      environment = n.spec.def.environment ? await n.spec.def.environment(n.spec.params) : undefined;
    } catch {
      environment = undefined;
    }
    // Assume upstream outputs come out as last time; whatever still differs is this stage's own change.
    const fp = stageFingerprint(n.spec, prev.fingerprint.inputs, fileHashes, environment);
    if (fp.key === prevKey) return [];
    return explainChanges(store, last, n.spec, fp.doc, () => false);
  };

  for (const id of spec.order) {
    if (!selected.has(id)) continue;
    const n: Node = {
      spec: spec.stages.get(id)!,
      values: new Map(),
      done: Promise.resolve(),
      pendingConsumers: 0,
    };
    nodes.set(id, n);
  }
  for (const n of nodes.values()) {
    for (const up of new Set(Object.values(n.spec.inputs).map((r) => r.stage))) {
      const u = nodes.get(up);
      if (u) u.pendingConsumers++;
    }
  }
  for (const n of nodes.values()) {
    n.done = process1(n)
      .catch((err: unknown) => {
        fail(n, [stageErrorToDiagnostic(err, n.spec, store.root)], 0);
      })
      .finally(() => {
        // Keep decoded tables in memory only while someone still needs them; later reads
        // (a repair, a late consumer) go to the store.
        for (const up of new Set(Object.values(n.spec.inputs).map((r) => r.stage))) {
          const u = nodes.get(up);
          if (u && --u.pendingConsumers === 0) u.values.clear();
        }
      });
  }
  await Promise.all([...nodes.values()].map((n) => n.done));
  await queue.onIdle();

  const outcomes = new Map<string, StageOutcome>();
  const counts = { ran: 0, cached: 0, failed: 0, skipped: 0 };
  for (const [id, n] of nodes) {
    outcomes.set(id, {
      status: n.status ?? "skipped",
      ...(n.key ? { key: n.key } : {}),
      ...(n.outputs ? { outputs: n.outputs } : {}),
      ...(n.durationMs !== undefined ? { durationMs: n.durationMs } : {}),
    });
    if (n.status === "ran") counts.ran++;
    else if (n.status === "cached") counts.cached++;
    else if (n.status === "failed") counts.failed++;
    else if (n.status === "skipped") counts.skipped++;
  }
  const ok = counts.failed === 0 && counts.skipped === 0;
  if (!opts.dryRun) {
    await writeLastRun(store, spec, last, outcomes);
    if (opts.fileMemo.dirty) await store.writeRecord("file-hashes", opts.fileMemo.toJson());
    emit({ type: "run-end", ok, durationMs: Math.round(performance.now() - t0), counts });
  }
  return { ok, outcomes };
}

export type { EngineEvent };
export { stageErrorToDiagnostic };

/** The fingerprint of a stage given the content hashes of its inputs and files. */
function stageFingerprint(
  s: StageSpec,
  inputs: Record<string, FingerprintInput>,
  files: Record<string, string>,
  environment: JsonValue | undefined,
): ReturnType<typeof makeFingerprint> {
  return makeFingerprint({
    type: s.def.type,
    version: s.def.version,
    params: (s.def.fingerprintParams ? s.def.fingerprintParams(s.params) : s.params) as JsonValue,
    inputs,
    files,
    seed: s.def.random ? s.seed : undefined,
    environment,
  });
}
