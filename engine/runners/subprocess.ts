/**
 * Each stage in its own process (`run --isolate` / `--executor subprocess`): the child runs
 * `quiver exec --cache-dir STORE KEY`, reads the job and its inputs from the store and writes its
 * result (or failure record) there. True parallelism across cores, and the same path a batch
 * system's node takes. Progress comes back as NDJSON lines on the child's stdout; an abort
 * terminates the child.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { jobFailureRecord, writeRecord, type JobFailure } from "../records.js";
import { readJobOutcome } from "../results.js";
import type { RunnerOptions, StageRunner } from "./runner.js";

/** This package's own command line. */
function defaultCommand(): string[] {
  return [process.execPath, fileURLToPath(new URL("../../../bin/quiver.js", import.meta.url))];
}

export function subprocessRunner(opts: RunnerOptions): StageRunner {
  const [exe = process.execPath, ...args] = opts.command ?? defaultCommand();
  return {
    name: "subprocess",
    async run(job, ctx) {
      const started = performance.now();
      const child = spawn(exe, [...args, "exec", "--cache-dir", ctx.store.root, job.key], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      const kill = () => child.kill("SIGTERM");
      ctx.signal.addEventListener("abort", kill, { once: true });
      let stderr = "";
      let buffered = "";
      child.stdout.on("data", (chunk: Buffer) => {
        buffered += chunk.toString();
        for (let nl = buffered.indexOf("\n"); nl >= 0; nl = buffered.indexOf("\n")) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          const e = parseEvent(line);
          if (e) ctx.emit(e);
        }
      });
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>(
        (resolve) => {
          child.on("error", (error) => resolve({ code: null, signal: null, error }));
          child.on("close", (code, signal) => resolve({ code, signal }));
        },
      );
      ctx.signal.removeEventListener("abort", kill);
      if (await readJobOutcome(ctx.store, job)) return {};
      // The child ended without a word in the store: it crashed, was killed, or never started.
      const detail = exit.error
        ? `could not start quiver exec: ${exit.error.message}`
        : ctx.signal.aborted
          ? "cancelled"
          : exit.signal
            ? `quiver exec was killed by ${exit.signal}`
            : lastLines(stderr) || `quiver exec exited with ${exit.code}`;
      const failure: JobFailure = {
        key: job.key,
        stageId: job.stageId,
        at: new Date().toISOString(),
        durationMs: Math.round(performance.now() - started),
        failure: { kind: "lost", code: "QV_EXEC_FAILED", detail },
      };
      await writeRecord(ctx.store, jobFailureRecord, failure, job.key).catch(() => {});
      return { outcome: { ok: false, failure } };
    },
    close: () => Promise.resolve(),
  };
}

function parseEvent(
  line: string,
): { type: "progress"; fraction: number; message?: string } | { type: "note"; message: string } | undefined {
  if (!line.startsWith("{")) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof v !== "object" || v === null) return undefined;
  const e = v as { type?: unknown; fraction?: unknown; message?: unknown };
  const message = typeof e.message === "string" ? e.message : undefined;
  if (e.type === "progress" && typeof e.fraction === "number")
    return { type: "progress", fraction: e.fraction, ...(message !== undefined ? { message } : {}) };
  if (e.type === "note" && message !== undefined) return { type: "note", message };
  return undefined;
}

function lastLines(text: string, n = 5): string {
  return text.trim().split("\n").slice(-n).join("\n");
}
