/**
 * The worker thread of a two-thread CSV read (csv-parallel.ts): parses the records from the cut
 * to the end of the shared buffer and sends the columns back, their arrays transferred. Any error
 * just reports failure: the reading thread re-parses that half itself to locate it.
 */
import { parentPort, workerData } from "node:worker_threads";
import { parseCsvBody, type CsvBody, type CsvLayout } from "./csv-body.js";
import { adoptCsvMemory } from "./csv-wasm.js";

export interface CsvToWorker {
  readonly memory: SharedArrayBuffer;
  /** The WebAssembly memory `memory` belongs to, when the file was read into one. */
  readonly wasmMemory?: WebAssembly.Memory;
  readonly byteOffset: number;
  readonly length: number;
  /** Where the worker's records start (a record boundary, checked by the reading thread). */
  readonly start: number;
  readonly layout: CsvLayout;
}

export type CsvFromWorker = { readonly kind: "body"; readonly body: CsvBody } | { readonly kind: "failed" };

if (parentPort) {
  const port = parentPort;
  const init = workerData as CsvToWorker;
  try {
    if (init.wasmMemory) adoptCsvMemory(init.wasmMemory);
    const buf = Buffer.from(init.memory, init.byteOffset, init.length);
    const body: CsvBody = parseCsvBody(buf, init.start, 1, 0, init.layout);
    // The arrays are transferred, not copied (the reading thread copies the first `rows` into place).
    const transfer = [...body.f64, ...body.codes].flatMap((a) => (a ? [a.buffer as ArrayBuffer] : []));
    port.postMessage({ kind: "body", body } satisfies CsvFromWorker, transfer);
  } catch {
    port.postMessage({ kind: "failed" } satisfies CsvFromWorker);
  }
}
