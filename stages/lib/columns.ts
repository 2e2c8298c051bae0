/**
 * The one way stages read columns the user names: features, labels, weights, scores and class
 * columns, with one set of rules and error codes, so a mistake reads the same in every stage.
 *
 * - QV_UNKNOWN_COLUMN: the table has no such column (the hint names the nearest one);
 * - QV_COLUMN_TYPE: a text column where numbers are needed;
 * - QV_MISSING_VALUE: a missing value (NaN, or a missing string) where the role forbids one
 *   (features of a network, labels, weights; scores may be ±∞ but not NaN);
 * - QV_BAD_LABEL: a 0/1 label that is something else, a class label that is not a whole number;
 * - QV_UNKNOWN_CLASS: a class named in the params that the column does not hold.
 *
 * Every error carries the param that named the column (its YAML position) when there is one,
 * and the row and column of the bad value.
 */
import { didYouMean } from "../../core/diagnostics.js";
import type { ParamPath } from "../../core/schema.js";
import { StageError } from "../../core/stage.js";
import { numericValues, type Column, type Table } from "../../core/table.js";

/** Where a column name came from, for messages: the table ("training table", `input "test"`) and the param. */
export interface ColumnSource {
  readonly what: string;
  /** Undefined when the name is not the user's (e.g. a model's own feature list). */
  readonly param?: ParamPath | undefined;
}

function paramOf(src: ColumnSource): { param?: ParamPath } {
  return src.param !== undefined ? { param: src.param } : {};
}

export function requireColumn(t: Table, name: string, src: ColumnSource): Column {
  const c = t.columns.get(name);
  if (c) return c;
  const near = didYouMean(name, t.columns.keys());
  const names = [...t.columns.keys()];
  throw new StageError("QV_UNKNOWN_COLUMN", `the ${src.what} has no column "${name}"`, {
    ...paramOf(src),
    hint: near
      ? `did you mean "${near}"?`
      : `columns: ${names.slice(0, 20).join(", ") || "none"}${names.length > 20 ? ", …" : ""}`,
    data: { column: name },
  });
}

/**
 * A numeric column as float64 (int32 converted; the values may alias the table's: do not
 * mutate). `role` names what it is for in messages: "a feature", "the weight".
 */
export function numericColumn(t: Table, name: string, src: ColumnSource, role: string): Float64Array {
  const c = requireColumn(t, name, src);
  if (c.type === "dict")
    throw new StageError("QV_COLUMN_TYPE", `column "${name}" holds text; ${role} must be numeric`, {
      ...paramOf(src),
      hint: "encode it as numbers first (e.g. with a define stage), or name another column",
      data: { column: name },
    });
  return numericValues(c);
}

function missingValue(name: string, row: number, value: number, role: string, src: ColumnSource): StageError {
  const what = Number.isNaN(value) ? "a missing value" : `the value ${value}`;
  return new StageError(
    "QV_MISSING_VALUE",
    `${role} "${name}" has ${what} in row ${row} of the ${src.what}`,
    {
      ...paramOf(src),
      hint: "fill or filter missing values upstream (load's fill:, or a select stage)",
      data: { row, column: name },
    },
  );
}

/**
 * Feature columns as float64, in the order given. `param` is the path of the feature list (its
 * entry j is `[...param, j]`), undefined when the names come from a model. Missing values are
 * refused unless `missing: "allow"` (trees route NaN; networks cannot take it, nor ±∞).
 */
export function featureColumns(
  t: Table,
  names: readonly string[],
  opts: {
    readonly what: string;
    readonly param: ParamPath | undefined;
    readonly missing: "allow" | "refuse";
  },
): Float64Array[] {
  return names.map((name, j) => {
    const src = { what: opts.what, param: opts.param === undefined ? undefined : [...opts.param, j] };
    const v = numericColumn(t, name, src, "a feature");
    if (opts.missing === "refuse")
      for (let i = 0; i < v.length; i++)
        if (!Number.isFinite(v[i]!)) throw missingValue(name, i, v[i]!, "feature", src);
    return v;
  });
}

/** A 0/1 label column (1 = signal) as bytes. */
export function binaryLabels(t: Table, name: string, src: ColumnSource): Uint8Array {
  const v = numericColumn(t, name, src, "a label");
  const out = new Uint8Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const y = v[i]!;
    if (y === 1) out[i] = 1;
    else if (y !== 0) {
      if (Number.isNaN(y)) throw missingValue(name, i, y, "label", src);
      throw new StageError(
        "QV_BAD_LABEL",
        `label "${name}" is ${y} in row ${i} of the ${src.what}; labels must be 0 (background) or 1 (signal)`,
        { ...paramOf(src), data: { row: i, column: name } },
      );
    }
  }
  return out;
}

/** A weight column: finite numbers (negative weights are the caller's to accept or refuse). */
export function weightValues(t: Table, name: string, src: ColumnSource): Float64Array {
  const v = numericColumn(t, name, src, "a weight");
  for (let i = 0; i < v.length; i++)
    if (!Number.isFinite(v[i]!)) throw missingValue(name, i, v[i]!, "weight", src);
  return v;
}

/** A score column: numbers, ±∞ allowed (they still order the events), NaN not. */
export function scoreValues(t: Table, name: string, src: ColumnSource): Float64Array {
  const v = numericColumn(t, name, src, "a score");
  for (let i = 0; i < v.length; i++)
    if (Number.isNaN(v[i]!)) throw missingValue(name, i, v[i]!, "score", src);
  return v;
}

/**
 * Integer class labels of a column: int32 as is, float64 when every value is a whole number,
 * text columns by their code. Missing values are an error: a row without a class cannot be
 * stratified, oversampled or reweighted.
 */
export function classLabels(t: Table, name: string, src: ColumnSource): Int32Array {
  const c = requireColumn(t, name, src);
  switch (c.type) {
    case "int32":
      return c.values;
    case "float64": {
      const out = new Int32Array(c.values.length);
      for (let i = 0; i < out.length; i++) {
        const v = c.values[i]!;
        if (Number.isNaN(v)) throw missingValue(name, i, v, "class column", src);
        if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647)
          throw new StageError(
            "QV_BAD_LABEL",
            `class column "${name}" is ${v} in row ${i} of the ${src.what}; classes must be whole numbers or text`,
            { ...paramOf(src), data: { row: i, column: name } },
          );
        out[i] = v;
      }
      return out;
    }
    case "dict": {
      const missing = c.codes.indexOf(-1);
      if (missing >= 0) throw missingValue(name, missing, NaN, "class column", src);
      return c.codes;
    }
  }
}

/** How a class value reads for users: the string for text columns, the number otherwise. */
export function className(t: Table, column: string, value: number): string {
  const c = t.columns.get(column);
  return c?.type === "dict" ? (c.dictionary[value] ?? String(value)) : String(value);
}

/** Counts of each distinct value, keys sorted ascending. */
export function countClasses(labels: Int32Array): Map<number, number> {
  const m = new Map<number, number>();
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i]!;
    m.set(v, (m.get(v) ?? 0) + 1);
  }
  return new Map([...m.entries()].sort((a, b) => a[0] - b[0]));
}

/**
 * The label code of a class given in the params (`src.param` is where): a whole number for numeric
 * class columns, the category text for text columns. Codes compare against `classLabels`.
 */
export function classCode(t: Table, column: string, value: number | string, src: ColumnSource): number {
  const c = requireColumn(t, column, src);
  const param = src.param ?? [];
  if (c.type === "dict") {
    const code = c.dictionary.indexOf(String(value));
    if (code < 0) {
      const near = didYouMean(String(value), c.dictionary);
      throw new StageError("QV_UNKNOWN_CLASS", `column "${column}" has no class "${value}"`, {
        param,
        hint: near ? `did you mean "${near}"?` : `classes: ${c.dictionary.join(", ")}`,
      });
    }
    return code;
  }
  if (typeof value === "string")
    throw new StageError(
      "QV_UNKNOWN_CLASS",
      `column "${column}" holds numbers; give the class as a number, not "${value}"`,
      { param },
    );
  return value;
}
