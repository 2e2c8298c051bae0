/**
 * Artifact values <-> bytes. Encodings are deterministic (same value, same bytes), which is what
 * makes early cutoff work: a stage that reruns and produces the same table produces the same hash.
 *   table   → Arrow IPC file
 *   metrics → canonical JSON (sorted keys)
 *   model   → "QVMODEL1" | u32 header length | header JSON {meta, blobs:[{name, length}]} | blob bytes
 */
import { tableFromArrowIPC, tableToArrowIPC } from "../core/arrow-codec.js";
import { canonicalJson, isJsonObject, type JsonObject } from "../core/json.js";
import type { ArtifactValue, ModelArtifact, PortKind } from "../core/stage.js";

const MODEL_MAGIC = "QVMODEL1";

export async function encodeArtifact(v: ArtifactValue): Promise<Uint8Array> {
  switch (v.kind) {
    case "table":
      return tableToArrowIPC(v.table);
    case "metrics":
      return Buffer.from(canonicalJson(v.metrics), "utf8");
    case "model":
      return encodeModel(v.model);
  }
}

export async function decodeArtifact(kind: PortKind, bytes: Uint8Array): Promise<ArtifactValue> {
  switch (kind) {
    case "table":
      return { kind, table: await tableFromArrowIPC(bytes) };
    case "metrics": {
      const v: unknown = JSON.parse(
        Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8"),
      );
      if (!isJsonObject(v)) throw new Error("metrics artifact is not a JSON object");
      return { kind, metrics: v };
    }
    case "model":
      return { kind, model: decodeModel(bytes) };
  }
}

function encodeModel(m: ModelArtifact): Uint8Array {
  const names = Object.keys(m.blobs).sort();
  const header = Buffer.from(
    canonicalJson({ meta: m.meta, blobs: names.map((n) => ({ name: n, length: m.blobs[n]!.length })) }),
    "utf8",
  );
  const total = MODEL_MAGIC.length + 4 + header.length + names.reduce((s, n) => s + m.blobs[n]!.length, 0);
  const out = new Uint8Array(total);
  out.set(Buffer.from(MODEL_MAGIC, "ascii"), 0);
  new DataView(out.buffer).setUint32(MODEL_MAGIC.length, header.length, true);
  let o = MODEL_MAGIC.length + 4;
  out.set(header, o);
  o += header.length;
  for (const n of names) {
    out.set(m.blobs[n]!, o);
    o += m.blobs[n]!.length;
  }
  return out;
}

function decodeModel(bytes: Uint8Array): ModelArtifact {
  const magic = Buffer.from(bytes.subarray(0, MODEL_MAGIC.length)).toString("ascii");
  if (magic !== MODEL_MAGIC) throw new Error("model artifact: bad magic");
  const hlen = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(
    MODEL_MAGIC.length,
    true,
  );
  let o = MODEL_MAGIC.length + 4;
  const header = JSON.parse(Buffer.from(bytes.subarray(o, o + hlen)).toString("utf8")) as {
    meta: JsonObject;
    blobs: { name: string; length: number }[];
  };
  o += hlen;
  const blobs: Record<string, Uint8Array> = {};
  for (const b of header.blobs) {
    // Copy so each blob is 8-byte aligned and can be viewed as Float32Array/Float64Array.
    blobs[b.name] = bytes.slice(o, o + b.length);
    o += b.length;
  }
  if (o !== bytes.length) throw new Error("model artifact: trailing or missing bytes");
  return { meta: header.meta, blobs };
}
