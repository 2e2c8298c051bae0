/**
 * A job's folder in the store (jobs/<key>/): how the head hands a job over and how everything the
 * job says comes back, whatever runs it — this process, a child process, a batch node. The head
 * writes `job.json`; the job appends its events (`started`, progress, notes, `exit`) to
 * `events.ndjson`, writes its result (a manifest under its key) or `failure.json`, and its output
 * goes to `log`. The head reads all of it from the store: nothing travels over pipes, so a job on
 * another machine reads exactly like one here.
 *
 * Files are read by opening them afresh each time (never through a cached handle or size): on a
 * network filesystem, opening a file is what revalidates what the client has cached.
 */
import fs from "node:fs";
import type { Store } from "../cache/store.js";
import type { CacheKey } from "../core/hash.js";
import {
  batchSubmissionFile,
  decodeJobEvent,
  jobFailureFile,
  jobFile,
  JOB_EVENTS_FILE,
  JOB_LOG_FILE,
  readJobDoc,
  writeJobDoc,
  type BatchSubmission,
  type Job,
  type JobEventLine,
} from "./records.js";
import type { JobEvent } from "./runners/runner.js";

/** Hands a job over: any earlier folder of the key (a failed attempt) is replaced. */
export async function writeJob(store: Store, job: Job): Promise<void> {
  await store.removeJob(job.key);
  await writeJobDoc(store, jobFile, job, job.key);
}

/** The job's folder is no longer needed (its result is stored). */
export async function removeJob(store: Store, key: CacheKey): Promise<void> {
  await store.removeJob(key).catch(() => {});
}

/** Whether a failure record is there (the head reads it through readJobOutcome). */
export async function hasFailure(store: Store, key: CacheKey): Promise<boolean> {
  return (await store.readJobFile(key, jobFailureFile.file)) !== undefined;
}

/** The last `n` lines of a job's log ("" when there is none). */
export async function logTail(store: Store, key: CacheKey, n = 12): Promise<string> {
  const path = store.jobPath(key, JOB_LOG_FILE);
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(path, "r");
  } catch {
    return "";
  }
  try {
    const { size } = await fh.stat();
    const want = Math.min(size, 16_384);
    const buf = Buffer.alloc(want);
    await fh.read(buf, 0, want, size - want);
    const lines = buf.toString("utf8").replace(/\s+$/, "").split("\n");
    return lines.slice(-n).join("\n");
  } finally {
    await fh.close();
  }
}

/** Whether the job's log file exists (the batch system, at least, could write into the store). */
export async function hasLog(store: Store, key: CacheKey): Promise<boolean> {
  return fs.promises
    .stat(store.jobPath(key, JOB_LOG_FILE))
    .then(() => true)
    .catch(() => false);
}

/** Reads a job's events as they are appended: each `read()` returns the lines new since the last. */
export class JobEventsReader {
  private offset = 0;
  private partial = "";
  /** The job wrote `started`: it runs and sees the store. */
  started: Extract<JobEventLine, { type: "started" }> | undefined;
  /** The job wrote `exit`: its result or failure is in the store. */
  exit: Extract<JobEventLine, { type: "exit" }> | undefined;

  constructor(
    private readonly store: Store,
    readonly key: CacheKey,
  ) {}

  async read(): Promise<JobEventLine[]> {
    let fh: fs.promises.FileHandle;
    try {
      fh = await fs.promises.open(this.store.jobPath(this.key, JOB_EVENTS_FILE), "r");
    } catch {
      return [];
    }
    let text: string;
    try {
      const { size } = await fh.stat();
      if (size <= this.offset) return [];
      const buf = Buffer.alloc(size - this.offset);
      const { bytesRead } = await fh.read(buf, 0, buf.length, this.offset);
      this.offset += bytesRead;
      text = this.partial + buf.subarray(0, bytesRead).toString("utf8");
    } finally {
      await fh.close();
    }
    const lines = text.split("\n");
    // A line without its newline yet is kept for the next read.
    this.partial = lines.pop() ?? "";
    const out: JobEventLine[] = [];
    for (const line of lines) {
      const e = line.trim() ? decodeJobEvent(line) : undefined;
      if (!e) continue;
      if (e.type === "started") this.started = e;
      if (e.type === "exit") this.exit = e;
      out.push(e);
    }
    return out;
  }
}

/** The progress and notes among a job's events, as runners report them to the scheduler. */
export function reportedEvent(e: JobEventLine): JobEvent | undefined {
  switch (e.type) {
    case "progress":
      return {
        type: "progress",
        fraction: e.fraction,
        ...(e.message !== undefined ? { message: e.message } : {}),
      };
    case "note":
      return { type: "note", message: e.message };
    case "started":
    case "exit":
      return undefined;
  }
}

/** How often progress lines are written at most (notes and the last progress always are). */
const PROGRESS_EVERY_MS = 400;

/**
 * Appends a job's events to its folder (what `quiver exec` does wherever it runs). Writes are
 * ordered and flushed to the disk in batches, so a reader on another machine sees them soon;
 * progress is thinned out, the latest value always kept.
 */
export class JobEventsWriter {
  private chain: Promise<void> = Promise.resolve();
  private lastProgress = 0;
  private pendingProgress: JobEventLine | undefined;
  private timer: NodeJS.Timeout | undefined;

  private constructor(private readonly fh: fs.promises.FileHandle) {}

  static async open(store: Store, key: CacheKey): Promise<JobEventsWriter> {
    return new JobEventsWriter(await fs.promises.open(store.jobPath(key, JOB_EVENTS_FILE), "a"));
  }

  /** Queues an event; never throws (a job must not fail because a progress line could not be written). */
  write(e: JobEventLine): void {
    if (e.type === "progress") {
      const now = Date.now();
      if (now - this.lastProgress < PROGRESS_EVERY_MS && e.fraction < 1) {
        this.pendingProgress = e;
        this.timer ??= setTimeout(() => this.flushProgress(), PROGRESS_EVERY_MS);
        return;
      }
      this.lastProgress = now;
      this.pendingProgress = undefined;
    }
    this.append([e]);
  }

  private flushProgress(): void {
    this.timer = undefined;
    const p = this.pendingProgress;
    this.pendingProgress = undefined;
    if (p) {
      this.lastProgress = Date.now();
      this.append([p]);
    }
  }

  private append(lines: JobEventLine[]): void {
    const text = lines.map((l) => JSON.stringify(l) + "\n").join("");
    this.chain = this.chain.then(async () => {
      try {
        await this.fh.write(text);
        await this.fh.datasync();
      } catch {
        /* a full disk or a lost mount: the result or failure record still says how it ended */
      }
    });
  }

  /** Writes what is pending (the last progress, then `last`) and closes the file. */
  async close(last?: JobEventLine): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.flushProgress();
    if (last) this.append([last]);
    await this.chain;
    await this.fh.close().catch(() => {});
  }
}

/** A job folder as `gc` and `clean` see it. */
export interface JobFolder {
  readonly key: CacheKey;
  /** A live process (the run that handed it over, or `quiver exec`) holds its lock. */
  readonly inUse: boolean;
  /** Where it was submitted, for a batch job. */
  readonly submission: BatchSubmission | undefined;
}

/** Every job folder in the store. */
export async function jobFolders(store: Store): Promise<JobFolder[]> {
  const out: JobFolder[] = [];
  for (const key of await store.listJobs()) {
    const inUse = (await store.isLocked(key)) || (await store.isLocked(key, "exec"));
    out.push({ key, inUse, submission: await readJobDoc(store, batchSubmissionFile, key) });
  }
  return out;
}
