/**
 * Params shared by `train` and `kfold`: which columns feed the model, the model spec (one of the
 * registry's kinds), and how networks train. Also the checks that need no data (a label that is
 * also a feature, ...) and the training environment, each asking the spec's kind for its part.
 */
import { p } from "../../../core/schema.js";
import type { JsonValue } from "../../../core/json.js";
import type { ParamProblem } from "../../../core/stage.js";
import { BACKEND_CHOICES, type BackendChoice } from "../nn/backend.js";
import { TRAINER_CHOICES, type TrainerChoice } from "../nn/wasm-spec.js";
import { kindNamed, modelSpecSchema, type ModelKinds } from "./index.js";
import type { ModelSpecValue, PlanContext } from "./kind.js";

export function trainingFields(kinds: ModelKinds) {
  return {
    features: p.array(p.column({ description: "a feature column" }), {
      minItems: 1,
      description: "the input columns, in order (explicit: a new column never slips in)",
    }),
    label: p.withDefault(p.column({ description: "0/1 label column" }), "label"),
    weight: p.optional(p.column({ description: "event weight column; enters the loss" })),
    model: modelSpecSchema(kinds),
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
}

export interface TrainingParams {
  features: string[];
  label: string;
  weight?: string | undefined;
  model: ModelSpecValue;
  trainer: TrainerChoice;
  backend: BackendChoice;
}

export function planContext(pr: TrainingParams): PlanContext {
  return { features: pr.features, trainer: pr.trainer, backend: pr.backend };
}

export function checkTrainingParams(kinds: ModelKinds, pr: TrainingParams): ParamProblem[] {
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
  const kind = kinds.get(pr.model.kind);
  if (kind?.check) problems.push(...kind.check(pr.model, planContext(pr)));
  return problems;
}

/**
 * The training environment that enters the fingerprint: the kind's trainer (and whatever else
 * its results depend on). Never the thread count: no trainer's results depend on it.
 */
export function trainingEnvironment(kinds: ModelKinds, pr: TrainingParams): JsonValue {
  return kindNamed(kinds, pr.model.kind).environment(pr.model, planContext(pr));
}
