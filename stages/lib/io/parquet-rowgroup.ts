/**
 * Decoding one row group of a read plan: reads the byte ranges of the planned column chunks (only
 * those: a file's other columns are never read) and decodes each into its target. Used alike by
 * the reading thread and by the worker that takes every other row group.
 */
import fs from "node:fs";
import { StageError } from "../../../core/stage.js";
import { decodeChunk, type ColumnTarget, type Scratch } from "./parquet-column.js";
import { PageError } from "./parquet-decode.js";
import type { ReadPlan, RowGroupPlan } from "./parquet-plan.js";

/** Byte ranges of the file. */
export interface ByteSource {
  /** Bytes `[offset, offset + length)` (fewer at the end of the file), in `into` when it is read from disk. */
  read(offset: number, length: number, into?: Uint8Array): Uint8Array;
  close(): void;
}

/** Positional reads from the file on disk. */
export function fileSource(path: string): ByteSource {
  const fd = fs.openSync(path, "r");
  return {
    read(offset, length, into) {
      const buf = into && into.length >= length ? into : Buffer.allocUnsafe(length);
      let got = 0;
      while (got < length) {
        const n = fs.readSync(fd, buf, got, length - got, offset + got);
        if (n === 0) break;
        got += n;
      }
      return got === length ? buf : buf.subarray(0, got);
    },
    close() {
      fs.closeSync(fd);
    },
  };
}

/** Ranges of a file already in memory (a decompressed .parquet.gz). */
export function memorySource(bytes: Uint8Array): ByteSource {
  return {
    read: (offset, length) => bytes.subarray(offset, offset + length),
    close() {},
  };
}

/** Chunks closer than this are read in one go. */
const MERGE_GAP = 1 << 16;

/**
 * Decodes row group `rg` into `targets` (one per planned column) at row `at`. Errors name the
 * file, the column, the row group with its rows, and the page.
 */
export function decodeRowGroup(
  src: ByteSource,
  plan: ReadPlan,
  rg: RowGroupPlan,
  targets: readonly ColumnTarget[],
  at: number,
  scratch: Scratch,
  file: string,
): void {
  // Read neighbouring chunks together: a row group's columns usually lie back to back. The bytes
  // go into one buffer reused from row group to row group.
  const order = rg.chunks.map((_, i) => i).sort((a, b) => rg.chunks[a]!.offset - rg.chunks[b]!.offset);
  const bytes: Uint8Array[] = new Array<Uint8Array>(rg.chunks.length);
  let total = 0;
  for (const c of rg.chunks) total += c.length + MERGE_GAP;
  const buffer = scratch.readBuffer(total);
  let used = 0;
  for (let k = 0; k < order.length;) {
    const first = rg.chunks[order[k]!]!;
    let end = first.offset + first.length;
    let j = k + 1;
    while (j < order.length && rg.chunks[order[j]!]!.offset - end <= MERGE_GAP) {
      const c = rg.chunks[order[j]!]!;
      end = Math.max(end, c.offset + c.length);
      j++;
    }
    const span = src.read(first.offset, end - first.offset, buffer.subarray(used));
    used += end - first.offset;
    for (; k < j; k++) {
      const c = rg.chunks[order[k]!]!;
      bytes[order[k]!] = span.subarray(c.offset - first.offset, c.offset - first.offset + c.length);
    }
  }
  plan.columns.forEach((col, i) => {
    const chunk = rg.chunks[i]!;
    const data = bytes[i]!;
    try {
      if (data.length < chunk.length) throw new PageError("the file ends inside the column chunk");
      decodeChunk(data, chunk.codec, col, targets[i]!, at, rg.rows, scratch);
    } catch (e) {
      if (!(e instanceof PageError)) throw e;
      throw new StageError(
        "QV_LOAD_PARQUET",
        `${file}: column "${col.name}", row group ${rg.index} (rows ${rg.row + 1}–${rg.row + rg.rows}, ` +
          `chunk at byte ${chunk.offset}): ${e.message}`,
        {
          hint: "the file may be truncated or damaged, or written with an encoding the reader does not support",
          data: { file, column: col.name, row: rg.row + 1 },
        },
      );
    }
  });
}
