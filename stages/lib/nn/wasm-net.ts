/**
 * A network from the WebAssembly trainer inside Quiver's model envelope (the `nn` meta and the
 * `weights` blob), reading it back, and scoring with it on the trainer's kernels. Also the
 * translation of the trainer's refusals into stage errors, shared with wasm-train.ts.
 */
import type { JsonObject, JsonValue } from "../../../core/json.js";
import { StageError } from "../../../core/stage.js";
import type { MlpActivation, MlpLayer } from "../mlp/index.js";
import { mlpSpecProblems } from "../mlp/spec.js";
import type { Normalization } from "./data.js";
import { ownBuffer, sigmoid } from "./network.js";
import { MLP_TRAINER_ID } from "./wasm-spec.js";

/** Turns the trainer's refusals into the user-facing errors they are. */
export async function withTrainerErrors<T>(f: () => Promise<T>): Promise<T> {
  const { MlpDataError, MlpMemoryError } = await import("../mlp/index.js");
  try {
    return await f();
  } catch (e) {
    if (e instanceof MlpMemoryError)
      throw new StageError("QV_NN_MEMORY", `the WebAssembly trainer ran out of memory: ${e.message}`, {
        param: ["trainer"],
        hint: "train on fewer rows, or set trainer: tfjs",
      });
    if (e instanceof MlpDataError && /sum of weights/.test(e.message))
      throw new StageError("QV_NN_WEIGHT", `a training batch's weights sum to zero or less: ${e.message}`, {
        param: ["model", "loss_normalization"],
        hint: "with negative weights use loss_normalization: batch_size, or larger batches",
      });
    if (e instanceof Error && /not built/.test(e.message))
      throw new StageError("QV_NN_TRAINER", e.message, {
        param: ["trainer"],
        hint: "build Quiver (npm run build), or set trainer: tfjs",
      });
    throw e;
  }
}

/**
 * The `nn` meta of a wasm-trained model: {trainer, input_dim, layers (the trainer's layer list,
 * output layer included), weightSpecs (names and shapes, tfjs style), normalization}.
 */
export function wasmNetMeta(
  layers: readonly MlpLayer[],
  inputDim: number,
  weightSpecs: JsonValue[],
  norm: Normalization | undefined,
): JsonObject {
  return {
    trainer: MLP_TRAINER_ID,
    input_dim: inputDim,
    layers: layers.map((l): JsonObject => ({ ...l })),
    weightSpecs,
    normalization: norm ? { mean: norm.mean, std: norm.std } : null,
  };
}

/** Whether an `nn` meta holds a network from the wasm trainer (else it is a tfjs model). */
export function isWasmNet(nn: JsonObject): boolean {
  return typeof nn.trainer === "string" && nn.trainer.startsWith("quiver-wasm-mlp/");
}

export interface WasmNet {
  readonly trainer: string;
  readonly inputDim: number;
  readonly layers: MlpLayer[];
  readonly weights: Float32Array[];
}

const SCORE_BLOCK_ROWS = 1 << 18;

/** The scores (sigmoid of the logit, float64) of a wasm-trained network on a float32 row-major matrix. */
export async function scoreWasmNet(net: WasmNet, x: Float32Array, threads: number): Promise<Float64Array> {
  if (x.length === 0) return new Float64Array(0);
  const { createMlpTrainer } = await import("../mlp/index.js");
  return withTrainerErrors(async () => {
    const trainer = await createMlpTrainer({
      inputDim: net.inputDim,
      layers: net.layers,
      optimizer: { kind: "sgd" },
      threads,
    });
    try {
      trainer.setWeights(net.weights);
      // In blocks, so that scoring a large table does not hold all of it in the trainer's memory.
      const d = net.inputDim;
      const rows = x.length / d;
      const out = new Float64Array(rows);
      for (let start = 0; start < rows; start += SCORE_BLOCK_ROWS) {
        const end = Math.min(rows, start + SCORE_BLOCK_ROWS);
        const z = trainer.predictLogits(x.subarray(start * d, end * d));
        for (let i = 0; i < z.length; i++) out[start + i] = sigmoid(z[i]!);
      }
      return out;
    } finally {
      await trainer.dispose();
    }
  });
}

/**
 * Reads a wasm-trained network back from its meta and weight bytes; `bad` makes the error for a
 * malformed artifact (the caller's QV_MODEL_FORMAT).
 */
export function parseWasmNet(
  nn: JsonObject,
  bytes: Uint8Array | undefined,
  bad: (m: string) => Error,
): WasmNet {
  const trainer = nn.trainer;
  if (trainer !== MLP_TRAINER_ID)
    throw bad(
      `this network was trained by ${JSON.stringify(trainer ?? null)}; this Quiver reads ${MLP_TRAINER_ID}`,
    );
  const inputDim = nn.input_dim;
  if (typeof inputDim !== "number" || !Number.isInteger(inputDim) || inputDim < 1)
    throw bad("the network's input size is malformed");
  if (!Array.isArray(nn.layers) || !Array.isArray(nn.weightSpecs) || !bytes)
    throw bad("the network in this model is incomplete");
  const layers = nn.layers.map((l): MlpLayer => {
    if (!isObject(l)) throw bad("the network's layer list is malformed");
    if (l.kind === "dense" && typeof l.units === "number" && typeof l.activation === "string")
      return { kind: "dense", units: l.units, activation: l.activation as MlpActivation };
    if (l.kind === "dropout" && typeof l.rate === "number") return { kind: "dropout", rate: l.rate };
    if (l.kind === "batchnorm" && typeof l.momentum === "number" && typeof l.epsilon === "number")
      return { kind: "batchnorm", momentum: l.momentum, epsilon: l.epsilon };
    throw bad(`the network has a malformed layer ${JSON.stringify(l)}`);
  });
  const problems = mlpSpecProblems({ inputDim, layers, optimizer: { kind: "sgd" } });
  if (problems.length > 0) throw bad(`the network in this model is malformed: ${problems[0]}`);
  const expected: number[][] = [];
  let width = inputDim;
  for (const l of layers) {
    if (l.kind === "dense") {
      expected.push([width, l.units], [l.units]);
      width = l.units;
    } else if (l.kind === "batchnorm") expected.push([width], [width], [width], [width]);
  }
  if (nn.weightSpecs.length !== expected.length)
    throw bad(`the network lists ${nn.weightSpecs.length} weight arrays; its layers need ${expected.length}`);
  const sizes = nn.weightSpecs.map((w, i) => {
    if (!isObject(w) || w.dtype !== "float32" || !Array.isArray(w.shape))
      throw bad("the network's weight list is malformed");
    if (JSON.stringify(w.shape) !== JSON.stringify(expected[i]))
      throw bad(`weight array ${i} has shape ${JSON.stringify(w.shape)}, not ${JSON.stringify(expected[i])}`);
    return expected[i]!.reduce((a, b) => a * b, 1);
  });
  const total = sizes.reduce((a, b) => a + b, 0);
  if (!(total * 4 === bytes.byteLength))
    throw bad(`the network's weights are ${bytes.byteLength} bytes; its weight list needs ${total * 4}`);
  const all = new Float32Array(ownBuffer(bytes));
  let off = 0;
  const weights = sizes.map((size) => {
    const w = all.subarray(off, off + size);
    off += size;
    return w;
  });
  return { trainer, inputDim, layers, weights };
}

function isObject(v: JsonValue | undefined): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
