/**
 * Threads for gbt training: the calling thread plus worker threads, all running the same
 * WebAssembly module on one shared memory. A job (a list of tasks) is published through a control
 * block in that memory; every thread claims tasks until none is left (wasm `runJob`), and the
 * caller returns when all have finished. Which thread runs a task never changes its result, so
 * models are bit-identical for any thread count.
 *
 * Training is synchronous, so the caller blocks in Atomics.wait while the workers run. Workers
 * are started once per process (unref'd: they never keep it alive) and attached to one training's
 * memory at a time; between trainings they sit in their event loop holding no memory.
 */
import { Worker } from "node:worker_threads";
import type { GbtExports } from "./wasm.js";

/** Control block (int32 words in the shared memory). */
export const CTRL_WORDS = 16;
const W = {
  /** Bumped to publish a command. */
  gen: 0,
  /** Workers that finished the current job. */
  done: 1,
  /** Set by a worker whose task trapped. */
  error: 2,
  cmd: 3,
  ctx: 4,
  job: 5,
  /** Workers attached to this memory. */
  attached: 6,
  /** Workers that should take part in the current job. */
  active: 7,
} as const;
const CMD_JOB = 1;
const CMD_DETACH = 2;

/** Busy-wait rounds before sleeping: a tree's jobs follow each other within microseconds. */
const SPIN = 20_000;
/** How long a worker may take to start and attach before training gives up. */
const ATTACH_TIMEOUT_MS = 60_000;

export interface AttachMessage {
  readonly type: "attach";
  readonly module: WebAssembly.Module;
  readonly memory: WebAssembly.Memory;
  readonly ctrlPtr: number;
  readonly id: number;
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
    if (m.id < Atomics.load(ctrl, W.active)) {
      try {
        ex.runJob(Atomics.load(ctrl, W.ctx), Atomics.load(ctrl, W.job));
      } catch {
        Atomics.store(ctrl, W.error, 1);
      }
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
  private constructor(
    private readonly ex: GbtExports,
    private readonly ctrl: Int32Array,
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
    const workers: Worker[] = [];
    for (let id = 1; id < threads; id++) {
      const w = idle.pop() ?? spawn();
      const message: AttachMessage = { type: "attach", module, memory, ctrlPtr, id, startGen: 0 };
      w.postMessage(message);
      workers.push(w);
    }
    const pool = new GbtThreads(ex, ctrl, workers);
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

  /**
   * Runs the job at `job` (with `tasks` tasks) on up to all threads; returns when every task has
   * finished. A job of one task runs here without waking anyone.
   */
  run(ctx: number, job: number, tasks: number): void {
    const ctrl = this.ctrl;
    const others = Math.min(this.workers.length, tasks - 1);
    if (others > 0) {
      ctrl[W.cmd] = CMD_JOB;
      ctrl[W.ctx] = ctx;
      ctrl[W.job] = job;
      ctrl[W.active] = others + 1; // worker ids run from 1
      Atomics.store(ctrl, W.done, 0);
      Atomics.add(ctrl, W.gen, 1);
      Atomics.notify(ctrl, W.gen);
    }
    let failure: unknown;
    try {
      this.ex.runJob(ctx, job);
    } catch (e) {
      failure = e;
    }
    if (others > 0) {
      let spins = 0;
      for (;;) {
        const done = Atomics.load(ctrl, W.done);
        if (done >= others) break;
        if (++spins > SPIN) Atomics.wait(ctrl, W.done, done, 50);
      }
      if (Atomics.exchange(ctrl, W.error, 0) !== 0 && failure === undefined)
        failure = new Error("a gbt worker thread failed (WebAssembly trap)");
    }
    if (failure !== undefined)
      throw failure instanceof Error ? failure : new Error("gbt task failed", { cause: failure });
  }

  /** Detaches the workers (they drop this memory) and returns them to the process-wide pool. */
  close(): void {
    if (this.workers.length === 0) return;
    const ctrl = this.ctrl;
    Atomics.store(ctrl, W.cmd, CMD_DETACH);
    Atomics.add(ctrl, W.gen, 1);
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
