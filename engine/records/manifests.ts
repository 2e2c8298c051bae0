/** Manifests (runs/<key>.json): a stage result, a sub-result, an input-names index. */
import type { ObjectRef, Store } from "../../cache/store.js";
import { d, decode, DecodeError, isKeyOf, type Decoder } from "../../core/decode.js";
import type { CacheKey } from "../../core/hash.js";
import { isJsonObject, type JsonObject } from "../../core/json.js";
import type { PortKind } from "../../core/stage.js";
import type { FingerprintDoc } from "../fingerprint.js";
import { fingerprintDoc, kinds, objectRef, objects, portKind } from "./shapes.js";

// ---------------------------------------------------------------------------------------------
// Manifests (runs/<key>.json)

/** What one stage run produced: the manifest stored under the stage's cache key. */
export interface StageResultManifest {
  readonly record: "stage-result";
  readonly objects: Readonly<Record<string, ObjectRef>>;
  readonly kinds: Readonly<Record<string, PortKind>>;
  readonly fingerprint: FingerprintDoc;
  readonly stage: { readonly id: string; readonly type: string };
  /** For display: port → the `stage.port` it came from in the run that produced this. */
  readonly inputsFrom: Readonly<Record<string, string>>;
  readonly summary: JsonObject;
  readonly notes: readonly string[];
  /** Sub-results this run cached, and the input-names index that leads here: kept and moved with it. */
  readonly linked: readonly CacheKey[];
  readonly durationMs: number;
  readonly createdAt: string;
}

const stageResultManifest: Decoder<StageResultManifest> = d.object({
  record: d.literal("stage-result"),
  objects,
  kinds,
  fingerprint: fingerprintDoc,
  stage: d.object({ id: d.string, type: d.string }),
  inputsFrom: d.record(d.string),
  summary: d.jsonObject,
  notes: d.array(d.string),
  linked: d.array(d.cacheKey),
  durationMs: d.number,
  createdAt: d.string,
});

/** A sub-computation a stage cached through `ctx.memo` (one fold, one ensemble, ...). */
export interface SubResultManifest {
  readonly record: "sub-result";
  readonly objects: { readonly value: ObjectRef };
  readonly kinds: { readonly value: PortKind };
  readonly memoOf: { readonly type: string; readonly stage: string };
  readonly createdAt: string;
}

const subResultManifest: Decoder<SubResultManifest> = d.object({
  record: d.literal("sub-result"),
  objects: d.object({ value: objectRef }),
  kinds: d.object({ value: portKind }),
  memoOf: d.object({ type: d.string, stage: d.string }),
  createdAt: d.string,
});

/**
 * Stored under a stage's key when its result depends on the names of its inputs' producers (the
 * stage read `ctx.inputFrom`): the result itself is under the key of the fingerprint plus those
 * names. Like a compiler cache's manifest of included headers: the first lookup says what else
 * goes into the key.
 */
export interface InputNamesIndex {
  readonly record: "input-names";
  readonly objects: Readonly<Record<string, never>>;
  readonly fingerprint: FingerprintDoc;
  /** The input ports whose producer names the stage read. */
  readonly ports: readonly string[];
}

const inputNamesIndex: Decoder<InputNamesIndex> = d.object({
  record: d.literal("input-names"),
  objects: d.record((v, path) => {
    throw new DecodeError(path, `expected no objects, got ${JSON.stringify(v)}`);
  }),
  fingerprint: fingerprintDoc,
  ports: d.array(d.string),
});

export type AnyManifest = StageResultManifest | SubResultManifest | InputNamesIndex;

const manifestDecoders: { readonly [K in AnyManifest["record"]]: Decoder<AnyManifest> } = {
  "stage-result": stageResultManifest,
  "sub-result": subResultManifest,
  "input-names": inputNamesIndex,
};

const anyManifest: Decoder<AnyManifest> = (v, path) => {
  const kind = isJsonObject(v) ? v.record : undefined;
  const dec = isKeyOf(manifestDecoders, kind) ? manifestDecoders[kind] : undefined;
  if (!dec)
    throw new DecodeError(
      "record",
      `expected "stage-result", "sub-result" or "input-names", got ${JSON.stringify(kind)}`,
    );
  return dec(v, path);
};

/**
 * A manifest decoded; undefined when missing, damaged (the store reports and removes those), of
 * another kind than asked, or written by another version of Quiver (reported, treated as a miss).
 */
export async function readManifestAs<K extends AnyManifest["record"]>(
  store: Store,
  key: CacheKey,
  record: K,
  opts: { complete?: boolean } = {},
): Promise<Extract<AnyManifest, { record: K }> | undefined> {
  const raw = opts.complete ? await store.readCompleteManifest(key) : await store.readManifest(key);
  if (!raw) return undefined;
  const r = decode(anyManifest, raw);
  if (!r.ok) {
    store.report({ kind: "bad-record", what: `manifest ${key}`, detail: r.error.message });
    return undefined;
  }
  return r.value.record === record ? (r.value as Extract<AnyManifest, { record: K }>) : undefined;
}

/**
 * Any manifest decoded, undefined when missing or not decodable; with `complete`, only when all
 * its objects are present.
 */
export async function readAnyManifest(
  store: Store,
  key: CacheKey,
  opts: { complete?: boolean } = {},
): Promise<AnyManifest | undefined> {
  const raw = opts.complete ? await store.readCompleteManifest(key) : await store.readManifest(key);
  if (!raw) return undefined;
  const r = decode(anyManifest, raw);
  return r.ok ? r.value : undefined;
}
