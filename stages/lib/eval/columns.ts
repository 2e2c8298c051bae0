/**
 * Reading the score, label and weight columns the evaluation stages share, with the user-facing
 * errors (unknown column, NaN score, label that is not 0/1) raised as StageErrors.
 */
import { StageError } from "../../../core/stage.js";
import { didYouMean } from "../../../core/diagnostics.js";
import { numericValues, type Table } from "../../../core/table.js";

function column(t: Table, name: string, param: (string | number)[], what: string, port: string) {
  const c = t.columns.get(name);
  if (!c) {
    const near = didYouMean(name, [...t.columns.keys()]);
    throw new StageError("QV_EVAL_COLUMN", `${what} column "${name}" is not in input "${port}"`, {
      param,
      hint: near ? `did you mean "${near}"?` : `columns: ${[...t.columns.keys()].join(", ")}`,
    });
  }
  if (c.type === "dict")
    throw new StageError(
      "QV_EVAL_COLUMN_TYPE",
      `${what} column "${name}" holds text; a numeric column is needed`,
      {
        param,
      },
    );
  return numericValues(c);
}

/** A score column with no missing values. */
export function scoreColumn(
  t: Table,
  name: string,
  param: (string | number)[],
  port = "table",
): Float64Array {
  const v = column(t, name, param, "score", port);
  for (let i = 0; i < v.length; i++)
    if (Number.isNaN(v[i]!))
      throw new StageError("QV_EVAL_NAN_SCORE", `score column "${name}" has a missing (NaN) value`, {
        param,
        hint: "drop or impute those rows upstream (e.g. a select stage) before evaluating",
        data: { row: i, column: name },
      });
  return v;
}

/** The label column as 0/1 bytes (1 = signal). */
export function labelColumn(t: Table, name: string, param: (string | number)[], port = "table"): Uint8Array {
  const v = column(t, name, param, "label", port);
  const out = new Uint8Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const x = v[i]!;
    if (x === 1) out[i] = 1;
    else if (x !== 0)
      throw new StageError(
        "QV_EVAL_LABEL",
        `label column "${name}" must hold 0 (background) or 1 (signal), found ${x}`,
        {
          param,
          data: { row: i, column: name },
        },
      );
  }
  return out;
}

/** The weight column, or undefined when no weight is configured. Weights must be finite. */
export function weightColumn(
  t: Table,
  name: string | undefined,
  param: (string | number)[],
  port = "table",
): Float64Array | undefined {
  if (name === undefined) return undefined;
  const v = column(t, name, param, "weight", port);
  for (let i = 0; i < v.length; i++)
    if (!Number.isFinite(v[i]!))
      throw new StageError("QV_EVAL_WEIGHT", `weight column "${name}" has a missing or infinite value`, {
        param,
        data: { row: i, column: name },
      });
  return v;
}
