/**
 * Table operations of the `load` stage once files are read: constant columns, concatenation with
 * type reconciliation, missing-value counts and fills, and type coercion. All columnar.
 */
import { didYouMean } from "../../../core/diagnostics.js";
import type { ParamPath } from "../../../core/schema.js";
import { StageError } from "../../../core/stage.js";
import { lineageOf, withLineage, type Column, type ColumnType, type Table } from "../../../core/table.js";
import type { ColumnTypeName } from "./csv.js";
import { NUM_BAD, parseNumber, type NumberScan } from "./csv-number.js";
import { DictBuilder } from "./dict-builder.js";

/** A file's (or a `files:` entry's) table with the name used in messages. */
export interface Part {
  readonly file: string;
  readonly table: Table;
}

/** Integers (in int32 range) become int32 columns, other numbers float64, strings dictionaries. */
export function constantColumn(value: number | string, n: number): Column {
  if (typeof value === "string") return { type: "dict", codes: new Int32Array(n), dictionary: [value] };
  if (Number.isInteger(value) && value >= -2147483648 && value <= 2147483647 && !Object.is(value, -0))
    return { type: "int32", values: new Int32Array(n).fill(value) };
  return { type: "float64", values: new Float64Array(n).fill(value) };
}

/**
 * One read's table as it joins the load: the `columns:` kept, in their order (each must be there,
 * or be one of `add:`'s), and `add:`'s constant columns, which may not replace a column of the
 * file; `name` is the file (or glob) as messages name it, `addParam` where `add:` is.
 */
export function shapePart(
  name: string,
  t: Table,
  columns: readonly string[] | undefined,
  add: Readonly<Record<string, number | string>> | undefined,
  addParam: ParamPath,
): Table {
  const out = new Map<string, Column>();
  if (columns) {
    const lacks = columns.filter((c) => !t.columns.has(c) && !(add && c in add));
    if (lacks.length) {
      const near = didYouMean(lacks[0]!, t.columns.keys());
      throw new StageError("QV_LOAD_UNKNOWN_COLUMN", `${name} has no column ${quoteList(lacks)}`, {
        param: ["columns"],
        hint: near ? `did you mean "${near}"?` : `its columns: ${quoteList([...t.columns.keys()], 30)}`,
        data: { file: name, column: lacks[0]! },
      });
    }
    for (const c of columns) if (t.columns.has(c)) out.set(c, t.columns.get(c)!);
  } else for (const [k, c] of t.columns) out.set(k, c);
  const keep = columns ? new Set(columns) : undefined;
  for (const [col, value] of Object.entries(add ?? {})) {
    if (t.columns.has(col))
      throw new StageError(
        "QV_LOAD_ADD_CLASH",
        `${name} already has a column "${col}"; add: would replace it`,
        {
          param: [...addParam, col],
          hint: "choose another name for the constant column",
        },
      );
    if (!keep || keep.has(col)) out.set(col, constantColumn(value, t.numRows));
  }
  if (!columns) return { numRows: t.numRows, columns: out };
  const ordered = new Map<string, Column>();
  for (const c of columns) ordered.set(c, out.get(c)!);
  return { numRows: t.numRows, columns: ordered };
}

/** A file's row count in the combined table, in file order. */
export interface FileRows {
  readonly file: string;
  readonly rows: number;
}

/** Maps a row of the combined table back to its file and 1-based row there, for messages. */
export function locateRow(files: readonly FileRows[], row: number): { file: string; row: number } {
  let start = 0;
  for (const f of files) {
    if (row < start + f.rows) return { file: f.file, row: row - start + 1 };
    start += f.rows;
  }
  return { file: files[files.length - 1]?.file ?? "", row: row + 1 };
}

/**
 * Checks that every part has the same set of columns (order may differ; the first file's wins)
 * and concatenates them. Differences are one error listing every file's missing and extra columns.
 */
export function concatParts(parts: readonly Part[]): Table {
  const first = parts[0]!;
  const order = [...first.table.columns.keys()];
  const expected = new Set(order);
  const problems: string[] = [];
  for (const p of parts.slice(1)) {
    const names = new Set(p.table.columns.keys());
    const lacks = order.filter((n) => !names.has(n));
    const extra = [...names].filter((n) => !expected.has(n));
    if (lacks.length || extra.length) {
      const bits: string[] = [];
      if (lacks.length) bits.push(`lacks ${quoteList(lacks)}`);
      if (extra.length) bits.push(`has extra ${quoteList(extra)}`);
      problems.push(`${p.file} ${bits.join(" and ")}`);
    }
  }
  if (problems.length) {
    const common = order.filter((n) => parts.every((p) => p.table.columns.has(n)));
    throw new StageError(
      "QV_LOAD_COLUMNS_DIFFER",
      `the files have different columns (compared with ${first.file}): ${problems.join("; ")}`,
      {
        param: ["files"],
        hint: common.length
          ? `keep the columns all files share with columns: [${common.join(", ")}]`
          : "the files share no column; are they the same kind of table?",
      },
    );
  }
  if (parts.length === 1) return first.table;
  const numRows = parts.reduce((s, p) => s + p.table.numRows, 0);
  const columns = new Map<string, Column>();
  for (const name of order) {
    const pieces = parts.map((p) => p.table.columns.get(name)!);
    columns.set(name, concatColumn(name, pieces, parts, numRows));
  }
  return { numRows, columns };
}

function concatColumn(name: string, pieces: readonly Column[], parts: readonly Part[], n: number): Column {
  // Files written by Quiver may carry lineage (Arrow field metadata): kept when every file agrees.
  const lineage = lineageOf(pieces[0]!);
  pieces.forEach((c, i) => {
    const other = lineageOf(c);
    if (other.length !== lineage.length || other.some((s, k) => s !== lineage[k]))
      throw new StageError(
        "QV_FEATURE_LINEAGE",
        `column "${name}" was prepared differently in ${parts[0]!.file} (${lineage.join(" → ") || "as loaded"}) and ${parts[i]!.file} (${other.join(" → ") || "as loaded"})`,
        {
          param: ["files"],
          hint: "load files whose columns went through the same stages (e.g. all scaled, or none)",
          data: { column: name },
        },
      );
  });
  return withLineage(concatValues(name, pieces, parts, n), lineage);
}

function concatValues(name: string, pieces: readonly Column[], parts: readonly Part[], n: number): Column {
  const types = new Set<ColumnType>(pieces.map((c) => c.type));
  if (types.has("dict") && types.size > 1) {
    const textIn = parts.filter((_, i) => pieces[i]!.type === "dict").map((p) => p.file);
    const numIn = parts.filter((_, i) => pieces[i]!.type !== "dict").map((p) => p.file);
    throw new StageError(
      "QV_LOAD_TYPE_MISMATCH",
      `column "${name}" is text in ${textIn.join(", ")} but numeric in ${numIn.join(", ")}`,
      {
        param: ["types"],
        hint: `set types: {${name}: string} to read it as text everywhere, or fix the files`,
        data: { column: name },
      },
    );
  }
  if (types.size === 1 && types.has("int32")) {
    const out = new Int32Array(n);
    let o = 0;
    for (const c of pieces) {
      const v = (c as { values: Int32Array }).values;
      out.set(v, o);
      o += v.length;
    }
    return { type: "int32", values: out };
  }
  if (!types.has("dict")) {
    const out = new Float64Array(n);
    let o = 0;
    for (const c of pieces) {
      const v = (c as { values: Float64Array | Int32Array }).values;
      out.set(v, o);
      o += v.length;
    }
    return { type: "float64", values: out };
  }
  const dict = new DictBuilder();
  const codes = new Int32Array(n);
  let o = 0;
  for (const c of pieces) {
    if (c.type !== "dict") continue;
    const remap = Int32Array.from(c.dictionary, (s) => dict.code(s));
    for (let i = 0; i < c.codes.length; i++) {
      const k = c.codes[i]!;
      codes[o++] = k < 0 ? -1 : remap[k]!;
    }
  }
  return { type: "dict", codes, dictionary: dict.values };
}

export function missingCount(c: Column): number {
  let m = 0;
  if (c.type === "float64") {
    for (let i = 0; i < c.values.length; i++) if (Number.isNaN(c.values[i]!)) m++;
  } else if (c.type === "dict") {
    for (let i = 0; i < c.codes.length; i++) if (c.codes[i]! < 0) m++;
  }
  return m;
}

export function firstMissing(c: Column): number {
  if (c.type === "float64") return c.values.findIndex((v) => Number.isNaN(v));
  if (c.type === "dict") return c.codes.findIndex((v) => v < 0);
  return -1;
}

/** Replaces missing values of one column by `value`; returns the new column and how many it filled. */
export function fillColumn(
  name: string,
  c: Column,
  value: number | string,
): { column: Column; filled: number } {
  switch (c.type) {
    case "int32":
      return { column: c, filled: 0 };
    case "float64": {
      if (typeof value !== "number") throw fillTypeError(name, "numeric", value);
      let filled = 0;
      const out = c.values.slice();
      for (let i = 0; i < out.length; i++)
        if (Number.isNaN(out[i]!)) {
          out[i] = value;
          filled++;
        }
      return { column: { type: "float64", values: out }, filled };
    }
    case "dict": {
      if (typeof value !== "string") throw fillTypeError(name, "text", value);
      const dictionary = [...c.dictionary];
      let code = dictionary.indexOf(value);
      if (code < 0) code = dictionary.push(value) - 1;
      let filled = 0;
      const codes = c.codes.slice();
      for (let i = 0; i < codes.length; i++)
        if (codes[i]! < 0) {
          codes[i] = code;
          filled++;
        }
      return { column: { type: "dict", codes, dictionary }, filled };
    }
  }
}

function fillTypeError(name: string, kind: string, value: number | string): StageError {
  return new StageError(
    "QV_LOAD_FILL_TYPE",
    `fill value ${JSON.stringify(value)} does not suit the ${kind} column "${name}"`,
    {
      param: ["fill"],
      hint: kind === "text" ? "fill a text column with a string" : "fill a numeric column with a number",
    },
  );
}

/**
 * Converts a column to the type `types:` asks for. int32 requires whole numbers in range and no
 * missing value; text → number requires every value to parse.
 */
export function coerceColumn(
  name: string,
  c: Column,
  to: ColumnTypeName,
  files: readonly FileRows[],
): Column {
  const where = (row: number, what: string) => {
    const at = locateRow(files, row);
    return new StageError(
      "QV_LOAD_TYPE",
      `${at.file}: row ${at.row}, column "${name}": ${what}, so the column cannot be ${to}`,
      {
        param: ["types", name],
        hint:
          to === "int32"
            ? "use float64, or fill: missing values first"
            : "fix the value or choose another type",
        data: { file: at.file, row: at.row, column: name },
      },
    );
  };
  switch (to) {
    case "float64":
      if (c.type === "float64") return c;
      if (c.type === "int32") return { type: "float64", values: Float64Array.from(c.values) };
      return {
        type: "float64",
        values: textToNumbers(c, (row, text) => where(row, `"${text}" is not a number`)),
      };
    case "int32": {
      if (c.type === "int32") return c;
      const values =
        c.type === "float64"
          ? c.values
          : textToNumbers(c, (row, text) => where(row, `"${text}" is not a number`));
      const out = new Int32Array(values.length);
      for (let i = 0; i < values.length; i++) {
        const v = values[i]!;
        if (Number.isNaN(v)) throw where(i, "the value is missing");
        if (v !== (v | 0)) throw where(i, `${v} is not a whole number in the int32 range`);
        out[i] = v;
      }
      return { type: "int32", values: out };
    }
    case "string": {
      if (c.type === "dict") return c;
      const dict = new DictBuilder();
      const codes = new Int32Array(c.values.length);
      for (let i = 0; i < codes.length; i++) {
        const v = c.values[i]!;
        codes[i] = Number.isNaN(v) ? -1 : dict.code(String(v));
      }
      return { type: "dict", codes, dictionary: dict.values };
    }
  }
}

function textToNumbers(
  c: Column & { type: "dict" },
  bad: (row: number, text: string) => StageError,
): Float64Array {
  const scan: NumberScan = { value: 0, isIntLiteral: false };
  const numbers = c.dictionary.map((s) => {
    const b = Buffer.from(s, "utf8");
    return parseNumber(b, 0, b.length, scan) === NUM_BAD ? undefined : scan.value;
  });
  const out = new Float64Array(c.codes.length);
  for (let i = 0; i < out.length; i++) {
    const k = c.codes[i]!;
    if (k < 0) out[i] = NaN;
    else {
      const v = numbers[k];
      if (v === undefined) throw bad(i, c.dictionary[k]!);
      out[i] = v;
    }
  }
  return out;
}

export function quoteList(names: readonly string[], max = 8): string {
  const shown = names.slice(0, max).map((n) => `"${n}"`);
  return shown.join(", ") + (names.length > max ? ` and ${names.length - max} more` : "");
}
