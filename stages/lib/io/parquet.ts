/**
 * Parquet files to a Quiver table, decoded by Quiver itself (parquet-thrift/-format/-decode/
 * -column): only the footer, then only the byte ranges of the columns `load` keeps are read, row
 * group by row group, each page decompressed into a reused buffer and its values written straight
 * into the table's typed arrays (a PLAIN DOUBLE page is one memcpy).
 *
 * With two or more row groups and enough bytes, a worker thread takes row groups too: both
 * threads draw the next row group from a shared counter and write its values straight into the
 * table's arrays, which then live in SharedArrayBuffers (typed arrays like any other: nothing
 * transfers or re-shares them; they are never written again after the read). Only the worker's
 * text codes and int32 nulls need a word back. Memory stays at the table plus one row group's
 * bytes per thread.
 *
 * Types are those of Quiver's Arrow codec, so a file reads to the same table as it did through
 * Arrow: 32-bit signed integers and booleans stay int32 unless a null occurs, other numbers become
 * float64 (null = NaN), strings dictionary columns in order of first appearance (null = -1).
 */
import { Worker } from "node:worker_threads";
import { StageError } from "../../../core/stage.js";
import type { Column, Table } from "../../../core/table.js";
import { loadCodecs } from "./parquet-codecs.js";
import { Scratch, type ColumnTarget } from "./parquet-column.js";
import { StringPool } from "./parquet-decode.js";
import { decodeFileMeta, type FileMeta } from "./parquet-format.js";
import { planRead, type ReadPlan } from "./parquet-plan.js";
import { decodeRowGroup, fileSource, memorySource, type ByteSource } from "./parquet-rowgroup.js";
import type { FromWorker, ToWorker, WorkerColumn } from "./parquet-worker.js";

export interface ParquetSource {
  readonly path: string;
  /** How messages name the file. */
  readonly name: string;
  /** The contents are gzip-compressed on disk: read them whole with `bytes()`. */
  readonly gzip: boolean;
  bytes(): Promise<Uint8Array>;
}

export interface ParquetReadOptions {
  /** Columns to read; the others are never read from disk. */
  readonly keep?: ReadonlySet<string> | undefined;
  /** 1 = this thread only; 2 (default) = a worker takes row groups too when the file is large. */
  readonly threads?: number;
  /** Smallest read (compressed bytes of the kept columns) worth a worker; default 16 MB. */
  readonly workerMinBytes?: number;
}

export interface ParquetRead {
  readonly table: Table;
  readonly meta: FileMeta;
  readonly rowGroups: number;
  /** Threads that decoded row groups. */
  readonly threads: number;
}

const MAGIC = "PAR1";

function damaged(file: string, what: string): StageError {
  return new StageError("QV_LOAD_PARQUET", `${file}: the Parquet file cannot be read: ${what}`, {
    hint: "the file may be truncated or damaged",
    data: { file },
  });
}

function hasMagic(b: Uint8Array, at: number): boolean {
  for (let i = 0; i < 4; i++) if (b[at + i] !== MAGIC.charCodeAt(i)) return false;
  return true;
}

/** Reads and decodes the footer. */
function readFooter(src: ByteSource, size: number, file: string): FileMeta {
  const head = src.read(0, Math.min(4, size));
  if (head.length < 4 || !hasMagic(head, 0))
    throw new StageError("QV_LOAD_FORMAT", `${file}: not a Parquet file (it does not start with "PAR1")`, {
      hint: "set format: to the file's real format, or give it the matching extension",
      data: { file },
    });
  if (size < 12) throw damaged(file, `it is only ${size} bytes long`);
  const tail = src.read(size - 8, 8);
  if (!hasMagic(tail, 4)) throw damaged(file, 'it does not end with "PAR1" (truncated?)');
  const len = tail[0]! | (tail[1]! << 8) | (tail[2]! << 16) | (tail[3]! << 24);
  if (len <= 0 || len > size - 12) throw damaged(file, `its footer length (${len}) does not fit the file`);
  try {
    return decodeFileMeta(src.read(size - 8 - len, len));
  } catch (e) {
    throw damaged(file, `its footer is malformed (${(e as Error).message})`);
  }
}

/** The table's arrays; in shared memory when a worker writes its row groups into them too. */
function makeTargets(plan: ReadPlan, rows: number, shared: boolean): ColumnTarget[] {
  const memory = (bytes: number) => (shared ? new SharedArrayBuffer(bytes) : new ArrayBuffer(bytes));
  return plan.columns.map((c) => {
    switch (c.out) {
      case "f64":
        return { f64: new Float64Array(memory(rows * 8)) };
      case "i32":
        return { i32: new Int32Array(memory(rows * 4)) };
      case "str":
        return { i32: new Int32Array(memory(rows * 4)), pool: new StringPool() };
    }
  });
}

/** Codes renumbered in order of first appearance, keeping only the strings that occur. */
function firstAppearance(codes: Int32Array, values: readonly string[]): Column {
  const remap = new Int32Array(values.length).fill(-1);
  const dictionary: string[] = [];
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i]!;
    if (c < 0) continue;
    let n = remap[c]!;
    if (n < 0) {
      n = dictionary.length;
      remap[c] = n;
      dictionary.push(values[c]!);
    }
    codes[i] = n;
  }
  return { type: "dict", codes, dictionary };
}

function finish(plan: ReadPlan, targets: readonly ColumnTarget[], rows: number): Table {
  const columns = new Map<string, Column>();
  plan.columns.forEach((c, i) => {
    const t = targets[i]!;
    if (c.out === "f64") columns.set(c.name, { type: "float64", values: t.f64! });
    else if (c.out === "str") columns.set(c.name, firstAppearance(t.i32!, t.pool!.values));
    else if (t.nulls) {
      const values = new Float64Array(rows);
      const ints = t.i32!;
      for (let r = 0; r < rows; r++) values[r] = t.nulls[r] ? NaN : ints[r]!;
      columns.set(c.name, { type: "float64", values });
    } else columns.set(c.name, { type: "int32", values: t.i32! });
  });
  return { numRows: rows, columns };
}

/**
 * Completes a row group the worker wrote into the shared arrays: its nulls of int32 columns, and
 * its text codes, which are the worker's own until mapped to this thread's pool.
 */
function place(targets: ColumnTarget[], at: number, rows: number, cols: readonly WorkerColumn[]): void {
  cols.forEach((col, i) => {
    const t = targets[i]!;
    switch (col.kind) {
      case "f64":
        break;
      case "i32":
        if (col.nulls) {
          t.nulls ??= new Uint8Array(t.i32!.length);
          t.nulls.set(col.nulls, at);
        }
        break;
      case "str": {
        const global = col.keys.map((k) => t.pool!.internKey(k));
        const out = t.i32!;
        for (let r = at; r < at + rows; r++) {
          const c = out[r]!;
          out[r] = c < 0 ? -1 : global[c]!;
        }
        break;
      }
    }
  });
}

export async function readParquet(
  source: ParquetSource,
  opts: ParquetReadOptions = {},
): Promise<ParquetRead> {
  const file = source.name;
  let src: ByteSource;
  let size: number;
  if (source.gzip) {
    const whole = await source.bytes();
    src = memorySource(whole);
    size = whole.length;
  } else {
    try {
      src = fileSource(source.path);
      size = (await import("node:fs")).statSync(source.path).size;
    } catch (e) {
      throw new StageError("QV_LOAD_OPEN", `${file}: cannot read the file: ${(e as Error).message}`, {
        data: { file },
      });
    }
  }
  try {
    const meta = readFooter(src, size, file);
    const plan = planRead(meta, file, opts.keep);
    await loadCodecs(plan.codecs);
    const rows = plan.numRows;
    const useWorker =
      (opts.threads ?? 2) > 1 &&
      !source.gzip &&
      plan.rowGroups.length > 1 &&
      plan.columns.length > 0 &&
      plan.bytes >= (opts.workerMinBytes ?? 16 << 20);
    const targets = makeTargets(plan, rows, useWorker);
    if (!useWorker) {
      const scratch = new Scratch();
      for (const rg of plan.rowGroups) decodeRowGroup(src, plan, rg, targets, rg.row, scratch, file);
      return { table: finish(plan, targets, rows), meta, rowGroups: plan.rowGroups.length, threads: 1 };
    }
    await decodeWithWorker(source.path, file, plan, src, targets);
    return { table: finish(plan, targets, rows), meta, rowGroups: plan.rowGroups.length, threads: 2 };
  } finally {
    src.close();
  }
}

/**
 * Both threads take row groups from a shared counter until none is left. A row group the worker
 * claimed but did not finish (it could not start, or crashed) is decoded here afterwards; an
 * error in the file (a StageError from either thread) ends the read.
 */
async function decodeWithWorker(
  path: string,
  file: string,
  plan: ReadPlan,
  src: ByteSource,
  targets: ColumnTarget[],
): Promise<void> {
  const counter = new Int32Array(new SharedArrayBuffer(4));
  const arrays = targets.map((t) => (t.f64 ?? t.i32)!);
  const init: ToWorker = { path, file, plan: { ...plan, codecs: [...plan.codecs] }, counter, arrays };
  const worker = new Worker(new URL("./parquet-worker.js", import.meta.url), { workerData: init });
  const done = new Uint8Array(plan.rowGroups.length);
  let fileError: StageError | undefined;
  const finished = new Promise<void>((resolve) => {
    worker.on("message", (m: FromWorker) => {
      if (m.kind === "rowgroup") {
        const rg = plan.rowGroups[m.index]!;
        place(targets, rg.row, rg.rows, m.columns);
        done[m.index] = 1;
      } else {
        if (m.kind === "error" && m.code !== "")
          fileError ??= new StageError(m.code, m.message, { hint: m.hint, data: m.data });
        resolve();
      }
    });
    worker.on("error", () => resolve());
    worker.on("exit", () => resolve());
  });
  const scratch = new Scratch();
  try {
    for (;;) {
      if (fileError) break;
      const i = Atomics.add(counter, 0, 1);
      if (i >= plan.rowGroups.length) break;
      const rg = plan.rowGroups[i]!;
      decodeRowGroup(src, plan, rg, targets, rg.row, scratch, file);
      done[i] = 1;
      // Let the worker's messages in as they come.
      await new Promise<void>((r) => setImmediate(r));
    }
  } catch (e) {
    // Stop the worker taking more row groups, then report this thread's error.
    Atomics.store(counter, 0, plan.rowGroups.length);
    await worker.terminate();
    throw e;
  }
  await finished;
  await worker.terminate();
  if (fileError) throw fileError;
  for (const rg of plan.rowGroups)
    if (!done[rg.index]) decodeRowGroup(src, plan, rg, targets, rg.row, scratch, file);
}
