/** Public surface of the WebAssembly dense-network trainer. */
export { createMlpTrainer, MlpTrainer, MlpDataError } from "./trainer.js";
export type { MlpData, EvaluateResult, EpochStats } from "./trainer.js";
export type { FitOptions, FitHistory, Monitor } from "./fit.js";
export { resolveSpec, mlpSpecProblems, MlpSpecError } from "./spec.js";
export type { MlpSpec, MlpLayer, MlpActivation, MlpOptimizer, ResolvedSpec } from "./spec.js";
export { MLP_WASM_PATH } from "./wasm.js";

/** Recorded in fingerprints and run summaries to say which trainer produced a model. */
export const MLP_TRAINER_ID = "quiver-wasm-mlp/1";
