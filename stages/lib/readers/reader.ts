/**
 * The contract of a table reader: one file format (`format: csv`, `parquet`, ...) that `load`
 * can read. A reader is one typed value in one file (stages/lib/readers/<format>.ts) listed in
 * stages/lib/readers/index.ts; `load` chooses it by `format:`, the file's magic bytes or its
 * extension, and never names a format.
 *
 * A reader declares its own `load` params (CSV's `delimiter`, HDF5's `dataset`, ...): they are
 * validated with the rest of `load`'s params, and may be given per file where the reader allows.
 * It reads a list of files into one table (the matches of a glob, or a chain of files that belong
 * together); most readers read them one by one with `readEach`. A param of a reader given for a
 * load none of whose files that reader reads is an error (`QV_LOAD_<FORMAT>_PARAM`), not ignored.
 *
 * Reader files import their parsing libraries lazily, inside `read`: the registry is read while
 * planning, which must stay cheap.
 */
import type { Schema } from "../../../core/schema.js";
import type { ParamProblem } from "../../../core/stage.js";
import type { Table } from "../../../core/table.js";
import type { ColumnTypeName } from "../io/csv.js";
import type { SourceFile } from "./source.js";

export type { SourceFile } from "./source.js";

/** What every reader is told, from `load`'s own params. */
export interface CommonReadOptions {
  /** Column names for files that store none (header-less CSV, a 2-D HDF5 matrix). */
  readonly names?: readonly string[] | undefined;
  /** Column types asked for (`types:`); `load` converts afterwards, a reader may use them to infer. */
  readonly types?: Readonly<Record<string, ColumnTypeName>> | undefined;
  /** The columns `load` keeps (`columns:`); a reader may skip the others unread. */
  readonly keep?: ReadonlySet<string> | undefined;
  /**
   * Records the load read before these files (see `FileFacts.records`): a reader that numbers its
   * records in the table (ROOT's `explode` event index) continues from here, so the numbers stay
   * distinct over all the files of a load.
   */
  readonly recordsBefore?: number | undefined;
}

/** What the run summary says about one file that was read. */
export interface FileFacts {
  /** The file as messages name it. */
  readonly file: string;
  readonly rows: number;
  /** Records the file holds, when they are not its rows (a ROOT tree's entries, exploded); else rows. */
  readonly records?: number;
  /** Bytes on disk. */
  readonly bytes: number;
  /** Format-specific facts: the CSV delimiter, the HDF5 dataset and layout, a ROOT tree. */
  readonly details: Readonly<Record<string, string | number>>;
}

export interface ReadResult {
  /** The rows of all files, in file order. */
  readonly table: Table;
  /** One entry per file, in order; their `rows` add up to the table's rows. */
  readonly files: readonly FileFacts[];
  /** Text fields whose invalid UTF-8 bytes were replaced by U+FFFD. */
  readonly invalidUtf8: number;
  /** What the user should hear about, for the console and the run summary (e.g. values dropped). */
  readonly notes?: readonly string[];
}

/** `load`'s own params a reader's `check` may look at. */
export interface LoadContext {
  readonly names?: readonly string[] | undefined;
  readonly columns?: readonly string[] | undefined;
}

export interface TableReader<P> {
  /** The value of `format:` in YAML. */
  readonly name: string;
  /** How the format is named in descriptions: "CSV", "Arrow/Feather". */
  readonly title: string;
  /** File name endings that mean this format, lower case with the dot: ".csv", ".h5". */
  readonly extensions: readonly string[];
  /** Recognises the format from a file's first bytes (at least 16 when the file is that long). */
  sniff?(head: Uint8Array): boolean;
  /** The reader for files no reader recognises by magic bytes or extension (one per registry). */
  readonly fallback?: boolean;
  /**
   * The reader's own params, an object schema whose fields join `load`'s `with:` (each optional or
   * with a default, and named unlike every other reader's and `load`'s own).
   */
  readonly params: Schema<P>;
  /** Fields of `params` that a `files:` entry may also set, for that file only (e.g. HDF5's `dataset`). */
  readonly perFile?: readonly string[];
  /** Checks beyond the schema that need no data; paths are `load`'s (e.g. ["delimiter"]). */
  check?(params: P, load: LoadContext): ParamProblem[];
  /** Reads `files` (at least one, all of this format) into one table. */
  read(files: readonly SourceFile[], params: P, common: CommonReadOptions): Promise<ReadResult>;
}

/** A reader with its params type erased, as registries hold them (methods are bivariant). */
export type AnyTableReader = TableReader<unknown>;

/** Identity helper that keeps `P` inferred from the params schema. */
export function defineReader<P>(reader: TableReader<P>): TableReader<P> {
  return reader;
}

/** One file's read, for `readEach`. */
export interface OneFileRead {
  readonly table: Table;
  readonly details: Readonly<Record<string, string | number>>;
  readonly invalidUtf8?: number;
  /** See `FileFacts.records`. */
  readonly records?: number;
}

/**
 * `read` for readers that take one file at a time: reads each and concatenates them, checking that
 * they hold the same columns (the first file's order wins).
 */
export async function readEach(
  files: readonly SourceFile[],
  readOne: (file: SourceFile) => Promise<OneFileRead>,
): Promise<ReadResult> {
  const parts: { file: string; table: Table }[] = [];
  const facts: FileFacts[] = [];
  let invalidUtf8 = 0;
  for (const f of files) {
    const r = await readOne(f);
    parts.push({ file: f.name, table: r.table });
    facts.push({
      file: f.name,
      rows: r.table.numRows,
      records: r.records,
      bytes: f.size,
      details: r.details,
    });
    invalidUtf8 += r.invalidUtf8 ?? 0;
  }
  if (parts.length === 1) return { table: parts[0]!.table, files: facts, invalidUtf8 };
  const { concatParts } = await import("../io/combine.js");
  return { table: concatParts(parts), files: facts, invalidUtf8 };
}
