/**
 * `format: csv` — comma-, tab-, semicolon- or bar-separated text (and header-less files of one
 * value per line, such as label files). The parser and its conventions: stages/lib/io/csv.ts and
 * docs/stages/load.md. The fallback for files no other reader recognises.
 */
import { p } from "../../../core/schema.js";
import type { ParamProblem } from "../../../core/stage.js";
import { StageError } from "../../../core/stage.js";
import { defineReader, readEach, type SourceFile } from "./reader.js";

const params = p.object({
  delimiter: p.optional(
    p.string({ description: "CSV delimiter (one character); default guessed from the header." }),
  ),
  header: p.withDefault(p.boolean({ description: "CSV files start with a header line." }), true),
  inferRows: p.withDefault(p.integer({ min: 1, description: "CSV rows used to infer column types." }), 1000),
});

export const csvReader = defineReader({
  name: "csv",
  title: "CSV",
  extensions: [".csv", ".tsv", ".txt", ".dat"],
  fallback: true,
  params,
  check(prm, load): ParamProblem[] {
    const problems: ParamProblem[] = [];
    if (prm.delimiter !== undefined && (prm.delimiter.length !== 1 || prm.delimiter === '"'))
      problems.push({
        path: ["delimiter"],
        code: "QV_LOAD_DELIMITER",
        message: `delimiter must be one character other than '"', got ${JSON.stringify(prm.delimiter)}`,
        hint: 'use "\\t" for tab-separated files',
      });
    if (!prm.header && load.names === undefined && load.columns !== undefined)
      problems.push({
        path: ["columns"],
        code: "QV_LOAD_NAMES",
        message: "without a header, columns are named column_1, column_2, …; give names: to name them",
        severity: "warning",
      });
    return problems;
  },
  async read(files, prm, common) {
    const { parseCsvTwoThreads, PARALLEL_MIN_BYTES, readShared } = await import("../io/csv-parallel.js");
    return readEach(files, async (f) => {
      // A large plain file is read into shared memory and parsed on two threads.
      const shared = !f.gzip && f.size >= PARALLEL_MIN_BYTES;
      const bytes = shared ? readSourceShared(f, readShared) : await f.bytes();
      const r = await parseCsvTwoThreads(bytes, {
        file: f.name,
        header: prm.header,
        names: common.names,
        delimiter: prm.delimiter,
        types: common.types,
        keep: common.keep,
        inferRows: prm.inferRows,
        tabByDefault: f.plainName.endsWith(".tsv"),
      });
      return { table: r.table, details: { delimiter: r.delimiter }, invalidUtf8: r.invalidUtf8 };
    });
  },
});

function readSourceShared(f: SourceFile, read: (path: string, size: number) => Buffer): Buffer {
  try {
    return read(f.path, f.size);
  } catch (e) {
    throw new StageError("QV_LOAD_OPEN", `${f.name}: cannot read the file: ${(e as Error).message}`, {
      data: { file: f.name },
    });
  }
}
