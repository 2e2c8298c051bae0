/**
 * `quiver exec`: runs stage jobs from the store, here or on a batch node. Its own module with
 * few imports: every job of a batch run pays for what it loads.
 */
import os from "node:os";
import type { Registry } from "../engine/pipeline/validate.js";
import { failureSummary } from "../engine/stage-errors.js";
import { exec } from "../ops/exec.js";
import { common, parse, UsageError } from "./args.js";
import { fmtMs } from "./console.js";
import type { Io } from "./load.js";

/**
 * Runs stage jobs that another process wrote to the store: one, or several one after another (a
 * batch job holding a pack of them). Everything a job says goes to the store (its events, result or
 * failure record); what is printed here is for the job's log. A failing job does not stop the
 * ones after it: each has its own outcome, and the head decides what a failure stops.
 */
export async function cmdExec(argv: string[], registry: Registry, io: Io): Promise<number> {
  const { values, positionals } = parse(argv, { ...common });
  const cacheDir = values["cache-dir"];
  if (!positionals.length || !cacheDir) throw new UsageError("usage: quiver exec --cache-dir STORE KEY...");
  let code = 0;
  let thrown: Error | undefined;
  for (const key of positionals) {
    try {
      code = Math.max(code, await execOne(cacheDir, key, registry, io));
    } catch (err) {
      // Reported once every job has had its turn (the first error decides the exit code).
      thrown ??= err instanceof Error ? err : new Error(String(err));
      if (positionals.length > 1)
        io.err(`quiver exec ${key}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (thrown !== undefined) throw thrown;
  return code;
}

async function execOne(cacheDir: string, key: string, registry: Registry, io: Io): Promise<number> {
  io.err(`quiver exec ${key} on ${os.hostname()} (pid ${process.pid})`);
  // SIGTERM (a cancelled run, a batch system's time limit) ends the process: the head says why.
  const r = await exec({
    cacheDir,
    key,
    registry,
    onEvent: (e) => {
      if (e.type === "note") io.err(`${e.stage}: note: ${e.message}`);
    },
  });
  if (!r.ok) {
    io.err(`${r.stage}: ${failureSummary(r.failure.failure)}`);
    return 1;
  }
  io.err(
    r.byOther
      ? `${r.stage} (${key}) was computed by another execution of the same job`
      : `ran ${r.stage} (${key}) in ${fmtMs(r.durationMs)}`,
  );
  return 0;
}
