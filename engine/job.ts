/**
 * One stage run as a self-contained job: everything needed to compute a cache key's outputs from
 * the store alone. The in-process executor runs jobs directly; `quiver exec` runs one job written
 * to the store by another process (the seam a batch-system executor plugs into).
 */
import path from "node:path";
import type { Store, ObjectRef } from "../cache/store.js";
import { decodeArtifact, encodeArtifact } from "./artifacts.js";
import { isGlob, pathGlobRegExp } from "../core/glob.js";
import type { Diagnostic } from "../core/diagnostics.js";
import type { FingerprintDoc } from "./fingerprint.js";
import { canonicalJson, type JsonObject, type JsonValue } from "../core/json.js";
import { fingerprintKey } from "./fingerprint.js";
import type { AnyStageDefinition, ArtifactValue, PortKind, StageContext } from "../core/stage.js";

export interface Job {
  readonly key: string;
  readonly stageId: string;
  readonly doc: FingerprintDoc;
  /** Validated params as the stage receives them. */
  readonly params: JsonValue;
  readonly seed: number;
  readonly inputs: Readonly<
    Record<string, { readonly kind: PortKind; readonly ref: ObjectRef; readonly from: string }>
  >;
  /** File param value as written → absolute path (resolved and confined by the planner). */
  readonly files: Readonly<Record<string, string>>;
  readonly jobs: number;
}

export interface RunManifest {
  readonly objects: Record<string, ObjectRef>;
  readonly kinds: Record<string, PortKind>;
  readonly fingerprint: FingerprintDoc;
  readonly stage: { readonly id: string; readonly type: string };
  readonly summary: JsonObject;
  readonly notes: string[];
  /** Keys of sub-results this run cached (kept alive by gc with the manifest). */
  readonly memos: string[];
  readonly durationMs: number;
  readonly createdAt: string;
  readonly [key: string]: unknown;
}

export interface JobHooks {
  /** Input values, from memory when the producer ran in this process; from the store otherwise. */
  loadInput(port: string): Promise<ArtifactValue>;
  progress(fraction: number, message?: string): void;
  note(message: string): void;
  signal: AbortSignal;
}

export type JobOutcome =
  | { readonly ok: true; readonly manifest: RunManifest; readonly values: Record<string, ArtifactValue> }
  | { readonly ok: false; readonly diagnostics: Diagnostic[]; readonly stageError?: unknown };

/** Runs the stage, checks its outputs against the declared ports, stores objects then the manifest. */
export async function runJob(
  store: Store,
  job: Job,
  def: AnyStageDefinition,
  hooks: JobHooks,
): Promise<JobOutcome> {
  const started = performance.now();
  const notes: string[] = [];
  const memos: string[] = [];
  const loaded = new Map<string, ArtifactValue>();
  for (const port of Object.keys(job.inputs)) loaded.set(port, await hooks.loadInput(port));
  const want = (port: string, kind: PortKind): ArtifactValue => {
    const v = loaded.get(port);
    if (!v) throw new Error(`stage ${job.stageId} asked for input "${port}", which is not connected`);
    if (v.kind !== kind) throw new Error(`input "${port}" is a ${v.kind}, not a ${kind}`);
    return v;
  };
  const ctx: StageContext<unknown> = {
    stageId: job.stageId,
    params: job.params,
    seed: job.seed,
    jobs: job.jobs,
    signal: hooks.signal,
    inputFrom: Object.fromEntries(Object.entries(job.inputs).map(([p, i]) => [p, i.from])),
    file: (p) => {
      const abs = job.files[p];
      if (abs === undefined)
        throw new Error(
          `stage ${job.stageId} read file "${p}", which is not one of its declared file params`,
        );
      return abs;
    },
    files: (pattern) => {
      if (!isGlob(pattern)) return [pattern];
      const re = pathGlobRegExp(pattern);
      return Object.keys(job.files)
        .filter((f) => re.test(f.split("\\").join("/")))
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    },
    progress: (f, m) => hooks.progress(f, m),
    note: (m) => {
      notes.push(m);
      hooks.note(m);
    },
    inputs: {
      has: (port) => loaded.has(port),
      table: (port) => (want(port, "table") as Extract<ArtifactValue, { kind: "table" }>).table,
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
    const v = result.outputs[port];
    if (!v) throw new Error(`stage type "${def.type}" did not produce its declared output "${port}"`);
    if (v.kind !== spec.kind)
      throw new Error(
        `stage type "${def.type}" produced a ${v.kind} for output "${port}", declared ${spec.kind}`,
      );
    values[port] = v;
    objects[port] = await store.putObject(await encodeArtifact(v));
    kinds[port] = spec.kind;
  }
  const manifest: RunManifest = {
    objects,
    kinds,
    fingerprint: job.doc,
    stage: { id: job.stageId, type: def.type },
    summary: result.summary ?? {},
    notes,
    memos,
    durationMs: Math.round(performance.now() - started),
    createdAt: new Date().toISOString(),
  };
  await store.writeManifest(job.key, manifest);
  return { ok: true, manifest, values };
}

/** Sub-results cached under their own key; a damaged memo entry is recomputed. */
async function memo(
  store: Store,
  job: Job,
  def: AnyStageDefinition,
  key: JsonValue,
  compute: () => Promise<ArtifactValue>,
  used: string[],
): Promise<ArtifactValue> {
  const memoKey = fingerprintKey({
    memo: 1,
    stage: { type: def.type, version: def.version },
    key: JSON.parse(canonicalJson(key)) as JsonValue,
  });
  used.push(memoKey);
  const m = (await store.readCompleteManifest(memoKey)) as
    (RunManifest & { kinds: Record<string, PortKind> }) | undefined;
  if (m && m.objects.value && m.kinds.value) {
    const bytes = await store.getObject(m.objects.value);
    if (bytes) return decodeArtifact(m.kinds.value, bytes);
  }
  const v = await compute();
  const ref = await store.putObject(await encodeArtifact(v));
  await store.writeManifest(memoKey, {
    objects: { value: ref },
    kinds: { value: v.kind },
    memoOf: { type: def.type, stage: job.stageId },
    createdAt: new Date().toISOString(),
  });
  return v;
}

export function jobRecordName(key: string): string {
  return `job-${key}`;
}

/** Resolves the absolute path of a job file value (for messages). */
export function describeFile(p: string, base: string): string {
  return path.relative(base, p) || p;
}
