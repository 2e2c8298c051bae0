/**
 * Executing one stage job: run the stage, check its outputs against the declared ports, store the
 * objects, then the manifest — or, when it fails, a failure record. Every runner ends up here: the
 * in-process runner directly, the others through `quiver exec` in another process or on another
 * machine. The result is in the store either way; that is how the head learns of it.
 */
import { own } from "../core/dict.js";
import type { ObjectRef, Store } from "../cache/store.js";
import type { CacheKey } from "../core/hash.js";
import { canonicalJson, type JsonValue } from "../core/json.js";
import type { AnyStageDefinition, ArtifactValue, PortKind, StageContext } from "../core/stage.js";
import { canonicalDictionaries, consumeTable } from "../core/table.js";
import { getArtifact, putArtifact } from "./artifacts-store.js";
import { CACHE_FORMAT, fingerprintKey, withInputNames } from "./fingerprint.js";
import {
  jobFailureFile,
  readManifestAs,
  writeJobDoc,
  type InputNamesIndex,
  type Job,
  type JobFailure,
  type StageResultManifest,
  type SubResultManifest,
} from "./records.js";
import { describeFailure } from "./stage-errors.js";

export interface JobHooks {
  /** Input values, from memory when the producer ran in this process; from the store otherwise. */
  loadInput(port: string): Promise<ArtifactValue>;
  progress(fraction: number, message?: string): void;
  note(message: string): void;
  readonly signal: AbortSignal;
}

export type JobOutcome =
  | {
      readonly ok: true;
      /** Where the result is stored: the job's key, or its key with input names (see records.ts). */
      readonly key: CacheKey;
      readonly manifest: StageResultManifest;
      /** The outputs as stored (canonical form), for consumers in this process. */
      readonly values: Readonly<Record<string, ArtifactValue>>;
    }
  | { readonly ok: false; readonly failure: JobFailure };

/** Reads a job's inputs from the store (for runs outside the head process). */
export function inputsFromStore(store: Store, job: Job): (port: string) => Promise<ArtifactValue> {
  return async (port) => {
    const i = own(job.inputs, port);
    if (!i) throw new Error(`job ${job.key} has no input "${port}"`);
    const v = await getArtifact(store, i.kind, i.ref);
    if (!v) throw new Error(`input ${port} (${i.ref.hash}) is missing or damaged in the store`);
    return v;
  };
}

/**
 * Runs the job to its end: on success its manifest is in the store, on failure its failure record
 * (as far as the disk allows). Never throws for the stage's own errors.
 */
export async function executeJob(
  store: Store,
  job: Job,
  def: AnyStageDefinition,
  hooks: JobHooks,
): Promise<JobOutcome> {
  const started = performance.now();
  try {
    return await runStage(store, job, def, hooks, started);
  } catch (err) {
    const failure: JobFailure = {
      key: job.key,
      stageId: job.stageId,
      at: new Date().toISOString(),
      durationMs: Math.round(performance.now() - started),
      failure: describeFailure(err),
    };
    // On a full disk this write fails too; the head still gets the failure from the return value.
    await writeJobDoc(store, jobFailureFile, failure, job.key).catch(() => {});
    return { ok: false, failure };
  }
}

/**
 * The job's input values by port. A function of its own so that no frame that stays on the
 * stack while the stage runs keeps a reference to a value it loaded (an interpreter register
 * would): a stage that consumes an input must be its only holder.
 */
async function loadInputs(job: Job, hooks: JobHooks): Promise<Map<string, ArtifactValue>> {
  const loaded = new Map<string, ArtifactValue>();
  for (const port of Object.keys(job.inputs)) loaded.set(port, await hooks.loadInput(port));
  return loaded;
}

async function runStage(
  store: Store,
  job: Job,
  def: AnyStageDefinition,
  hooks: JobHooks,
  started: number,
): Promise<JobOutcome> {
  const notes: string[] = [];
  const memos: CacheKey[] = [];
  const loaded = await loadInputs(job, hooks);
  const consumed = new Set<string>();
  const want = (port: string, kind: PortKind): ArtifactValue => {
    if (consumed.has(port))
      throw new Error(`stage ${job.stageId} read input "${port}" again after consuming it`);
    const v = loaded.get(port);
    if (!v) throw new Error(`stage ${job.stageId} asked for input "${port}", which is not connected`);
    if (v.kind !== kind) throw new Error(`input "${port}" is a ${v.kind}, not a ${kind}`);
    return v;
  };
  // Input names are out of the key unless the stage reads them: every read is recorded.
  const namesRead = new Set<string>();
  const inputFrom: Record<string, string> = {};
  for (const [port, i] of Object.entries(job.inputs))
    Object.defineProperty(inputFrom, port, {
      enumerable: true,
      get: () => {
        namesRead.add(port);
        return i.from;
      },
    });
  const ctx: StageContext<unknown> = {
    stageId: job.stageId,
    params: job.params,
    seed: job.seed,
    jobs: job.jobs,
    signal: hooks.signal,
    inputFrom,
    file: (p) => {
      const abs = own(job.files, p);
      if (abs === undefined)
        throw new Error(
          `stage ${job.stageId} read file "${p}", which is not one of its declared file params`,
        );
      return abs;
    },
    // A glob reads exactly the files the planner matched and hashed, not what the folder holds now.
    files: (p) => job.globs[p] ?? [p],
    progress: (f, m) => hooks.progress(f, m),
    note: (m) => {
      notes.push(m);
      hooks.note(m);
    },
    inputs: {
      has: (port) => loaded.has(port) || consumed.has(port),
      table: (port) => (want(port, "table") as Extract<ArtifactValue, { kind: "table" }>).table,
      consume: (port) => {
        const t = (want(port, "table") as Extract<ArtifactValue, { kind: "table" }>).table;
        loaded.delete(port);
        consumed.add(port);
        return consumeTable(t);
      },
      model: (port) => (want(port, "model") as Extract<ArtifactValue, { kind: "model" }>).model,
      metrics: (port) => (want(port, "metrics") as Extract<ArtifactValue, { kind: "metrics" }>).metrics,
    },
    memo: async (key, compute) => memo(store, job, def, key, compute, memos),
  };
  const result = await def.run(ctx);
  const values: Record<string, ArtifactValue> = {};
  const objects: Record<string, ObjectRef> = {};
  const kinds: Record<string, PortKind> = {};
  for (const [port, spec] of Object.entries(def.outputs)) {
    const produced = result.outputs[port];
    if (!produced) throw new Error(`stage type "${def.type}" did not produce its declared output "${port}"`);
    if (produced.kind !== spec.kind)
      throw new Error(
        `stage type "${def.type}" produced a ${produced.kind} for output "${port}", declared ${spec.kind}`,
      );
    const v = canonical(produced);
    values[port] = v;
    objects[port] = await putArtifact(store, v);
    kinds[port] = spec.kind;
  }
  let key = job.key;
  let fingerprint = job.doc;
  const linked = [...memos];
  if (namesRead.size > 0) {
    const ports = [...namesRead].sort();
    const named = withInputNames(job.doc, Object.fromEntries(ports.map((p) => [p, job.inputs[p]!.from])));
    key = named.key;
    fingerprint = named.doc;
    linked.push(job.key);
  }
  const manifest: StageResultManifest = {
    record: "stage-result",
    objects,
    kinds,
    fingerprint,
    stage: { id: job.stageId, type: def.type },
    inputsFrom: Object.fromEntries(Object.entries(job.inputs).map(([p, i]) => [p, i.from])),
    summary: result.summary ?? {},
    notes,
    linked,
    durationMs: Math.round(performance.now() - started),
    createdAt: new Date().toISOString(),
  };
  await store.writeManifest(key, manifest);
  if (key !== job.key) {
    // Written after the result it leads to, so a reader never follows it to nothing.
    const index: InputNamesIndex = {
      record: "input-names",
      objects: {},
      fingerprint: job.doc,
      ports: [...namesRead].sort(),
    };
    await store.writeManifest(job.key, index);
  }
  return { ok: true, key, manifest, values };
}

/** Tables leave a stage in canonical form: what consumers read is what the store holds. */
function canonical(v: ArtifactValue): ArtifactValue {
  if (v.kind !== "table") return v;
  const table = canonicalDictionaries(v.table);
  return table === v.table ? v : { kind: "table", table };
}

/** Sub-results cached under their own key; a damaged memo entry is recomputed. */
async function memo(
  store: Store,
  job: Job,
  def: AnyStageDefinition,
  key: JsonValue,
  compute: () => Promise<ArtifactValue>,
  used: CacheKey[],
): Promise<ArtifactValue> {
  const memoDoc: JsonValue = {
    memo: 1,
    format: CACHE_FORMAT,
    stage: { type: def.type, version: def.version },
    key: JSON.parse(canonicalJson(key)) as JsonValue,
  };
  const memoKey = fingerprintKey(memoDoc);
  used.push(memoKey);
  const m = await readManifestAs(store, memoKey, "sub-result", { complete: true });
  if (m) {
    const stored = await getArtifact(store, m.kinds.value, m.objects.value);
    if (stored) return stored;
  }
  const v = canonical(await compute());
  const ref = await putArtifact(store, v);
  const manifest: SubResultManifest = {
    record: "sub-result",
    objects: { value: ref },
    kinds: { value: v.kind },
    memoOf: { type: def.type, stage: job.stageId },
    // The document the memo key hashes: what lets a remote copy be checked against its key.
    fingerprint: memoDoc,
    createdAt: new Date().toISOString(),
  };
  await store.writeManifest(memoKey, manifest);
  return v;
}
