/**
 * Data-parallel execution of chunk jobs. The host thread is thread 0; threads 1..T-1 are
 * worker_threads sharing the same WebAssembly.Memory. A job is published through a control block
 * in that memory (plain words, then the generation counter is bumped with Atomics); chunk c always
 * runs on thread c mod T, and each chunk writes only its own slot, so the thread count never
 * changes a result. Idle workers spin briefly (the next batch usually follows within microseconds)
 * and then sleep in Atomics.wait.
 */
import { Worker } from "node:worker_threads";
import type { MlpExports } from "./wasm.js";

export const CTRL_WORDS = 32;
export const C = {
  gen: 0,
  done: 1,
  error: 2,
  job: 3,
  threads: 4,
  net: 5,
  x: 6,
  y: 7,
  w: 8,
  idx: 9,
  batch: 10,
  chunkRows: 11,
  chunks: 12,
  step: 13,
  seed: 14,
  start: 15,
  count: 18,
  out: 19,
  lossOut: 20,
  /** Threads taking part in the current job (those with at least one chunk). */
  active: 21,
  /** Float64 slot (words 16-17). */
  invNormF64: 8,
} as const;
export const JOB_TRAIN = 1;
export const JOB_INFER = 2;
export const JOB_EXIT = 3;

/**
 * Busy-wait iterations before sleeping (tens of microseconds): long enough to bridge the serial
 * optimizer step between two batches, short enough not to steal a core that other work needs.
 */
const SPIN = 20_000;

/** Runs thread `id`'s share of the published job. */
export function runShare(ex: MlpExports, ctrl: Int32Array, f64: Float64Array, id: number): void {
  const threads = ctrl[C.active] ?? 1;
  const chunks = ctrl[C.chunks] ?? 0;
  const net = ctrl[C.net] ?? 0;
  const x = ctrl[C.x] ?? 0;
  const y = ctrl[C.y] ?? 0;
  const w = ctrl[C.w] ?? 0;
  if (ctrl[C.job] === JOB_TRAIN) {
    const idx = ctrl[C.idx] ?? 0;
    const batch = ctrl[C.batch] ?? 0;
    const chunkRows = ctrl[C.chunkRows] ?? 0;
    const invNorm = f64[C.invNormF64] ?? 0;
    const step = ctrl[C.step] ?? 0;
    const seed = ctrl[C.seed] ?? 0;
    for (let c = id; c < chunks; c += threads) {
      ex.trainChunk(net, c, x, y, w, idx, batch, chunkRows, invNorm, step, seed);
    }
  } else {
    const start = ctrl[C.start] ?? 0;
    const count = ctrl[C.count] ?? 0;
    const out = ctrl[C.out] ?? 0;
    const lossOut = ctrl[C.lossOut] ?? 0;
    for (let c = id; c < chunks; c += threads) ex.inferChunk(net, c, x, start, count, out, y, w, lossOut);
  }
}

/** Worker side: wait for a new generation, run the share, report. Never returns until JOB_EXIT. */
export function workerLoop(ex: MlpExports, init: WorkerInit): void {
  const ctrl = new Int32Array(init.memory.buffer, init.ctrlPtr, CTRL_WORDS);
  const f64 = new Float64Array(init.memory.buffer, init.ctrlPtr, CTRL_WORDS / 2);
  // The generation at spawn time, not the current one: the first job may already be published.
  let seen = init.startGen;
  for (;;) {
    let spins = 0;
    let gen = Atomics.load(ctrl, C.gen);
    while (gen === seen) {
      if (++spins > SPIN) Atomics.wait(ctrl, C.gen, seen);
      gen = Atomics.load(ctrl, C.gen);
    }
    seen = gen;
    if (Atomics.load(ctrl, C.job) === JOB_EXIT) return;
    if (init.id >= Atomics.load(ctrl, C.active)) continue;
    try {
      runShare(ex, ctrl, f64, init.id);
    } catch {
      Atomics.store(ctrl, C.error, 1);
    }
    Atomics.add(ctrl, C.done, 1);
    Atomics.notify(ctrl, C.done);
  }
}

export interface WorkerInit {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  ctrlPtr: number;
  id: number;
  startGen: number;
}

export class ThreadPool {
  private constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly ctrlPtr: number,
    private readonly workers: Worker[],
    private readonly ex: MlpExports,
  ) {}

  get threads(): number {
    return this.workers.length + 1;
  }

  static async start(
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    ex: MlpExports,
    ctrlPtr: number,
    threads: number,
  ): Promise<ThreadPool> {
    const workers: Worker[] = [];
    const startGen = Atomics.load(new Int32Array(memory.buffer, ctrlPtr, CTRL_WORDS), C.gen);
    const ready: Promise<void>[] = [];
    for (let id = 1; id < threads; id++) {
      const init: WorkerInit = { module, memory, ctrlPtr, id, startGen };
      const worker = new Worker(new URL("./worker.js", import.meta.url), { workerData: init });
      worker.unref();
      ready.push(
        new Promise<void>((resolve, reject) => {
          worker.once("message", () => resolve());
          worker.once("error", reject);
        }),
      );
      workers.push(worker);
    }
    try {
      await Promise.all(ready);
    } catch (e) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw e;
    }
    const pool = new ThreadPool(memory, ctrlPtr, workers, ex);
    pool.ctrl()[C.threads] = threads;
    return pool;
  }

  /** The control block's words (re-created because growing the memory replaces its buffer). */
  ctrl(): Int32Array {
    return new Int32Array(this.memory.buffer, this.ctrlPtr, CTRL_WORDS);
  }
  ctrlF64(): Float64Array {
    return new Float64Array(this.memory.buffer, this.ctrlPtr, CTRL_WORDS / 2);
  }

  /**
   * Publishes the job already written into the control block (with `chunks` chunks), runs share 0
   * here and waits for the others. Threads without a chunk are not woken.
   */
  run(chunks: number): void {
    const ctrl = this.ctrl();
    const active = Math.max(1, Math.min(this.threads, chunks));
    ctrl[C.active] = active;
    const others = active - 1;
    if (others > 0) {
      Atomics.store(ctrl, C.done, 0);
      Atomics.add(ctrl, C.gen, 1);
      Atomics.notify(ctrl, C.gen);
    }
    let failure: unknown;
    try {
      runShare(this.ex, ctrl, this.ctrlF64(), 0);
    } catch (e) {
      failure = e;
    }
    if (others > 0) {
      let spins = 0;
      for (;;) {
        const done = Atomics.load(ctrl, C.done);
        if (done >= others) break;
        if (++spins > SPIN) Atomics.wait(ctrl, C.done, done, 50);
      }
      if (Atomics.exchange(ctrl, C.error, 0) !== 0 && failure === undefined) {
        failure = new Error("a trainer worker thread failed (WebAssembly trap)");
      }
    }
    if (failure !== undefined)
      throw failure instanceof Error ? failure : new Error("trainer chunk failed", { cause: failure });
  }

  async close(): Promise<void> {
    if (this.workers.length === 0) return;
    const ctrl = this.ctrl();
    Atomics.store(ctrl, C.job, JOB_EXIT);
    Atomics.add(ctrl, C.gen, 1);
    Atomics.notify(ctrl, C.gen);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
