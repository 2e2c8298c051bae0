/** Public surface of the WebAssembly dense-network trainer. */
export { createMlpTrainer, MlpTrainer, MlpDataError } from "./trainer.js";
export type { MlpData, EvaluateResult, EpochStats } from "./types.js";
export type { FitOptions, FitHistory, Monitor } from "./fit.js";
export { resolveSpec, mlpSpecProblems, MlpSpecError, MLP_TRAINER_ID } from "./spec.js";
export type { MlpSpec, MlpLayer, MlpActivation, MlpOptimizer, ResolvedSpec } from "./spec.js";
export { MLP_WASM_PATH } from "./wasm.js";
export { MlpMemoryError } from "./memory.js";
