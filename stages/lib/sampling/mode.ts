/**
 * The `rng:` / `random_state:` params shared by the stages that draw rows (split, oversample,
 * kfold). `rng: quiver` (the default) draws from Quiver's generator seeded by the stage seed the
 * engine derives; `rng: numpy` draws as NumPy's `RandomState(random_state)`, through the Python call
 * each stage names in its docs, so the rows are the notebook's.
 *
 * In numpy mode the seed is `random_state`, written in the stage's `with:` exactly as the notebook
 * passes it (an integer in [0, 2³²), or a list of them for an array seed), never the engine's
 * derived stage seed: a notebook's `random_state=420` is `random_state: 420`.
 */
import { p } from "../../../core/schema.js";
import type { JsonObject, JsonValue } from "../../../core/json.js";
import type { ParamProblem } from "../../../core/stage.js";
import { NumpyRandomState } from "./random-state.js";

const seedWord = p.integer({ min: 0, max: 4294967295, description: "an integer in [0, 2**32)" });

export const samplingFields = {
  rng: p.withDefault(
    p.enum(["quiver", "numpy"] as const, {
      description:
        "quiver: Quiver's generator, seeded by the stage seed; numpy: NumPy's RandomState(random_state), through the same calls as scikit-learn / pandas",
    }),
    "quiver",
  ),
  random_state: p.optional(
    p.union([seedWord, p.array(seedWord, { minItems: 1 })], {
      description:
        "rng: numpy only: the notebook's seed, as passed to random_state= or np.random.seed() (an integer, or a list for an array seed)",
    }),
  ),
};

export interface SamplingParams {
  rng: "quiver" | "numpy";
  random_state?: number | number[];
}

/**
 * Cross-field rules: numpy mode needs `random_state` when the stage draws at all (`draws`), and a
 * `random_state` without numpy mode is not silently dropped.
 */
export function checkSampling(pr: SamplingParams, draws: boolean): ParamProblem[] {
  if (pr.rng === "numpy" && draws && pr.random_state === undefined)
    return [
      {
        path: ["rng"],
        code: "QV_NUMPY_SEED",
        message: "rng: numpy needs random_state: the seed the notebook passes to NumPy",
        hint: "e.g. `random_state: 420` for random_state=420, or after np.random.seed(420)",
      },
    ];
  if (pr.rng === "quiver" && pr.random_state !== undefined)
    return [
      {
        path: ["random_state"],
        code: "QV_PARAM_UNUSED",
        message: "random_state is read only with rng: numpy; Quiver's generator uses the stage seed",
        hint: "add `rng: numpy`, or set the stage's `seed:` instead",
        severity: "warning",
      },
    ];
  return [];
}

/** NumPy's RandomState for the stage's `random_state` (checked present by `checkSampling`). */
export function numpyState(pr: SamplingParams): NumpyRandomState {
  if (pr.random_state === undefined) throw new Error("numpy mode without random_state passed the check");
  return new NumpyRandomState(pr.random_state);
}

/**
 * The params as they enter the fingerprint: `rng: quiver` without a random_state leaves the
 * fingerprint as it was before these params existed, so Quiver-generator results stay cached.
 */
export function samplingFingerprint<P extends SamplingParams>(pr: P): JsonValue {
  const out = { ...(pr as unknown as JsonObject) };
  if (pr.rng === "quiver" && pr.random_state === undefined) {
    delete out.rng;
    delete out.random_state;
  }
  return out;
}
