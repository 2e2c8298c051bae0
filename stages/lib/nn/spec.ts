/**
 * The network spec users write under `model:` with `kind: nn` in a `train` or `kfold` stage.
 *
 * Kept free of tfjs (types and schema only) so another trainer (e.g. a WebAssembly one) can read
 * the same spec. What the fields mean is documented in docs/training.md.
 */
import { p, type Infer } from "../../../core/schema.js";

export const ACTIVATIONS = [
  "relu",
  "elu",
  "selu",
  "gelu",
  "swish",
  "tanh",
  "sigmoid",
  "softplus",
  "linear",
] as const;
export type Activation = (typeof ACTIVATIONS)[number];

const denseLayer = p.object({
  dense: p.integer({ min: 1, description: "number of units" }),
  activation: p.withDefault(p.enum(ACTIVATIONS, { description: "activation function" }), "relu"),
});
const dropoutLayer = p.object({
  dropout: p.number({ min: 0, max: 0.99, description: "fraction of units dropped while training" }),
});
const batchnormLayer = p.object({
  batchnorm: p.object({
    momentum: p.withDefault(p.number({ min: 0, max: 1, description: "moving average momentum" }), 0.99),
    epsilon: p.withDefault(p.number({ exclusiveMin: 0, description: "added to the variance" }), 0.001),
  }),
});

const layerSchema = p.union([denseLayer, dropoutLayer, batchnormLayer], {
  description: "one hidden layer: {dense: units, activation}, {dropout: rate} or {batchnorm: {}}",
});
export type LayerSpec = Infer<typeof layerSchema>;

const lr = (dflt: number) => p.withDefault(p.number({ exclusiveMin: 0, description: "learning rate" }), dflt);
const adamFields = {
  lr: lr(0.001),
  beta1: p.withDefault(p.number({ min: 0, max: 1 }), 0.9),
  beta2: p.withDefault(p.number({ min: 0, max: 1 }), 0.999),
  epsilon: p.withDefault(p.number({ exclusiveMin: 0 }), 1e-7),
};
const optimizerSchema = p.union(
  [
    p.object({ adam: p.object(adamFields) }),
    p.object({
      adamw: p.object({
        ...adamFields,
        weight_decay: p.withDefault(
          p.number({ min: 0, description: "decoupled weight decay (Keras AdamW default)" }),
          0.004,
        ),
      }),
    }),
    p.object({
      sgd: p.object({
        lr: lr(0.01),
        momentum: p.withDefault(p.number({ min: 0, max: 1 }), 0),
        nesterov: p.withDefault(p.boolean(), false),
      }),
    }),
  ],
  { description: "{adam: {...}}, {adamw: {...}} or {sgd: {...}}" },
);
export type OptimizerSpec = Infer<typeof optimizerSchema>;

const MONITORS = ["val_loss", "val_accuracy", "loss", "accuracy"] as const;
export type Monitor = (typeof MONITORS)[number];

const earlyStoppingSchema = p.object({
  monitor: p.withDefault(p.enum(MONITORS), "val_loss"),
  patience: p.withDefault(
    p.integer({ min: 0, description: "epochs without improvement before stopping" }),
    5,
  ),
  min_delta: p.withDefault(
    p.number({ min: 0, description: "smallest change that counts as improvement" }),
    0,
  ),
  restore_best: p.withDefault(p.boolean({ description: "end with the weights of the best epoch" }), true),
});
export type EarlyStoppingSpec = Infer<typeof earlyStoppingSchema>;

export const nnSpecSchema = p.object({
  kind: p.enum(["nn"] as const),
  normalization: p.withDefault(
    p.boolean({
      description: "standardise inputs with mean/variance of the training table (Keras Normalization)",
    }),
    false,
  ),
  layers: p.withDefault(
    p.array(layerSchema, { description: "hidden layers; none gives logistic regression" }),
    [],
  ),
  output: p.withDefault(
    p.enum(["sigmoid"] as const, { description: "one sigmoid unit (binary classification)" }),
    "sigmoid",
  ),
  loss: p.withDefault(p.enum(["binary_crossentropy"] as const), "binary_crossentropy"),
  loss_normalization: p.withDefault(
    p.enum(["batch_size", "sum_of_weights"] as const, {
      description: "weighted loss divided by the batch size (Keras) or by the sum of the batch's weights",
    }),
    "batch_size",
  ),
  optimizer: p.withDefault(optimizerSchema, { adam: { lr: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } }),
  l2: p.withDefault(p.number({ min: 0, description: "L2 penalty λ·Σw² on dense kernels (Keras l2)" }), 0),
  epochs: p.withDefault(p.integer({ min: 1 }), 10),
  batch_size: p.withDefault(
    p.integer({ min: 1, description: "rows per step; more than the rows = full batch" }),
    32,
  ),
  shuffle: p.withDefault(p.boolean({ description: "reshuffle the training rows every epoch" }), true),
  early_stopping: p.optional(earlyStoppingSchema),
});
export type NnSpec = Infer<typeof nnSpecSchema>;

/** Name of the optimizer a spec selects, and its settings. */
export function optimizerOf(
  o: OptimizerSpec,
):
  | { name: "adam"; lr: number; beta1: number; beta2: number; epsilon: number; weightDecay: 0 }
  | { name: "adamw"; lr: number; beta1: number; beta2: number; epsilon: number; weightDecay: number }
  | { name: "sgd"; lr: number; momentum: number; nesterov: boolean } {
  if ("adam" in o) return { name: "adam", ...o.adam, weightDecay: 0 };
  if ("adamw" in o) {
    const { weight_decay, ...rest } = o.adamw;
    return { name: "adamw", ...rest, weightDecay: weight_decay };
  }
  return { name: "sgd", ...o.sgd };
}

/** Which kind of layer an entry is (the union is discriminated by its one required key). */
export function layerKind(
  l: LayerSpec,
):
  | { kind: "dense"; units: number; activation: Activation }
  | { kind: "dropout"; rate: number }
  | { kind: "batchnorm"; momentum: number; epsilon: number } {
  if ("dense" in l) return { kind: "dense", units: l.dense, activation: l.activation };
  if ("dropout" in l) return { kind: "dropout", rate: l.dropout };
  return { kind: "batchnorm", ...l.batchnorm };
}
