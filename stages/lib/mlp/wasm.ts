/** Loads the compiled trainer module (built by asc from wasm/mlp/, see docs/wasm-trainer.md). */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

/** Compiled host lives at dist/stages/lib/mlp/, the module at dist/wasm/mlp.wasm. */
export const MLP_WASM_PATH = fileURLToPath(new URL("../../../wasm/mlp.wasm", import.meta.url));

/**
 * Pages of 64 KiB the shared memory may grow to: the largest the module accepts, since an imported
 * shared memory must not declare a larger maximum than the module (set by asc --maximumMemory).
 */
const MAX_PAGES_TRIED = [65536, 32768, 16384, 8192, 4096];

export interface MlpExports {
  heapBase(): number;
  trainChunk(
    net: number,
    chunk: number,
    x: number,
    y: number,
    w: number,
    idx: number,
    batch: number,
    chunkRows: number,
    invNorm: number,
    step: number,
    seed: number,
  ): void;
  inferChunk(
    net: number,
    chunk: number,
    x: number,
    start: number,
    count: number,
    out: number,
    y: number,
    w: number,
    lossOut: number,
  ): void;
  sumChunkLosses(net: number, chunks: number): number;
  sumChunkCorrect(net: number, chunks: number): number;
  transposeKernels(net: number): void;
  sumSquares(p: number, count: number): number;
  stepItem(
    net: number,
    item: number,
    chunks: number,
    grad: number,
    params: number,
    opt1: number,
    opt2: number,
    opt: number,
  ): void;
  gemm(
    M: number,
    N: number,
    K: number,
    a: number,
    sAm: number,
    sAk: number,
    b: number,
    ldb: number,
    c: number,
    ldc: number,
    mode: number,
    bias: number,
    act: number,
    aux: number,
    pack: number,
  ): void;
}

let modulePromise: Promise<WebAssembly.Module> | undefined;

/** Compiles the module once per process. */
export function loadMlpModule(): Promise<WebAssembly.Module> {
  modulePromise ??= (async () => {
    let bytes: Buffer;
    try {
      bytes = await readFile(MLP_WASM_PATH);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") {
        throw new Error(
          `the WebAssembly trainer is not built (${MLP_WASM_PATH} is missing): run \`npm run build\``,
        );
      }
      throw e;
    }
    const copy = new Uint8Array(bytes.byteLength);
    copy.set(bytes);
    return WebAssembly.compile(copy);
  })();
  modulePromise.catch(() => {
    modulePromise = undefined;
  });
  return modulePromise;
}

/** A shared memory with the largest maximum the module accepts, and the module instantiated on it. */
export function createMlpInstance(module: WebAssembly.Module): {
  memory: WebAssembly.Memory;
  maxPages: number;
  ex: MlpExports;
} {
  let last: unknown;
  for (const maxPages of MAX_PAGES_TRIED) {
    const memory = new WebAssembly.Memory({ initial: 16, maximum: maxPages, shared: true });
    try {
      return { memory, maxPages, ex: instantiateMlp(module, memory) };
    } catch (e) {
      if (!(e instanceof WebAssembly.LinkError)) throw e;
      last = e;
    }
  }
  throw new Error("the trainer module does not accept a shared memory import; rebuild it", { cause: last });
}

export function instantiateMlp(module: WebAssembly.Module, memory: WebAssembly.Memory): MlpExports {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return instance.exports as unknown as MlpExports;
}
