/**
 * A trained network read back as plain numbers, for `describe` (the layer table) and `export`
 * (one JSON document with every weight). Both trainers store the same layout: the weight arrays
 * named as tfjs names them (dense_0/kernel, batchnorm_1/gamma, ..., logit/bias), their specs
 * (name, shape, float32) in the meta, and all of them concatenated little-endian in one blob.
 */
import type { JsonObject, JsonValue } from "../../../core/json.js";
import { validate } from "../../../core/schema.js";
import { StageError } from "../../../core/stage.js";
import type { ModelDescription, ModelPart, StoredModel } from "../models/kind.js";
import { ownBuffer } from "./network.js";
import { layerKind, nnSpecSchema, type NnSpec } from "./spec.js";

function bad(message: string): StageError {
  return new StageError("QV_MODEL_FORMAT", `malformed network: ${message}`, {
    hint: "retrain the model with this version of Quiver",
  });
}

/** The spec a network was trained with, validated again (the envelope keeps it as JSON). */
function storedNnSpec(model: StoredModel): NnSpec {
  const { value, issues } = validate(nnSpecSchema.spec, model.spec);
  if (issues.length > 0) throw bad(`its spec does not validate: ${issues[0]!.message}`);
  return value as NnSpec;
}

/** Every weight array of the network by name (float32 values). */
function storedWeights(model: StoredModel): Map<string, { shape: number[]; values: Float32Array }> {
  const specs = model.meta.weightSpecs;
  const bytes = model.blobs.weights;
  if (!Array.isArray(specs) || !bytes) throw bad("the weights are missing");
  if (bytes.byteLength % 4 !== 0) throw bad("the weight blob is not a whole number of float32");
  const all = new Float32Array(ownBuffer(bytes));
  const out = new Map<string, { shape: number[]; values: Float32Array }>();
  let offset = 0;
  for (const s of specs) {
    if (!isObject(s) || typeof s.name !== "string" || s.dtype !== "float32" || !Array.isArray(s.shape))
      throw bad("the weight list is malformed");
    const shape = s.shape.map((d) => {
      if (typeof d !== "number" || !Number.isInteger(d) || d < 0) throw bad("a weight shape is malformed");
      return d;
    });
    const size = shape.reduce((a, b) => a * b, 1);
    if (offset + size > all.length) throw bad("the weight blob is shorter than the weight list");
    out.set(s.name, { shape, values: all.subarray(offset, offset + size) });
    offset += size;
  }
  if (offset !== all.length) throw bad("the weight blob is longer than the weight list");
  return out;
}

/** The input standardisation kept in the model (null when the network reads raw features). */
export function storedNormalization(model: StoredModel): { mean: number[]; std: number[] } | null {
  const n = model.meta.normalization;
  if (!isObject(n)) return null;
  const list = (v: JsonValue | undefined): number[] => {
    if (!Array.isArray(v)) throw bad("the normalisation is malformed");
    return v.map((x) => {
      if (typeof x !== "number") throw bad("the normalisation is malformed");
      return x;
    });
  };
  return { mean: list(n.mean), std: list(n.std) };
}

/** The trainer recorded in the model: the WebAssembly trainer's id, or tfjs. */
function storedTrainer(model: StoredModel): string {
  const t = model.meta.trainer;
  return typeof t === "string" ? t : "tfjs";
}

export function describeNetwork(model: StoredModel): ModelDescription {
  const spec = storedNnSpec(model);
  const parts: ModelPart[] = [];
  const widths = [model.features.length];
  let width = model.features.length;
  spec.layers.forEach((l, i) => {
    const k = layerKind(l);
    switch (k.kind) {
      case "dense":
        parts.push({
          name: `dense_${i}`,
          type: "dense",
          detail: `${k.units} units, ${k.activation}`,
          parameters: width * k.units + k.units,
        });
        width = k.units;
        widths.push(width);
        return;
      case "dropout":
        parts.push({ name: `dropout_${i}`, type: "dropout", detail: `rate ${k.rate}`, parameters: 0 });
        return;
      case "batchnorm":
        // gamma and beta are trained; the moving statistics are not (Keras' "trainable params").
        parts.push({
          name: `batchnorm_${i}`,
          type: "batchnorm",
          detail: `momentum ${k.momentum}, epsilon ${k.epsilon}`,
          parameters: 2 * width,
        });
        return;
      default: {
        const never: never = k;
        throw new Error(`unknown layer ${JSON.stringify(never)}`);
      }
    }
  });
  parts.push({ name: "logit", type: "dense", detail: "1 unit, sigmoid", parameters: width + 1 });
  widths.push(1);
  const parameters = parts.reduce((a, p) => a + p.parameters, 0);
  return {
    kind: model.kind,
    summary: `network ${widths.join(" → ")}, ${parameters} trainable parameters`,
    trainer: storedTrainer(model),
    parts,
    parameters,
    facts: {
      inputs: model.features.length,
      normalization: storedNormalization(model) !== null,
      hidden_layers: spec.layers.length,
      ...(typeof model.meta.backend === "string" ? { tfjs_backend: model.meta.backend } : {}),
    },
  };
}

/**
 * The network as JSON: the input standardisation, then the layers in order as inference runs
 * them (dropout is the identity there, kept so the structure reads as trained), the last one the
 * output unit with its sigmoid. Kernels are [inputs][units] (Keras layout): unit j of a dense
 * layer computes activation(bias[j] + Σᵢ x[i]·kernel[i][j]). Batch normalisation at inference is
 * gamma·(x − moving_mean)/√(moving_variance + epsilon) + beta.
 */
export function exportNetwork(model: StoredModel): JsonObject {
  const spec = storedNnSpec(model);
  const weights = storedWeights(model);
  const get = (name: string) => {
    const w = weights.get(name);
    if (!w) throw bad(`the weight array "${name}" is missing`);
    return w;
  };
  const vector = (name: string) => Array.from(get(name).values);
  const matrix = (name: string): number[][] => {
    const w = get(name);
    const [rows, cols] = w.shape;
    if (w.shape.length !== 2 || rows === undefined || cols === undefined)
      throw bad(`"${name}" is not a matrix`);
    return Array.from({ length: rows }, (_, r) => Array.from(w.values.subarray(r * cols, (r + 1) * cols)));
  };
  const layers: JsonObject[] = spec.layers.map((l, i): JsonObject => {
    const k = layerKind(l);
    switch (k.kind) {
      case "dense":
        return {
          type: "dense",
          units: k.units,
          activation: k.activation,
          kernel: matrix(`dense_${i}/kernel`),
          bias: vector(`dense_${i}/bias`),
        };
      case "dropout":
        return { type: "dropout", rate: k.rate };
      case "batchnorm":
        return {
          type: "batchnorm",
          epsilon: k.epsilon,
          gamma: vector(`batchnorm_${i}/gamma`),
          beta: vector(`batchnorm_${i}/beta`),
          moving_mean: vector(`batchnorm_${i}/moving_mean`),
          moving_variance: vector(`batchnorm_${i}/moving_variance`),
        };
      default: {
        const never: never = k;
        throw new Error(`unknown layer ${JSON.stringify(never)}`);
      }
    }
  });
  layers.push({
    type: "dense",
    units: 1,
    activation: "sigmoid",
    kernel: matrix("logit/kernel"),
    bias: vector("logit/bias"),
  });
  return {
    normalization: storedNormalization(model),
    layers,
    activations: "Keras definitions (relu, elu, selu, gelu, swish, tanh, sigmoid, softplus, linear)",
  };
}

function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
