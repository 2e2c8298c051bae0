/**
 * The fitted scaler as the `scale` stage writes it to its `scaler` metrics port, and the reader
 * that turns such an artifact back into parameters when another scale stage reuses it.
 */
import type { JsonObject, JsonValue } from "../../core/json.js";
import { StageError } from "../../core/stage.js";
import type { MinMaxParams, StandardParams } from "./scalers.js";
import { lineageStep } from "./lineage.js";

export type FittedScaler =
  | { readonly method: "standard"; readonly columns: readonly (StandardParams & { readonly name: string })[] }
  | {
      readonly method: "minmax";
      readonly lo: number;
      readonly hi: number;
      readonly clip: boolean;
      readonly columns: readonly (MinMaxParams & { readonly name: string })[];
    };

const STANDARD_KEYS = ["mean", "var", "scale", "n_samples_seen"] as const;
const MINMAX_KEYS = ["data_min", "data_max", "scale", "min"] as const;

export function scalerMetrics(s: FittedScaler): JsonObject {
  const columns: JsonObject[] = s.columns.map((c) => ({ ...c }));
  return s.method === "standard"
    ? { method: s.method, columns }
    : { method: s.method, range: [s.lo, s.hi], clip: s.clip, columns };
}

/** Reads a `scaler` artifact; anything else connected to the port is reported, not guessed at. */
export function parseScaler(m: JsonObject, from: string): FittedScaler {
  const bad = (why: string) =>
    new StageError("QV_BAD_SCALER", `the scaler input (${from}) is not a fitted scaler: ${why}`, {
      hint: "connect the `scaler` output of a scale stage",
    });
  const cols = m.columns;
  if (!Array.isArray(cols) || cols.length === 0) throw bad("it has no columns");
  const read = <K extends string>(c: JsonValue, keys: readonly K[]): Record<K, number> & { name: string } => {
    if (typeof c !== "object" || c === null || Array.isArray(c) || typeof c.name !== "string")
      throw bad("a column entry has no name");
    const values: Record<string, number> = {};
    for (const k of keys) {
      const v = c[k];
      if (typeof v !== "number" || !Number.isFinite(v)) throw bad(`column "${c.name}" has no number "${k}"`);
      values[k] = v;
    }
    return { ...(values as Record<K, number>), name: c.name };
  };
  if (m.method === "standard")
    return { method: "standard", columns: cols.map((c) => read(c, STANDARD_KEYS)) };
  if (m.method === "minmax") {
    const r = m.range;
    if (!Array.isArray(r) || r.length !== 2 || typeof r[0] !== "number" || typeof r[1] !== "number")
      throw bad("it has no range");
    return {
      method: "minmax",
      lo: r[0],
      hi: r[1],
      clip: m.clip === true,
      columns: cols.map((c) => read(c, MINMAX_KEYS)),
    };
  }
  throw bad(`unknown method ${JSON.stringify(m.method ?? null)}`);
}

/**
 * The lineage step a scaler writes on each column it transforms: the method and the numbers that
 * determine that column's new values (and, for minmax, the clipping range), so two scalers that
 * transform a column alike write the same step.
 */
export async function scalerSteps(s: FittedScaler): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const c of s.columns) {
    const identity: JsonObject =
      s.method === "standard"
        ? { mean: (c as StandardParams).mean, scale: c.scale }
        : { scale: c.scale, min: (c as MinMaxParams).min, clip: s.clip ? [s.lo, s.hi] : null };
    out.set(c.name, await lineageStep(s.method, identity));
  }
  return out;
}
