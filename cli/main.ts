/**
 * The `quiver` command line: dispatch, help, and the promise that users never see a stack trace
 * for their own mistakes. Each command is a file here that parses its arguments, calls its
 * operation in ops/ and prints the result; commands load on demand, so a no-op `run` pays for
 * nothing else.
 */
import fs from "node:fs";
import { renderDiagnostic, renderDiagnostics, type Diagnostic } from "../core/diagnostics.js";
import type { JsonObject } from "../core/json.js";
import { d, decode } from "../core/decode.js";
import type { Registry } from "../engine/pipeline/validate.js";
import { OpError, PipelineError } from "../ops/errors.js";
import { UsageError } from "./args.js";
import { errColor, type Io } from "./load.js";

const HELP: Record<string, string> = {
  "": `quiver — declarative, cached pipelines for ML analyses

usage: quiver <command> [options]

commands:
  run PIPELINE      run the stages that are not cached
  status PIPELINE   what is cached, what will run and why (alias: plan)
  results PIPELINE  the headline figures of the latest run (AUC, Z, KS verdicts, ...)
  dag PIPELINE      the stage graph (--format text|mermaid|dot)
  show PIPELINE STAGE[.PORT]    a result as its stage presents it: tables, cut flow, metrics
  report PIPELINE   an HTML report of the latest run: graph, results, plots (--out FILE, --open)
  export PIPELINE STAGE.PORT --to FILE   write a result as .arrow, .parquet, .csv, .json or (a model) .onnx
  gc [PIPELINE]     remove results no pipeline's latest run uses, and finished jobs' folders
                    (--dry-run, --max-size 5G); without a pipeline, in every store found below
                    this folder
  verify PIPELINE   rerun stages and compare their outputs with the lock file (--sample N)
  sweep PIPELINE --grid NAME=V1,V2   run a parameter grid, sharing the stages points have in common
  diff PIPELINE     stages and metrics of two results side by side
                    (--against previous|lock|git:REV|LOCK|last|sweep:N)
  push PIPELINE --remote URL   upload the results the lock and the latest run use
  pull PIPELINE --remote URL   download (and verify) the results the lock references
  clean [PIPELINE]  remove a whole store (without a pipeline: lists the stores found; --all)
  exec --cache-dir STORE KEY... run stage jobs from the store (what other runners start)
  datasets make NAME --out DIR  write generated stand-in data (higgs-4l, photon-id); 'datasets list'

examples:
  quiver run pipelines/demo.yaml
  quiver run pipelines/demo.yaml --set events=50000 --jobs 2
  quiver status pipelines/demo.yaml
  quiver results pipelines/demo.yaml
  quiver show pipelines/demo.yaml cuts.cutflow

--json on any command prints one JSON document (run and status: one event per line) on
standard output and nothing else; text goes to standard error. Colour: NO_COLOR turns it off,
FORCE_COLOR on; otherwise each stream is coloured only when it is a terminal.

'quiver <command> --help' shows a command's options.`,
  run: `usage: quiver run PIPELINE.yaml [options]

  --set NAME=VALUE    override a pipeline param (repeatable); --set seed=N sets the pipeline seed
  --params FILE.yaml  read param values from a file (--set wins over it)
  --jobs N, -j N      stages running at once (default: number of cores)
  --force STAGE       rerun STAGE even if cached (repeatable)
  --until STAGE       run only STAGE and what it needs (repeatable)
  --keep-going        after a failure, keep running stages that do not depend on it
  --dry-run           plan only: same as 'quiver status'
  --isolate           run each stage in its own process ('quiver exec'; same results, true
                      parallelism across cores); same as --executor subprocess
  --executor NAME     where stages run: in-process (default), subprocess, or slurm (each stage
                      a Slurm batch job; resources from the pipeline, account and partition
                      from ~/.config/quiver/site.yaml or QUIVER_SLURM_*; see docs/cluster.md).
                      Ctrl-C cancels the run's jobs
  --data-root DIR     allow reading data files under DIR (repeatable)
  --allow-data-roots  accept the pipeline's data_roots even where they reach your home folder,
                      a hidden folder in it or system folders (an error without it)
  --cache-dir DIR     the store (default: .quiver/ next to the pipeline, or $QUIVER_CACHE)
  --rehash            read and hash every input file again instead of trusting the memo of
                      file hashes (size, mtime, ctime, inode): for a file rewritten with its
                      size and times restored on purpose
  --json              print events as NDJSON instead of text (the last line: a "results" event)
  --remote URL        read through a remote cache: on a local miss, fetch the result (verified)
  --push              after a successful run, upload its results to --remote
  --no-lock           do not write <pipeline>.lock (written after every successful run
                      without --set/--params overrides)
  --write-lock        write the lock even with overrides
  --report            write the HTML report at the end (NAME-report.html; see 'quiver report')

examples:
  quiver run pipelines/demo.yaml --set events=200000
  quiver run pipelines/demo.yaml --until cuts --force cuts`,
  status: `usage: quiver status PIPELINE.yaml [--set NAME=VALUE ...] [--rehash] [--json]

For each stage: cached, or will run and why (the fields that changed since its last run, with the
line in the pipeline file), separating root causes from stages that rerun because of them.
When <pipeline>.lock exists (or with --lock FILE), each line also says whether the stage
matches the lock, differs (which param, input, file or output bytes), or has not run here.
Input files are hashed through a memo keyed by size, mtime, ctime and inode; --rehash reads
every one of them again.

example:
  quiver status pipelines/demo.yaml --set events=5000`,
  dag: `usage: quiver dag PIPELINE.yaml [--format text|mermaid|dot]

example:
  quiver dag pipelines/demo.yaml --format dot | dot -Tsvg > dag.svg`,
  results: `usage: quiver results PIPELINE.yaml [--cache-dir DIR] [--json]

The answer of the latest run, as printed at the end of 'quiver run': the headline figures every
evaluation stage declares — AUC per score, the best cut and its Z with the formula, KS p-values
with their verdict, accuracy, k-fold mean ± std — in one table (--json: one "results" document).

example:
  quiver results pipelines/demo.yaml`,
  show: `usage: quiver show PIPELINE.yaml STAGE[.PORT] [--rows N] [--all] [--json] [--set NAME=VALUE ...]

A result as its stage presents it, as aligned tables: metrics grouped by what they are, the cut
flow of a select stage as its table, working points, a model's description; a table output's
schema and first rows (--rows); --all adds every value of an output the stage presents. STAGE
alone shows every output of the stage. --json: one
document with the value, the presentation and the run summary.

Shows the stored result of the pipeline file as it is now (with --set/--params: as overridden):
the stage's current cache key, as a run would compute it. A stage whose params, inputs or files
changed since it ran has no stored result until it runs again, and show says so.

examples:
  quiver show pipelines/demo.yaml cuts.cutflow
  quiver show pipelines/demo.yaml train_scaled.table --rows 5
  quiver show pipelines/demo.yaml roc`,
  export: `usage: quiver export PIPELINE.yaml STAGE.PORT --to FILE [--opset N] [--unit COLUMN=UNIT ...] [--set NAME=VALUE ...]

FILE's extension picks the format: .arrow/.feather, .parquet, .csv (tables), .json (metrics; a model
as its whole portable document), .onnx (a model of train or kfold; --opset 13..17, default 13).
Models are described in docs/models.md. Parquet files are zstd-compressed and carry the result's
provenance (pipeline, stage, output, cache key) and the columns' units (the pipeline's units:, and
--unit) in their key-value metadata ("quiver.provenance", "quiver.units"). Exports the stored result
of the pipeline file as it is now (see 'quiver show --help'). FILE is written to a temp file beside
it and renamed: an existing FILE is replaced whole or not at all.

examples:
  quiver export pipelines/demo.yaml train_scaled.table --to scaled.parquet
  quiver export pipelines/demo.yaml nn.model --to tagger.onnx`,
  report: `usage: quiver report PIPELINE.yaml [--out FILE.html] [--open] [--cache-dir DIR]

One self-contained HTML file (opens offline, can be mailed). It leads with the results: the
headline figures, one ROC with every model, the significance scans, KS verdicts and the cut flow;
then what changed since the previous different run, the stage graph (folded), and each stage's
details: loss curves with the best epoch, input variables in physical units, correlations, feature
importance, working points, models, tables. Plots carry the pipeline's experiment label
(report: { label, energy, luminosity } in the pipeline file). Default FILE: NAME-report.html.

example:
  quiver report pipelines/demo.yaml --out demo.html --open`,
  gc: `usage: quiver gc [PIPELINE.yaml] [--dry-run] [--max-size SIZE] [--cache-dir DIR] [--json]

The store is found as 'run' finds it: --cache-dir, else $QUIVER_CACHE, else next to PIPELINE;
with none of them, every store (.quiver folder) below the current folder, each named.

Removes every result that no pipeline's latest run, lock file or sweep references. With
--max-size (e.g. 5G, 500M) it then evicts the table and model payloads that are cheapest to
recompute per byte (recorded stage durations) until the store fits; manifests and metrics stay,
so status, diff and history keep working. --dry-run shows what would go and the recompute time.
It also removes the folders of finished jobs (failure records, events, logs), but not those of
jobs a live run holds or a batch system still has queued.

example:
  quiver gc pipelines/demo.yaml --max-size 2G --dry-run`,
  verify: `usage: quiver verify PIPELINE.yaml [--sample N] [--seed S] [--tolerance T] [--lock FILE]
                                   [--isolate | --executor NAME]

Reruns the stages recorded in <pipeline>.lock (all, or a deterministic sample of N chosen by
--seed) and reports per stage: bit-identical to the lock, metrics within a relative tolerance
(default 1e-6; timing fields such as training_seconds are ignored), or different. The recomputed
results replace the cached ones. Exit code 1 when anything differs.

example:
  quiver verify pipelines/demo.yaml --sample 3`,
  sweep: `usage: quiver sweep PIPELINE.yaml --grid NAME=VALUES [--grid ...] [options]

  --grid NAME=V1,V2,...   values of a pipeline param (or seed); NAME=A..B is an integer range
  --metric STAGE.PATH     a metric to tabulate, e.g. roc.scores.nn.auc (repeatable; default:
                          the headline metrics of the final stages that vary across points)
  --jobs N, -j N          points running at once (default: number of cores)
  --dry-run, -n           print the plan only
  --isolate, --executor NAME   where stages run, as for run
  --set, --params, --cache-dir, --data-root, --allow-data-roots, --json   as for run

Prints the plan first (per point: stages cached and to run; the stages points share, which run
once; an estimated time from recorded durations), then a metrics table, with mean ± std over
seeds when seed is swept.

example:
  quiver sweep pipelines/demo.yaml --grid epochs=3,6 --grid seed=420..424
  quiver sweep pipelines/dark-matter.yaml --grid seed=420..424 --grid lr=0.005,0.01 --executor slurm

With a batch executor every point is queued at once; the same stage of points that become ready
together goes out as one job array.`,
  diff: `usage: quiver diff PIPELINE.yaml [--against REF] [--to REF] [--all] [--json]

REF: 'previous' (the run before the latest whose results differ), 'lock' (the pipeline's lock),
'git:REV' (the lock as committed at a git revision), a lock file, 'last' (the latest run, the
default for --to) or 'sweep:N' (point N of the latest sweep). Default for --against: the lock,
or 'previous' when the latest run just wrote the lock (it holds the same results). Shows which
stages differ and why (params, inputs, files, seed, output bytes) and the headline metrics that
differ (--all: every headline metric).

examples:
  quiver diff pipelines/demo.yaml
  quiver diff pipelines/demo.yaml --against git:HEAD~1
  quiver diff pipelines/demo.yaml --against sweep:1 --to sweep:2`,
  push: `usage: quiver push PIPELINE.yaml --remote URL [--cache-dir DIR]

Uploads the results that <pipeline>.lock and the latest run reference (objects first, then
manifests) to a remote cache: a shared directory (path or file://) or an HTTP server speaking
GET/PUT/HEAD (+ WebDAV MOVE for atomic uploads), e.g. nginx with dav_methods. $QUIVER_REMOTE
is the default remote.

example:
  quiver push pipelines/demo.yaml --remote https://cache.example.org/quiver/`,
  pull: `usage: quiver pull PIPELINE.yaml --remote URL [--cache-dir DIR]

Downloads what <pipeline>.lock references (or, without a lock, the latest run pushed for the
pipeline), verifying every object against its content hash before storing it; a corrupted
remote object is reported and never used. Then 'quiver run' finds every stage cached.

example:
  quiver pull pipelines/demo.yaml --remote /eos/lab/quiver-cache`,
  clean: `usage: quiver clean [PIPELINE.yaml] [--cache-dir DIR] [--all] [--yes] [--json]

Removes the store found as 'run' finds it (--cache-dir, $QUIVER_CACHE, next to PIPELINE). With
none of them it lists the stores below the current folder and removes them only with --all.
It removes a store's objects, result manifests, records, locks and temp files, and its marker
file. Only a folder carrying the marker (quiver-store.json, written when the store was created)
is touched, and nothing in it that is not the store's. Asks for confirmation on a terminal;
elsewhere (scripts, CI) it needs --yes. Refuses while a run, job or pull uses the store, or while jobs of a run are still queued or
running on a batch system (cancel them first, e.g. scancel --name=NAME).

example:
  quiver clean pipelines/demo.yaml --yes`,
  exec: `usage: quiver exec --cache-dir STORE KEY...

Runs stage jobs that a run wrote to the store (STORE/jobs/KEY/job.json), one after another: what
--isolate and the batch executors start, here or on a cluster node (several keys: a batch job
holding a pack of stages, resources.pack). Everything a job says goes to the store (its events,
its result or failure record); the output is the batch job's log. A failing job does not stop the
ones after it.`,
  datasets: `usage: quiver datasets list
       quiver datasets make NAME --out DIR [--scale F] [--seed N] [--json]

Writes generated data with the same files and columns as an analysis' real inputs, for the
example pipelines whose real data cannot be shipped (deterministic from --seed, default 21).
--scale multiplies the number of rows (1 = the real sample sizes); yields stay the same.

examples:
  quiver datasets make higgs-4l --out pipelines/data/higgs-4l
  quiver datasets make photon-id --out pipelines/data/photon-id --scale 0.1`,
};
HELP.plan = HELP.status!;

/** Commands whose standard output is a protocol of their own, left as they are in --json mode. */
const OWN_OUTPUT = new Set(["exec"]);

export async function main(argv: string[], io: Io = defaultIo(), registry?: Registry): Promise<number> {
  const [cmd, ...rest] = argv;
  // --json: standard output carries JSON only (one document, or NDJSON for streams); every line
  // of text a command writes goes to standard error instead.
  const jsonMode = cmd !== undefined && !OWN_OUTPUT.has(cmd) && rest.includes("--json");
  let wroteJson = false;
  const target: Io = jsonMode
    ? {
        out: (line) => io.err(line),
        err: (line) => io.err(line),
        color: errColor(io),
        errColor: errColor(io),
        json: (doc) => {
          wroteJson = true;
          io.out(JSON.stringify(doc));
        },
      }
    : io;
  const code = await dispatch(cmd, rest, target, registry);
  // Every --json command answers with a document, even one that has nothing else to say.
  if (jsonMode && !wroteJson) target.json!({ type: cmd, ok: code === 0, exitCode: code });
  return code;
}

/** An error as the JSON document a --json command answers with. */
function errorDoc(
  cmd: string,
  code: number,
  diagnostics: readonly Diagnostic[],
  message?: string,
): JsonObject {
  return {
    type: "error",
    command: cmd,
    ok: false,
    exitCode: code,
    ...(message !== undefined ? { message } : {}),
    diagnostics: diagnostics.map((d) => JSON.parse(JSON.stringify(d)) as JsonObject),
  };
}

async function dispatch(
  cmd: string | undefined,
  rest: string[],
  io: Io,
  registry?: Registry,
): Promise<number> {
  if (!cmd || cmd === "--help" || cmd === "-h" || cmd === "help") {
    io.out(HELP[rest[0] ?? ""] ?? HELP[""]!);
    return cmd ? 0 : 2;
  }
  if (cmd === "--version" || cmd === "-V") {
    io.out(`quiver ${packageVersion()}`);
    return 0;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    io.out(HELP[cmd] ?? HELP[""]!);
    return 0;
  }
  const colour = errColor(io);
  try {
    // Each command's module is loaded when it is used: a no-op `run` must not pay for the report,
    // the remote cache or the sweep code.
    const stages = async (): Promise<Registry> => registry ?? (await import("../stages/index.js")).registry;
    switch (cmd) {
      case "run":
        return await (await import("./run.js")).cmdRun(rest, await stages(), io, "run");
      case "status":
      case "plan":
        return await (await import("./run.js")).cmdRun(rest, await stages(), io, "status");
      case "results":
        return await (await import("./results.js")).cmdResults(rest, await stages(), io);
      case "dag":
        return await (await import("./inspect.js")).cmdDag(rest, await stages(), io);
      case "show":
        return await (await import("./inspect.js")).cmdShow(rest, await stages(), io);
      case "export":
        return await (await import("./inspect.js")).cmdExport(rest, await stages(), io);
      case "report":
        return await (await import("./report.js")).cmdReport(rest, await stages(), io);
      case "gc":
        return await (await import("./maintenance.js")).cmdGc(rest, io);
      case "clean":
        return await (await import("./maintenance.js")).cmdClean(rest, io);
      case "exec":
        return await (await import("./exec.js")).cmdExec(rest, await stages(), io);
      case "verify":
        return await (await import("./share.js")).cmdVerify(rest, await stages(), io);
      case "sweep":
        return await (await import("./sweep.js")).cmdSweep(rest, await stages(), io);
      case "diff":
        return await (await import("./diff.js")).cmdDiff(rest, await stages(), io);
      case "push":
        return await (await import("./share.js")).cmdPush(rest, await stages(), io);
      case "pull":
        return await (await import("./share.js")).cmdPull(rest, await stages(), io);
      case "datasets":
        return await (await import("./datasets.js")).cmdDatasets(rest, io);
      default: {
        io.err(`quiver: unknown command "${cmd}"\n\n${HELP[""]}`);
        if (io.json) io.json(errorDoc(cmd, 2, [], `unknown command "${cmd}"`));
        return 2;
      }
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`quiver ${cmd}: ${err.message}\n(see 'quiver ${cmd} --help')`);
      if (io.json) io.json(errorDoc(cmd, 2, [], err.message));
      return 2;
    }
    if (err instanceof PipelineError) {
      io.err(renderDiagnostics(err.diagnostics, err.sources, colour));
      if (io.json) io.json(errorDoc(cmd, 2, err.diagnostics));
      return 2;
    }
    if (err instanceof OpError) {
      io.err(err.diagnostics.map((d) => renderDiagnostic(d, err.sources, colour)).join("\n"));
      if (io.json) io.json(errorDoc(cmd, 1, err.diagnostics));
      return 1;
    }
    const e = err as { code?: string; path?: string; message?: string };
    if (e.code === "ENOSPC" || e.code === "EDQUOT") {
      const message = `no space (or no free inodes) left while writing ${e.path ?? "to the store"}; nothing partial was kept`;
      io.err(
        `error QV_DISK_FULL: ${message}\n  hint: free space or move the store with --cache-dir, then run again`,
      );
      if (io.json) io.json(errorDoc(cmd, 1, [{ severity: "error", code: "QV_DISK_FULL", message }]));
      return 1;
    }
    if (e.code === "EACCES" || e.code === "EPERM" || e.code === "EROFS") {
      const message = `cannot use ${e.path ?? "the store"} (${e.code})`;
      io.err(
        `error QV_STORE_ACCESS: ${message}\n  hint: give your user read and write access to it (chmod u+rwX) or remove it, or use --cache-dir to put the store somewhere writable`,
      );
      if (io.json) io.json(errorDoc(cmd, 1, [{ severity: "error", code: "QV_STORE_ACCESS", message }]));
      return 1;
    }
    throw err;
  }
}

/** The version in this package's package.json (dist/cli/main.js → ../../package.json). */
function packageVersion(): string {
  const r = decode(
    d.object({ version: d.string }),
    JSON.parse(fs.readFileSync(new URL("../../package.json", import.meta.url), "utf8")),
  );
  return r.ok ? r.value.version : "(unknown version)";
}

/**
 * Whether a stream gets colour: NO_COLOR (any non-empty value) turns it off, FORCE_COLOR turns it
 * on (unless "0" or "false"), otherwise only a terminal gets it. Each stream decides for itself,
 * so a redirected standard error carries no escape codes while the terminal's output keeps them.
 */
export function colourFor(isTTY: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== "0" && force !== "false";
  return isTTY;
}

function defaultIo(): Io {
  // `quiver show ... | head` closes the pipe early: that is the reader's choice, not an error.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
  return {
    out: (s) => process.stdout.write(s + "\n"),
    err: (s) => process.stderr.write(s + "\n"),
    color: colourFor(process.stdout.isTTY === true),
    errColor: colourFor(process.stderr.isTTY === true),
    ...(process.stdin.isTTY === true ? { ask } : {}),
  };
}

/** One line from the terminal (the prompt goes to stderr, so stdout stays clean for pipes). */
async function ask(question: string): Promise<string> {
  const { createInterface } = await import("node:readline/promises");
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await rl.question(question);
  } finally {
    rl.close();
  }
}
