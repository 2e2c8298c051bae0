/**
 * The yields of one cut with their statistical uncertainties, and every formula's Z for them, so a
 * significance scan can report its best cut in all the usual conventions at once.
 */
import { significance, type Formula, type FormulaOptions } from "./significance.js";

export interface CutYields {
  /** Σw and Σw² of signal / background events with score > threshold (uncorrected). */
  s: number;
  b: number;
  s2: number;
  b2: number;
}

/** Σw and Σw² of each class above `threshold` (score > threshold, as the scan counts). */
export function yieldsAbove(
  score: Float64Array,
  label: Uint8Array,
  weight: Float64Array | undefined,
  threshold: number,
): CutYields {
  let s = 0;
  let b = 0;
  let s2 = 0;
  let b2 = 0;
  for (let i = 0; i < score.length; i++) {
    if (!(score[i]! > threshold)) continue;
    const w = weight ? weight[i]! : 1;
    if (label[i] === 1) {
      s += w;
      s2 += w * w;
    } else {
      b += w;
      b2 += w * w;
    }
  }
  return { s, b, s2, b2 };
}

export const FORMULAS: readonly Formula[] = ["s_over_sqrt_b", "s_over_sqrt_s_plus_b", "asimov", "ams"];

/** Z of every formula for corrected yields S and B, with the stage's options (ε_B, σ_b, b_reg). */
export function allFormulas(s: number, b: number, o: FormulaOptions): Record<Formula, number | null> {
  const out = {} as Record<Formula, number | null>;
  for (const f of FORMULAS) {
    const z = significance(f, s, b, o);
    out[f] = Number.isFinite(z) ? z : null;
  }
  return out;
}
