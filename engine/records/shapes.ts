/** Decoders of the pieces several records share. */
import type { ObjectRef } from "../../cache/store.js";
import { d, DecodeError, type Decoder } from "../../core/decode.js";
import { isJsonObject } from "../../core/json.js";
import type { FingerprintDoc } from "../fingerprint.js";

// ---------------------------------------------------------------------------------------------
// Pieces

export const portKind = d.oneOf(["table", "model", "metrics"] as const);
export const objectRef: Decoder<ObjectRef> = d.object({ hash: d.contentHash, size: d.number });
export const objects = d.record(objectRef);
export const kinds = d.record(portKind);
export const paramPath = d.array(d.either<string, number>(d.string, d.number));

const fingerprintShape = d.object({
  format: d.number,
  stage: d.object({ type: d.string, version: d.number }),
  params: d.json,
  inputs: d.record(d.object({ kind: portKind, hash: d.contentHash })),
  files: d.record(d.contentHash),
  seed: d.optional(d.number),
  environment: d.optional(d.json),
  inputNames: d.optional(d.record(d.string)),
});

/**
 * A fingerprint document is checked field by field but kept as written: its exact content is what
 * its key hashes, so nothing may be dropped or added on the way in.
 */
export const fingerprintDoc: Decoder<FingerprintDoc> = (v, path) => {
  fingerprintShape(v, path);
  if (!isJsonObject(v)) throw new DecodeError(path, "expected an object");
  if (!("seed" in v) || !("environment" in v))
    throw new DecodeError(path, "expected the fields seed and environment");
  return v as FingerprintDoc;
};
