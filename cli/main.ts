/**
 * The `quiver` command line: dispatch, help, and the promise that users never see a stack trace
 * for their own mistakes. Each command is a file here that parses its arguments, calls its
 * operation in ops/ and prints the result; commands load on demand, so a no-op `run` pays for
 * nothing else.
 */
import fs from "node:fs";
import { renderDiagnostic, renderDiagnostics } from "../core/diagnostics.js";
import { d, decode } from "../core/decode.js";
import type { Registry } from "../engine/pipeline/validate.js";
import { OpError, PipelineError } from "../ops/errors.js";
import { UsageError } from "./args.js";
import type { Io } from "./load.js";

const HELP: Record<string, string> = {
  "": `quiver — declarative, cached pipelines for ML analyses

usage: quiver <command> [options]

commands:
  run PIPELINE      run the stages that are not cached
  status PIPELINE   what is cached, what will run and why (alias: plan)
  dag PIPELINE      the stage graph (--format text|mermaid|dot)
  show PIPELINE STAGE[.PORT]    a result: table schema and rows, or metrics
  report PIPELINE   an HTML report of the latest run: graph, results, plots (--out FILE, --open)
  export PIPELINE STAGE.PORT --to FILE   write a result as .arrow, .parquet, .csv, .json or (a model) .onnx
  gc [PIPELINE]     remove results no pipeline's latest run uses, and finished jobs' folders
                    (--dry-run, --max-size 5G)
  verify PIPELINE   rerun stages and compare their outputs with the lock file (--sample N)
  sweep PIPELINE --grid NAME=V1,V2   run a parameter grid, sharing the stages points have in common
  diff PIPELINE     stages and metrics of two results side by side (--against LOCK|last|sweep:N)
  push PIPELINE --remote URL   upload the results the lock and the latest run use
  pull PIPELINE --remote URL   download (and verify) the results the lock references
  clean [PIPELINE]  remove the whole store
  exec --cache-dir STORE KEY    run one stage job from the store (what other runners start)
  datasets make NAME --out DIR  write generated stand-in data (higgs-4l, photon-id); 'datasets list'

examples:
  quiver run pipelines/demo.yaml
  quiver run pipelines/demo.yaml --set events=50000 --jobs 2
  quiver status pipelines/demo.yaml
  quiver show pipelines/demo.yaml cuts.cutflow

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
  --json              print events as NDJSON instead of text
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
  show: `usage: quiver show PIPELINE.yaml STAGE[.PORT] [--rows N] [--json] [--set NAME=VALUE ...]

Shows the stored result of the pipeline file as it is now (with --set/--params: as overridden):
the stage's current cache key, as a run would compute it. A stage whose params, inputs or files
changed since it ran has no stored result until it runs again, and show says so.

example:
  quiver show pipelines/demo.yaml scaled.table --rows 5`,
  export: `usage: quiver export PIPELINE.yaml STAGE.PORT --to FILE [--opset N] [--unit COLUMN=UNIT ...] [--set NAME=VALUE ...]

FILE's extension picks the format: .arrow/.feather, .parquet, .csv (tables), .json (metrics; a model
as its whole portable document), .onnx (a model of train or kfold; --opset 13..17, default 13).
Models are described in docs/models.md. Parquet files are zstd-compressed and carry the result's
provenance (pipeline, stage, output, cache key) and the columns' units (the pipeline's units:, and
--unit) in their key-value metadata ("quiver.provenance", "quiver.units"). Exports the stored result
of the pipeline file as it is now (see 'quiver show --help'). FILE is written to a temp file beside
it and renamed: an existing FILE is replaced whole or not at all.

examples:
  quiver export pipelines/demo.yaml scaled.table --to scaled.parquet
  quiver export pipelines/demo.yaml nn.model --to tagger.onnx`,
  report: `usage: quiver report PIPELINE.yaml [--out FILE.html] [--open] [--cache-dir DIR]

One self-contained HTML file (opens offline, can be mailed): the stage graph coloured by the latest
run, each stage's results (table schemas, cutflows, scaler params, models, metrics), plots (loss
curves, ROC and rejection, train/test response with KS p-values, significance scan, input
variables) and what changed since the previous run. Default FILE: NAME-report.html.

example:
  quiver report pipelines/demo.yaml --out demo.html --open`,
  gc: `usage: quiver gc [PIPELINE.yaml] [--dry-run] [--max-size SIZE] [--cache-dir DIR]

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

REF: a lock file, 'lock' (the pipeline's lock, the default for --against), 'last' (the latest
run, the default for --to) or 'sweep:N' (point N of the latest sweep). Shows which stages
differ and why (params, inputs, files, seed, output bytes) and the headline metrics that differ
(--all: every headline metric).

examples:
  quiver diff pipelines/demo.yaml
  git show HEAD~1:pipelines/demo.lock > /tmp/old.lock && quiver diff pipelines/demo.yaml --against /tmp/old.lock
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
  clean: `usage: quiver clean [PIPELINE.yaml] [--cache-dir DIR] [--yes]

Removes the store (by default .quiver/ next to the pipeline, or $QUIVER_CACHE): its objects,
result manifests, records, locks and temp files, and its marker file. Only a folder carrying the
marker (quiver-store.json, written when the store was created) is touched, and nothing in it that
is not the store's. Asks for confirmation on a terminal; elsewhere (scripts, CI) it needs --yes.
Refuses while a run, job or pull uses the store, or while jobs of a run are still queued or
running on a batch system (cancel them first, e.g. scancel --name=NAME).

example:
  quiver clean pipelines/demo.yaml --yes`,
  exec: `usage: quiver exec --cache-dir STORE KEY

Runs one stage job that a run wrote to the store (STORE/jobs/KEY/job.json): what --isolate and
the batch executors start, here or on a cluster node. Everything it says goes to the store (its
events, its result or failure record); its output is the job's log.`,
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

export async function main(argv: string[], io: Io = defaultIo(), registry?: Registry): Promise<number> {
  const [cmd, ...rest] = argv;
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
        return 2;
      }
    }
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`quiver ${cmd}: ${err.message}\n(see 'quiver ${cmd} --help')`);
      return 2;
    }
    if (err instanceof PipelineError) {
      io.err(renderDiagnostics(err.diagnostics, err.sources, io.color));
      return 2;
    }
    if (err instanceof OpError) {
      io.err(err.diagnostics.map((d) => renderDiagnostic(d, err.sources, io.color)).join("\n"));
      return 1;
    }
    const e = err as { code?: string; path?: string; message?: string };
    if (e.code === "ENOSPC" || e.code === "EDQUOT") {
      io.err(
        `error QV_DISK_FULL: no space (or no free inodes) left while writing ${e.path ?? "to the store"}; nothing partial was kept\n  hint: free space or move the store with --cache-dir, then run again`,
      );
      return 1;
    }
    if (e.code === "EACCES" || e.code === "EPERM" || e.code === "EROFS") {
      io.err(
        `error QV_STORE_ACCESS: cannot use ${e.path ?? "the store"} (${e.code})\n  hint: give your user read and write access to it (chmod u+rwX) or remove it, or use --cache-dir to put the store somewhere writable`,
      );
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
    color: process.stdout.isTTY === true && !process.env.NO_COLOR,
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
