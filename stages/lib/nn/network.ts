/**
 * The network as a tfjs LayersModel: built from the spec with seeded weights, run forward with
 * explicit dropout masks, saved to and loaded from bytes through tf.io handlers.
 *
 * Layer names are fixed ("dense_0", ...) rather than tfjs' process-wide counters, so the same
 * spec and seed give the same saved bytes in any process. The last two layers are the output:
 * a linear unit ("logit") and its sigmoid ("output"). Training and scoring stop at the logit and
 * apply the sigmoid themselves in float64, which keeps the loss stable and scores near 1 distinct.
 */
import type { JsonObject, JsonValue } from "../../../core/json.js";
import { Rng } from "../random.js";
import { deriveSeed } from "../../../core/seed.js";
import type { Tf } from "./backend.js";
import { layerKind, type NnSpec } from "./spec.js";

type LayersModel = import("@tensorflow/tfjs").LayersModel;
type Tensor = import("@tensorflow/tfjs").Tensor;
type Tensor2D = import("@tensorflow/tfjs").Tensor2D;

const LOGIT_LAYER = "logit";
const OUTPUT_LAYER = "output";

export interface SavedNet {
  readonly modelTopology: JsonObject;
  readonly weightSpecs: JsonValue[];
  readonly weights: Uint8Array;
}

/** Builds the Sequential model for `d` inputs and sets Glorot-uniform kernels from the seed. */
export function buildNet(tf: Tf, spec: NnSpec, d: number, seed: number): LayersModel {
  const model = tf.sequential({ name: "quiver_nn" });
  const inputShape = (i: number) => (i === 0 ? { inputShape: [d] } : {});
  spec.layers.forEach((l, i) => {
    const k = layerKind(l);
    switch (k.kind) {
      case "dense":
        model.add(
          tf.layers.dense({
            units: k.units,
            activation: k.activation,
            name: `dense_${i}`,
            kernelInitializer: "zeros",
            ...inputShape(i),
          }),
        );
        break;
      case "dropout":
        model.add(tf.layers.dropout({ rate: k.rate, name: `dropout_${i}`, ...inputShape(i) }));
        break;
      case "batchnorm":
        model.add(
          tf.layers.batchNormalization({
            momentum: k.momentum,
            epsilon: k.epsilon,
            name: `batchnorm_${i}`,
            ...inputShape(i),
          }),
        );
        break;
      default: {
        const never: never = k;
        throw new Error(`unknown layer ${JSON.stringify(never)}`);
      }
    }
  });
  model.add(
    tf.layers.dense({
      units: 1,
      activation: "linear",
      name: LOGIT_LAYER,
      kernelInitializer: "zeros",
      ...inputShape(spec.layers.length),
    }),
  );
  model.add(tf.layers.activation({ activation: "sigmoid", name: OUTPUT_LAYER }));
  initialiseKernels(tf, model, seed);
  return model;
}

/** Keras' glorot_uniform, drawn from Quiver's Rng so it is the same on every backend. */
function initialiseKernels(tf: Tf, model: LayersModel, seed: number): void {
  model.layers.forEach((layer, i) => {
    if (layer.getClassName() !== "Dense") return;
    const [kernel, bias] = layer.getWeights();
    if (!kernel || !bias) throw new Error(`dense layer ${layer.name} without kernel and bias`);
    const [fanIn, fanOut] = kernel.shape as [number, number];
    const limit = Math.sqrt(6 / (fanIn + fanOut));
    const rng = new Rng(deriveSeed(seed, `layer${i}`));
    const values = new Float32Array(fanIn * fanOut);
    for (let j = 0; j < values.length; j++) values[j] = limit * (2 * rng.uniform() - 1);
    const k = tf.tensor2d(values, [fanIn, fanOut]);
    const b = tf.zeros([fanOut]);
    layer.setWeights([k, b]);
    k.dispose();
    b.dispose();
  });
}

/**
 * Forward pass up to the logit (n × 1). With `training`, dropout multiplies by the given masks
 * (already scaled by 1/(1-rate)) and batch normalisation uses and updates batch statistics.
 */
export function forwardLogits(
  model: LayersModel,
  x: Tensor2D,
  training: boolean,
  masks?: ReadonlyMap<number, Tensor>,
): Tensor {
  let h: Tensor = x;
  for (let i = 0; i < model.layers.length; i++) {
    const layer = model.layers[i]!;
    if (layer.name === OUTPUT_LAYER) break;
    if (layer.getClassName() === "Dropout") {
      const mask = masks?.get(i);
      if (training && mask) h = h.mul(mask);
      continue;
    }
    h = layer.apply(h, { training }) as Tensor;
  }
  return h;
}

export function countParameters(model: LayersModel): number {
  return model.trainableWeights.reduce((a, w) => a + w.shape.reduce((x: number, y) => x * (y ?? 1), 1), 0);
}

function concatBuffers(data: ArrayBuffer | ArrayBuffer[]): Uint8Array {
  const parts = Array.isArray(data) ? data : [data];
  const total = parts.reduce((a, b) => a + b.byteLength, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(new Uint8Array(p), off);
    off += p.byteLength;
  }
  return out;
}

/** Serialises through a tf.io save handler: topology and weight specs as JSON, weights as bytes. */
export async function saveNet(tf: Tf, model: LayersModel): Promise<SavedNet> {
  let saved: SavedNet | undefined;
  await model.save(
    tf.io.withSaveHandler((a) => {
      if (!a.weightData || !a.weightSpecs || !a.modelTopology) throw new Error("tfjs saved no weights");
      saved = {
        // Round-trip through JSON: plain data only (no undefined), as artifacts must be.
        modelTopology: JSON.parse(JSON.stringify(a.modelTopology)) as JsonObject,
        weightSpecs: JSON.parse(JSON.stringify(a.weightSpecs)) as JsonValue[],
        weights: concatBuffers(a.weightData),
      };
      return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: "JSON" } });
    }),
  );
  if (!saved) throw new Error("tfjs did not call the save handler");
  return saved;
}

/**
 * The bytes of a view as an ArrayBuffer of exactly that length. Blobs read from the store may be
 * Node Buffers, which are views into a larger pool: `.slice()` on a Buffer does not copy and its
 * `.buffer` is the whole pool, so always copy the view's range.
 */
export function ownBuffer(bytes: Uint8Array): ArrayBuffer {
  const out = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(out).set(bytes);
  return out;
}

/** Loads a model saved by `saveNet` through tf.io.fromMemory. */
export async function loadNet(tf: Tf, saved: SavedNet): Promise<LayersModel> {
  const weightData = ownBuffer(saved.weights);
  return tf.loadLayersModel(
    tf.io.fromMemory({
      modelTopology: saved.modelTopology as object,
      weightSpecs: saved.weightSpecs as unknown as import("@tensorflow/tfjs").io.WeightsManifestEntry[],
      weightData,
    }),
  );
}

/** Logits for a float32 row-major matrix, in chunks so memory stays bounded. */
export function predictLogits(
  tf: Tf,
  model: LayersModel,
  x: Float32Array,
  n: number,
  d: number,
): Float64Array {
  const out = new Float64Array(n);
  const chunk = 8192;
  for (let start = 0; start < n; start += chunk) {
    const m = Math.min(chunk, n - start);
    const z = tf.tidy(() => {
      const xt = tf.tensor2d(x.subarray(start * d, (start + m) * d), [m, d]);
      return forwardLogits(model, xt, false).dataSync();
    });
    for (let i = 0; i < m; i++) out[start + i] = z[i]!;
  }
  return out;
}

export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}
