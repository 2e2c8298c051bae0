/**
 * Params shared by `train` and `kfold`: which columns feed the model, the model spec, and the
 * backend. Also the checks that need no data (a label that is also a feature, ...).
 */
import { p } from "../../../engine/schema.js";
import type { ParamProblem } from "../../../engine/stage.js";
import type { JsonValue } from "../../../engine/json.js";
import { BACKEND_CHOICES, nnEnvironment, type BackendChoice } from "./backend.js";
import { modelSpecSchema, type ModelSpec } from "./spec.js";

export const trainingFields = {
  features: p.array(p.column({ description: "a feature column" }), {
    minItems: 1,
    description: "the input columns, in order (explicit: a new column never slips in)",
  }),
  label: p.withDefault(p.column({ description: "0/1 label column" }), "label"),
  weight: p.optional(p.column({ description: "event weight column; enters the loss" })),
  model: modelSpecSchema,
  backend: p.withDefault(
    p.enum(BACKEND_CHOICES, {
      description:
        "tfjs backend for networks: auto = tensorflow when @tensorflow/tfjs-node is installed, else wasm",
    }),
    "auto",
  ),
};

export interface TrainingParams {
  features: string[];
  label: string;
  weight?: string | undefined;
  model: ModelSpec;
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
  return problems;
}

/** The training environment that enters the fingerprint (the backend only matters for networks). */
export function trainingEnvironment(pr: TrainingParams): JsonValue {
  return pr.model.kind === "nn" ? nnEnvironment(pr.backend) : { trainer: "quiver-gbt" };
}
