/**
 * Each stage in its own process (`run --isolate` / `--executor subprocess`): the child runs
 * `quiver exec --cache-dir STORE KEY`, reads the job and its inputs from the store and writes its
 * result (or failure record) there. True parallelism across cores, and the same path a batch
 * system's node takes: the child's output goes to the job's log in the store, and its progress
 * and notes come back through the job's events file — nothing is read from its pipes. An abort
 * terminates the child.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import { fileURLToPath } from "node:url";
import { JobEventsReader, logTail, reportedEvent } from "../job-folder.js";
import { jobFailureFile, JOB_LOG_FILE, writeJobDoc, type JobFailure } from "../records.js";
import { readJobOutcome } from "../results.js";
import type { RunnerOptions, StageRunner } from "./runner.js";

/** This package's own command line. */
export function defaultCommand(): string[] {
  return [process.execPath, fileURLToPath(new URL("../../../bin/quiver.js", import.meta.url))];
}

/** How often the events of a running child are read. */
const POLL_MS = 150;

export function subprocessRunner(opts: RunnerOptions): StageRunner {
  const [exe = process.execPath, ...args] = opts.command ?? defaultCommand();
  return {
    name: "subprocess",
    async run(job, ctx) {
      const started = performance.now();
      const log = await fs.promises.open(ctx.store.jobPath(job.key, JOB_LOG_FILE), "a");
      const child = spawn(exe, [...args, "exec", "--cache-dir", ctx.store.root, job.key], {
        stdio: ["ignore", log.fd, log.fd],
      });
      await log.close();
      const kill = () => child.kill("SIGTERM");
      ctx.signal.addEventListener("abort", kill, { once: true });
      const events = new JobEventsReader(ctx.store, job.key);
      const relay = async () => {
        for (const line of await events.read()) {
          const e = reportedEvent(line);
          if (e) ctx.emit(e);
        }
      };
      let reading = Promise.resolve();
      const timer = setInterval(() => {
        reading = reading.then(relay).catch(() => {});
      }, POLL_MS);
      const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>(
        (resolve) => {
          child.on("error", (error) => resolve({ code: null, signal: null, error }));
          child.on("close", (code, signal) => resolve({ code, signal }));
        },
      );
      clearInterval(timer);
      await reading;
      await relay().catch(() => {});
      ctx.signal.removeEventListener("abort", kill);
      if (await readJobOutcome(ctx.store, job)) return {};
      if (ctx.signal.aborted) return { cancelled: true };
      // The child ended without a word in the store: it crashed, was killed, or never started.
      const tail = await logTail(ctx.store, job.key);
      const detail = exit.error
        ? `could not start quiver exec: ${exit.error.message}`
        : `${exit.signal ? `quiver exec was killed by ${exit.signal}` : `quiver exec ended with an error (exit code ${exit.code})`}${tail ? `; its log ends:\n${tail}` : ""}`;
      const failure: JobFailure = {
        key: job.key,
        stageId: job.stageId,
        at: new Date().toISOString(),
        durationMs: Math.round(performance.now() - started),
        failure: {
          kind: "lost",
          code: "QV_EXEC_FAILED",
          detail,
          log: ctx.store.jobPath(job.key, JOB_LOG_FILE),
        },
      };
      await writeJobDoc(ctx.store, jobFailureFile, failure, job.key).catch(() => {});
      return { outcome: { ok: false, failure } };
    },
    close: () => Promise.resolve(),
  };
}
