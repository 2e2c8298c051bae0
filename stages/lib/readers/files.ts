/**
 * The files of one `files:` entry of `load`, ready to read: the files it stands for (a glob's
 * matches, sorted, as the engine expanded, confined and hashed them; else the path itself), the
 * reader of each chosen before any data is read, and runs of consecutive files of one reader, each
 * read by one `read` call. Also the check that no reader's param is given where that reader reads
 * no file: such a param would be silently ignored, which hides a mistake (a `branches:` on a CSV).
 */
import { StageError } from "../../../core/stage.js";
import { chooseReader, readerFields, type TableReaders } from "./index.js";
import type { AnyTableReader, CommonReadOptions, ReadResult } from "./reader.js";
import { openSource, type SourceFile } from "./source.js";

/** Consecutive files of an entry that one reader reads. */
export interface ReaderRun {
  readonly reader: AnyTableReader;
  readonly sources: readonly SourceFile[];
}

export interface EntryFiles {
  /** The entry's index in `files:`. */
  readonly index: number;
  /** Its path as written (a glob, or one file). */
  readonly path: string;
  readonly runs: readonly ReaderRun[];
}

/**
 * Opens the files `names` stands for (`resolve` gives each one's absolute path) and chooses their
 * readers; `format` is the entry's or the stage's `format:`.
 */
export async function entryFiles(
  readers: TableReaders,
  index: number,
  path: string,
  names: readonly string[],
  resolve: (name: string) => string,
  format: string,
): Promise<EntryFiles> {
  const runs: { reader: AnyTableReader; sources: SourceFile[] }[] = [];
  for (const name of names) {
    const source = await openSource(resolve(name), name);
    const reader = await chooseReader(readers, format, source);
    const last = runs[runs.length - 1];
    if (last?.reader === reader) last.sources.push(source);
    else runs.push({ reader, sources: [source] });
  }
  return { index, path, runs };
}

/** "a.csv is read as CSV", "the 3 files of data/*.csv are read as CSV", for messages. */
function readAs(entry: EntryFiles): string {
  const titles = [...new Set(entry.runs.map((r) => r.reader.title))].join(" and ");
  const files = entry.runs.flatMap((r) => r.sources);
  return files.length === 1
    ? `${files[0]!.name} is read as ${titles}`
    : `the ${files.length} files of ${entry.path} are read as ${titles}`;
}

function foreignParam(owner: AnyTableReader, name: string, where: string, param: (string | number)[]) {
  return new StageError(
    `QV_LOAD_${owner.name.toUpperCase()}_PARAM`,
    `${where}; ${name}: applies to ${owner.title} files only`,
    {
      param,
      hint: `remove it (columns: selects columns in every format), or set format: ${owner.name} if the file is a ${owner.title} file`,
    },
  );
}

/**
 * Throws when a reader's param is set where that reader reads nothing: in a `files:` entry none of
 * whose files it reads (`entryValue`), or for the whole stage when it reads none of the load's
 * files (`stageValue`; params with a default cannot be told from unset, and are not checked).
 */
export function checkReaderParams(
  readers: TableReaders,
  entries: readonly EntryFiles[],
  stageValue: (name: string) => unknown,
  entryValue: (index: number, name: string) => unknown,
): void {
  const used = new Set(entries.flatMap((e) => e.runs.map((r) => r.reader)));
  for (const e of entries) {
    const own = new Set(e.runs.map((r) => r.reader));
    for (const r of readers.values()) {
      if (own.has(r)) continue;
      for (const name of r.perFile ?? [])
        if (entryValue(e.index, name) !== undefined)
          throw foreignParam(r, name, readAs(e), ["files", e.index, name]);
    }
  }
  for (const r of readers.values()) {
    if (used.has(r)) continue;
    for (const [name, field] of Object.entries(readerFields(r)))
      if (!("default" in field) && stageValue(name) !== undefined)
        throw foreignParam(
          r,
          name,
          entries.length === 1 ? readAs(entries[0]!) : `no file of this load is a ${r.title} file`,
          [name],
        );
  }
}

/**
 * Reads a run of files. An error about a param the `files:` entry sets itself (`own`, e.g. its own
 * `tree:`) points at the entry (`files[index]`) rather than at the stage's param.
 */
export async function readRun(
  run: ReaderRun,
  values: Record<string, unknown>,
  common: CommonReadOptions,
  own: (param: string) => boolean,
  index: number,
): Promise<ReadResult> {
  try {
    return await run.reader.read(run.sources, values, common);
  } catch (e) {
    const name = e instanceof StageError ? e.param?.[0] : undefined;
    if (!(e instanceof StageError) || typeof name !== "string") throw e;
    if (!(run.reader.perFile ?? []).includes(name) || !own(name)) throw e;
    throw new StageError(e.code, e.message, {
      hint: e.hint,
      param: ["files", index, ...(e.param ?? [])],
      offset: e.offset,
      length: e.length,
      data: e.data,
    });
  }
}
