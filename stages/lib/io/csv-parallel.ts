/**
 * CSV on two threads: the header and the sampled rows are read here (csv.ts `prepareCsv`), the
 * records are cut at a line end near the middle, a worker parses the second half while this
 * thread parses the first, and the halves are joined in order (csv.ts `finishCsv`).
 *
 * The cut must fall between records, and a quoted field may hold newlines. The cut is taken at a
 * line end with an even number of quote characters before it (outside quotes for well-formed
 * quoting); it is then proved, not trusted: this thread parses the first half as a buffer that
 * ends at the cut, which succeeds only if the cut is a record boundary. If it fails, or the worker
 * fails, the rest is parsed here, continuing from where the good part ended — so every error is
 * reported exactly as a one-thread read reports it, with its row and line.
 */
import fs from "node:fs";
import { Worker } from "node:worker_threads";
import { StageError } from "../../../core/stage.js";
import { finishCsv, parseCsv, prepareCsv, type CsvOptions, type CsvResult } from "./csv.js";
import { parseCsvBody, type CsvBody, type CsvLayout } from "./csv-body.js";
import type { CsvFromWorker, CsvToWorker } from "./csv-worker.js";
import { csvMemoryOf, csvSharedBuffer } from "./csv-wasm.js";

/** Smallest file worth a second thread (a worker costs ~50–150 ms to start). */
export const PARALLEL_MIN_BYTES = 32 << 20;

/**
 * The file's contents in memory both threads can read: the WebAssembly number scanner's memory
 * when it can be had (csv-wasm.ts), else a plain SharedArrayBuffer.
 */
export function readShared(path: string, size: number): Buffer {
  const buf = csvSharedBuffer(size) ?? Buffer.from(new SharedArrayBuffer(size));
  const fd = fs.openSync(path, "r");
  try {
    let got = 0;
    while (got < size) {
      const n = fs.readSync(fd, buf, got, size - got, got);
      if (n === 0) break;
      got += n;
    }
    return got === size ? buf : buf.subarray(0, got);
  } finally {
    fs.closeSync(fd);
  }
}

/** A line end near the middle of the records with an even quote count before it, or -1. */
export function findCut(buf: Buffer, from: number): number {
  const mid = from + Math.floor((buf.length - from) / 2);
  let lf = buf.indexOf(0x0a, mid);
  if (lf < 0 || lf + 1 >= buf.length) return -1;
  let quotes = 0;
  for (let q = buf.indexOf(0x22, from); q >= 0 && q < lf; q = buf.indexOf(0x22, q + 1)) quotes++;
  // Odd: the middle is inside quotes (for well-formed files); move to the next line end where
  // the count is even again.
  while (quotes % 2 === 1) {
    const next = buf.indexOf(0x0a, lf + 1);
    if (next < 0 || next + 1 >= buf.length) return -1;
    for (let q = buf.indexOf(0x22, lf + 1); q >= 0 && q < next; q = buf.indexOf(0x22, q + 1)) quotes++;
    lf = next;
  }
  return lf + 1;
}

function runWorker(init: CsvToWorker): { result: Promise<CsvBody | undefined>; stop: () => Promise<void> } {
  const worker = new Worker(new URL("./csv-worker.js", import.meta.url), { workerData: init });
  const result = new Promise<CsvBody | undefined>((resolve) => {
    worker.once("message", (m: CsvFromWorker) => resolve(m.kind === "body" ? m.body : undefined));
    worker.once("error", () => resolve(undefined));
    worker.once("exit", () => resolve(undefined));
  });
  return {
    result,
    stop: async () => {
      await worker.terminate();
    },
  };
}

/**
 * Parses `buf` (whose memory should be a SharedArrayBuffer: otherwise it is parsed on one
 * thread) on two threads when it is large enough; the result equals `parseCsv(buf, opts)`.
 */
export async function parseCsvTwoThreads(
  buf: Buffer,
  opts: CsvOptions,
  minBytes = PARALLEL_MIN_BYTES,
): Promise<CsvResult> {
  const shared = buf.buffer instanceof SharedArrayBuffer;
  if (!shared || buf.length < minBytes) return parseCsv(buf, opts);
  const layout: CsvLayout = prepareCsv(buf, opts);
  const cut = findCut(buf, layout.dataStart);
  if (cut < 0) return finishCsv(layout, [parseCsvBody(buf, layout.dataStart, layout.dataLine, 0, layout)]);
  const worker = runWorker({
    memory: buf.buffer,
    wasmMemory: csvMemoryOf(buf),
    byteOffset: buf.byteOffset,
    length: buf.length,
    start: cut,
    layout,
  });
  let first: CsvBody;
  try {
    // Sized for the whole file, so the worker's rows can be appended without another copy.
    const whole = buf.length - layout.dataStart;
    first = parseCsvBody(buf.subarray(0, cut), layout.dataStart, layout.dataLine, 0, layout, whole);
  } catch (e) {
    // Either the cut is inside a quoted field or the first half has a real error: a one-thread
    // parse of the whole body tells which, and reports it with its row and line.
    await worker.stop();
    if (!(e instanceof StageError)) throw e;
    return finishCsv(layout, [parseCsvBody(buf, layout.dataStart, layout.dataLine, 0, layout)]);
  }
  const second = await worker.result;
  await worker.stop();
  if (second) return finishCsv(layout, [first, second]);
  // The worker failed (a real error in the second half, located here) or could not run.
  const line = layout.dataLine + countLines(buf.subarray(0, cut), layout.dataStart);
  return finishCsv(layout, [first, parseCsvBody(buf, cut, line, first.rows, layout)]);
}

/** Line ends in `buf[from…]` (LF, CRLF or CR), as the lexer counts them. */
function countLines(buf: Buffer, from: number): number {
  let n = 0;
  for (let i = buf.indexOf(0x0a, from); i >= 0; i = buf.indexOf(0x0a, i + 1)) n++;
  // Lone CRs (old Mac line ends) also end lines.
  for (let i = buf.indexOf(0x0d, from); i >= 0; i = buf.indexOf(0x0d, i + 1)) if (buf[i + 1] !== 0x0a) n++;
  return n;
}
