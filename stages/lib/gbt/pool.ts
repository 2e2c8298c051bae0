/**
 * Threads for gbt training: the calling thread plus worker threads, all running the same
 * WebAssembly module on one shared memory. A job (a list of tasks) is published through a control
 * block in that memory; every thread claims tasks until none is left (wasm `runJob`), and the
 * caller returns when all tasks have finished. Which thread runs a task never changes its result,
 * so models are bit-identical for any thread count.
 *
 * Nobody waits for a thread to start: a worker that wakes late finds the tasks taken and goes back
 * to sleep, so on a machine whose cores are busy with other work a second thread costs little.
 * Training is synchronous, so the caller blocks in Atomics.wait while tasks finish. Workers are
 * started once per process (unref'd: they never keep it alive) and attached to one training's
 * memory at a time; between trainings they sit in their event loop holding no memory.
 */
import { Worker } from "node:worker_threads";
import type { GbtExports } from "./wasm.js";

/** Control block: int32 words, and the claim word (int64) at byte 32. */
export const CTRL_WORDS = 16;
const W = {
  /** Number of the current job; bumped to publish one. */
  gen: 0,
  /** Tasks of the current job finished. */
  done: 1,
  /** Set by a worker whose task trapped. */
  error: 2,
  cmd: 3,
  ctx: 4,
  job: 5,
  /** Workers attached to this memory. */
  attached: 6,
} as const;
const CLAIM_BYTE = 32;
const CMD_JOB = 1;
const CMD_DETACH = 2;
/** Jobs are numbered modulo 2^24 and hold at most 2^20 - 1 tasks (the claim word's fields). */
const GEN_MASK = 0xffffff;
export const MAX_TASKS = 0xfffff;

/**
 * Busy-wait rounds before sleeping (about 50 µs): long enough to catch the next job of a tree (the
 * host needs tens of microseconds between jobs), short enough not to hold a core others need.
 */
const SPIN = 20_000;
/** How long a worker may take to start and attach before training gives up. */
const ATTACH_TIMEOUT_MS = 60_000;

export interface AttachMessage {
  readonly type: "attach";
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  readonly ctrlPtr: number;
  readonly startGen: number;
}

/** Worker side: serve jobs on the attached memory until told to detach. */
export function serveJobs(ex: GbtExports, m: AttachMessage): void {
  const ctrl = new Int32Array(m.memory.buffer, m.ctrlPtr, CTRL_WORDS);
  Atomics.add(ctrl, W.attached, 1);
  Atomics.notify(ctrl, W.attached);
  let seen = m.startGen;
  for (;;) {
    let spins = 0;
    let gen = Atomics.load(ctrl, W.gen);
    while (gen === seen) {
      if (++spins > SPIN) Atomics.wait(ctrl, W.gen, seen);
      gen = Atomics.load(ctrl, W.gen);
    }
    seen = gen;
    if (Atomics.load(ctrl, W.cmd) === CMD_DETACH) {
      Atomics.sub(ctrl, W.attached, 1);
      Atomics.notify(ctrl, W.attached);
      return;
    }
    try {
      ex.runJob(ctrl[W.ctx]!, ctrl[W.job]!, m.ctrlPtr + CLAIM_BYTE, m.ctrlPtr + 4 * W.done, gen);
    } catch {
      // A trap ends the task it happened in: count it, so the caller stops waiting, and report.
      Atomics.store(ctrl, W.error, 1);
      Atomics.add(ctrl, W.done, 1);
      Atomics.notify(ctrl, W.done);
    }
  }
}

/** Process-wide workers, started on first use. */
const idle: Worker[] = [];

function spawn(): Worker {
  const w = new Worker(new URL("./worker.js", import.meta.url));
  w.unref();
  return w;
}

export class GbtThreads {
  private gen = 0;
  private constructor(
    private readonly ex: GbtExports,
    private readonly ctrlPtr: number,
    private readonly ctrl: Int32Array,
    private readonly claim: BigInt64Array,
    private readonly workers: Worker[],
  ) {}

  /** All threads, the caller included. */
  get threads(): number {
    return this.workers.length + 1;
  }

  /** Attaches `threads - 1` workers to the memory (the control block at ctrlPtr, zeroed). */
  static open(
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    ex: GbtExports,
    ctrlPtr: number,
    threads: number,
  ): GbtThreads {
    const ctrl = new Int32Array(memory.buffer, ctrlPtr, CTRL_WORDS);
    const claim = new BigInt64Array(memory.buffer, ctrlPtr + CLAIM_BYTE, 1);
    const workers: Worker[] = [];
    for (let id = 1; id < threads; id++) {
      const w = idle.pop() ?? spawn();
      const message: AttachMessage = { type: "attach", module, memory, ctrlPtr, startGen: 0 };
      w.postMessage(message);
      workers.push(w);
    }
    const pool = new GbtThreads(ex, ctrlPtr, ctrl, claim, workers);
    const deadline = Date.now() + ATTACH_TIMEOUT_MS;
    for (;;) {
      const attached = Atomics.load(ctrl, W.attached);
      if (attached === workers.length) break;
      if (Date.now() > deadline) {
        pool.close();
        throw new Error(`gbt worker threads did not start within ${ATTACH_TIMEOUT_MS / 1000} s`);
      }
      Atomics.wait(ctrl, W.attached, attached, 100);
    }
    return pool;
  }

  /** Runs the job at `job` (with `tasks` tasks) on the threads; returns when every task has finished. */
  run(ctx: number, job: number, tasks: number): void {
    if (tasks > MAX_TASKS)
      throw new RangeError(`a gbt job of ${tasks} tasks is above the limit of ${MAX_TASKS}`);
    const ctrl = this.ctrl;
    const gen = (this.gen = (this.gen + 1) & GEN_MASK);
    ctrl[W.cmd] = CMD_JOB;
    ctrl[W.ctx] = ctx;
    ctrl[W.job] = job;
    Atomics.store(ctrl, W.done, 0);
    Atomics.store(this.claim, 0, (BigInt(gen) << 40n) | (BigInt(tasks) << 20n));
    Atomics.store(ctrl, W.gen, gen);
    // A job of one task runs here without waking anyone.
    if (tasks > 1 && this.workers.length > 0) Atomics.notify(ctrl, W.gen, this.workers.length);
    try {
      this.ex.runJob(ctx, job, this.ctrlPtr + CLAIM_BYTE, this.ctrlPtr + 4 * W.done, gen);
    } catch (e) {
      // Take the remaining tasks away from the workers; close() waits for those still running.
      Atomics.store(this.claim, 0, 0n);
      throw e;
    }
    let spins = 0;
    for (;;) {
      const done = Atomics.load(ctrl, W.done);
      if (done >= tasks) break;
      if (++spins > SPIN) Atomics.wait(ctrl, W.done, done, 1);
    }
    if (Atomics.exchange(ctrl, W.error, 0) !== 0)
      throw new Error("a gbt worker thread failed (WebAssembly trap)");
  }

  /** Detaches the workers (they drop this memory) and returns them to the process-wide pool. */
  close(): void {
    if (this.workers.length === 0) return;
    const ctrl = this.ctrl;
    Atomics.store(ctrl, W.cmd, CMD_DETACH);
    Atomics.store(ctrl, W.gen, (this.gen = (this.gen + 1) & GEN_MASK));
    Atomics.notify(ctrl, W.gen);
    const deadline = Date.now() + ATTACH_TIMEOUT_MS;
    for (;;) {
      const attached = Atomics.load(ctrl, W.attached);
      if (attached <= 0 || Date.now() > deadline) break;
      Atomics.wait(ctrl, W.attached, attached, 100);
    }
    idle.push(...this.workers);
    this.workers.length = 0;
  }
}
