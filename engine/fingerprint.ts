/**
 * The fingerprint of a stage run: a canonical JSON document holding everything its result depends
 * on. Its xxhash64 is the cache key. The documents are kept in manifests so `status` can say, field
 * by field, why a stage reruns. No absolute paths, host names, times or user names go in: the same
 * pipeline in two checkouts has the same keys.
 */
import { canonicalJson, isJsonObject, type JsonObject, type JsonValue } from "../core/json.js";
import { hashString } from "../core/hash.js";

/** Bump when the layout of fingerprints or artifact encodings changes: every key changes. */
export const CACHE_FORMAT = 1;

export interface FingerprintInput {
  readonly kind: string;
  readonly hash: string;
  /** `stage.port` it came from. */
  readonly from: string;
}

export interface FingerprintDoc extends JsonObject {
  format: number;
  stage: { type: string; version: number };
  params: JsonValue;
  inputs: { [port: string]: { kind: string; hash: string; from: string } };
  files: { [path: string]: string };
  seed: number | null;
  environment: JsonValue;
}

export function makeFingerprint(args: {
  type: string;
  version: number;
  params: JsonValue;
  inputs: Record<string, FingerprintInput>;
  files: Record<string, string>;
  seed: number | undefined;
  environment: JsonValue | undefined;
}): { doc: FingerprintDoc; key: string } {
  // Normalise through canonical JSON so numbers read as 1e-3 and 0.001 are one value.
  const doc = JSON.parse(
    canonicalJson({
      format: CACHE_FORMAT,
      stage: { type: args.type, version: args.version },
      params: args.params,
      inputs: args.inputs,
      files: args.files,
      seed: args.seed ?? null,
      environment: args.environment ?? null,
    }),
  ) as FingerprintDoc;
  return { doc, key: fingerprintKey(doc) };
}

export function fingerprintKey(doc: JsonValue): string {
  return hashString(canonicalJson(doc));
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
