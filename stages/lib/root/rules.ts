/**
 * The jagged rules as values: what `jagged:` params become. Apart from jagged.ts, which applies
 * them, so the reader registry (read while planning) can name them without loading the reader.
 */
export const REDUCERS = ["count", "sum", "min", "max", "mean", "first", "last"] as const;
export type Reducer = (typeof REDUCERS)[number];

export type JaggedRule =
  | { readonly kind: "pad"; readonly length: number; readonly fill: number }
  | { readonly kind: "reduce"; readonly reducers: readonly Reducer[] }
  | { readonly kind: "explode" };
