/**
 * A dense network as ONNX nodes, from its portable form (stages/lib/nn/portable.ts
 * `exportNetwork`): the network's own input standardisation (Sub, Div), then each dense layer as
 * Gemm with its activation, the output unit's Sigmoid last.
 *
 * Inference only: dropout is the identity and is left out; batch normalisation is an affine map
 * per unit, (x − mean)·scale + beta, folded into the preceding dense layer when that layer is
 * linear (its output is what the batch norm reads), and otherwise into the following dense layer
 * (after a non-linearity the preceding one cannot absorb it): its kernel takes the scale and its
 * bias the shift, and the mean is subtracted by a Sub node before it — subtracting first, as the
 * batch norm does, keeps float32 from cancelling a large mean against a large product. Folding is
 * done in float64 from the float32 weights and rounded once to float32.
 */
import type { JsonObject, JsonValue } from "../../../core/json.js";
import type { OnnxGraph } from "./graph.js";

interface Dense {
  /** [inputs][units], Keras layout. */
  kernel: Float64Array;
  inputs: number;
  units: number;
  bias: Float64Array;
  activation: string;
  /** Subtracted from the input before the Gemm (a folded batch norm's mean), if any. */
  inputMean?: Float64Array;
}

/** y = (x − mean)·scale + beta per unit (batch normalisation at inference). */
interface Affine {
  mean: Float64Array;
  scale: Float64Array;
  beta: Float64Array;
}

function numbers(v: JsonValue | undefined, what: string): Float64Array {
  if (!Array.isArray(v) || !v.every((x) => typeof x === "number"))
    throw new Error(`network export: ${what} is not a list of numbers`);
  return Float64Array.from(v);
}

function denseOf(l: JsonObject): Dense {
  const rows = l.kernel;
  if (!Array.isArray(rows) || rows.length === 0) throw new Error("network export: a kernel is empty");
  const inputs = rows.length;
  const units = (rows[0] as number[]).length;
  const kernel = new Float64Array(inputs * units);
  rows.forEach((r, i) => kernel.set(numbers(r, "a kernel row"), i * units));
  if (typeof l.activation !== "string") throw new Error("network export: a dense layer has no activation");
  return { kernel, inputs, units, bias: numbers(l.bias, "a bias"), activation: l.activation };
}

function affineOf(l: JsonObject): Affine {
  const gamma = numbers(l.gamma, "gamma");
  const beta = numbers(l.beta, "beta");
  const mean = numbers(l.moving_mean, "moving_mean");
  const variance = numbers(l.moving_variance, "moving_variance");
  const eps = Number(l.epsilon);
  const scale = new Float64Array(gamma.length);
  for (let j = 0; j < gamma.length; j++) scale[j] = gamma[j]! / Math.sqrt(variance[j]! + eps);
  return { mean, scale, beta };
}

/** Dense then affine: W'[i][j] = W[i][j]·s[j], b'[j] = (b[j] − m[j])·s[j] + β[j]. */
function foldAfter(d: Dense, a: Affine): void {
  for (let i = 0; i < d.inputs; i++)
    for (let j = 0; j < d.units; j++) d.kernel[i * d.units + j] = d.kernel[i * d.units + j]! * a.scale[j]!;
  for (let j = 0; j < d.units; j++) d.bias[j] = (d.bias[j]! - a.mean[j]!) * a.scale[j]! + a.beta[j]!;
}

/** Affine then dense: input − m, then W'[i][j] = s[i]·W[i][j], b'[j] = b[j] + Σᵢ β[i]·W[i][j]. */
function foldBefore(a: Affine, d: Dense): void {
  for (let j = 0; j < d.units; j++) {
    let extra = 0;
    for (let i = 0; i < d.inputs; i++) extra += a.beta[i]! * d.kernel[i * d.units + j]!;
    d.bias[j] = d.bias[j]! + extra;
  }
  for (let i = 0; i < d.inputs; i++)
    for (let j = 0; j < d.units; j++) d.kernel[i * d.units + j] = a.scale[i]! * d.kernel[i * d.units + j]!;
  d.inputMean = a.mean;
}

/** The activations ONNX (opset ≥ 13) expresses with their Keras/tfjs definitions. */
export const ONNX_ACTIVATIONS = [
  "relu",
  "sigmoid",
  "tanh",
  "linear",
  "elu",
  "selu",
  "softplus",
  "swish",
  "gelu",
];

function activate(g: OnnxGraph, x: string, activation: string): string {
  switch (activation) {
    case "linear":
      return x;
    case "relu":
      return g.node("Relu", [x]);
    case "sigmoid":
      return g.node("Sigmoid", [x]);
    case "tanh":
      return g.node("Tanh", [x]);
    case "elu":
      return g.node("Elu", [x], { alpha: { f: 1 } });
    case "selu":
      // ONNX's default alpha and gamma are Keras's constants.
      return g.node("Selu", [x]);
    case "softplus":
      return g.node("Softplus", [x]);
    case "swish":
      return g.node("Mul", [x, g.node("Sigmoid", [x])]);
    case "gelu": {
      // x·½(1 + erf(x/√2)), the exact form Keras and tfjs use.
      const erf = g.node("Erf", [g.node("Div", [x, g.constant("sqrt2", [], [Math.SQRT2])])]);
      const cdf = g.node("Mul", [
        g.node("Add", [erf, g.constant("one", [], [1])]),
        g.constant("half", [], [0.5]),
      ]);
      return g.node("Mul", [x, cdf]);
    }
    default:
      throw new Error(`network export: activation "${activation}" has no ONNX form`);
  }
}

/**
 * Nodes for the network `doc` ({normalization, layers}) reading `input` ([N, inputs] float32);
 * returns the probability tensor [N, 1].
 */
export function networkNodes(g: OnnxGraph, input: string, doc: JsonObject, prefix: string): string {
  const layers = doc.layers;
  if (!Array.isArray(layers)) throw new Error("network export: no layers");
  // Fold batch norms first: a list of dense layers only.
  const dense: Dense[] = [];
  let pending: Affine | undefined;
  for (const raw of layers) {
    const l = raw as JsonObject;
    const type = typeof l.type === "string" ? l.type : "";
    switch (type) {
      case "dropout":
        break;
      case "batchnorm": {
        const a = affineOf(l);
        const prev = dense[dense.length - 1];
        if (pending === undefined && prev && prev.activation === "linear") foldAfter(prev, a);
        else if (pending) {
          // Two batch norms in a row: ((x − m1)s1 + β1 − m2)s2 + β2 = (x − m1)·s1s2 + (β1 − m2)s2 + β2.
          for (let j = 0; j < a.scale.length; j++) {
            pending.beta[j] = (pending.beta[j]! - a.mean[j]!) * a.scale[j]! + a.beta[j]!;
            pending.scale[j] = pending.scale[j]! * a.scale[j]!;
          }
        } else pending = a;
        break;
      }
      case "dense": {
        const d = denseOf(l);
        if (pending) foldBefore(pending, d);
        pending = undefined;
        dense.push(d);
        break;
      }
      default:
        throw new Error(`network export: unknown layer type ${JSON.stringify(l.type)}`);
    }
  }
  if (pending) throw new Error("network export: a batch norm follows the output unit");
  let x = input;
  const norm = doc.normalization;
  if (norm && typeof norm === "object" && !Array.isArray(norm)) {
    const mean = numbers(norm.mean, "the normalisation mean");
    const std = numbers(norm.std, "the normalisation std");
    x = g.node("Sub", [x, g.constant(`${prefix}norm_mean`, [mean.length], mean)]);
    x = g.node("Div", [x, g.constant(`${prefix}norm_std`, [std.length], std)]);
  }
  dense.forEach((d, k) => {
    if (d.inputMean) x = g.node("Sub", [x, g.constant(`${prefix}bn${k}_mean`, [d.inputs], d.inputMean)]);
    const w = g.constant(`${prefix}dense${k}_kernel`, [d.inputs, d.units], d.kernel);
    const b = g.constant(`${prefix}dense${k}_bias`, [d.units], d.bias);
    x = activate(g, g.node("Gemm", [x, w, b]), d.activation);
  });
  return x;
}
