/**
 * The runners Quiver knows, by name (`--executor NAME`; `--isolate` is `subprocess`). Adding one is
 * its file in this folder and one entry here (a batch system: an adapter for ./batch.ts and its
 * queue probe). Runner modules load on demand: a run where everything is cached never loads any.
 */
import type { BatchSubmission } from "../records.js";
import type { RunnerOptions, StageRunner } from "./runner.js";

export type { JobEvent, RunnerContext, RunnerOptions, RunnerResult, StageRunner } from "./runner.js";
export { SiteConfigError } from "./site.js";

interface RunnerModule {
  readonly create: (opts: RunnerOptions) => StageRunner;
  /** For batch systems: the submissions whose jobs are still queued or running. */
  readonly inQueue?: (subs: readonly BatchSubmission[]) => Promise<BatchSubmission[]>;
  /** Checks the runner's settings (the site file) before a run; throws SiteConfigError. */
  readonly check?: () => void;
}

const runners: Readonly<Record<string, () => Promise<RunnerModule>>> = {
  "in-process": async () => ({ create: (await import("./in-process.js")).inProcessRunner }),
  subprocess: async () => ({ create: (await import("./subprocess.js")).subprocessRunner }),
  slurm: async () => {
    const m = await import("./slurm.js");
    return { create: m.slurmRunner, inQueue: m.slurmInQueue, check: () => void m.slurmSettings() };
  },
};

export const runnerNames: readonly string[] = Object.keys(runners);

export function isRunnerName(name: string): boolean {
  return Object.hasOwn(runners, name);
}

export async function createRunner(name: string, opts: RunnerOptions): Promise<StageRunner> {
  const load = Object.hasOwn(runners, name) ? runners[name] : undefined;
  if (!load) throw new Error(`no runner "${name}"; runners: ${runnerNames.join(", ")}`);
  return (await load()).create(opts);
}

/**
 * Checks a runner's settings before anything runs (a bad site file is an error up front); says
 * whether it hands jobs to a batch system (which queues as many as it is given).
 */
export async function checkRunner(name: string): Promise<{ readonly batch: boolean }> {
  const load = Object.hasOwn(runners, name) ? runners[name] : undefined;
  const m = await load?.();
  m?.check?.();
  return { batch: m?.inQueue !== undefined };
}

/** A name for a run's jobs where a batch queue shows them: `quiver-<pipeline>-<random>`. */
export function runNameFor(pipeline: string): string {
  const clean = pipeline.replace(/[^A-Za-z0-9_.-]+/g, "_").slice(0, 24);
  return `quiver-${clean}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * The submissions whose jobs their batch system still has queued or running (for `clean` and
 * `gc`). A batch system that cannot be asked (no client here) counts its jobs as queued: better
 * to refuse than to pull a store from under a running job.
 */
export async function stillQueued(subs: readonly BatchSubmission[]): Promise<BatchSubmission[]> {
  const out: BatchSubmission[] = [];
  const byRunner = new Map<string, BatchSubmission[]>();
  for (const s of subs) byRunner.set(s.runner, [...(byRunner.get(s.runner) ?? []), s]);
  for (const [name, list] of byRunner) {
    const load = Object.hasOwn(runners, name) ? runners[name] : undefined;
    const probe = load ? (await load()).inQueue : undefined;
    if (!probe) continue;
    try {
      out.push(...(await probe(list)));
    } catch {
      out.push(...list);
    }
  }
  return out;
}
