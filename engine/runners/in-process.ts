/**
 * The default runner: the stage runs in this process, with inputs handed over in memory and the
 * stage's own threads (`jobs`). Cancellation reaches the stage through its AbortSignal.
 */
import { executeJob } from "../job.js";
import type { RunnerOptions, StageRunner } from "./runner.js";

export function inProcessRunner(_opts: RunnerOptions): StageRunner {
  return {
    name: "in-process",
    async run(job, ctx) {
      const outcome = await executeJob(ctx.store, job, ctx.def, {
        loadInput: ctx.loadInput,
        progress: (fraction, message) =>
          ctx.emit({ type: "progress", fraction, ...(message !== undefined ? { message } : {}) }),
        note: (message) => ctx.emit({ type: "note", message }),
        signal: ctx.signal,
      });
      return { outcome };
    },
    close: () => Promise.resolve(),
  };
}
