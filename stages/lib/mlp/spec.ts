/**
 * The network description accepted by the WebAssembly trainer, its defaults (Keras' defaults, so a
 * spec means the same thing here as in the tfjs path) and its validation.
 */

/**
 * Recorded in fingerprints, model artifacts and run summaries to say which trainer produced a
 * model. Defined here (not in index.ts) so that planning can read it without loading the trainer.
 */
export const MLP_TRAINER_ID = "quiver-wasm-mlp/1";

export type MlpActivation = "relu" | "sigmoid" | "tanh" | "linear";

export interface MlpDenseLayer {
  kind: "dense";
  units: number;
  activation: MlpActivation;
}
export interface MlpDropoutLayer {
  kind: "dropout";
  /** Fraction of units zeroed in training (inverted dropout: survivors scaled by 1/(1-rate)). */
  rate: number;
}
export interface MlpBatchNormLayer {
  kind: "batchnorm";
  /** Running-statistics momentum, Keras convention: moving = moving*momentum + batch*(1-momentum). Default 0.99. */
  momentum?: number;
  /** Default 1e-3 (Keras). */
  epsilon?: number;
}
export type MlpLayer = MlpDenseLayer | MlpDropoutLayer | MlpBatchNormLayer;

export interface MlpAdam {
  kind: "adam" | "adamw";
  /** Default 0.001. */
  lr?: number;
  /** Default 0.9. */
  beta1?: number;
  /** Default 0.999. */
  beta2?: number;
  /** Default 1e-7 (Keras). */
  epsilon?: number;
  /** AdamW only, decoupled: w -= lr * weightDecay * w before each step. Default 0.004 (Keras). */
  weightDecay?: number;
}
export interface MlpSgd {
  kind: "sgd";
  /** Default 0.01. */
  lr?: number;
  /** Default 0. */
  momentum?: number;
  /** Nesterov momentum (Keras form). Default false. */
  nesterov?: boolean;
}
export type MlpOptimizer = MlpAdam | MlpSgd;

export interface MlpSpec {
  /** Number of input features. */
  inputDim: number;
  /** Hidden and output layers in order; the last must be a dense sigmoid layer (binary cross-entropy). */
  layers: MlpLayer[];
  optimizer: MlpOptimizer;
  /** L2 penalty factor on dense kernels (Keras `l2(factor)`: adds factor * sum(w^2) to the loss). Default 0. */
  l2?: number;
  /** Seed of the glorot-uniform initial weights and of the dropout masks. Default 0. */
  seed?: number;
  /** Threads (this one included); default 1. The results do not depend on it. */
  threads?: number;
  /**
   * How the weighted per-sample losses of a batch are averaged: "batch" divides by the number of
   * samples (Keras' sum_over_batch_size, the default), "weights" by the sum of the sample weights.
   */
  lossNormalization?: "batch" | "weights";
}

export interface ResolvedOptimizer {
  kind: "adam" | "adamw" | "sgd";
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  momentum: number;
  nesterov: boolean;
}

export type ResolvedLayer =
  MlpDenseLayer | MlpDropoutLayer | { kind: "batchnorm"; momentum: number; epsilon: number };

export interface ResolvedSpec {
  inputDim: number;
  layers: ResolvedLayer[];
  optimizer: ResolvedOptimizer;
  l2: number;
  seed: number;
  threads: number;
  lossNormalization: "batch" | "weights";
}

export class MlpSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MlpSpecError";
  }
}

/** Data the trainer cannot use (wrong lengths, non-finite values, labels outside [0, 1]). */
export class MlpDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MlpDataError";
  }
}

const ACTIVATIONS: readonly MlpActivation[] = ["relu", "sigmoid", "tanh", "linear"];

function finite(x: number, what: string, lo: number, hi: number, open = false): void {
  const ok = Number.isFinite(x) && (open ? x > lo && x < hi : x >= lo && x <= hi);
  if (!ok)
    throw new MlpSpecError(`${what} must be in ${open ? "(" : "["}${lo}, ${hi}${open ? ")" : "]"}, got ${x}`);
}

/** Problems that make a spec impossible for this trainer (empty when it can train it). */
export function mlpSpecProblems(spec: MlpSpec): string[] {
  try {
    resolveSpec(spec);
    return [];
  } catch (e) {
    if (e instanceof MlpSpecError) return [e.message];
    throw e;
  }
}

/** Fills defaults and checks ranges; throws MlpSpecError. */
export function resolveSpec(spec: MlpSpec): ResolvedSpec {
  if (!Number.isInteger(spec.inputDim) || spec.inputDim < 1) {
    throw new MlpSpecError(`inputDim must be a positive integer, got ${spec.inputDim}`);
  }
  if (spec.layers.length === 0) throw new MlpSpecError("the network needs at least one layer");
  const layers: ResolvedLayer[] = spec.layers.map((layer, i) => {
    const where = `layer ${i} (${layer.kind})`;
    switch (layer.kind) {
      case "dense":
        if (!Number.isInteger(layer.units) || layer.units < 1 || layer.units > 65536) {
          throw new MlpSpecError(`${where}: units must be an integer in [1, 65536], got ${layer.units}`);
        }
        if (!ACTIVATIONS.includes(layer.activation)) {
          throw new MlpSpecError(
            `${where}: activation "${String(layer.activation)}" is not one of ${ACTIVATIONS.join(", ")}`,
          );
        }
        return { kind: "dense", units: layer.units, activation: layer.activation };
      case "dropout":
        finite(layer.rate, `${where}: rate`, 0, 1, false);
        if (layer.rate >= 1) throw new MlpSpecError(`${where}: rate must be below 1, got ${layer.rate}`);
        return { kind: "dropout", rate: layer.rate };
      case "batchnorm": {
        const momentum = layer.momentum ?? 0.99;
        const epsilon = layer.epsilon ?? 1e-3;
        finite(momentum, `${where}: momentum`, 0, 1);
        finite(epsilon, `${where}: epsilon`, 0, Infinity, true);
        return { kind: "batchnorm", momentum, epsilon };
      }
      default: {
        const never: never = layer;
        throw new MlpSpecError(`layer ${i}: unknown kind ${JSON.stringify(never)}`);
      }
    }
  });
  const last = layers[layers.length - 1];
  if (last?.kind !== "dense" || last.activation !== "sigmoid") {
    throw new MlpSpecError(
      "the last layer must be dense with a sigmoid activation (the trainer minimises binary cross-entropy)",
    );
  }
  const o = spec.optimizer;
  let optimizer: ResolvedOptimizer;
  switch (o.kind) {
    case "adam":
    case "adamw":
      optimizer = {
        kind: o.kind,
        lr: o.lr ?? 0.001,
        beta1: o.beta1 ?? 0.9,
        beta2: o.beta2 ?? 0.999,
        epsilon: o.epsilon ?? 1e-7,
        weightDecay: o.kind === "adamw" ? (o.weightDecay ?? 0.004) : 0,
        momentum: 0,
        nesterov: false,
      };
      finite(optimizer.beta1, "optimizer.beta1", 0, 1, false);
      finite(optimizer.beta2, "optimizer.beta2", 0, 1, false);
      if (optimizer.beta1 >= 1 || optimizer.beta2 >= 1)
        throw new MlpSpecError("optimizer betas must be below 1");
      finite(optimizer.epsilon, "optimizer.epsilon", 0, Infinity);
      finite(optimizer.weightDecay, "optimizer.weightDecay", 0, Infinity);
      break;
    case "sgd":
      optimizer = {
        kind: "sgd",
        lr: o.lr ?? 0.01,
        beta1: 0,
        beta2: 0,
        epsilon: 0,
        weightDecay: 0,
        momentum: o.momentum ?? 0,
        nesterov: o.nesterov ?? false,
      };
      finite(optimizer.momentum, "optimizer.momentum", 0, 1);
      break;
    default: {
      const never: never = o;
      throw new MlpSpecError(`unknown optimizer ${JSON.stringify(never)}`);
    }
  }
  finite(optimizer.lr, "optimizer.lr", 0, Infinity, true);
  const l2 = spec.l2 ?? 0;
  finite(l2, "l2", 0, Infinity);
  const threads = spec.threads ?? 1;
  if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
    throw new MlpSpecError(`threads must be an integer in [1, 64], got ${threads}`);
  }
  return {
    inputDim: spec.inputDim,
    layers,
    optimizer,
    l2,
    seed: (spec.seed ?? 0) >>> 0,
    threads,
    lossNormalization: spec.lossNormalization ?? "batch",
  };
}
