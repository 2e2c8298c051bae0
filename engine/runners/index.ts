/**
 * The runners Quiver knows, by name (`--executor NAME`; `--isolate` is `subprocess`). Adding one is
 * its file in this folder and one line here. Runner modules load on demand: a run where everything
 * is cached never loads any.
 */
import type { RunnerOptions, StageRunner } from "./runner.js";

export type { JobEvent, RunnerContext, RunnerOptions, RunnerResult, StageRunner } from "./runner.js";

const runners: Readonly<Record<string, () => Promise<(opts: RunnerOptions) => StageRunner>>> = {
  "in-process": async () => (await import("./in-process.js")).inProcessRunner,
  subprocess: async () => (await import("./subprocess.js")).subprocessRunner,
};

export const runnerNames: readonly string[] = Object.keys(runners);

export function isRunnerName(name: string): boolean {
  return Object.hasOwn(runners, name);
}

export async function createRunner(name: string, opts: RunnerOptions): Promise<StageRunner> {
  const load = Object.hasOwn(runners, name) ? runners[name] : undefined;
  if (!load) throw new Error(`no runner "${name}"; runners: ${runnerNames.join(", ")}`);
  return (await load())(opts);
}
