/**
 * Which trainer fits a network, decided from the spec alone (cheap: used by `environment()` while
 * planning, so no wasm instantiation and no tfjs import), and the translation of the YAML spec
 * into the WebAssembly trainer's spec. See docs/training.md "Which trainer".
 */
import { MLP_TRAINER_ID, mlpSpecProblems, type MlpLayer, type MlpSpec } from "../mlp/spec.js";
import { Rng } from "../random.js";
import { deriveSeed } from "../../../core/seed.js";
import { layerKind, optimizerOf, type NnSpec } from "./spec.js";

export { MLP_TRAINER_ID };

export const TRAINER_CHOICES = ["auto", "wasm", "tfjs"] as const;
export type TrainerChoice = (typeof TRAINER_CHOICES)[number];
export type TrainerName = Exclude<TrainerChoice, "auto">;

/** The wasm trainer's spec for a YAML network spec on `inputDim` features (threads set by the caller). */
export function toMlpSpec(spec: NnSpec, inputDim: number, seed: number, threads = 1): MlpSpec {
  const layers: MlpLayer[] = spec.layers.map((l): MlpLayer => {
    const k = layerKind(l);
    switch (k.kind) {
      case "dense":
        // Activations only tfjs has pass through here; mlpSpecProblems names them.
        return { kind: "dense", units: k.units, activation: k.activation as "relu" };
      case "dropout":
        return { kind: "dropout", rate: k.rate };
      case "batchnorm":
        return { kind: "batchnorm", momentum: k.momentum, epsilon: k.epsilon };
      default: {
        const never: never = k;
        throw new Error(`unknown layer ${JSON.stringify(never)}`);
      }
    }
  });
  layers.push({ kind: "dense", units: 1, activation: "sigmoid" });
  const o = optimizerOf(spec.optimizer);
  const optimizer: MlpSpec["optimizer"] =
    o.name === "sgd"
      ? { kind: "sgd", lr: o.lr, momentum: o.momentum, nesterov: o.nesterov }
      : {
          kind: o.name,
          lr: o.lr,
          beta1: o.beta1,
          beta2: o.beta2,
          epsilon: o.epsilon,
          ...(o.name === "adamw" ? { weightDecay: o.weightDecay } : {}),
        };
  return {
    inputDim,
    layers,
    optimizer,
    l2: spec.l2,
    seed,
    threads,
    lossNormalization: spec.loss_normalization === "sum_of_weights" ? "weights" : "batch",
  };
}

/** Why the wasm trainer cannot train this spec (empty when it can). */
export function wasmProblems(spec: NnSpec, inputDim: number): string[] {
  return mlpSpecProblems(toMlpSpec(spec, Math.max(1, inputDim), 0));
}

/** The trainer a network spec trains on: `auto` is wasm when it can train the spec, else tfjs. */
export function resolveTrainer(choice: TrainerChoice, spec: NnSpec, inputDim: number): TrainerName {
  if (choice !== "auto") return choice;
  return wasmProblems(spec, inputDim).length === 0 ? "wasm" : "tfjs";
}

/** Weight names in the artifact, as tfjs names them, so both trainers' artifacts read alike. */
export function weightNames(spec: NnSpec): string[] {
  const names: string[] = [];
  spec.layers.forEach((l, i) => {
    const k = layerKind(l);
    if (k.kind === "dense") names.push(`dense_${i}/kernel`, `dense_${i}/bias`);
    else if (k.kind === "batchnorm")
      names.push(
        `batchnorm_${i}/gamma`,
        `batchnorm_${i}/beta`,
        `batchnorm_${i}/moving_mean`,
        `batchnorm_${i}/moving_variance`,
      );
  });
  names.push("logit/kernel", "logit/bias");
  return names;
}

/**
 * The initial weights the tfjs path draws for the same spec and seed (network.ts): Glorot-uniform
 * kernels from one Rng stream per layer index, zero biases, identity batchnorm. Both trainers
 * start from the same point, so they can be compared on one seed.
 */
export function initialWeights(spec: NnSpec, inputDim: number, seed: number): Float32Array[] {
  const out: Float32Array[] = [];
  let width = inputDim;
  const dense = (index: number, units: number) => {
    const limit = Math.sqrt(6 / (width + units));
    const rng = new Rng(deriveSeed(seed, `layer${index}`));
    const k = new Float32Array(width * units);
    for (let j = 0; j < k.length; j++) k[j] = limit * (2 * rng.uniform() - 1);
    out.push(k, new Float32Array(units));
    width = units;
  };
  spec.layers.forEach((l, i) => {
    const k = layerKind(l);
    if (k.kind === "dense") dense(i, k.units);
    else if (k.kind === "batchnorm")
      out.push(
        new Float32Array(width).fill(1),
        new Float32Array(width),
        new Float32Array(width),
        new Float32Array(width).fill(1),
      );
  });
  dense(spec.layers.length, 1);
  return out;
}
