/**
 * Quiver's NaN policy for results. In tables a missing value is NaN (numbers) or the code -1
 * (text columns); each stage says whether it accepts them (stages/lib/columns.ts). In metrics,
 * which are JSON, a figure that is undefined (NaN: the AUC of one class, the precision of no
 * selected events) or infinite is written as null, never as a made-up number. This is the one
 * function that applies that rule.
 */
export function finite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}
