/**
 * Column look-ups with user-facing errors, shared by the split, scale, oversample and reweight
 * stages: a missing column names the param it came from and the nearest existing column.
 */
import { didYouMean } from "../../core/diagnostics.js";
import { StageError } from "../../core/stage.js";
import type { ParamPath } from "../../core/schema.js";
import type { Column, Table } from "../../core/table.js";

export function requireColumn(t: Table, name: string, param: ParamPath, what = "table"): Column {
  const c = t.columns.get(name);
  if (c) return c;
  const near = didYouMean(name, t.columns.keys());
  throw new StageError("QV_UNKNOWN_COLUMN", `the ${what} has no column "${name}"`, {
    param,
    hint: near ? `did you mean "${near}"?` : `columns: ${[...t.columns.keys()].join(", ") || "none"}`,
  });
}

/**
 * Integer class labels of a column: int32 as is, float64 when every value is a whole number,
 * dictionary columns by their code. Missing values are an error: a row without a class cannot
 * be stratified, oversampled or reweighted.
 */
export function classLabels(t: Table, name: string, param: ParamPath): Int32Array {
  const c = requireColumn(t, name, param);
  switch (c.type) {
    case "int32":
      return c.values;
    case "float64": {
      const out = new Int32Array(c.values.length);
      for (let i = 0; i < out.length; i++) {
        const v = c.values[i]!;
        if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647)
          throw new StageError(
            "QV_BAD_LABEL",
            `column "${name}" must hold whole-number class labels, found ${Number.isNaN(v) ? "a missing value" : v}`,
            { param, data: { row: i, column: name } },
          );
        out[i] = v;
      }
      return out;
    }
    case "dict": {
      const missing = c.codes.indexOf(-1);
      if (missing >= 0)
        throw new StageError("QV_BAD_LABEL", `column "${name}" has a missing class label`, {
          param,
          data: { row: missing, column: name },
        });
      return c.codes;
    }
  }
}

/** How a class value reads for users: the string for dictionary columns, the number otherwise. */
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
 * The label code of a class given in the params: a whole number for numeric label columns, the
 * category text for dictionary columns. Codes compare against `classLabels` of the same column.
 */
export function classCode(t: Table, column: string, value: number | string, param: ParamPath): number {
  const c = requireColumn(t, column, param);
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
