/**
 * Data-parallel execution of chunk jobs. The host thread is thread 0; threads 1..T-1 are
 * worker_threads sharing the same WebAssembly.Memory. A job is published through a control block
 * in that memory (plain words, then the job number is bumped with Atomics). Every thread claims
 * chunks until none is left and each chunk writes only its own slot, so which thread runs a chunk
 * never changes a result. The host waits for chunks, never for a thread: a worker that wakes late
 * finds the job's chunks taken and claims nothing, so on a machine whose cores are busy with other
 * work a second thread costs little. Idle workers spin briefly, then sleep in Atomics.wait.
 */
import { Worker } from "node:worker_threads";
import { ITEM_BYTES } from "./step.js";
import type { MlpExports } from "./wasm.js";

export const CTRL_WORDS = 32;
export const C = {
  gen: 0,
  /** Chunks of the current job finished. */
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
  /** Step jobs: the items, gradient, parameter, optimizer-state blocks and optimizer record. */
  items: 21,
  grad: 24,
  params: 25,
  opt1: 26,
  opt2: 27,
  opt: 28,
  /** Float64 slot (words 16-17). */
  invNormF64: 8,
} as const;
/**
 * The claim word (int64, words 22-23): job number (24 bits), chunk count (20) and next chunk (20).
 * A claim is one compare-exchange that succeeds only for the current job while chunks remain.
 */
const CLAIM_WORD64 = 11;
const GEN_MASK = 0xffffff;
export const JOB_TRAIN = 1;
export const JOB_INFER = 2;
export const JOB_EXIT = 3;
export const JOB_STEP = 4;

/** Busy-wait rounds before sleeping: short, since a spinning thread takes a core from others. */
const SPIN = 2_000;

/** Claims the next chunk of job `gen`, or returns -1 when the job is over. */
function claimChunk(claim: BigInt64Array, gen: number): number {
  for (;;) {
    const word = Atomics.load(claim, CLAIM_WORD64);
    if (Number(BigInt.asUintN(24, word >> 40n)) !== gen) return -1;
    const next = Number(word & 0xfffffn);
    if (next >= Number((word >> 20n) & 0xfffffn)) return -1;
    if (Atomics.compareExchange(claim, CLAIM_WORD64, word, word + 1n) === word) return next;
  }
}

/** Runs chunks of the published job (number `gen`) until none is left. */
export function runChunks(
  ex: MlpExports,
  ctrl: Int32Array,
  f64: Float64Array,
  claim: BigInt64Array,
  gen: number,
): void {
  for (let c = claimChunk(claim, gen); c >= 0; c = claimChunk(claim, gen)) {
    // The job's words are read after the claim: while a chunk is unfinished the job is current.
    const net = ctrl[C.net] ?? 0;
    const x = ctrl[C.x] ?? 0;
    const y = ctrl[C.y] ?? 0;
    const w = ctrl[C.w] ?? 0;
    const job = ctrl[C.job];
    if (job === JOB_STEP) {
      ex.stepItem(
        net,
        (ctrl[C.items] ?? 0) + c * ITEM_BYTES,
        ctrl[C.chunks] ?? 0,
        ctrl[C.grad] ?? 0,
        ctrl[C.params] ?? 0,
        ctrl[C.opt1] ?? 0,
        ctrl[C.opt2] ?? 0,
        ctrl[C.opt] ?? 0,
      );
    } else if (job === JOB_TRAIN) {
      const idx = ctrl[C.idx] ?? 0;
      const batch = ctrl[C.batch] ?? 0;
      const chunkRows = ctrl[C.chunkRows] ?? 0;
      const invNorm = f64[C.invNormF64] ?? 0;
      ex.trainChunk(net, c, x, y, w, idx, batch, chunkRows, invNorm, ctrl[C.step] ?? 0, ctrl[C.seed] ?? 0);
    } else {
      const start = ctrl[C.start] ?? 0;
      const count = ctrl[C.count] ?? 0;
      ex.inferChunk(net, c, x, start, count, ctrl[C.out] ?? 0, y, w, ctrl[C.lossOut] ?? 0);
    }
    Atomics.add(ctrl, C.done, 1);
    Atomics.notify(ctrl, C.done);
  }
}

/** Worker side: wait for a new job, run chunks of it, repeat. Never returns until JOB_EXIT. */
export function workerLoop(ex: MlpExports, init: WorkerInit): void {
  const ctrl = new Int32Array(init.memory.buffer, init.ctrlPtr, CTRL_WORDS);
  const f64 = new Float64Array(init.memory.buffer, init.ctrlPtr, CTRL_WORDS / 2);
  const claim = new BigInt64Array(init.memory.buffer, init.ctrlPtr, CTRL_WORDS / 2);
  // The job number at spawn time, not the current one: the first job may already be published.
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
    try {
      runChunks(ex, ctrl, f64, claim, gen);
    } catch {
      // A trap ends the chunk it happened in: count it, so the host stops waiting, and report.
      Atomics.store(ctrl, C.error, 1);
      Atomics.add(ctrl, C.done, 1);
      Atomics.notify(ctrl, C.done);
    }
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
  private gen = 0;
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
   * Publishes the job already written into the control block (with `chunks` chunks), runs chunks
   * here and returns when all have finished. A job of one chunk wakes nobody.
   */
  run(chunks: number): void {
    const ctrl = this.ctrl();
    const claim = new BigInt64Array(this.memory.buffer, this.ctrlPtr, CTRL_WORDS / 2);
    const gen = (this.gen = (this.gen + 1) & GEN_MASK);
    Atomics.store(ctrl, C.done, 0);
    Atomics.store(claim, CLAIM_WORD64, (BigInt(gen) << 40n) | (BigInt(chunks) << 20n));
    Atomics.store(ctrl, C.gen, gen);
    if (chunks > 1 && this.workers.length > 0) Atomics.notify(ctrl, C.gen, this.workers.length);
    try {
      runChunks(this.ex, ctrl, this.ctrlF64(), claim, gen);
    } catch (e) {
      // Take the remaining chunks away, and wait for those still running before reporting.
      Atomics.store(claim, CLAIM_WORD64, 0n);
      this.waitForRunning(ctrl);
      throw e;
    }
    let spins = 0;
    for (;;) {
      const done = Atomics.load(ctrl, C.done);
      if (done >= chunks) break;
      if (++spins > SPIN) Atomics.wait(ctrl, C.done, done, 1);
    }
    if (Atomics.exchange(ctrl, C.error, 0) !== 0)
      throw new Error("a trainer worker thread failed (WebAssembly trap)");
  }

  /**
   * After a failure on this thread: returns once no worker can still be inside a chunk (each
   * worker's chunk ends within one chunk's time; waiting for the counter to settle bounds it).
   */
  private waitForRunning(ctrl: Int32Array): void {
    let last = -1;
    for (;;) {
      const done = Atomics.load(ctrl, C.done);
      if (done === last) return;
      last = done;
      Atomics.wait(ctrl, C.done, done, 20);
    }
  }

  async close(): Promise<void> {
    if (this.workers.length === 0) return;
    const ctrl = this.ctrl();
    Atomics.store(ctrl, C.job, JOB_EXIT);
    Atomics.store(ctrl, C.gen, (this.gen = (this.gen + 1) & GEN_MASK));
    Atomics.notify(ctrl, C.gen);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
