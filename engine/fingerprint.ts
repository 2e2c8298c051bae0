/**
 * The fingerprint of a stage run: a canonical JSON document holding everything its result depends
 * on. Its xxhash64 is the cache key. The documents are kept in manifests so `status` can say, field
 * by field, why a stage reruns. No absolute paths, host names, times or user names go in: the same
 * pipeline in two checkouts has the same keys. Neither does the stage's id, nor the names of the
 * stages its inputs come from — renaming a stage changes no result (its seed aside, when random) —
 * unless the stage reads those names (`inputNames`, see engine/job.ts).
 *
 * This module is the one owner of the document: run, status, sweep and the lock file all build it
 * (or the part a stage contributes before its inputs are known) through the functions below.
 */
import { hashJson, type CacheKey, type ContentHash } from "../core/hash.js";
import { canonicalJson, isJsonObject, type JsonObject, type JsonValue } from "../core/json.js";
import type { PortKind } from "../core/stage.js";
import type { StageSpec } from "./pipeline/spec.js";

/**
 * Bump when the layout of fingerprints or artifact encodings changes: every key changes.
 * 2: input names left the key; string dictionaries are encoded in canonical order.
 */
export const CACHE_FORMAT = 2;

export interface FingerprintInput {
  readonly kind: PortKind;
  readonly hash: ContentHash;
}

/**
 * What a stage contributes to its key on its own, before its inputs are known: its type and
 * version, its params as they enter the key, and its seed — only if the stage is random, so that
 * renaming a deterministic stage (which changes its derived seed) changes nothing.
 */
export type StageContribution = {
  stage: { type: string; version: number };
  params: JsonValue;
  seed: number | null;
};

export type FingerprintDoc = StageContribution & {
  format: number;
  inputs: { [port: string]: { kind: PortKind; hash: ContentHash } };
  files: { [path: string]: ContentHash };
  environment: JsonValue;
  /** Only for stages that read where their inputs come from: port → `stage.port`. */
  inputNames?: { [port: string]: string };
};

/** The one rule for what a stage brings to its key by itself. */
export function stageContribution(s: StageSpec): StageContribution {
  return normalise({
    stage: { type: s.def.type, version: s.def.version },
    params: (s.def.fingerprintParams ? s.def.fingerprintParams(s.params) : s.params) as JsonValue,
    seed: s.def.random ? s.seed : null,
  });
}

/** The own part of a stored fingerprint document, to compare with `stageContribution`. */
export function contributionOf(doc: FingerprintDoc): StageContribution {
  return normalise({ stage: doc.stage, params: doc.params, seed: doc.seed });
}

/** The fingerprint of a stage given the content hashes of its inputs and files, and its environment. */
export function stageFingerprint(
  s: StageSpec,
  inputs: Readonly<Record<string, FingerprintInput>>,
  files: Readonly<Record<string, ContentHash>>,
  environment: JsonValue | undefined,
): { doc: FingerprintDoc; key: CacheKey } {
  // Normalise through canonical JSON so numbers read as 1e-3 and 0.001 are one value.
  const doc = normalise<FingerprintDoc>({
    format: CACHE_FORMAT,
    ...stageContribution(s),
    inputs: Object.fromEntries(
      Object.entries(inputs).map(([port, i]) => [port, { kind: i.kind, hash: i.hash }]),
    ),
    files: { ...files },
    environment: environment ?? null,
  });
  return { doc, key: fingerprintKey(doc) };
}

/**
 * The fingerprint of a result that depends on the names of (some of) its inputs' producers: the
 * base document plus those names. Its key is where such a result is stored.
 */
export function withInputNames(
  base: FingerprintDoc,
  names: Readonly<Record<string, string>>,
): { doc: FingerprintDoc; key: CacheKey } {
  const doc = normalise<FingerprintDoc>({ ...base, inputNames: { ...names } });
  return { doc, key: fingerprintKey(doc) };
}

export function fingerprintKey(doc: JsonValue): CacheKey {
  return hashJson(doc);
}

function normalise<T extends object>(doc: T): T {
  return JSON.parse(canonicalJson(doc)) as T;
}

export interface FieldChange {
  /** Dotted path, e.g. `params.where` or `inputs.table`. */
  readonly path: string;
  readonly before: JsonValue | undefined;
  readonly after: JsonValue | undefined;
}

/** Field-level differences between two fingerprint documents (leaves only). */
export function diffFingerprints(before: JsonValue, after: JsonValue): FieldChange[] {
  const out: FieldChange[] = [];
  walk(before, after, [], out);
  return out;
}

function walk(a: JsonValue | undefined, b: JsonValue | undefined, p: string[], out: FieldChange[]): void {
  if (canonicalJson(a ?? null) === canonicalJson(b ?? null) && (a === undefined) === (b === undefined))
    return;
  // Inputs are compared as a whole: "input table changed", not hash-by-hash noise.
  const atInput = p.length === 2 && p[0] === "inputs";
  if (!atInput && isJsonObject(a ?? null) && isJsonObject(b ?? null)) {
    const ao = a as JsonObject;
    const bo = b as JsonObject;
    for (const k of [...new Set([...Object.keys(ao), ...Object.keys(bo)])].sort())
      walk(ao[k], bo[k], [...p, k], out);
    return;
  }
  if (!atInput && Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    a.forEach((x, i) => walk(x, b[i], [...p, String(i)], out));
    return;
  }
  out.push({ path: p.join("."), before: a, after: b });
}
