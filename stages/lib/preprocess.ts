/**
 * Preprocessing a model carries: fitted scalers (one, or a chain applied in order) that `train`
 * and `kfold` take on their `preprocess` input, store in the model, and apply to the features of
 * every table the model scores, so that predict and exported models take raw features.
 */
import type { JsonObject } from "../../core/json.js";
import { isJsonObject } from "../../core/json.js";
import { StageError } from "../../core/stage.js";
import { lineageOf, type Table } from "../../core/table.js";
import { parseScaler, scalerMetrics, scalerSteps, type FittedScaler } from "./scaler-artifact.js";
import { transformMinMax, transformStandard } from "./scalers.js";

/** The scalers of a `scaler` artifact: itself, or the steps of a chain ({method: "chain", steps}). */
export function scalerChain(m: JsonObject, from: string): FittedScaler[] {
  if (m.method !== "chain") return [parseScaler(m, from)];
  const steps = m.steps;
  if (!Array.isArray(steps) || steps.length === 0)
    throw new StageError("QV_BAD_SCALER", `the scaler input (${from}) is a chain without steps`, {
      hint: "connect the `scaler` output of a scale stage",
    });
  return steps.map((s, i) => {
    if (!isJsonObject(s) || s.method === "chain")
      throw new StageError("QV_BAD_SCALER", `step ${i + 1} of the scaler chain (${from}) is not a scaler`);
    return parseScaler(s, `${from}, step ${i + 1}`);
  });
}

/** A chain as the `scaler` port and the model envelope store it (one scaler is stored as itself). */
export function chainMetrics(chain: readonly FittedScaler[]): JsonObject {
  return chain.length === 1 ? scalerMetrics(chain[0]!) : { method: "chain", steps: chain.map(scalerMetrics) };
}

/**
 * The features after the chain: each scaler transforms the features it has parameters for and
 * leaves the others as they are. Returns new arrays where something changed (inputs are never
 * mutated).
 */
export function applyToFeatures(
  chain: readonly FittedScaler[],
  names: readonly string[],
  features: readonly Float64Array[],
): Float64Array[] {
  const out = [...features];
  for (const s of chain) {
    for (const c of s.columns) {
      const j = names.indexOf(c.name);
      if (j < 0) continue;
      const x = out[j]!;
      out[j] =
        s.method === "standard"
          ? transformStandard(x, c as Parameters<typeof transformStandard>[1])
          : transformMinMax(
              x,
              c as Parameters<typeof transformMinMax>[1],
              s.clip ? { lo: s.lo, hi: s.hi } : undefined,
            );
    }
  }
  return out;
}

/** Which of `names` the chain transforms (a chain that touches none of the features is a mistake). */
export function scaledFeatures(chain: readonly FittedScaler[], names: readonly string[]): string[] {
  const touched = new Set(chain.flatMap((s) => s.columns.map((c) => c.name)));
  return names.filter((n) => touched.has(n));
}

/**
 * A model that carries its scaler must be given raw features: refuses a table whose feature
 * already ends with the step this chain would write (the scaler would be applied twice).
 */
export async function checkNotPrescaled(
  chain: readonly FittedScaler[],
  names: readonly string[],
  t: Table,
  what: string,
  from: string,
): Promise<void> {
  const last = new Map<string, string>();
  for (const s of chain) for (const [name, step] of await scalerSteps(s)) last.set(name, step);
  for (const f of names) {
    const step = last.get(f);
    const c = t.columns.get(f);
    if (step === undefined || !c) continue;
    if (lineageOf(c).includes(step))
      throw new StageError(
        "QV_FEATURE_LINEAGE",
        `the ${what}'s ${f} was already transformed by the scaler on the preprocess input (${from}); the model would apply it twice`,
        {
          data: { column: f },
          marks: [step],
          hint: "connect the unscaled table (the one the scale stage was fitted on) when the model carries its scaler",
        },
      );
  }
}
