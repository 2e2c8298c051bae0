/**
 * Heartbeats: while this process holds a lock or a run registration, the file's mtime is refreshed
 * every HEARTBEAT_MS. Anyone who cannot check the owner's process directly (another host sharing
 * the store over NFS, another container) judges it by that: a file whose mtime has not moved for
 * STALE_MS is abandoned.
 *
 * The refresh runs in a worker thread once any lock is held: a stage computing synchronously on
 * the main thread (a long training step) must not make its lock look abandoned. Before that — a
 * run that only registered itself — a timer on the main thread is enough; most such runs are
 * over in a fraction of a second and never start the worker. Each file is touched only while it
 * is still the inode this process created: a lock that was broken and taken by another process is
 * never kept alive by us.
 */
import fs from "node:fs";
import { Worker } from "node:worker_threads";

export const HEARTBEAT_MS = 1000;
/** A lock whose mtime stayed the same for this long, as seen by a waiter, is abandoned. */
export const STALE_MS = 6000;

export interface Beat {
  readonly file: string;
  readonly ino: number;
  /** A string the file's content holds while it is ours (inode numbers alone get reused). */
  readonly token: string;
}

const beats = new Map<string, Beat>();
let worker: Worker | undefined;
let timer: NodeJS.Timeout | undefined;

/** Refreshes `file`'s mtime if it is still ours: inode `ino`, holding `token` (shared with the worker). */
export function touchIfSame(b: Beat, now = new Date()): void {
  try {
    if (fs.statSync(b.file).ino !== b.ino) return;
    if (!fs.readFileSync(b.file, "utf8").includes(b.token)) return;
    fs.utimesSync(b.file, now, now);
  } catch {
    /* gone or unreachable: the holder finds out when it releases */
  }
}

function beatAll(): void {
  const now = new Date();
  for (const b of beats.values()) touchIfSame(b, now);
}

function startTimer(): void {
  if (timer || worker) return;
  timer = setInterval(beatAll, HEARTBEAT_MS);
  timer.unref();
}

/** Moves the heartbeat to a worker thread (idempotent). */
function startWorker(): void {
  if (worker) return;
  try {
    worker = new Worker(new URL("./heartbeat-worker.js", import.meta.url), {
      workerData: { intervalMs: HEARTBEAT_MS },
    });
  } catch {
    // No worker threads (an embedding that forbids them): the main-thread timer carries on.
    startTimer();
    return;
  }
  worker.unref();
  worker.on("error", () => {
    worker = undefined;
    startTimer();
  });
  if (timer) clearInterval(timer);
  timer = undefined;
  for (const b of beats.values()) worker.postMessage({ add: b });
}

/**
 * Keeps `file` (inode `ino`) alive until `stop` is called. `blocking`: the holder may block the
 * main thread while it holds it (a lock around a stage), so beat from a worker thread.
 */
export function heartbeat(
  file: string,
  ino: number,
  token: string,
  opts: { blocking?: boolean } = {},
): () => void {
  const beat: Beat = { file, ino, token };
  beats.set(file, beat);
  if (opts.blocking) startWorker();
  if (worker) worker.postMessage({ add: beat });
  else startTimer();
  return () => {
    if (beats.get(file) !== beat) return;
    beats.delete(file);
    worker?.postMessage({ remove: file });
    if (beats.size === 0 && timer) {
      clearInterval(timer);
      timer = undefined;
    }
  };
}

/**
 * A waiter's view of a file it cannot judge by its owner: abandoned once its inode and mtime
 * stayed the same for STALE_MS of the waiter's own time (so clocks of other hosts never matter).
 */
export class StalenessWatch {
  private seen = new Map<string, { ino: number; mtimeMs: number; since: number }>();

  constructor(private readonly staleMs = STALE_MS) {}

  /** True when `file` (as just stat'ed) has not changed for staleMs. */
  isStale(file: string, st: { ino: number; mtimeMs: number }, now = performance.now()): boolean {
    const prev = this.seen.get(file);
    if (!prev || prev.ino !== st.ino || prev.mtimeMs !== st.mtimeMs) {
      this.seen.set(file, { ino: st.ino, mtimeMs: st.mtimeMs, since: now });
      return false;
    }
    return now - prev.since >= this.staleMs;
  }

  forget(file: string): void {
    this.seen.delete(file);
  }
}
