/**
 * The dark-matter and four-top pipelines on the real data (../shared/data):
 *
 *  1. Seed study: each pipeline run with `--set seed=N` for five seeds, headline figures as
 *     mean ± sample standard deviation (ddof 1): the model seeds vary, the rows stay the notebook's
 *     (rng: numpy). A second study sets the pipeline's row seeds (its `random_state` params) to N too.
 *     One store per study, shared by the seeds, as a user would run them.
 *  2. Rerun timings, each as a ratio to the full run measured in the same repeat: full run (empty
 *     store), no-op rerun, and rerun after a one-line edit of the last stage in the file. `quiver run`
 *     is a child process, so the times include Node start-up, as a user sees them.
 *
 *   node dist/bench/analyses-real.js [repeats=3]
 *
 * Prints a markdown report on stdout.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { main } from "../cli/main.js";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const shared = path.resolve(repo, "..", "shared");
const cli = path.join(repo, "bin", "quiver.js");
const repeats = Number(process.argv[2] ?? 3);
const seeds = [420, 421, 422, 423, 424];

interface Analysis {
  name: string;
  file: string;
  /** The last stage in the file, and a one-line edit of one of its params. */
  lastStage: string;
  edit: (text: string) => string;
  /** Pipeline params holding the notebooks' random_state values (the rows drawn in numpy mode). */
  rowSeeds: string[];
  figures: Record<string, [ref: string, path: string[]]>;
}

/** Replaces `from` by `to` inside the block of stage `stage` (from its id to the end of the file). */
function editInStage(text: string, stage: string, from: string, to: string): string {
  const at = text.indexOf(`\n  ${stage}:\n`);
  if (at < 0) throw new Error(`stage ${stage} not found`);
  const out = text.slice(0, at) + text.slice(at).replace(from, to);
  if (out === text) throw new Error(`"${from}" not found in stage ${stage}`);
  return out;
}

const analyses: Analysis[] = [
  {
    name: "dark-matter",
    file: "dark-matter.yaml",
    lastStage: "fixed_significance_gbt",
    edit: (t) => editInStage(t, "fixed_significance_gbt", "epsilon_b: 0.001", "epsilon_b: 0.002"),
    rowSeeds: ["sampling_seed"],
    figures: {
      "max Z, NN (notebook: 1.12)": ["significance_nn.metrics", ["best", "z"]],
      "max Z, GBT (notebook: 1.41)": ["significance_gbt.metrics", ["best", "z"]],
      "Z_A at the best S/√B cut, NN": ["significance_nn.metrics", ["best", "z_by_formula", "asimov"]],
      "Z_A at the best S/√B cut, GBT": ["significance_gbt.metrics", ["best", "z_by_formula", "asimov"]],
      "test accuracy, NN": ["test_metrics.metrics", ["scores", "nn", "accuracy"]],
      "test accuracy, GBT": ["test_metrics.metrics", ["scores", "gbt", "accuracy"]],
      "weighted AUC, NN": ["roc.metrics", ["scores", "nn", "auc"]],
      "weighted AUC, GBT": ["roc.metrics", ["scores", "gbt", "auc"]],
      "unweighted AUC, NN (the notebook's printed AUC)": ["roc_unweighted.metrics", ["scores", "nn", "auc"]],
      "unweighted AUC, GBT": ["roc_unweighted.metrics", ["scores", "gbt", "auc"]],
      "KS p, NN signal": ["overtraining.metrics", ["scores", "nn", "signal", "p_value"]],
      "KS p, NN background": ["overtraining.metrics", ["scores", "nn", "background", "p_value"]],
      "KS p, GBT signal": ["overtraining.metrics", ["scores", "gbt", "signal", "p_value"]],
      "KS p, GBT background": ["overtraining.metrics", ["scores", "gbt", "background", "p_value"]],
      "bin-height KS p (notebook's test), NN signal": [
        "overtraining_notebook.metrics",
        ["scores", "nn", "signal", "p_value"],
      ],
      "bin-height KS p, NN background": [
        "overtraining_notebook.metrics",
        ["scores", "nn", "background", "p_value"],
      ],
      "bin-height KS p, GBT signal": [
        "overtraining_notebook.metrics",
        ["scores", "gbt", "signal", "p_value"],
      ],
      "bin-height KS p, GBT background": [
        "overtraining_notebook.metrics",
        ["scores", "gbt", "background", "p_value"],
      ],
      "split first: max Z, NN": ["fixed_significance_nn.metrics", ["best", "z"]],
      "split first: max Z, GBT": ["fixed_significance_gbt.metrics", ["best", "z"]],
      "split first: weighted AUC, NN": ["fixed_roc.metrics", ["scores", "nn", "auc"]],
      "split first: weighted AUC, GBT": ["fixed_roc.metrics", ["scores", "gbt", "auc"]],
    },
  },
  {
    name: "four-top",
    file: "four-top.yaml",
    lastStage: "cv_metrics",
    edit: (t) =>
      editInStage(t, "cv_metrics", "with: { scores: [cv] }", "with: { scores: [cv], threshold: 0.4 }"),
    rowSeeds: ["split_seed", "folds_seed"],
    figures: {
      "test accuracy (book's LinearSVC: 0.948 ± 0.008)": [
        "test_metrics.metrics",
        ["scores", "net", "accuracy"],
      ],
      "test AUC": ["roc.metrics", ["scores", "net", "auc"]],
      "validation accuracy (final epoch)": ["net.metrics", ["val_accuracy"]],
      "5-fold accuracy, mean over folds": ["cv.metrics", ["val_accuracy", "mean"]],
      "5-fold accuracy, std over folds": ["cv.metrics", ["val_accuracy", "std"]],
      "5-fold AUC, mean over folds": ["cv.metrics", ["val_auc", "mean"]],
    },
  },
];

function quiverRun(
  file: string,
  cacheDir: string,
  ...args: string[]
): { wallMs: number; ran: number; engineMs: number } {
  const t = performance.now();
  const r = spawnSync(
    process.execPath,
    [cli, "run", file, "--json", "--no-lock", "--cache-dir", cacheDir, ...args],
    {
      stdio: "pipe",
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const wallMs = performance.now() - t;
  if (r.status !== 0) throw new Error(`quiver run ${file} failed (${r.status}): ${r.stderr.toString()}`);
  let ran = 0;
  let engineMs = NaN;
  for (const line of r.stdout.toString().split("\n")) {
    if (!line.startsWith("{")) continue;
    const e = JSON.parse(line) as { type: string; durationMs?: number };
    if (e.type === "finished") ran++;
    if (e.type === "run-end") engineMs = e.durationMs ?? NaN;
  }
  return { wallMs, ran, engineMs };
}

/** The metrics document of `ref` for the pipeline as run with `sets` (show names that result). */
async function metricsOf(
  file: string,
  cacheDir: string,
  ref: string,
  sets: readonly string[],
): Promise<unknown> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(["show", file, ref, "--json", "--cache-dir", cacheDir, ...sets], {
    out: (s) => out.push(s),
    err: (s) => err.push(s),
    color: false,
  });
  const json = out.find((s) => s.startsWith("{"));
  if (code !== 0 || !json) throw new Error(`show ${ref}: ${err.join("\n")}`);
  // `show --json` documents the output: its decoded value is under `value`.
  return (JSON.parse(json) as { value?: unknown }).value;
}

const dig = (o: unknown, keys: string[]): number => {
  const v = keys.reduce<unknown>((x, k) => (x as Record<string, unknown> | undefined)?.[k], o);
  if (typeof v !== "number") throw new Error(`${keys.join(".")} is not a number: ${JSON.stringify(v)}`);
  return v;
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const sampleStd = (xs: number[]) => {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** A copy of the pipeline that reaches the data by the same relative path (a symlink), to edit freely. */
function copyPipeline(tmp: string, file: string): string {
  const dir = path.join(tmp, "repo", "pipelines");
  fs.mkdirSync(dir, { recursive: true });
  if (!fs.existsSync(path.join(tmp, "shared"))) fs.symlinkSync(shared, path.join(tmp, "shared"), "dir");
  const copy = path.join(dir, file);
  fs.copyFileSync(path.join(repo, "pipelines", file), copy);
  return copy;
}

/**
 * Runs the pipeline for each seed. With `splits`, the pipeline's row seeds (the notebooks'
 * `random_state` values, drawn as NumPy draws them) are set to the seed too, so the rows vary as well.
 */
async function seedStudy(a: Analysis, tmp: string, splits: boolean): Promise<string[]> {
  const file = path.join(repo, "pipelines", a.file);
  const store = path.join(tmp, `${a.name}-seeds${splits ? "-splits" : ""}`);
  const values: Record<string, number[]> = Object.fromEntries(Object.keys(a.figures).map((k) => [k, []]));
  const runMs: number[] = [];
  for (const seed of seeds) {
    const rows = splits ? a.rowSeeds.flatMap((p) => ["--set", `${p}=${seed}`]) : [];
    const sets = ["--set", `seed=${seed}`, ...rows];
    const r = quiverRun(file, store, ...sets);
    runMs.push(r.wallMs);
    for (const [label, [ref, keys]] of Object.entries(a.figures))
      values[label]!.push(dig(await metricsOf(file, store, ref, sets), keys));
  }
  const rowSets = a.rowSeeds.map((p) => `--set ${p}=N`).join(" ");
  const lines = [
    splits
      ? `### ${a.name}: ${seeds.length} seeds, the rows varied too`
      : `### ${a.name}: ${seeds.length} seeds (${seeds.join(", ")}), the notebook's rows kept`,
    "",
    `Command per seed: \`node bin/quiver.js run pipelines/${a.file} --set seed=N${splits ? ` ${rowSets}` : ""}\` (run times ${runMs
      .map((ms) => (ms / 1000).toFixed(1))
      .join(", ")} s; one store, so stages that do not depend on the seed ran once).`,
    "",
    "| figure | mean ± std | per seed |",
    "| --- | --: | --- |",
  ];
  for (const [label, xs] of Object.entries(values))
    lines.push(
      `| ${label} | ${mean(xs).toFixed(3)} ± ${sampleStd(xs).toFixed(3)} | ${xs.map((x) => x.toFixed(3)).join(", ")} |`,
    );
  return lines;
}

interface Timing {
  full: number;
  noop: number;
  edit: number;
  fullEngine: number;
  noopEngine: number;
  editEngine: number;
  ranEdit: number;
}

function timings(a: Analysis, tmp: string): string[] {
  const copy = copyPipeline(tmp, a.file);
  const original = fs.readFileSync(copy, "utf8");
  const edited = a.edit(original);
  const rows: Timing[] = [];
  for (let i = 0; i < repeats; i++) {
    fs.writeFileSync(copy, original);
    const store = path.join(tmp, `${a.name}-timing-${i}`);
    const full = quiverRun(copy, store);
    const noop = quiverRun(copy, store);
    if (noop.ran !== 0) throw new Error(`no-op rerun of ${a.name} ran ${noop.ran} stages`);
    fs.writeFileSync(copy, edited);
    const edit = quiverRun(copy, store);
    rows.push({
      full: full.wallMs,
      noop: noop.wallMs,
      edit: edit.wallMs,
      fullEngine: full.engineMs,
      noopEngine: noop.engineMs,
      editEngine: edit.engineMs,
      ranEdit: edit.ran,
    });
  }
  const m = (k: keyof Timing) => median(rows.map((r) => r[k]));
  const full = m("full");
  const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);
  return [
    `### ${a.name}: rerun timings (median of ${repeats})`,
    "",
    "| run | wall time (with Node start-up) | ratio to full run | engine time (run-end event) | stages run |",
    "| --- | --: | --: | --: | --: |",
    `| full run, empty store | ${fmt(full)} | 1 | ${fmt(m("fullEngine"))} | all |`,
    `| no-op rerun | ${fmt(m("noop"))} | ${(m("noop") / full).toFixed(3)} | ${fmt(m("noopEngine"))} | 0 |`,
    `| rerun after a one-line edit of \`${a.lastStage}\` | ${fmt(m("edit"))} | ${(m("edit") / full).toFixed(3)} | ${fmt(m("editEngine"))} | ${m("ranEdit")} |`,
  ];
}

async function mainBench(): Promise<void> {
  for (const a of analyses)
    if (!fs.existsSync(path.join(repo, "pipelines", a.file))) throw new Error(`missing pipelines/${a.file}`);
  if (!fs.existsSync(path.join(shared, "data"))) {
    console.log("../shared/data is not present: nothing to measure");
    return;
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-bench-analyses-"));
  try {
    const out = [
      `node dist/bench/analyses-real.js ${repeats} · ${new Date().toISOString().slice(0, 10)} · ${os.cpus().length} cores · node ${process.version} · load average ${os
        .loadavg()
        .map((x) => x.toFixed(1))
        .join(" ")}`,
      "",
    ];
    for (const a of analyses) out.push(...timings(a, tmp), "");
    for (const a of analyses) out.push(...(await seedStudy(a, tmp, false)), "");
    for (const a of analyses) out.push(...(await seedStudy(a, tmp, true)), "");
    console.log(out.join("\n"));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

await mainBench();
