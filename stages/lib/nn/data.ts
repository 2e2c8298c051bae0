/**
 * From tables to what trainers take: feature columns as float64 arrays, 0/1 labels, weights, and
 * the float32 row-major matrix a network reads. Every bad cell is a StageError naming the column
 * and the row, since it is the user's data that is wrong.
 */
import { StageError } from "../../../core/stage.js";
import { numericValues, type Column, type Table } from "../../../core/table.js";
import { didYouMean } from "../../../core/diagnostics.js";
import type { ParamPath } from "../../../core/schema.js";

export interface Normalization {
  readonly mean: number[];
  /** Divisor per feature: max(√variance, 1e-7), as Keras' Normalization layer. */
  readonly std: number[];
}

export interface LabeledData {
  readonly n: number;
  /** One float64 view per feature (may alias the table's arrays: do not mutate). */
  readonly features: readonly Float64Array[];
  readonly labels: Uint8Array;
  readonly weights: Float64Array | undefined;
}

export function columnOf(t: Table, name: string, param: ParamPath | undefined, what: string): Column {
  const c = t.columns.get(name);
  if (c) return c;
  const near = didYouMean(name, [...t.columns.keys()]);
  throw new StageError("QV_UNKNOWN_COLUMN", `the ${what} has no column "${name}"`, {
    ...(param ? { param } : {}),
    hint: near ? `did you mean "${near}"?` : `columns: ${[...t.columns.keys()].slice(0, 12).join(", ")}`,
  });
}

/**
 * Feature columns as float64; missing values are refused unless `allowMissing` (networks cannot
 * take NaN; trees can). `param` is false when the names come from a model rather than the YAML.
 */
export function featureColumns(
  t: Table,
  names: readonly string[],
  what: string,
  opts: { allowMissing?: boolean; param?: boolean } = {},
): Float64Array[] {
  const allowMissing = opts.allowMissing ?? false;
  return names.map((name, j) => {
    const param: ParamPath | undefined = opts.param === false ? undefined : ["features", j];
    const c = columnOf(t, name, param, what);
    if (c.type === "dict")
      throw new StageError("QV_NN_FEATURE_TYPE", `feature "${name}" holds text; features must be numeric`, {
        ...(param ? { param } : {}),
        hint: "encode it as numbers first, or leave it out",
      });
    const v = numericValues(c);
    if (!allowMissing) {
      for (let i = 0; i < v.length; i++)
        if (!Number.isFinite(v[i]!))
          throw new StageError(
            "QV_NN_MISSING",
            `feature "${name}" has a ${Number.isNaN(v[i]!) ? "missing" : "non-finite"} value in row ${i} of the ${what}`,
            { data: { row: i, column: name }, hint: "fill or filter missing values before training" },
          );
    }
    return v;
  });
}

export function labelColumn(t: Table, name: string, what: string): Uint8Array {
  const c = columnOf(t, name, ["label"], what);
  if (c.type === "dict")
    throw new StageError("QV_NN_LABEL", `label "${name}" holds text; it must be 0 or 1`, {
      param: ["label"],
    });
  const v = numericValues(c);
  const out = new Uint8Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const y = v[i]!;
    if (y !== 0 && y !== 1)
      throw new StageError(
        "QV_NN_LABEL",
        `label "${name}" is ${Number.isNaN(y) ? "missing" : y} in row ${i}; labels must be 0 or 1`,
        {
          data: { row: i, column: name },
        },
      );
    out[i] = y;
  }
  return out;
}

export function weightColumn(t: Table, name: string, param: ParamPath, what: string): Float64Array {
  const c = columnOf(t, name, param, what);
  if (c.type === "dict")
    throw new StageError("QV_NN_WEIGHT", `weight "${name}" holds text; it must be numeric`, { param });
  const v = numericValues(c);
  for (let i = 0; i < v.length; i++)
    if (!Number.isFinite(v[i]!))
      throw new StageError("QV_NN_WEIGHT", `weight "${name}" is not a finite number in row ${i}`, {
        data: { row: i, column: name },
      });
  return v;
}

export function labeledData(
  t: Table,
  cols: { features: readonly string[]; label: string; weight?: string | undefined; weightParam?: ParamPath },
  what: string,
  allowMissing = false,
): LabeledData {
  const features = featureColumns(t, cols.features, what, { allowMissing });
  const labels = labelColumn(t, cols.label, what);
  const weights =
    cols.weight === undefined
      ? undefined
      : weightColumn(t, cols.weight, cols.weightParam ?? ["weight"], what);
  if (t.numRows === 0) throw new StageError("QV_NN_EMPTY", `the ${what} has no rows`);
  return { n: t.numRows, features, labels, weights };
}

/** Mean and (population) standard deviation per feature, as Keras' Normalization.adapt. */
export function fitNormalization(features: readonly Float64Array[]): Normalization {
  const mean: number[] = [];
  const std: number[] = [];
  for (const v of features) {
    let m = 0;
    for (let i = 0; i < v.length; i++) m += v[i]!;
    m /= v.length;
    let s = 0;
    for (let i = 0; i < v.length; i++) s += (v[i]! - m) * (v[i]! - m);
    mean.push(m);
    std.push(Math.max(Math.sqrt(s / v.length), 1e-7));
  }
  return { mean, std };
}

/** Float32 row-major matrix (n × d), normalised when `norm` is given. */
export function rowMajor(
  features: readonly Float64Array[],
  n: number,
  norm: Normalization | undefined,
): Float32Array {
  const d = features.length;
  const out = new Float32Array(n * d);
  for (let j = 0; j < d; j++) {
    const v = features[j]!;
    const m = norm ? norm.mean[j]! : 0;
    const s = norm ? norm.std[j]! : 1;
    for (let i = 0; i < n; i++) out[i * d + j] = (v[i]! - m) / s;
  }
  return out;
}
