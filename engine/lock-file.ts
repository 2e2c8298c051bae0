/**
 * The lock file: `<pipeline>.lock` next to `<pipeline>.yaml`, committed with it. Per stage it holds
 * the cache key, the fingerprint document the key hashes (so a collaborator without the store can
 * still be told *which* param or input differs), each output's content hash, and the headline
 * metrics. The content is deterministic — sorted keys, no times, no durations, no paths of this
 * machine — so rerunning an unchanged pipeline rewrites the identical file.
 */
import { own, setOwn } from "../core/dict.js";
import fs from "node:fs";
import path from "node:path";
import { writeFileAtomic } from "../cache/atomic.js";
import type { ObjectRef, Store } from "../cache/store.js";
import { d, decode } from "../core/decode.js";
import { hasher, type CacheKey } from "../core/hash.js";
import { canonicalJson, isJsonObject, type JsonValue } from "../core/json.js";
import {
  contributionOf,
  diffFingerprints,
  fingerprintKey,
  stageContribution,
  type FingerprintDoc,
  type StageContribution,
} from "./fingerprint.js";
import type { PipelineSpec } from "./pipeline/spec.js";
import {
  LOCK_VERSION,
  lockFileDecoder,
  lockKeysRecord,
  writeRecord,
  type LockFile,
  type LockOutput,
  type LockStage,
} from "./records.js";
import { readStageResult } from "./results.js";

export { LOCK_VERSION, type LockFile, type LockOutput, type LockStage };

/** Headline metrics kept per stage: enough for a dashboard, small enough for a readable diff. */
const MAX_HEADLINE_METRICS = 24;

export class LockFileError extends Error {}

/** `pipelines/demo.yaml` → `pipelines/demo.lock` (the extension replaced, the folder kept). */
export function lockPathFor(pipelineFile: string): string {
  const ext = path.extname(pipelineFile);
  const base = ext === ".yaml" || ext === ".yml" ? pipelineFile.slice(0, -ext.length) : pipelineFile;
  return `${base}.lock`;
}

/** Records the keys a lock references in the store, so gc keeps them. */
export async function recordLockKeys(store: Store, lock: LockFile): Promise<void> {
  const stages = Object.fromEntries(Object.entries(lock.stages).map(([id, s]) => [id, { key: s.key }]));
  await writeRecord(store, lockKeysRecord, { pipeline: lock.pipeline, stages }, lock.pipeline);
}

/**
 * Wall-clock measurements inside metrics (e.g. `training_seconds`) change on every run: they are
 * neither headline metrics nor evidence of a result that does not reproduce.
 */
export function isTimingField(name: string): boolean {
  return /(^|_)(seconds|secs|ms|millis|duration|elapsed|walltime|time)$/i.test(name);
}

/**
 * The numeric leaves of a metrics object, outside arrays (curves and histograms are not
 * headlines), timing fields excluded; the shallowest first when there are more than `max`.
 */
export function headlineMetrics(
  metrics: JsonValue,
  prefix: string,
  max = MAX_HEADLINE_METRICS,
): Record<string, number> {
  const found: { path: string; depth: number; value: number }[] = [];
  const walk = (v: JsonValue, p: string, depth: number) => {
    if (typeof v === "number") {
      if (Number.isFinite(v)) found.push({ path: p, depth, value: v });
      return;
    }
    if (!isJsonObject(v)) return;
    for (const k of Object.keys(v).sort()) {
      if (isTimingField(k)) continue;
      walk(v[k]!, p ? `${p}.${k}` : k, depth + 1);
    }
  };
  walk(metrics, prefix, 0);
  found.sort((a, b) => a.depth - b.depth || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const out: Record<string, number> = {};
  for (const f of found.slice(0, max).sort((a, b) => (a.path < b.path ? -1 : 1)))
    setOwn(out, f.path, f.value);
  return out;
}

/** Reads a metrics object from the store (undefined when it is missing or damaged). */
export async function readMetricsObject(store: Store, ref: ObjectRef): Promise<JsonValue | undefined> {
  const bytes = await store.getObject(ref);
  if (!bytes) return undefined;
  try {
    const r = decode(d.json, JSON.parse(Buffer.from(bytes).toString("utf8")));
    return r.ok ? r.value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The lock entry of one stage result, from its manifest (and its metrics objects) in the store.
 * `strict`: only a complete result (every object present) whose metrics read back, else undefined.
 */
async function lockStageFromStore(
  store: Store,
  key: CacheKey,
  strict = false,
): Promise<LockStage | undefined> {
  const m = await readStageResult(store, key, { complete: strict });
  if (!m) return undefined;
  const outputs: Record<string, LockOutput> = {};
  let metrics: Record<string, number> = {};
  for (const port of Object.keys(m.objects).sort()) {
    const ref = m.objects[port]!;
    const kind = m.kinds[port];
    if (!kind) {
      if (strict) return undefined;
      continue;
    }
    outputs[port] = { kind, hash: ref.hash, size: ref.size };
    if (kind === "metrics") {
      const v = await readMetricsObject(store, ref);
      if (v !== undefined) metrics = { ...metrics, ...headlineMetrics(v, port) };
      else if (strict) return undefined;
    }
  }
  return { type: m.stage.type, key, fingerprint: m.fingerprint, outputs, metrics };
}

/**
 * Lock entries for a run's stage → key, each read back complete from the store; `missing` names
 * the stages whose result is not (all) there any more. A lock is written only when none is.
 */
export async function snapshotForLock(
  store: Store,
  keys: Readonly<Record<string, CacheKey>>,
): Promise<{ stages: Record<string, LockStage>; missing: string[] }> {
  const stages: Record<string, LockStage> = {};
  const missing: string[] = [];
  for (const id of Object.keys(keys).sort()) {
    const e = await lockStageFromStore(store, keys[id]!, true);
    if (e) setOwn(stages, id, e);
    else missing.push(id);
  }
  return { stages, missing };
}

/** Lock entries for stage → key (e.g. a run's outcomes); stages whose manifest is gone are left out. */
export async function snapshotFromKeys(
  store: Store,
  keys: Readonly<Record<string, CacheKey>>,
): Promise<Record<string, LockStage>> {
  const out: Record<string, LockStage> = {};
  for (const id of Object.keys(keys).sort()) {
    const e = await lockStageFromStore(store, keys[id]!);
    if (e) setOwn(out, id, e);
  }
  return out;
}

/** Deterministic text: keys sorted at every level, two-space indent, one value per line. */
function renderLock(lock: LockFile): string {
  return JSON.stringify(JSON.parse(canonicalJson(lock)), null, 2) + "\n";
}

export async function readLockFile(file: string): Promise<LockFile | undefined> {
  await hasher();
  let text: string;
  try {
    text = await fs.promises.readFile(file, "utf8");
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return undefined;
    throw err;
  }
  return parseLock(text, file);
}

/** A lock file's text (e.g. from `git show REV:pipeline.lock`), `source` naming it in messages. */
export async function parseLockText(text: string, source: string): Promise<LockFile> {
  await hasher();
  return parseLock(text, source);
}

function parseLock(text: string, file: string): LockFile {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new LockFileError(`${file} is not valid JSON (${(err as Error).message}); a merge conflict?`);
  }
  if (!isJsonObject(v) || typeof v.quiver_lock !== "number" || !isJsonObject(v.stages))
    throw new LockFileError(`${file} is not a Quiver lock file (no quiver_lock / stages)`);
  if (v.quiver_lock > LOCK_VERSION)
    throw new LockFileError(
      `${file} is lock format ${v.quiver_lock}; this Quiver reads up to ${LOCK_VERSION}`,
    );
  const r = decode(lockFileDecoder, v);
  if (!r.ok) throw new LockFileError(`${file}: ${r.error.message}`);
  for (const [id, s] of Object.entries(r.value.stages)) {
    // A hand-edited fingerprint would make "differs because…" explanations lie.
    if (fingerprintKey(s.fingerprint) !== s.key)
      throw new LockFileError(`${file}: stage ${id}: the fingerprint does not hash to key ${s.key}`);
  }
  return r.value;
}

/**
 * Writes the lock when its content changed (an unchanged pipeline leaves the file untouched).
 * `update` entries replace those stages; stages not in the pipeline any more are dropped.
 */
export async function updateLockFile(
  file: string,
  spec: PipelineSpec,
  update: Readonly<Record<string, LockStage>>,
  tmpDir: string,
): Promise<{ lock: LockFile; changed: boolean }> {
  let previous: LockFile | undefined;
  try {
    previous = await readLockFile(file);
  } catch {
    previous = undefined; // unreadable: rewritten from this run
  }
  const stages: Record<string, LockStage> = {};
  for (const id of spec.order) {
    const e = own(update, id) ?? own(previous?.stages, id);
    if (e) setOwn(stages, id, e);
  }
  const lock: LockFile = { quiver_lock: LOCK_VERSION, pipeline: spec.name, stages };
  const text = renderLock(lock);
  const old = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : undefined;
  if (old === text) return { lock, changed: false };
  await writeFileAtomic(file, text, tmpDir);
  return { lock, changed: true };
}

/** One fingerprint difference in words: `param lr 0.001 → 0.003`, `input table (from cuts)`. */
export function describeFingerprintDiffs(
  before: StageContribution,
  after: StageContribution,
  opts: {
    /** Where each input comes from now (`stage.port`), to name it; not part of the fingerprint. */
    readonly inputsFrom?: Readonly<Record<string, string>>;
    readonly max?: number;
  } = {},
): string {
  const max = opts.max ?? 3;
  const diffs = diffFingerprints(before, after);
  const words = diffs.map((d) => {
    const [head = "", ...rest] = d.path.split(".");
    const name = rest.join(".");
    switch (head) {
      case "params":
        return `param ${name} ${short(d.before)} → ${short(d.after)}`;
      case "inputs": {
        const from = opts.inputsFrom?.[name];
        return `input ${name}${from ? ` (from ${from})` : ""}`;
      }
      case "inputNames":
        return `input ${name} now from ${short(d.after)}`;
      case "files":
        return `file ${name}`;
      case "seed":
        return `seed ${short(d.before)} → ${short(d.after)}`;
      case "stage":
        return `stage ${name} ${short(d.before)} → ${short(d.after)}`;
      case "environment":
        return `environment${name ? " " + name : ""} ${short(d.before)} → ${short(d.after)}`;
      default:
        return d.path;
    }
  });
  if (words.length === 0) return "nothing in the fingerprint";
  return words.length > max
    ? `${words.slice(0, max).join(", ")} and ${words.length - max} more`
    : words.join(", ");
}

function short(v: JsonValue | undefined): string {
  if (v === undefined) return "(none)";
  const s = JSON.stringify(v);
  return s.length > 40 ? s.slice(0, 37) + "…" : s;
}

/** Output ports whose bytes differ between two entries with the same key. */
export function differingOutputs(
  a: Readonly<Record<string, { readonly hash: string }>>,
  b: Readonly<Record<string, { readonly hash: string }>>,
): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].sort().filter((p) => a[p]?.hash !== b[p]?.hash);
}

export type LockState = "matches" | "differs" | "not-run" | "not-in-lock";
export interface LockVerdict {
  readonly state: LockState;
  readonly detail: string;
}

/** What this checkout plans for a stage (from a dry run): its decision and, when known, its key. */
export interface PlannedStage {
  readonly decision: "cached" | "run" | "run-if-inputs-change";
  readonly key?: CacheKey;
  readonly doc?: FingerprintDoc;
}

/**
 * Per stage, whether this checkout reproduces the lock: same key and the same output bytes
 * ("matches"), a different fingerprint (which field) or different bytes for the same key
 * ("differs"), or no local result to compare yet ("not-run").
 */
export async function compareWithLock(
  store: Store,
  spec: PipelineSpec,
  lock: LockFile,
  planned: ReadonlyMap<string, PlannedStage>,
): Promise<Map<string, LockVerdict>> {
  const out = new Map<string, LockVerdict>();
  for (const id of spec.order) {
    const e = own(lock.stages, id);
    const cur = planned.get(id);
    if (!cur) continue;
    if (!e) {
      out.set(id, { state: "not-in-lock", detail: "not in the lock" });
      continue;
    }
    if (cur.key !== undefined) {
      if (cur.key !== e.key) {
        out.set(id, {
          state: "differs",
          detail: cur.doc
            ? describeFingerprintDiffs(e.fingerprint, cur.doc, { inputsFrom: inputsFromOf(spec, id) })
            : "different cache key",
        });
      } else if (cur.decision === "cached") {
        const m = await readStageResult(store, cur.key);
        const bad = m ? differingOutputs(e.outputs, m.objects) : [];
        out.set(
          id,
          bad.length
            ? {
                state: "differs",
                detail: `output bytes of ${bad.join(", ")} (same fingerprint: the stage is not deterministic?)`,
              }
            : { state: "matches", detail: "matches lock" },
        );
      } else {
        out.set(id, { state: "not-run", detail: "not run (same fingerprint as the lock; run or pull it)" });
      }
      continue;
    }
    // Inputs unknown until upstream runs: compare what the stage itself contributes.
    const s = spec.stages.get(id)!;
    const mine = stageContribution(s);
    const theirs = contributionOf(e.fingerprint);
    const ownDiff = diffFingerprints(theirs, mine).length > 0;
    const upstream = [...new Set(Object.values(s.inputs).map((r) => r.stage))].filter(
      (u) => out.get(u)?.state !== "matches",
    );
    const differingUp = upstream.filter((u) => out.get(u)?.state === "differs");
    if (ownDiff) out.set(id, { state: "differs", detail: describeFingerprintDiffs(theirs, mine) });
    else if (differingUp.length)
      out.set(id, {
        state: "differs",
        detail: `upstream ${differingUp.join(", ")} ${differingUp.length === 1 ? "differs" : "differ"}`,
      });
    else
      out.set(id, {
        state: "not-run",
        detail: `not run (waits for ${upstream.join(", ") || "upstream"})`,
      });
  }
  return out;
}

/** Port → `stage.port` it comes from in this pipeline (for messages). */
export function inputsFromOf(spec: PipelineSpec, id: string): Record<string, string> {
  const s = spec.stages.get(id);
  return Object.fromEntries(Object.entries(s?.inputs ?? {}).map(([p, r]) => [p, `${r.stage}.${r.port}`]));
}
