/**
 * The CSV number scanner in WebAssembly (wasm/csv/): a large file is read straight into a shared
 * WebAssembly memory (`csvSharedBuffer`), and the body parser (csv-body.ts) hands it runs of numeric
 * fields, one call per run, instead of scanning each number in JavaScript. Both threads of a
 * two-thread read use the same memory, each with a scratch area of its own.
 *
 * It gives the same values as the JavaScript scanner, bit for bit (test/csv-wasm.test.ts), and
 * leaves it every field it does not read: the JavaScript path stays the reference, and the only
 * path for buffers that are not in such a memory (small files, gzip, tests that parse strings).
 */
import fs from "node:fs";
import { isMainThread } from "node:worker_threads";
import { fileURLToPath } from "node:url";
import { POW10 } from "./csv-number.js";
import { MAX_EXP10, MIN_EXP10, powerTables } from "./decimal-to-double.js";

/** Compiled host lives at dist/stages/lib/io/, the module at dist/wasm/csv.wasm. */
export const CSV_WASM_PATH = fileURLToPath(new URL("../../../wasm/csv.wasm", import.meta.url));

const PAGE = 65536;
const POWERS = MAX_EXP10 - MIN_EXP10 + 1;
/** Below 2 GiB: the scanner takes positions as int32 (a larger file goes to the JavaScript parser). */
const MAX_PAGES = 32767;
/**
 * Exact powers 10^0…10^22, then the double-double table (wasm/csv/assembly/index.ts). Not at 0:
 * the module has no data segment (test/csv-wasm.test.ts checks), this only keeps clear of null.
 */
const TABLES_AT = 4096;
/** Fields one call can read (a longer run of numeric columns takes several calls). */
const SCRATCH_FIELDS = 4096;
const SCRATCH_BYTES = align(8 + 9 * SCRATCH_FIELDS);
/** Scratch of the reading thread, then of the worker. */
const SCRATCH_AT = align(TABLES_AT + 8 * (23 + 4 * POWERS));
const DATA_AT = SCRATCH_AT + 2 * SCRATCH_BYTES;

interface CsvWasmExports {
  scanFields(
    pos: number,
    limit: number,
    delim: number,
    count: number,
    scratch: number,
    tables: number,
  ): number;
}

/** The memories made here or received from the reading thread, by their buffer. */
const memories = new WeakMap<SharedArrayBuffer, WebAssembly.Memory>();
/** This thread's scanner per memory buffer. */
const scanners = new WeakMap<SharedArrayBuffer, CsvNumbers>();
let compiled: WebAssembly.Module | undefined;

function csvModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(new Uint8Array(fs.readFileSync(CSV_WASM_PATH)));
  return compiled;
}

/**
 * `size` zero bytes in a new shared WebAssembly memory, after the scanner's tables and scratch
 * (csv-parallel.ts `readShared` reads a large file into it), or undefined when that cannot be
 * had: a file of 2 GiB or more, no address space, or the module not built.
 */
export function csvSharedBuffer(size: number): Buffer | undefined {
  const pages = Math.ceil((DATA_AT + size) / PAGE);
  if (pages > MAX_PAGES || !fs.existsSync(CSV_WASM_PATH)) return undefined;
  let memory: WebAssembly.Memory;
  try {
    memory = new WebAssembly.Memory({
      initial: Math.max(pages, 1),
      maximum: Math.max(pages, 1),
      shared: true,
    });
  } catch (e) {
    if (e instanceof RangeError) return undefined;
    throw e;
  }
  const tables = new Float64Array(memory.buffer, TABLES_AT, 23 + 4 * POWERS);
  const { hi, lo, hiHigh, hiLow } = powerTables();
  tables.set(POW10, 0);
  tables.set(hi, 23);
  tables.set(lo, 23 + POWERS);
  tables.set(hiHigh, 23 + 2 * POWERS);
  tables.set(hiLow, 23 + 3 * POWERS);
  const buffer = memory.buffer as unknown as SharedArrayBuffer;
  memories.set(buffer, memory);
  return Buffer.from(buffer, DATA_AT, size);
}

/** The memory a buffer from `csvSharedBuffer` lives in (to hand to a worker), or undefined. */
export function csvMemoryOf(buf: Buffer): WebAssembly.Memory | undefined {
  return buf.buffer instanceof SharedArrayBuffer ? memories.get(buf.buffer) : undefined;
}

/** In a worker: makes a memory received from the reading thread known here. */
export function adoptCsvMemory(memory: WebAssembly.Memory): void {
  memories.set(memory.buffer as unknown as SharedArrayBuffer, memory);
}

/**
 * A scanner over `buf`'s bytes when they live in a memory made by `csvSharedBuffer`, else
 * undefined. Positions are relative to `buf`.
 */
export function csvNumbersFor(buf: Buffer): CsvNumbers | undefined {
  if (!(buf.buffer instanceof SharedArrayBuffer)) return undefined;
  const sab = buf.buffer;
  const memory = memories.get(sab);
  if (memory === undefined) return undefined;
  let s = scanners.get(sab);
  if (s === undefined) {
    const ex = new WebAssembly.Instance(csvModule(), { env: { memory } })
      .exports as unknown as CsvWasmExports;
    s = new CsvNumbers(ex, sab, isMainThread ? SCRATCH_AT : SCRATCH_AT + SCRATCH_BYTES);
    scanners.set(sab, s);
  }
  return s.at(buf.byteOffset);
}

export class CsvNumbers {
  /** Values of the fields read by the last `scan`. */
  readonly values: Float64Array;
  /** 1 where the field was an integer literal. */
  readonly intLiteral: Uint8Array;
  readonly capacity = SCRATCH_FIELDS;
  private readonly state: Int32Array;
  private base = 0;

  constructor(
    private readonly ex: CsvWasmExports,
    sab: SharedArrayBuffer,
    private readonly scratch: number,
  ) {
    this.state = new Int32Array(sab, scratch, 2);
    this.values = new Float64Array(sab, scratch + 8, SCRATCH_FIELDS);
    this.intLiteral = new Uint8Array(sab, scratch + 8 + 8 * SCRATCH_FIELDS, SCRATCH_FIELDS);
  }

  at(byteOffset: number): this {
    this.base = byteOffset;
    return this;
  }

  /**
   * Reads up to `count` (≤ capacity) numeric fields from `pos`, each a plain number followed by
   * the delimiter or, for the record's last, by its end (`limit` or a line end); returns how many.
   */
  scan(pos: number, limit: number, delim: number, count: number): number {
    return this.ex.scanFields(this.base + pos, this.base + limit, delim, count, this.scratch, TABLES_AT);
  }

  /** Where the last scan stopped: the next field's start, or the record's terminator if `ended`. */
  get stop(): number {
    return this.state[0]! - this.base;
  }

  /** Whether the last field read ended its record. */
  get ended(): boolean {
    return this.state[1] === 1;
  }
}

function align(n: number): number {
  return Math.ceil(n / 64) * 64;
}
