/**
 * `load`: reads one or more data files (CSV, Parquet, Arrow IPC / Feather, HDF5, ROOT) into one table.
 * Files are concatenated row-wise, each may add constant columns (`sample: WZ`, `label: 0`), and
 * a separate label file may be joined row by row. Missing values are kept (NaN / missing string),
 * counted in the summary, and optionally filled. See docs/stages/load.md.
 *
 * Readers are imported inside `run`: they pull in wasm (parquet-wasm, h5wasm) and apache-arrow.
 */
import { didYouMean } from "../core/diagnostics.js";
import type { JsonObject } from "../core/json.js";
import { p, type Infer } from "../core/schema.js";
import type { ParamPath } from "../core/schema.js";
import { defineStage, StageError, table, type ParamProblem } from "../core/stage.js";
import type { Column, Table } from "../core/table.js";
import { REDUCERS, type JaggedRule } from "./lib/root/jagged.js";

const FORMAT_NAMES = ["auto", "csv", "parquet", "arrow", "hdf5", "root"] as const;
const TYPE_NAMES = ["float64", "int32", "string"] as const;

const jaggedRule = p.object({
  pad: p.optional(
    p.integer({ min: 1, description: "Keep the first N values as <branch>_0 … <branch>_{N-1}." }),
  ),
  fill: p.optional(p.number({ description: "pad: the value for missing entries (default NaN)." })),
  reduce: p.optional(
    p.array(p.enum(REDUCERS), {
      minItems: 1,
      description: "Per-event summaries as <branch>_<name>: count, sum, min, max, mean, first, last.",
    }),
  ),
  explode: p.optional(
    p.boolean({ description: "One row per value, other columns repeated, with an `entry` column." }),
  ),
});

const fileEntry = p.object({
  path: p.file({ description: "The data file, or a glob (data/*.root) for every file it matches." }),
  add: p.optional(
    p.map(p.union([p.number(), p.string()]), {
      description: "Constant columns for this file's rows, e.g. {sample: WZ, label: 0}.",
    }),
  ),
  format: p.optional(p.enum(FORMAT_NAMES, { description: "Overrides the stage's format for this file." })),
  dataset: p.optional(p.string({ description: "HDF5: the dataset or group to read in this file." })),
  tree: p.optional(p.string({ description: "ROOT: the TTree or RNTuple to read in this file." })),
  branches: p.optional(
    p.array(p.string(), { minItems: 1, description: "ROOT: this file's branches (replaces the stage's)." }),
  ),
  rename: p.optional(p.map(p.string(), { description: "ROOT: this file's renames (replaces the stage's)." })),
  jagged: p.optional(
    p.map(jaggedRule, { description: "ROOT: this file's jagged rules (replace the stage's)." }),
  ),
});

const params = p.object({
  files: p.array(p.union([p.file(), fileEntry]), {
    minItems: 1,
    description:
      "Files to read and concatenate: paths or globs (data/*.root, sorted), or {path, add, format, dataset, tree}.",
  }),
  format: p.withDefault(
    p.enum(FORMAT_NAMES, {
      description: "auto: by magic bytes, then extension (.csv/.tsv/.txt, .parquet, .arrow/.feather, .h5).",
    }),
    "auto",
  ),
  dataset: p.optional(p.string({ description: "HDF5: dataset path; default the only table in the file." })),
  columns: p.optional(
    p.array(p.string(), {
      minItems: 1,
      description: "Columns to keep, in this order (also resolves files that differ).",
    }),
  ),
  types: p.optional(p.map(p.enum(TYPE_NAMES), { description: "Column types overriding inference." })),
  delimiter: p.optional(
    p.string({ description: "CSV delimiter (one character); default guessed from the header." }),
  ),
  header: p.withDefault(p.boolean({ description: "CSV files start with a header line." }), true),
  names: p.optional(
    p.array(p.string(), {
      description: "column names for header-less CSV files, or for a 2-D HDF5 matrix (which stores none)",
    }),
  ),
  labels: p.optional(
    p.object({
      path: p.file({
        description: "A file with one value per data row (e.g. Labels.txt), joined by row order.",
      }),
      column: p.withDefault(p.string({ description: "Name of the joined column." }), "label"),
      header: p.withDefault(p.boolean({ description: "The label file has a header line." }), false),
      type: p.optional(p.enum(TYPE_NAMES, { description: "Type of the label column (default: inferred)." })),
    }),
  ),
  fill: p.optional(
    p.union([p.number(), p.map(p.union([p.number(), p.string()]))], {
      description: "Replaces missing values: one number for every numeric column, or {column: value}.",
    }),
  ),
  missing: p.withDefault(
    p.enum(["keep", "error"] as const, {
      description: "keep: missing values stay (NaN); error: any left after fill fails.",
    }),
    "keep",
  ),
  inferRows: p.withDefault(p.integer({ min: 1, description: "CSV rows used to infer column types." }), 1000),
  tree: p.optional(
    p.string({ description: "ROOT: the TTree or RNTuple to read (default: the only one in the file)." }),
  ),
  branches: p.optional(
    p.array(p.string(), {
      minItems: 1,
      description: "ROOT: branches to read, by name or glob (Muon_*); default all top-level branches.",
    }),
  ),
  rename: p.optional(p.map(p.string(), { description: "ROOT: new names for branches, {old: new}." })),
  jagged: p.optional(
    p.map(jaggedRule, {
      description:
        "ROOT: how to flatten branches with a variable number of values per event, by name or glob: " +
        "{pad: N, fill}, {reduce: [count, sum, min, max, mean, first, last]} or {explode: true}.",
    }),
  ),
});

type LoadParams = Infer<typeof params>;
type FileParam = LoadParams["files"][number];
type FileEntry = Infer<typeof fileEntry>;

type JaggedParam = Infer<typeof jaggedRule>;

function entryOf(f: FileParam): FileEntry {
  return typeof f === "string"
    ? {
        path: f,
        add: undefined,
        format: undefined,
        dataset: undefined,
        tree: undefined,
        branches: undefined,
        rename: undefined,
        jagged: undefined,
      }
    : f;
}

/** The rule a `jagged:` entry gives; check() has made sure exactly one of pad/reduce/explode is set. */
function jaggedRuleOf(r: JaggedParam): JaggedRule {
  if (r.pad !== undefined) return { kind: "pad", length: r.pad, fill: r.fill ?? NaN };
  if (r.reduce !== undefined) return { kind: "reduce", reducers: r.reduce };
  return { kind: "explode" };
}

export const loadStage = defineStage({
  type: "load",
  version: 1,
  description:
    "Reads CSV, Parquet, Arrow/Feather, HDF5 or ROOT files into one table (concatenated, with constant columns and joined labels).",
  inputs: {},
  outputs: { table: { kind: "table", description: "All rows of all files." } },
  params,
  check(prm): ParamProblem[] {
    const problems: ParamProblem[] = [];
    if (prm.delimiter !== undefined && (prm.delimiter.length !== 1 || prm.delimiter === '"'))
      problems.push({
        path: ["delimiter"],
        code: "QV_LOAD_DELIMITER",
        message: `delimiter must be one character other than '"', got ${JSON.stringify(prm.delimiter)}`,
        hint: 'use "\\t" for tab-separated files',
      });
    if (!prm.header && prm.names === undefined && prm.columns !== undefined)
      problems.push({
        path: ["columns"],
        code: "QV_LOAD_NAMES",
        message: "without a header, columns are named column_1, column_2, …; give names: to name them",
        severity: "warning",
      });
    const cols = prm.columns ?? [];
    const dup = cols.find((c, i) => cols.indexOf(c) !== i);
    if (dup !== undefined)
      problems.push({
        path: ["columns"],
        code: "QV_LOAD_DUPLICATE_COLUMN",
        message: `columns lists "${dup}" twice`,
      });
    const ruleSets: [ParamPath, Record<string, JaggedParam> | undefined][] = [[["jagged"], prm.jagged]];
    prm.files.forEach((f, i) => {
      if (typeof f !== "string") ruleSets.push([["files", i, "jagged"], f.jagged]);
    });
    for (const [at, rules] of ruleSets)
      for (const [pattern, rule] of Object.entries(rules ?? {})) {
        const given = (["pad", "reduce", "explode"] as const).filter((k) => rule[k] !== undefined);
        if (given.length !== 1 || rule.explode === false)
          problems.push({
            path: [...at, pattern],
            code: "QV_LOAD_JAGGED_RULE",
            message:
              given.length > 1
                ? `jagged rule for "${pattern}" gives ${given.join(" and ")}; give one`
                : `jagged rule for "${pattern}" says neither pad: N, reduce: [...] nor explode: true`,
            hint: "e.g. {pad: 2}, {reduce: [count, max]} or {explode: true}",
          });
        if (rule.fill !== undefined && rule.pad === undefined)
          problems.push({
            path: [...at, pattern, "fill"],
            code: "QV_LOAD_JAGGED_RULE",
            message: `fill: only goes with pad:`,
          });
      }
    for (const [from, to] of Object.entries(prm.rename ?? {}))
      if (to === "")
        problems.push({
          path: ["rename", from],
          code: "QV_LOAD_RENAME",
          message: "a new name cannot be empty",
        });
    return problems;
  },
  async run(ctx) {
    const prm = ctx.params;
    const { readTableFile } = await import("./lib/io/read.js");
    const combine = await import("./lib/io/combine.js");
    const keep = prm.columns ? new Set(prm.columns) : undefined;
    const parts: { file: string; table: Table }[] = [];
    const fileSummaries: JsonObject[] = [];
    let bytesRead = 0;
    let invalidUtf8 = 0;
    let events = 0;
    const rulesOf = (rules: Record<string, JaggedParam> | undefined) =>
      rules ? Object.fromEntries(Object.entries(rules).map(([k, r]) => [k, jaggedRuleOf(r)])) : undefined;
    // A glob path stands for the files it matches (sorted), each read with its entry's settings.
    const entries = prm.files.flatMap((f, param) => {
      const e = entryOf(f);
      return ctx.files(e.path).map((path) => ({ ...e, path, param }));
    });
    for (const [k, entry] of entries.entries()) {
      const i = entry.param;
      ctx.progress(k / entries.length, `reading ${entry.path}`);
      const read = await readTableFile(ctx.file(entry.path), entry.path, {
        format: entry.format ?? prm.format,
        header: prm.header,
        names: prm.names,
        delimiter: prm.delimiter,
        types: prm.types,
        keep,
        dataset: entry.dataset ?? prm.dataset,
        inferRows: prm.inferRows,
        root: {
          tree: entry.tree ?? prm.tree,
          branches: entry.branches ?? prm.branches,
          rename: entry.rename ?? prm.rename,
          jagged: rulesOf(entry.jagged ?? prm.jagged),
          firstEvent: events,
        },
      });
      if (read.format !== "root") {
        const keys = ["tree", "branches", "rename", "jagged"] as const;
        const own = keys.find((k) => entry[k] !== undefined);
        const rootParam = own ?? keys.find((k) => prm[k] !== undefined);
        if (rootParam !== undefined)
          throw new StageError(
            "QV_LOAD_ROOT_PARAM",
            `${entry.path} is a ${read.format} file; ${rootParam}: applies to ROOT files only`,
            {
              param: own ? ["files", i, own] : [rootParam],
              hint: "select columns of other formats with columns:",
              data: { file: entry.path },
            },
          );
      }
      events += read.events ?? read.table.numRows;
      for (const n of read.notes ?? []) ctx.note(n);
      bytesRead += read.bytes;
      invalidUtf8 += read.invalidUtf8;
      let t = read.table;
      const columns = new Map<string, Column>();
      if (prm.columns) {
        const lacks = prm.columns.filter((c) => !t.columns.has(c) && !(entry.add && c in entry.add));
        if (lacks.length) {
          const near = didYouMean(lacks[0]!, t.columns.keys());
          throw new StageError(
            "QV_LOAD_UNKNOWN_COLUMN",
            `${entry.path} has no column ${combine.quoteList(lacks)}`,
            {
              param: ["columns"],
              hint: near
                ? `did you mean "${near}"?`
                : `its columns: ${combine.quoteList([...t.columns.keys()], 30)}`,
              data: { file: entry.path, column: lacks[0]! },
            },
          );
        }
        for (const c of prm.columns) if (t.columns.has(c)) columns.set(c, t.columns.get(c)!);
      } else for (const [k, c] of t.columns) columns.set(k, c);
      for (const [name, value] of Object.entries(entry.add ?? {})) {
        if (t.columns.has(name))
          throw new StageError(
            "QV_LOAD_ADD_CLASH",
            `${entry.path} already has a column "${name}"; add: would replace it`,
            {
              param: ["files", i, "add", name],
              hint: "choose another name for the constant column",
            },
          );
        if (!keep || keep.has(name)) columns.set(name, combine.constantColumn(value, t.numRows));
      }
      if (prm.columns) {
        const ordered = new Map<string, Column>();
        for (const c of prm.columns) ordered.set(c, columns.get(c)!);
        t = { numRows: t.numRows, columns: ordered };
      } else t = { numRows: t.numRows, columns };
      parts.push({ file: entry.path, table: t });
      fileSummaries.push({
        path: entry.path,
        format: read.format,
        rows: t.numRows,
        bytes: read.bytes,
        ...read.details,
      });
    }
    let out = combine.concatParts(parts);

    checkNamedColumns(out, prm.types, "types");
    if (prm.fill !== undefined && typeof prm.fill === "object") checkNamedColumns(out, prm.fill, "fill");

    const missingBefore: Record<string, number> = {};
    for (const [name, c] of out.columns) {
      const m = combine.missingCount(c);
      if (m > 0) missingBefore[name] = m;
    }
    const filled: Record<string, number> = {};
    if (prm.fill !== undefined) {
      const fill = prm.fill;
      const cols = new Map(out.columns);
      for (const [name, c] of out.columns) {
        const value = typeof fill === "number" ? (c.type === "float64" ? fill : undefined) : fill[name];
        if (value === undefined) continue;
        const r = combine.fillColumn(name, c, value);
        cols.set(name, r.column);
        if (r.filled) filled[name] = r.filled;
      }
      out = { numRows: out.numRows, columns: cols };
    }
    if (prm.types) {
      const cols = new Map(out.columns);
      for (const [name, to] of Object.entries(prm.types)) {
        const c = cols.get(name);
        if (c) cols.set(name, combine.coerceColumn(name, c, to, parts));
      }
      out = { numRows: out.numRows, columns: cols };
    }
    let labelSummary: JsonObject | undefined;
    if (prm.labels) {
      const lab = prm.labels;
      ctx.progress(0.95, `reading ${lab.path}`);
      if (out.columns.has(lab.column))
        throw new StageError("QV_LOAD_ADD_CLASH", `the table already has a column "${lab.column}"`, {
          param: ["labels", "column"],
          hint: "name the label column differently with labels: {column: ...}",
        });
      const read = await readTableFile(ctx.file(lab.path), lab.path, {
        format: "auto",
        header: lab.header,
        inferRows: prm.inferRows,
      });
      bytesRead += read.bytes;
      const lt = read.table;
      if (lt.columns.size !== 1)
        throw new StageError(
          "QV_LOAD_LABELS",
          `${lab.path} has ${lt.columns.size} columns; a label file has one value per line`,
          {
            param: ["labels", "path"],
            data: { file: lab.path },
          },
        );
      if (lt.numRows !== out.numRows)
        throw new StageError(
          "QV_LOAD_LABELS",
          `${lab.path} has ${lt.numRows} label(s) but the data has ${out.numRows} row(s); labels are joined row by row`,
          {
            param: ["labels", "path"],
            hint: "the label file must have exactly one line per data row",
            data: { file: lab.path },
          },
        );
      let col = [...lt.columns.values()][0]!;
      if (lab.type) col = combine.coerceColumn(lab.column, col, lab.type, [{ file: lab.path, table: lt }]);
      const m = combine.missingCount(col);
      if (m > 0) missingBefore[lab.column] = m;
      const cols = new Map(out.columns);
      cols.set(lab.column, col);
      out = { numRows: out.numRows, columns: cols };
      labelSummary = { path: lab.path, column: lab.column, rows: lt.numRows, type: col.type };
    }

    const missingAfter: Record<string, number> = {};
    for (const [name, c] of out.columns) {
      const m = combine.missingCount(c);
      if (m > 0) missingAfter[name] = m;
    }
    const missingNames = Object.keys(missingAfter);
    if (missingNames.length && prm.missing === "error") {
      const name = missingNames[0]!;
      const at = combine.locateRow(parts, combine.firstMissing(out.columns.get(name)!));
      throw new StageError(
        "QV_LOAD_MISSING",
        `missing values remain in ${missingNames.map((n) => `"${n}" (${missingAfter[n]})`).join(", ")}; the first is ${at.file} row ${at.row}, column "${name}"`,
        {
          param: ["missing"],
          hint: "fill them with fill:, or set missing: keep",
          data: { ...at, column: name },
        },
      );
    }
    if (missingNames.length) {
      const total = missingNames.reduce((s, n) => s + missingAfter[n]!, 0);
      ctx.note(
        `${total} missing value(s) kept in ${missingNames.length} column(s): ` +
          missingNames.map((n) => `${n} (${missingAfter[n]})`).join(", "),
      );
    }
    if (invalidUtf8 > 0)
      ctx.note(`${invalidUtf8} text field(s) were not valid UTF-8; invalid bytes were replaced by U+FFFD`);

    const summary: JsonObject = {
      rows: out.numRows,
      files: fileSummaries,
      columns: Object.fromEntries([...out.columns].map(([n, c]) => [n, c.type])),
      missing: missingBefore,
      bytesRead,
    };
    if (Object.keys(filled).length) summary.filled = filled;
    if (invalidUtf8) summary.invalidUtf8 = invalidUtf8;
    if (labelSummary) summary.labels = labelSummary;
    return { outputs: { table: table(out) }, summary };
  },
});

function checkNamedColumns(
  t: Table,
  named: Readonly<Record<string, unknown>> | undefined,
  param: string,
): void {
  for (const name of Object.keys(named ?? {})) {
    if (t.columns.has(name)) continue;
    const near = didYouMean(name, t.columns.keys());
    throw new StageError(
      "QV_LOAD_UNKNOWN_COLUMN",
      `${param}: names column "${name}", which the table does not have`,
      {
        param: [param, name],
        hint: near ? `did you mean "${near}"?` : `columns: ${[...t.columns.keys()].slice(0, 30).join(", ")}`,
        data: { column: name },
      },
    );
  }
}
