/** Helpers for the train/predict/kfold tests: tables from arrays, weights out of a model artifact. */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { float64Column, makeTable, type Column, type Table } from "../engine/table.js";
import type { ModelArtifact } from "../engine/stage.js";
import { isJsonObject } from "../engine/json.js";

/** The repository root, from dist/test/<file>.js. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

export function tableOf(cols: Record<string, ArrayLike<number>>): Table {
  return makeTable(
    Object.entries(cols).map(([k, v]): [string, Column] => [k, float64Column(Float64Array.from(v))]),
  );
}

/** The named weight tensors of a network in a train model artifact, as float32 arrays. */
export function networkWeights(m: ModelArtifact): Map<string, { shape: number[]; values: Float32Array }> {
  const nn = m.meta.nn;
  const bytes = m.blobs.weights;
  if (!isJsonObject(nn) || !Array.isArray(nn.weightSpecs) || !bytes) throw new Error("not a network artifact");
  const buf = bytes.slice().buffer;
  const out = new Map<string, { shape: number[]; values: Float32Array }>();
  let off = 0;
  for (const s of nn.weightSpecs) {
    if (!isJsonObject(s) || typeof s.name !== "string" || !Array.isArray(s.shape) || s.dtype !== "float32")
      throw new Error("unexpected weight spec");
    const shape = s.shape as number[];
    const size = shape.reduce((a, b) => a * b, 1);
    out.set(s.name, { shape, values: new Float32Array(buf, off, size) });
    off += size * 4;
  }
  return out;
}
