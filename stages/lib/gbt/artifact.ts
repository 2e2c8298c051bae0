/**
 * The on-disk form of a boosted-trees model (a ModelArtifact), kept apart from training.
 * meta: format, version, options, feature names, bin edges, base score; blobs: the flat node
 * arrays of all trees as little-endian typed-array bytes. Thresholds are raw feature values,
 * so prediction needs no binning. Loading validates everything it later indexes with.
 */
import type { ModelArtifact } from "../../../core/stage.js";
import type { JsonObject, JsonValue } from "../../../core/json.js";
import type { GbtOptions } from "./types.js";

export const GBT_FORMAT = "quiver-gbt";
export const GBT_FORMAT_VERSION = 1;

/** All trees, node arrays concatenated; child indices are relative to the tree's first node. */
export interface GbtForest {
  readonly baseScore: number;
  /** Node range of tree t: treeStart[t] .. treeStart[t + 1]. */
  readonly treeStart: Int32Array;
  /** Split feature, or -1 for a leaf. */
  readonly feature: Int32Array;
  /** Rows with value <= threshold go left. */
  readonly threshold: Float64Array;
  readonly left: Int32Array;
  readonly right: Int32Array;
  readonly missingLeft: Uint8Array;
  readonly value: Float64Array;
}

export interface GbtModel {
  readonly forest: GbtForest;
  readonly featureNames: readonly string[];
  readonly options: GbtOptions;
  readonly binEdges: readonly Float64Array[];
}

export function encodeModel(m: GbtModel): ModelArtifact {
  const f = m.forest;
  const meta: JsonObject = {
    format: GBT_FORMAT,
    version: GBT_FORMAT_VERSION,
    objective: "binary:logloss",
    options: { ...m.options },
    featureNames: [...m.featureNames],
    baseScore: f.baseScore,
    numTrees: f.treeStart.length - 1,
    numNodes: f.feature.length,
    binEdges: m.binEdges.map((e) => Array.from(e)),
  };
  return {
    meta,
    blobs: {
      treeStart: int32Bytes(f.treeStart),
      feature: int32Bytes(f.feature),
      threshold: float64Bytes(f.threshold),
      left: int32Bytes(f.left),
      right: int32Bytes(f.right),
      missingLeft: new Uint8Array(f.missingLeft),
      value: float64Bytes(f.value),
    },
  };
}

/** Reads and validates a model artifact; throws an Error saying what is wrong with it. */
export function decodeModel(artifact: ModelArtifact): GbtModel {
  const meta = artifact.meta;
  if (meta.format !== GBT_FORMAT)
    throw new Error(
      `not a gradient-boosted-trees model: meta.format is ${show(meta.format)}, expected "${GBT_FORMAT}"`,
    );
  if (meta.version !== GBT_FORMAT_VERSION)
    throw new Error(
      `unsupported ${GBT_FORMAT} version ${show(meta.version)} (this build reads version ${GBT_FORMAT_VERSION}); retrain the model`,
    );
  const featureNames = meta.featureNames;
  if (!Array.isArray(featureNames) || !featureNames.every((s) => typeof s === "string"))
    throw bad("meta.featureNames must be an array of strings");
  const numFeatures = featureNames.length;
  const baseScore = meta.baseScore;
  if (typeof baseScore !== "number" || !Number.isFinite(baseScore))
    throw bad("meta.baseScore must be a finite number");
  const options = readOptions(meta.options);
  const edgesJson = meta.binEdges;
  if (!Array.isArray(edgesJson) || edgesJson.length !== numFeatures)
    throw bad(`meta.binEdges must hold one array per feature (${numFeatures})`);
  const binEdges = edgesJson.map((e, i) => {
    if (!Array.isArray(e) || !e.every((x) => typeof x === "number"))
      throw bad(`meta.binEdges[${i}] must be numbers`);
    return Float64Array.from(e);
  });

  const treeStart = readInt32(artifact, "treeStart");
  const feature = readInt32(artifact, "feature");
  const threshold = readFloat64(artifact, "threshold");
  const left = readInt32(artifact, "left");
  const right = readInt32(artifact, "right");
  const missingLeft = blob(artifact, "missingLeft");
  const value = readFloat64(artifact, "value");
  const numNodes = feature.length;
  for (const [name, len] of [
    ["threshold", threshold.length],
    ["left", left.length],
    ["right", right.length],
    ["missingLeft", missingLeft.length],
    ["value", value.length],
  ] as const) {
    if (len !== numNodes) throw bad(`blob "${name}" has ${len} entries but "feature" has ${numNodes}`);
  }
  if (meta.numTrees !== treeStart.length - 1 || meta.numNodes !== numNodes)
    throw bad("meta.numTrees/numNodes do not match the blobs");
  if (treeStart.length < 1 || treeStart[0] !== 0 || treeStart[treeStart.length - 1] !== numNodes)
    throw bad('blob "treeStart" must run from 0 to the number of nodes');
  for (let t = 0; t + 1 < treeStart.length; t++) {
    const s = treeStart[t]!;
    const size = treeStart[t + 1]! - s;
    if (size < 1) throw bad(`tree ${t} has no nodes`);
    for (let i = 0; i < size; i++) {
      const k = s + i;
      const f = feature[k]!;
      if (f === -1) {
        if (!Number.isFinite(value[k]!)) throw bad(`tree ${t} node ${i}: leaf value is not finite`);
        continue;
      }
      if (f < 0 || f >= numFeatures) throw bad(`tree ${t} node ${i}: feature index ${f} out of range`);
      if (Number.isNaN(threshold[k]!)) throw bad(`tree ${t} node ${i}: threshold is NaN`);
      // Children after their parent: no cycles, and every walk ends at a leaf.
      const l = left[k]!;
      const r = right[k]!;
      if (l <= i || l >= size || r <= i || r >= size)
        throw bad(`tree ${t} node ${i}: child index out of range`);
      if (missingLeft[k]! > 1) throw bad(`tree ${t} node ${i}: missingLeft must be 0 or 1`);
    }
  }
  return {
    forest: { baseScore, treeStart, feature, threshold, left, right, missingLeft, value },
    featureNames: featureNames,
    options,
    binEdges,
  };
}

function readOptions(v: JsonValue | undefined): GbtOptions {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw bad("meta.options must be an object");
  const num = (k: keyof GbtOptions): number => {
    const x = v[k];
    if (typeof x !== "number" || !Number.isFinite(x)) throw bad(`meta.options.${k} must be a number`);
    return x;
  };
  return {
    numTrees: num("numTrees"),
    maxDepth: num("maxDepth"),
    minExamples: num("minExamples"),
    subsample: num("subsample"),
    shrinkage: num("shrinkage"),
    maxBins: num("maxBins"),
    l2: num("l2"),
  };
}

function bad(message: string): Error {
  return new Error(`malformed ${GBT_FORMAT} model: ${message}`);
}

function show(v: JsonValue | undefined): string {
  return v === undefined ? "missing" : JSON.stringify(v);
}

function blob(artifact: ModelArtifact, name: string): Uint8Array {
  const b = artifact.blobs[name];
  if (!(b instanceof Uint8Array)) throw bad(`blob "${name}" is missing`);
  return b;
}

function readInt32(artifact: ModelArtifact, name: string): Int32Array {
  const b = blob(artifact, name);
  if (b.byteLength % 4 !== 0)
    throw bad(`blob "${name}" is ${b.byteLength} bytes, not a whole number of int32`);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out = new Int32Array(b.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getInt32(i * 4, true);
  return out;
}

function readFloat64(artifact: ModelArtifact, name: string): Float64Array {
  const b = blob(artifact, name);
  if (b.byteLength % 8 !== 0)
    throw bad(`blob "${name}" is ${b.byteLength} bytes, not a whole number of float64`);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out = new Float64Array(b.byteLength / 8);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat64(i * 8, true);
  return out;
}

function int32Bytes(a: Int32Array): Uint8Array {
  const out = new Uint8Array(a.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) view.setInt32(i * 4, a[i]!, true);
  return out;
}

function float64Bytes(a: Float64Array): Uint8Array {
  const out = new Uint8Array(a.length * 8);
  const view = new DataView(out.buffer);
  for (let i = 0; i < a.length; i++) view.setFloat64(i * 8, a[i]!, true);
  return out;
}
