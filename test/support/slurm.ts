/**
 * For the cluster tests: whether a Slurm cluster is reachable (test/support/slurm/start.sh starts
 * a one-node one and writes SLURM_CONF to STATE/env; .ci/run sources it), the queue as squeue
 * shows it, and a CLI child process whose NDJSON events can be awaited as they come.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import type { EngineEvent } from "../../engine/events.js";
import { testCli, waitFor, type Rig, type RunResult } from "./rig.js";

/** Heads started by the tests that may still run (and have jobs in the queue). */
const heads = new Set<ChildProcess>();

function track(child: ChildProcess): ChildProcess {
  heads.add(child);
  child.on("close", () => heads.delete(child));
  return child;
}

/** `r.spawnAndWait(...)` for a head that may submit jobs: tracked, so that `stopHeads` ends it. */
export function runHead(r: Rig, cmd: string, pipeline: string, ...args: string[]): Promise<RunResult> {
  return waitFor(track(r.spawn(cmd, pipeline, ...args)));
}

/**
 * Ends every head a test left running (a failed assertion, a test's time limit): SIGTERM, on which a
 * head cancels its jobs, then SIGKILL if it has not ended within 30 s. The cluster tests call it
 * after each file, so a failing test neither hangs the suite nor leaves jobs in the queue.
 */
export async function stopHeads(): Promise<void> {
  await Promise.all(
    [...heads].map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
      child.kill("SIGTERM");
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), 30_000)));
      if ((await Promise.race([closed, late])) === "late") child.kill("SIGKILL");
      clearTimeout(timer);
    }),
  );
}

/** Why the cluster tests cannot run here, or undefined when they can. */
export function slurmUnavailable(): string | undefined {
  if (!process.env.SLURM_CONF)
    return "SLURM_CONF is not set: start a cluster with test/support/slurm/start.sh DIR, then `. DIR/env`";
  const r = spawnSync("sinfo", ["-h", "-o", "%t"], { encoding: "utf8", timeout: 20_000 });
  if (r.error) return `sinfo cannot run: ${r.error.message}`;
  if (r.status !== 0) return `sinfo failed: ${(r.stderr || r.stdout).trim().split("\n")[0]}`;
  if (!/idle|mix|alloc/.test(r.stdout)) return `no node is up (sinfo says "${r.stdout.trim()}")`;
  return undefined;
}

/** Jobs Slurm has pending or running among `ids`. */
export function stillInQueue(ids: readonly string[]): string[] {
  if (!ids.length) return [];
  const r = spawnSync("squeue", ["-h", "-r", "-t", "PD,R,CG,S,CF", "-o", "%i"], {
    encoding: "utf8",
    timeout: 20_000,
  });
  const live = new Set(r.stdout.split("\n").map((l) => l.trim()));
  return ids.filter((id) => live.has(id));
}

/**
 * `stillInQueue(ids)` once cancelled jobs have had their moment: a cancelled job goes through
 * COMPLETING while its processes get SIGTERM (then SIGKILL after KillWait), so it is given that.
 */
export async function leftInQueue(ids: readonly string[], waitMs = 15_000): Promise<string[]> {
  const until = Date.now() + waitMs;
  for (;;) {
    const left = stillInQueue(ids);
    if (!left.length || Date.now() > until) return left;
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Every job (any state, until MinJobAge) whose name starts with `prefix`: id → name. */
export function jobsNamed(prefix: string): Map<string, string> {
  const r = spawnSync("squeue", ["-h", "-r", "-t", "all", "-o", "%i|%j"], {
    encoding: "utf8",
    timeout: 20_000,
  });
  const out = new Map<string, string>();
  for (const line of r.stdout.split("\n")) {
    const [id, name] = line.trim().split("|");
    if (id && name?.startsWith(prefix)) out.set(id, name);
  }
  return out;
}

/** A CLI child process whose events are parsed as they arrive. */
export class Watched {
  readonly events: EngineEvent[] = [];
  private waiters: { pred: (e: EngineEvent[]) => boolean; resolve: () => void }[] = [];
  readonly done: Promise<RunResult>;

  constructor(readonly child: ChildProcess) {
    let buf = "";
    child.stdout?.on("data", (d: Buffer) => {
      buf += d.toString();
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line.startsWith("{")) continue;
        try {
          this.events.push(JSON.parse(line) as EngineEvent);
        } catch {
          continue;
        }
        this.waiters = this.waiters.filter((w) => (w.pred(this.events) ? (w.resolve(), false) : true));
      }
    });
    this.done = waitFor(child);
  }

  /** Resolves once the events seen so far satisfy `pred` (rejects if the process ends first). */
  until(pred: (events: EngineEvent[]) => boolean): Promise<void> {
    if (pred(this.events)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters.push({ pred, resolve });
      void this.done.then((r) => reject(new Error(`the run ended first (code ${r.code}): ${r.stderr}`)));
    });
  }

  queuedIds(): string[] {
    return this.events.flatMap((e) => (e.type === "queued" ? [e.id] : []));
  }
}

/** `quiver <args>` with the engine-test stages, in a child process (its own CLI is what nodes run). */
export function watch(
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Watched {
  const child = spawn(process.execPath, [testCli, ...args], {
    cwd: opts.cwd,
    env: { ...process.env, ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  // RunResult parses stdout again; Watched reads it as it comes (both listen).
  return new Watched(track(child));
}
