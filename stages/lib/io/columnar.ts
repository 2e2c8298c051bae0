/**
 * Readers for the column-oriented formats: Arrow IPC (file or stream, which includes Feather v2)
 * and Parquet (decoded by parquet-wasm into Arrow IPC). Both end in the engine's Arrow codec, so
 * their type mapping is the codec's: 32-bit signed ints stay int32, other numbers become float64,
 * strings become dictionary columns, nulls become NaN / code -1.
 *
 * parquet-wasm is imported lazily: planning a cached pipeline must not load wasm.
 */
import { tableFromArrowIPC } from "../../../core/arrow-codec.js";
import { StageError } from "../../../core/stage.js";
import type { Table } from "../../../core/table.js";

export async function readArrowBytes(bytes: Uint8Array, file: string): Promise<Table> {
  if (startsWith(bytes, "FEA1")) {
    throw new StageError(
      "QV_LOAD_FORMAT",
      `${file}: this is a Feather version 1 file, which is not supported`,
      {
        hint: "re-save it as Feather version 2 (pyarrow.feather.write_feather's default) or as Parquet",
        data: { file },
      },
    );
  }
  const looksLikeArrow =
    startsWith(bytes, "ARROW1") || (bytes.length >= 4 && bytes[0] === 0xff && bytes[1] === 0xff);
  if (!looksLikeArrow) {
    throw new StageError(
      "QV_LOAD_FORMAT",
      `${file}: not an Arrow IPC / Feather file (its first bytes do not match)`,
      {
        hint: "set format: to the file's real format, or give it the matching extension",
        data: { file },
      },
    );
  }
  return decodeArrow(bytes, file, "Arrow");
}

export async function readParquetBytes(bytes: Uint8Array, file: string): Promise<Table> {
  if (!startsWith(bytes, "PAR1")) {
    throw new StageError("QV_LOAD_FORMAT", `${file}: not a Parquet file (it does not start with "PAR1")`, {
      hint: "set format: to the file's real format, or give it the matching extension",
      data: { file },
    });
  }
  const pq = await import("parquet-wasm");
  let ipc: Uint8Array;
  try {
    ipc = pq.readParquet(bytes).intoIPCStream();
  } catch (e) {
    throw new StageError("QV_LOAD_PARQUET", `${file}: the Parquet file cannot be read: ${errorText(e)}`, {
      hint: "the file may be truncated or written with an unsupported encoding",
      data: { file },
    });
  }
  return decodeArrow(ipc, file, "Parquet");
}

async function decodeArrow(ipc: Uint8Array, file: string, what: string): Promise<Table> {
  try {
    return await tableFromArrowIPC(ipc, file);
  } catch (e) {
    throw new StageError("QV_LOAD_ARROW", `${file}: the ${what} data cannot be used: ${errorText(e)}`, {
      hint: "Quiver tables hold numbers and strings; convert other column types before loading",
      data: { file },
    });
  }
}

function startsWith(bytes: Uint8Array, magic: string): boolean {
  if (bytes.length < magic.length) return false;
  for (let i = 0; i < magic.length; i++) if (bytes[i] !== magic.charCodeAt(i)) return false;
  return true;
}

export function errorText(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.length > 300 ? text.slice(0, 300) + "…" : text;
}
