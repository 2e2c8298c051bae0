/**
 * The functions and named constants of the expression language, looked up in Maps (never on plain
 * objects, so `constructor` or `__proto__` can only ever be column names).
 */

export type ValueType = "number" | "boolean" | "string";

export interface FunctionSignature {
  readonly minArgs: number;
  /** Infinity for variadic functions (min, max). */
  readonly maxArgs: number;
  readonly description: string;
}

export const FUNCTIONS: ReadonlyMap<string, FunctionSignature> = new Map<string, FunctionSignature>([
  ["abs", { minArgs: 1, maxArgs: 1, description: "absolute value" }],
  ["sqrt", { minArgs: 1, maxArgs: 1, description: "square root (NaN below 0)" }],
  ["log", { minArgs: 1, maxArgs: 1, description: "natural logarithm" }],
  ["log10", { minArgs: 1, maxArgs: 1, description: "base-10 logarithm" }],
  ["exp", { minArgs: 1, maxArgs: 1, description: "e to the power x" }],
  ["pow", { minArgs: 2, maxArgs: 2, description: "pow(x, y) = x ^ y" }],
  ["min", { minArgs: 2, maxArgs: Infinity, description: "smallest argument (NaN if any is NaN)" }],
  ["max", { minArgs: 2, maxArgs: Infinity, description: "largest argument (NaN if any is NaN)" }],
  ["where", { minArgs: 3, maxArgs: 3, description: "where(cond, a, b): a where cond holds, else b" }],
  ["floor", { minArgs: 1, maxArgs: 1, description: "round down" }],
  ["ceil", { minArgs: 1, maxArgs: 1, description: "round up" }],
  ["round", { minArgs: 1, maxArgs: 1, description: "round to nearest, halves to even (as numpy)" }],
  ["sign", { minArgs: 1, maxArgs: 1, description: "-1, 0 or 1" }],
  ["clip", { minArgs: 3, maxArgs: 3, description: "clip(x, lo, hi) = min(max(x, lo), hi)" }],
  ["isnan", { minArgs: 1, maxArgs: 1, description: "true where x is missing (NaN)" }],
]);

/** Used when no column has the name: a column named `e` wins over Euler's number. */
export const CONSTANTS: ReadonlyMap<string, number> = new Map([
  ["pi", Math.PI],
  ["e", Math.E],
  ["inf", Infinity],
]);

/** Round half to even, as numpy.round and Python 3's round. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  // Math.round rounds halves up; for an exact half with an odd result, step back to the even one.
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Floored modulo (the sign of the divisor), as numpy's `%` and Python's. */
export function floorMod(a: number, b: number): number {
  const r = a % b;
  return r !== 0 && r < 0 !== b < 0 ? r + b : r;
}
