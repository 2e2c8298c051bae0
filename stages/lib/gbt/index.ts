/**
 * Gradient-boosted trees for binary classification: the library behind the `gbt` model kind.
 * See docs/gbt.md for the algorithm, its conventions and how it compares with TF-DF and scikit-learn.
 */
import type { PredictGbt, TrainGbt } from "./types.js";
import { trainGbt as train } from "./train.js";
import { predictGbt as predict } from "./predict.js";

export const trainGbt: TrainGbt = train;
export const predictGbt: PredictGbt = predict;
export { decodeModel, GBT_FORMAT, GBT_FORMAT_VERSION } from "./artifact.js";
export { weightedAuc } from "../eval/auc.js";
export { GbtMemoryError } from "./wasm.js";
export type { GbtOptions, GbtRunOptions, GbtTrainData, GbtTrainResult } from "./types.js";
