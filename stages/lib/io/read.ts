/**
 * Reads one file of any supported format into a Table: chooses the format (from `format:`, the
 * file's magic bytes, then its extension), decompresses `.gz`, and dispatches to the reader.
 * ROOT files are read in place (never whole into memory, never gunzipped): see stages/lib/root/.
 */
import { open, readFile, type FileHandle } from "node:fs/promises";
import { gunzipSync } from "node:zlib";
import { StageError } from "../../../core/stage.js";
import type { Table } from "../../../core/table.js";
import { errorText, readArrowBytes, readParquetBytes } from "./columnar.js";
import { parseCsv, type ColumnTypeName } from "./csv.js";
import { readHdf5Table } from "./hdf5.js";
import type { RootReadOptions } from "../root/read.js";

export const FORMATS = ["auto", "csv", "parquet", "arrow", "hdf5", "root"] as const;
export type FormatName = (typeof FORMATS)[number];
export type ResolvedFormat = Exclude<FormatName, "auto">;

const EXTENSIONS: Readonly<Record<string, ResolvedFormat>> = {
  ".csv": "csv",
  ".tsv": "csv",
  ".txt": "csv",
  ".dat": "csv",
  ".parquet": "parquet",
  ".pq": "parquet",
  ".arrow": "arrow",
  ".arrows": "arrow",
  ".feather": "arrow",
  ".ipc": "arrow",
  ".h5": "hdf5",
  ".hdf5": "hdf5",
  ".hdf": "hdf5",
  ".he5": "hdf5",
  ".root": "root",
};

export interface ReadOptions {
  readonly format: FormatName;
  readonly header: boolean;
  readonly names?: readonly string[];
  readonly delimiter?: string;
  readonly types?: Readonly<Record<string, ColumnTypeName>>;
  readonly keep?: ReadonlySet<string>;
  readonly dataset?: string;
  readonly inferRows?: number;
  /** ROOT: tree, branches, renames, jagged rules. */
  readonly root?: RootReadOptions;
}

export interface FileRead {
  readonly table: Table;
  readonly format: ResolvedFormat;
  readonly bytes: number;
  /** Format-specific facts for the summary (delimiter, HDF5 dataset and layout). */
  readonly details: Readonly<Record<string, string>>;
  readonly invalidUtf8: number;
  /** Things the user should hear about (e.g. padded values dropped). */
  readonly notes?: readonly string[];
  /** Events read (ROOT: tree entries; the table has more rows when a branch is exploded). */
  readonly events?: number;
}

/** Reads `absPath`; `file` is how messages name it (the path as the user wrote it). */
export async function readTableFile(absPath: string, file: string, opts: ReadOptions): Promise<FileRead> {
  if (opts.format === "root" || (opts.format === "auto" && (await looksLikeRoot(absPath, file)))) {
    const { readRootFile } = await import("../root/read.js");
    const r = await readRootFile(absPath, file, opts.root ?? {});
    return {
      table: r.table,
      format: "root",
      bytes: r.bytes,
      details: r.details,
      invalidUtf8: 0,
      notes: r.notes,
      events: r.events,
    };
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(absPath);
  } catch (e) {
    throw new StageError("QV_LOAD_OPEN", `${file}: cannot read the file: ${errorText(e)}`, {
      data: { file },
    });
  }
  const size = bytes.length;
  let name = file.toLowerCase();
  if (name.endsWith(".gz")) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new StageError("QV_LOAD_GZIP", `${file}: cannot decompress: ${errorText(e)}`, { data: { file } });
    }
    name = name.slice(0, -3);
  }
  const format = resolveFormat(opts.format, name, bytes);
  switch (format) {
    case "csv": {
      const r = parseCsv(bytes, {
        file,
        header: opts.header,
        names: opts.names,
        delimiter: opts.delimiter,
        types: opts.types,
        keep: opts.keep,
        inferRows: opts.inferRows,
        tabByDefault: name.endsWith(".tsv"),
      });
      return {
        table: r.table,
        format,
        bytes: size,
        details: { delimiter: r.delimiter },
        invalidUtf8: r.invalidUtf8,
      };
    }
    case "parquet":
      return { table: await readParquetBytes(bytes, file), format, bytes: size, details: {}, invalidUtf8: 0 };
    case "arrow":
      return { table: await readArrowBytes(bytes, file), format, bytes: size, details: {}, invalidUtf8: 0 };
    case "root":
      // Only a gzipped ROOT file gets here: plain ones are read in place above.
      throw new StageError("QV_LOAD_FORMAT", `${file}: gzipped ROOT files are not supported`, {
        hint: "gunzip the file (ROOT compresses its data internally)",
        data: { file },
      });
    case "hdf5": {
      if (bytes.length !== size) {
        throw new StageError("QV_LOAD_FORMAT", `${file}: compressed HDF5 files are not supported`, {
          hint: "decompress the file (HDF5 has its own internal compression)",
          data: { file },
        });
      }
      if (!hasHdf5Signature(bytes)) {
        throw new StageError("QV_LOAD_HDF5", `${file}: not an HDF5 file (no HDF5 signature)`, {
          hint: "set format: to the file's real format, or give it the matching extension",
          data: { file },
        });
      }
      const r = await readHdf5Table(absPath, file, opts.dataset, opts.names);
      return {
        table: r.table,
        format,
        bytes: size,
        details: { dataset: r.dataset, layout: r.layout },
        invalidUtf8: 0,
      };
    }
  }
}

export function resolveFormat(format: FormatName, lowerName: string, bytes: Uint8Array): ResolvedFormat {
  if (format !== "auto") return format;
  const magic = (s: string, at = 0) => [...s].every((ch, i) => bytes[at + i] === ch.charCodeAt(0));
  if (magic("PAR1")) return "parquet";
  if (magic("ARROW1")) return "arrow";
  if (bytes[0] === 0x89 && magic("HDF", 1)) return "hdf5";
  if (magic("root")) return "root";
  const dot = lowerName.lastIndexOf(".");
  const ext = dot >= 0 ? lowerName.slice(dot) : "";
  return EXTENSIONS[ext] ?? "csv";
}

/** A ROOT file by its magic bytes, or (when it has none, e.g. a damaged one) by its extension. */
async function looksLikeRoot(absPath: string, file: string): Promise<boolean> {
  if (file.toLowerCase().endsWith(".root")) return true;
  let handle: FileHandle | undefined;
  try {
    handle = await open(absPath, "r");
    const head = new Uint8Array(4);
    await handle.read(head, 0, 4, 0);
    return String.fromCharCode(...head) === "root";
  } catch {
    return false; // the ordinary path reports the unreadable file
  } finally {
    await handle?.close();
  }
}

/** The HDF5 signature sits at offset 0, 512, 1024, 2048… (after an optional user block). */
function hasHdf5Signature(bytes: Uint8Array): boolean {
  const sig = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
  for (let at = 0; at + 8 <= bytes.length; at = at === 0 ? 512 : at * 2) {
    if (sig.every((b, i) => bytes[at + i] === b)) return true;
  }
  return false;
}
