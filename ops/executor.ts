/**
 * Where an operation's stages run (`--executor NAME`): the runner, created when the first stage
 * must run (a cached run creates none) and shared by every pipeline run of the operation — a
 * sweep's points go to one runner, so one queue name covers them and their jobs can go out as
 * arrays. The operation closes it at the end, also when interrupted: a batch runner cancels
 * whatever it still has in the queue.
 */
import {
  createRunner,
  checkRunner,
  isRunnerName,
  runNameFor,
  runnerNames,
  SiteConfigError,
} from "../engine/runners/index.js";
import type { StageRunner } from "../engine/runners/index.js";
import { OpError, UsageError } from "./errors.js";

export interface Executor {
  /** The runner for RunOptions.runner; its own close() does nothing (the operation's does). */
  readonly runner: () => Promise<StageRunner>;
  close(): Promise<void>;
  /** Jobs go to a batch system, which queues as many as it is given. */
  readonly batch: boolean;
}

export async function executorFor(
  name: string | undefined,
  opts: { readonly jobs: number; readonly command?: readonly string[]; readonly pipeline: string },
): Promise<Executor> {
  const executor = name ?? "in-process";
  if (!isRunnerName(executor))
    throw new UsageError(`no executor "${executor}"; executors: ${runnerNames.join(", ")}`);
  let batch: boolean;
  try {
    ({ batch } = await checkRunner(executor));
  } catch (err) {
    if (err instanceof SiteConfigError) throw new OpError(err.diagnostics, err.sources);
    throw err;
  }
  let created: Promise<StageRunner> | undefined;
  const runner = () =>
    (created ??= createRunner(executor, {
      jobs: opts.jobs,
      runName: runNameFor(opts.pipeline),
      ...(opts.command ? { command: opts.command } : {}),
    }));
  return {
    batch,
    runner: async () => ({ ...(await runner()), close: () => Promise.resolve() }),
    close: async () => {
      if (created) await (await created).close();
    },
  };
}
