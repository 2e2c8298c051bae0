/**
 * The reader for Arrow IPC (file or stream, which includes Feather v2), through the engine's Arrow
 * codec: 32-bit signed ints stay int32, other numbers become float64, strings become dictionary
 * columns, nulls become NaN / code -1. (Parquet has its own reader, parquet.ts, with the same
 * type mapping.)
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
