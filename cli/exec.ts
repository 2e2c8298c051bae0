/**
 * `quiver exec`: runs one stage job from the store, here or on a batch node. Its own module with
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
 * Runs one stage job that another process wrote to the store. Everything the job says goes to the
 * store (its events, result or failure record); what is printed here is for the job's log.
 */
export async function cmdExec(argv: string[], registry: Registry, io: Io): Promise<number> {
  const { values, positionals } = parse(argv, { ...common });
  const key = positionals[0];
  const cacheDir = values["cache-dir"];
  if (!key || !cacheDir) throw new UsageError("usage: quiver exec --cache-dir STORE KEY");
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
