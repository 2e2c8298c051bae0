/**
 * The table-reader registry: every file format `load` reads, listed explicitly (no registration
 * by import side effect). Adding a format is its file (stages/lib/readers/<format>.ts, a
 * `defineReader({...})`) and one line in `defaultReaders`. The registry is a value: the stage
 * registry receives it (stages/index.ts `makeStageRegistry`), and a test or an embedding program
 * can extend it with `withReaders` without editing this file.
 */
import type { SchemaSpec } from "../../../core/schema.js";
import { StageError } from "../../../core/stage.js";
import { arrowReader } from "./arrow.js";
import { csvReader } from "./csv.js";
import { hdf5Reader } from "./hdf5.js";
import { parquetReader } from "./parquet.js";
import { rootReader } from "./root.js";
import type { AnyTableReader } from "./reader.js";
import type { SourceFile } from "./source.js";

export type TableReaders = ReadonlyMap<string, AnyTableReader>;

/** Bytes read from the start of a file to recognise its format. */
const HEAD_BYTES = 16;

/** The fields of a reader's params schema. */
export function readerFields(reader: AnyTableReader): Readonly<Record<string, SchemaSpec>> {
  const spec = reader.params.spec;
  if (spec.kind !== "object") throw new Error(`reader "${reader.name}": its params must be an object schema`);
  return spec.fields;
}

/**
 * A registry of the given readers. Names used twice, a param two readers declare, a required
 * reader param, or not exactly one fallback reader is a bug in the list.
 */
export function readerRegistry(readers: readonly AnyTableReader[]): TableReaders {
  const out = new Map<string, AnyTableReader>();
  const paramOwner = new Map<string, string>();
  for (const r of readers) {
    if (r.name === "auto" || out.has(r.name))
      throw new Error(`reader "${r.name}" is registered twice or named "auto"`);
    const spec = r.params.spec;
    if (spec.kind !== "object") throw new Error(`reader "${r.name}": its params must be an object schema`);
    for (const [name, field] of Object.entries(spec.fields)) {
      const owner = paramOwner.get(name);
      if (owner !== undefined)
        throw new Error(`readers "${owner}" and "${r.name}" both declare the param "${name}"`);
      if (spec.required.includes(name) && !("default" in field))
        throw new Error(`reader "${r.name}": its param "${name}" must be optional or have a default`);
      paramOwner.set(name, r.name);
    }
    for (const name of r.perFile ?? [])
      if (!(name in spec.fields))
        throw new Error(`reader "${r.name}": perFile names "${name}", not one of its params`);
    out.set(r.name, r);
  }
  const fallbacks = [...out.values()].filter((r) => r.fallback);
  if (fallbacks.length !== 1)
    throw new Error(`a reader registry needs exactly one fallback reader, not ${fallbacks.length}`);
  return out;
}

/** `base` plus `extra` (a reader of the same name is an error, not a silent replacement). */
export function withReaders(base: TableReaders, extra: readonly AnyTableReader[]): TableReaders {
  return readerRegistry([...base.values(), ...extra]);
}

export const defaultReaders: TableReaders = readerRegistry([
  csvReader,
  parquetReader,
  arrowReader,
  hdf5Reader,
  rootReader,
]);

/** The values `format:` takes: auto, then every reader's name. */
export function formatNames(readers: TableReaders): [string, ...string[]] {
  return ["auto", ...readers.keys()];
}

/**
 * The reader for a file: the one `format` names; for `auto`, the first whose magic bytes match,
 * then the one whose extension matches (after `.gz`), then the fallback reader.
 */
export async function chooseReader(
  readers: TableReaders,
  format: string,
  file: SourceFile,
): Promise<AnyTableReader> {
  if (format !== "auto") {
    const named = readers.get(format);
    if (!named)
      throw new StageError("QV_LOAD_FORMAT", `unknown format "${format}"`, {
        hint: `formats: ${formatNames(readers).join(", ")}`,
      });
    return named;
  }
  const head = await file.head(HEAD_BYTES);
  for (const r of readers.values()) if (r.sniff?.(head)) return r;
  for (const r of readers.values()) if (r.extensions.some((ext) => file.plainName.endsWith(ext))) return r;
  const fallback = [...readers.values()].find((r) => r.fallback);
  if (!fallback) throw new Error("the reader registry has no fallback reader");
  return fallback;
}
