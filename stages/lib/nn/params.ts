/**
 * Params shared by `train` and `kfold`: which columns feed the model, the model spec, and the
 * backend. Also the checks that need no data (a label that is also a feature, ...).
 */
import { p } from "../../../core/schema.js";
import type { ParamProblem } from "../../../core/stage.js";
import type { JsonValue } from "../../../core/json.js";
import { BACKEND_CHOICES, nnEnvironment, type BackendChoice } from "./backend.js";
import { modelSpecSchema, type ModelSpec } from "./spec.js";
import {
  MLP_TRAINER_ID,
  TRAINER_CHOICES,
  resolveTrainer,
  wasmProblems,
  type TrainerChoice,
} from "./wasm-spec.js";

/** Limits of stages/lib/gbt (MAX_DEPTH_LIMIT and the tree count), kept here so planning stays cheap. */
export const GBT_MAX_DEPTH = 16;
export const GBT_MAX_TREES = 100_000;

export const trainingFields = {
  features: p.array(p.column({ description: "a feature column" }), {
    minItems: 1,
    description: "the input columns, in order (explicit: a new column never slips in)",
  }),
  label: p.withDefault(p.column({ description: "0/1 label column" }), "label"),
  weight: p.optional(p.column({ description: "event weight column; enters the loss" })),
  model: modelSpecSchema,
  trainer: p.withDefault(
    p.enum(TRAINER_CHOICES, {
      description:
        "which trainer fits a network: auto = Quiver's WebAssembly SIMD trainer when it supports the spec, else tfjs",
    }),
    "auto",
  ),
  backend: p.withDefault(
    p.enum(BACKEND_CHOICES, {
      description:
        "tfjs backend (tfjs trainer only): auto = tensorflow when @tensorflow/tfjs-node is installed, else wasm",
    }),
    "auto",
  ),
};

export interface TrainingParams {
  features: string[];
  label: string;
  weight?: string | undefined;
  model: ModelSpec;
  trainer: TrainerChoice;
  backend: BackendChoice;
}

export function checkTrainingParams(pr: TrainingParams): ParamProblem[] {
  const problems: ParamProblem[] = [];
  const seen = new Map<string, number>();
  pr.features.forEach((f, i) => {
    const first = seen.get(f);
    if (first !== undefined)
      problems.push({
        path: ["features", i],
        code: "QV_DUPLICATE_FEATURE",
        message: `feature "${f}" is listed twice (also at position ${first + 1})`,
      });
    else seen.set(f, i);
    if (f === pr.label)
      problems.push({
        path: ["features", i],
        code: "QV_LABEL_AS_FEATURE",
        message: `the label "${f}" is also a feature: the model would read the answer`,
      });
    if (f === pr.weight)
      problems.push({
        path: ["features", i],
        code: "QV_WEIGHT_AS_FEATURE",
        message: `the weight column "${f}" is also a feature`,
        severity: "warning",
      });
  });
  if (pr.model.kind === "nn" && pr.trainer === "wasm") {
    const why = wasmProblems(pr.model, pr.features.length);
    if (why.length > 0)
      problems.push({
        path: ["trainer"],
        code: "QV_NN_TRAINER",
        message: `the WebAssembly trainer cannot train this network: ${why[0]}`,
        hint: "set trainer: tfjs, or auto to use tfjs for networks the WebAssembly trainer lacks",
      });
  }
  if (pr.model.kind === "gbt") {
    // The tree library's own limits (stages/lib/gbt/train.ts), beyond the schema's.
    if (pr.model.max_depth > GBT_MAX_DEPTH)
      problems.push({
        path: ["model", "max_depth"],
        code: "QV_GBT_OPTION",
        message: `max_depth ${pr.model.max_depth} is above the limit of ${GBT_MAX_DEPTH}`,
      });
    if (pr.model.num_trees > GBT_MAX_TREES)
      problems.push({
        path: ["model", "num_trees"],
        code: "QV_GBT_OPTION",
        message: `num_trees ${pr.model.num_trees} is above the limit of ${GBT_MAX_TREES}`,
      });
  }
  if (pr.model.kind === "gbt" && pr.trainer !== "auto")
    problems.push({
      path: ["trainer"],
      code: "QV_TRAINER_UNUSED",
      message: `trainer: ${pr.trainer} applies to networks; gbt models have their own trainer`,
      severity: "warning",
    });
  return problems;
}

/** The trainer a network trains on (undefined for gbt). Decided from params alone: cheap. */
export function networkTrainer(pr: TrainingParams): "wasm" | "tfjs" | undefined {
  return pr.model.kind === "nn" ? resolveTrainer(pr.trainer, pr.model, pr.features.length) : undefined;
}

/**
 * The training environment that enters the fingerprint: the trainer (and for tfjs its backend and
 * version). Never the thread count: no trainer's results depend on it.
 */
export function trainingEnvironment(pr: TrainingParams): JsonValue {
  const trainer = networkTrainer(pr);
  if (trainer === undefined) return { trainer: "quiver-gbt" };
  return trainer === "wasm" ? { trainer: MLP_TRAINER_ID } : nnEnvironment(pr.backend);
}
