/**
 * Loads the boosted-trees WebAssembly module (built by asc from wasm/gbt/) and its shared memory,
 * synchronously: training is a synchronous call, and the module is small (compiled in ~1 ms).
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Compiled host lives at dist/stages/lib/gbt/, the module at dist/wasm/gbt.wasm. */
export const GBT_WASM_PATH = fileURLToPath(new URL("../../../wasm/gbt.wasm", import.meta.url));

/** Largest shared memories tried, in 64 KiB pages (4 GiB down to 512 MiB of address space). */
const MAX_PAGES_TRIED = [65536, 32768, 16384, 8192];
const PAGE = 65536;

export interface GbtExports {
  heapBase(): number;
  /** Runs tasks of job number `gen` until none is left (see wasm/gbt/assembly/index.ts); returns how many this thread ran. */
  runJob(ctx: number, job: number, claim: number, done: number, gen: number): number;
  /** Sorts n float64 (no NaN) at a ascending, -0 before +0; tmp: n float64, counts: 2048 uint32 of scratch. */
  sortFloat64(a: number, tmp: number, counts: number, n: number): void;
}

let compiled: WebAssembly.Module | undefined;

export function gbtModule(): WebAssembly.Module {
  if (compiled) return compiled;
  let bytes: Buffer;
  try {
    bytes = readFileSync(GBT_WASM_PATH);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT")
      throw new Error(
        `the boosted-trees WebAssembly module is not built (${GBT_WASM_PATH} is missing): run \`npm run build\``,
      );
    throw e;
  }
  compiled = new WebAssembly.Module(new Uint8Array(bytes));
  return compiled;
}

export function instantiateGbt(module: WebAssembly.Module, memory: WebAssembly.Memory): GbtExports {
  return new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as GbtExports;
}

/** The trainer's memory does not fit (the data set is too large for one process's wasm memory). */
export class GbtMemoryError extends RangeError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "GbtMemoryError";
  }
}

/**
 * Bump allocator over a shared WebAssembly memory that grows on demand. Nothing is freed one by
 * one: a training allocates what it needs and drops the whole memory at the end. Blocks are
 * 64-byte aligned (cache lines, and every v128 access aligned).
 */
export class GbtMemory {
  readonly memory: WebAssembly.Memory;
  readonly ex: GbtExports;
  private top: number;
  private readonly base: number;
  private readonly maxPages: number;

  /** maxPages: the memory's limit; by default the largest this process can reserve. */
  constructor(module: WebAssembly.Module, maxPages?: number) {
    let last: unknown;
    for (const limit of maxPages === undefined ? MAX_PAGES_TRIED : [maxPages]) {
      try {
        const memory = new WebAssembly.Memory({ initial: 32, maximum: limit, shared: true });
        this.ex = instantiateGbt(module, memory);
        this.memory = memory;
        this.maxPages = limit;
        this.base = align(this.ex.heapBase());
        this.top = this.base;
        return;
      } catch (e) {
        if (!(e instanceof WebAssembly.LinkError || e instanceof RangeError)) throw e;
        last = e;
      }
    }
    throw new GbtMemoryError("could not reserve a shared WebAssembly memory for gbt training", {
      cause: last,
    });
  }

  /** Forgets every allocation (the memory keeps its size). */
  reset(): void {
    this.top = this.base;
  }

  alloc(bytes: number): number {
    const at = this.top;
    const end = align(at + Math.max(bytes, 1));
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / PAGE);
      if (have / PAGE + pages > this.maxPages)
        throw new GbtMemoryError(
          `gbt training needs ${Math.ceil(end / 2 ** 20)} MiB, above the ${this.maxPages / 16} MiB a WebAssembly memory can hold here; train on fewer rows or features`,
        );
      try {
        this.memory.grow(pages);
      } catch (e) {
        // The limit was reserved, but the system would not commit the pages.
        if (!(e instanceof RangeError)) throw e;
        throw new GbtMemoryError(
          `gbt training needs ${Math.ceil(end / 2 ** 20)} MiB and the system would not give it; train on fewer rows or features`,
          { cause: e },
        );
      }
    }
    this.top = end;
    return at;
  }

  // Views are re-created on each use: growing the memory replaces its buffer.
  u8(at: number, length: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, at, length);
  }
  i32(at: number, length: number): Int32Array {
    return new Int32Array(this.memory.buffer, at, length);
  }
  f64(at: number, length: number): Float64Array {
    return new Float64Array(this.memory.buffer, at, length);
  }
}

function align(n: number): number {
  return Math.ceil(n / 64) * 64;
}
