/**
 * `load`: reads one or more data files into one table, in any format of the reader registry
 * (stages/lib/readers: CSV, Parquet, Arrow IPC / Feather, HDF5, ROOT, ...). Files are concatenated
 * row-wise (a glob stands for the files the engine matched, sorted), each entry may add constant
 * columns (`sample: WZ`, `label: 0`), and a separate label file may be joined row by row. Missing values are kept (NaN / missing string), counted in the summary,
 * and optionally filled. See docs/stages/load.md.
 *
 * Readers import their parsers inside `read`: they pull in wasm (h5wasm, the zstd decoder),
 * worker threads and apache-arrow, which planning must not pay for.
 */
import { own, setOwn } from "../core/dict.js";
import { didYouMean } from "../core/diagnostics.js";
import type { JsonObject } from "../core/json.js";
import { p, validate, type Infer, type Schema, type SchemaSpec } from "../core/schema.js";
import { defineStage, StageError, table, type ParamProblem } from "../core/stage.js";
import type { Table } from "../core/table.js";
import {
  chooseReader,
  defaultReaders,
  formatNames,
  readerFields,
  type TableReaders,
} from "./lib/readers/index.js";
import type { EntryFiles } from "./lib/readers/files.js";
import type { AnyTableReader, CommonReadOptions } from "./lib/readers/reader.js";

const TYPE_NAMES = ["float64", "int32", "string"] as const;

/** Reader params as validated: the readers own their types. */
type ReaderValues = Readonly<Record<string, unknown>>;

/** `base` with `extra` fields added (readers' params), keeping `base`'s type plus open reader values. */
function withFields<T>(
  base: Schema<T>,
  extra: Readonly<Record<string, SchemaSpec>>,
): Schema<T & ReaderValues> {
  const spec = base.spec;
  if (spec.kind !== "object") throw new Error("withFields: not an object schema");
  return { spec: { ...spec, fields: { ...spec.fields, ...extra } } };
}

function listOf(words: readonly string[]): string {
  return words.length <= 1
    ? words.join("")
    : `${words.slice(0, -1).join(", ")} or ${words[words.length - 1]!}`;
}

/** Where a file goes, for a `path:` written beside `files:` instead of inside it. */
const FILES_HINT =
  "files are listed under files: — files: [data/events.root] (globs too: data/*.root), or files: [{ path: data/events.root, add: { sample: Z } }]";

function paramsOf(readers: TableReaders) {
  const all = [...readers.values()];
  const formats = formatNames(readers);
  const stageFields: Record<string, SchemaSpec> = {};
  const fileFields: Record<string, SchemaSpec> = {};
  for (const r of all) {
    const fields = readerFields(r);
    Object.assign(stageFields, fields);
    for (const name of r.perFile ?? []) fileFields[name] = fields[name]!;
  }
  const fileEntry = withFields(
    p.object({
      path: p.file({ description: "The data file, or a glob (data/*.root) for every file it matches." }),
      add: p.optional(
        p.map(p.union([p.number(), p.string()]), {
          description: "Constant columns for this file's rows, e.g. {sample: WZ, label: 0}.",
        }),
      ),
      format: p.optional(p.enum(formats, { description: "Overrides the stage's format for this file." })),
    }),
    fileFields,
  );
  const fileList = Object.keys(fileFields);
  const extensions = all.map((r) => r.extensions.join(" ")).join(", ");
  const base = p.object(
    {
      files: p.array(p.union([p.file(), fileEntry]), {
        minItems: 1,
        description: `Files to read and concatenate: paths or globs (data/*.root, matches sorted), or {${["path", "add", "format", ...fileList].join(", ")}}.`,
      }),
      format: p.withDefault(
        p.enum(formats, { description: `auto: by magic bytes, then extension (${extensions}).` }),
        "auto",
      ),
      columns: p.optional(
        p.array(p.string(), {
          minItems: 1,
          description: "Columns to keep, in this order (also resolves files that differ).",
        }),
      ),
      types: p.optional(p.map(p.enum(TYPE_NAMES), { description: "Column types overriding inference." })),
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
          type: p.optional(
            p.enum(TYPE_NAMES, { description: "Type of the label column (default: inferred)." }),
          ),
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
    },
    { misplaced: { path: FILES_HINT, file: FILES_HINT, paths: FILES_HINT } },
  );
  return { schema: withFields(base, stageFields), fileEntry };
}

type LoadParams = Infer<ReturnType<typeof paramsOf>["schema"]>;
type FileParam = LoadParams["files"][number];
type FileEntry = Exclude<FileParam, string>;

function entryOf(f: FileParam): FileEntry {
  return typeof f === "string" ? { path: f, add: undefined, format: undefined } : f;
}

/** The values of `reader`'s params: the stage's, overridden by the file entry's where it may. */
function readerValues(reader: AnyTableReader, prm: LoadParams, entry?: FileEntry): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(readerFields(reader))) out[name] = prm[name];
  for (const name of reader.perFile ?? []) if (entry?.[name] !== undefined) out[name] = entry[name];
  return out;
}

/**
 * A reader's params for the label file, which `files:` params do not describe: the reader's
 * defaults, with `overrides` for the params it has.
 */
function labelFileValues(
  reader: AnyTableReader,
  overrides: Record<string, unknown>,
): Record<string, unknown> {
  const { value } = validate(reader.params.spec, {});
  const out: Record<string, unknown> = typeof value === "object" && value !== null ? { ...value } : {};
  for (const [name, v] of Object.entries(overrides)) if (name in readerFields(reader)) out[name] = v;
  return out;
}

export function makeLoadStage(readers: TableReaders) {
  const titles = listOf([...readers.values()].map((r) => r.title));
  return defineStage({
    type: "load",
    version: 1,
    description: `Reads ${titles} files into one table (concatenated, with constant columns and joined labels).`,
    inputs: {},
    outputs: { table: { kind: "table", description: "All rows of all files." } },
    params: paramsOf(readers).schema,
    check(prm): ParamProblem[] {
      const problems: ParamProblem[] = [];
      const context = { names: prm.names, columns: prm.columns };
      for (const r of readers.values()) {
        if (!r.check) continue;
        problems.push(...r.check(readerValues(r, prm), context));
        // A file's own values of the reader's params, checked where the file entry sets them.
        prm.files.forEach((f, i) => {
          const entry = entryOf(f);
          const own = (r.perFile ?? []).filter((name) => entry[name] !== undefined);
          if (own.length === 0) return;
          for (const problem of r.check!(readerValues(r, prm, entry), context))
            if (own.includes(String(problem.path[0])))
              problems.push({ ...problem, path: ["files", i, ...problem.path] });
        });
      }
      const cols = prm.columns ?? [];
      const dup = cols.find((c, i) => cols.indexOf(c) !== i);
      if (dup !== undefined)
        problems.push({
          path: ["columns"],
          code: "QV_LOAD_DUPLICATE_COLUMN",
          message: `columns lists "${dup}" twice`,
        });
      return problems;
    },
    async run(ctx) {
      const prm = ctx.params;
      const combine = await import("./lib/io/combine.js");
      const { openSource } = await import("./lib/readers/source.js");
      const { checkReaderParams, entryFiles, readRun } = await import("./lib/readers/files.js");
      const keep = prm.columns ? new Set(prm.columns) : undefined;
      const common: CommonReadOptions = { names: prm.names, types: prm.types, keep };
      const parts: { file: string; table: Table }[] = [];
      const fileRows: { file: string; rows: number }[] = [];
      const fileSummaries: JsonObject[] = [];
      let bytesRead = 0;
      let invalidUtf8 = 0;
      const entries = prm.files.map(entryOf);
      // Every file and its reader first: a param no chosen reader takes fails before any data is read.
      const planned: EntryFiles[] = [];
      for (const [i, entry] of entries.entries())
        planned.push(
          await entryFiles(
            readers,
            i,
            entry.path,
            ctx.files(entry.path),
            (name) => ctx.file(name),
            entry.format ?? prm.format,
          ),
        );
      checkReaderParams(
        readers,
        planned,
        (name) => prm[name],
        (i, name) => entries[i]![name],
      );
      let records = 0;
      for (const { index: i, runs } of planned) {
        const entry = entries[i]!;
        ctx.progress(i / entries.length, `reading ${entry.path}`);
        for (const { reader, sources } of runs) {
          const read = await readRun(
            { reader, sources },
            readerValues(reader, prm, entry),
            { ...common, recordsBefore: records },
            (param) => entry[param] !== undefined,
            i,
          );
          const name = sources.length === 1 ? sources[0]!.name : entry.path;
          invalidUtf8 += read.invalidUtf8;
          for (const n of read.notes ?? []) ctx.note(n);
          const t = combine.shapePart(name, read.table, prm.columns, entry.add, ["files", i, "add"]);
          parts.push({ file: name, table: t });
          for (const f of read.files) {
            bytesRead += f.bytes;
            records += f.records ?? f.rows;
            fileRows.push({ file: f.file, rows: f.rows });
            fileSummaries.push({
              path: f.file,
              format: reader.name,
              rows: f.rows,
              bytes: f.bytes,
              ...f.details,
            });
          }
        }
      }
      let out = combine.concatParts(parts);

      checkNamedColumns(out, prm.types, "types");
      if (prm.fill !== undefined && typeof prm.fill === "object") checkNamedColumns(out, prm.fill, "fill");

      const missingBefore: Record<string, number> = {};
      for (const [name, c] of out.columns) {
        const m = combine.missingCount(c);
        if (m > 0) setOwn(missingBefore, name, m);
      }
      const filled: Record<string, number> = {};
      if (prm.fill !== undefined) {
        const fill = prm.fill;
        const cols = new Map(out.columns);
        for (const [name, c] of out.columns) {
          const value =
            typeof fill === "number" ? (c.type === "float64" ? fill : undefined) : own(fill, name);
          if (value === undefined) continue;
          const r = combine.fillColumn(name, c, value);
          cols.set(name, r.column);
          if (r.filled) setOwn(filled, name, r.filled);
        }
        out = { numRows: out.numRows, columns: cols };
      }
      if (prm.types) {
        const cols = new Map(out.columns);
        for (const [name, to] of Object.entries(prm.types)) {
          const c = cols.get(name);
          if (c) cols.set(name, combine.coerceColumn(name, c, to, fileRows));
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
        // The label file: any format; read with its readers' defaults except `header`, which is
        // the label file's own (labels: {header}), and the stage's inferRows.
        // A glob is fine for the label file only when it names one file: the labels join row by row.
        const labelFiles = ctx.files(lab.path);
        if (labelFiles.length !== 1)
          throw new StageError(
            "QV_LOAD_LABELS",
            `labels: "${lab.path}" matches ${labelFiles.length} files; the labels are one file`,
            { param: ["labels", "path"], hint: "name the label file itself" },
          );
        const labelFile = labelFiles[0]!;
        const source = await openSource(ctx.file(labelFile), labelFile);
        const reader = await chooseReader(readers, "auto", source);
        const values = labelFileValues(reader, { header: lab.header, inferRows: prm.inferRows });
        const read = await reader.read([source], values, {});
        bytesRead += source.size;
        const lt = read.table;
        if (lt.columns.size !== 1)
          throw new StageError(
            "QV_LOAD_LABELS",
            `${labelFile} has ${lt.columns.size} columns; a label file has one value per line`,
            {
              param: ["labels", "path"],
              data: { file: labelFile },
            },
          );
        if (lt.numRows !== out.numRows)
          throw new StageError(
            "QV_LOAD_LABELS",
            `${labelFile} has ${lt.numRows} label(s) but the data has ${out.numRows} row(s); labels are joined row by row`,
            {
              param: ["labels", "path"],
              hint: "the label file must have exactly one line per data row",
              data: { file: labelFile },
            },
          );
        let col = [...lt.columns.values()][0]!;
        if (lab.type)
          col = combine.coerceColumn(lab.column, col, lab.type, [{ file: labelFile, rows: lt.numRows }]);
        const m = combine.missingCount(col);
        if (m > 0) missingBefore[lab.column] = m;
        const cols = new Map(out.columns);
        cols.set(lab.column, col);
        out = { numRows: out.numRows, columns: cols };
        labelSummary = { path: labelFile, column: lab.column, rows: lt.numRows, type: col.type };
      }

      const missingAfter: Record<string, number> = {};
      for (const [name, c] of out.columns) {
        const m = combine.missingCount(c);
        if (m > 0) missingAfter[name] = m;
      }
      const missingNames = Object.keys(missingAfter);
      if (missingNames.length && prm.missing === "error") {
        const name = missingNames[0]!;
        const at = combine.locateRow(fileRows, combine.firstMissing(out.columns.get(name)!));
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
}

export const loadStage = makeLoadStage(defaultReaders);

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
