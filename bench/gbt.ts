/**
 * GBT training time: quiver's gbt against XGBoost (hist) and scikit-learn's
 * HistGradientBoostingClassifier, measured in the same run on the same arrays (handed to Python
 * as raw files), at 1 and 2 threads, repetitions interleaved so that every tool sees the same
 * machine load.
 *
 *   node dist/bench/gbt.js [--rows 1000000] [--features 20] [--repeats 3] [--only dm|synthetic]
 *
 * Cases (both timed from in-memory arrays to a trained model, binning included on every side):
 *   - dark matter: the notebook's training split (15,687 x 7, |totalWeight| weights), 150 stumps
 *     (quiver maxDepth 2 = XGBoost/scikit-learn max_depth 1), learning rate 0.2;
 *   - synthetic 1M x 20 (weighted), 200 trees of depth 6 (quiver maxDepth 7), learning rate 0.1.
 * Same settings everywhere: 255 bins, l2 1 (XGBoost's default lambda) for the synthetic set and 0
 * for dark matter, no row subsampling, no early stopping; quiver minExamples 1 with its hessian
 * floor 1e-3, XGBoost min_child_weight 1e-3, scikit-learn min_samples_leaf 1 (its floor is 1e-3).
 * Test AUC: weighted, on held-out rows (dark matter: the fixture's test rows; synthetic: 1 in 5).
 * The interpreter with xgboost and scikit-learn (Debian python3-xgboost, python3-sklearn) is found
 * by bench/peer.ts ($PYTHON, python3, /usr/bin/python3); without one the benchmark stops, unless
 * run with --no-peer (then quiver alone is timed and the peers' cells say "peer not measured").
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { predictGbt, trainGbt, weightedAuc } from "../stages/lib/gbt/index.js";
import type { GbtOptions } from "../stages/lib/gbt/index.js";
import { Rng } from "../stages/lib/random.js";
import { freeSecondCore, loadAverage } from "./machine.js";
import { requirePeer } from "./peer.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const DM_DIR = path.resolve(repoRoot, "..", "shared", "data", "atlas_dm_ml_notebook");
const PROCESSES = ["Non-resonant_ll", "Z+jets", "WZ", "ZZ", "DM_300"];
const DM_FEATURES = [
  "lead_lep_pt",
  "sublead_lep_pt",
  "mll",
  "ETmiss",
  "ETmiss_over_HT",
  "dphi_pTll_ETmiss",
  "fractional_pT_difference",
];

interface Part {
  features: Float64Array[];
  labels: Uint8Array;
  weights: Float64Array;
}
interface Case {
  name: string;
  featureNames: string[];
  train: Part;
  test: Part;
  options: GbtOptions;
}
type Tool = "quiver" | "xgboost" | "sklearn";
interface Run {
  seconds: number;
  auc: number;
}

const PY_SCRIPT = String.raw`
import json, sys, time
import numpy as np
spec = json.loads(sys.argv[1])
def load(prefix, n):
    X = np.fromfile(prefix + ".X", "<f8").reshape(spec["features"], n).T.copy()
    return X, np.fromfile(prefix + ".y", np.uint8), np.fromfile(prefix + ".w", "<f8")
Xtr, ytr, wtr = load(spec["train"], spec["nTrain"])
Xte, yte, wte = load(spec["test"], spec["nTest"])
wtr = wtr / wtr.mean()
from sklearn.metrics import roc_auc_score
t = spec["threads"]
if spec["tool"] == "xgboost":
    import xgboost as xgb
    params = {"tree_method": "hist", "objective": "binary:logistic", "max_depth": spec["maxDepth"] - 1,
              "eta": spec["shrinkage"], "max_bin": spec["maxBins"], "lambda": spec["l2"],
              "min_child_weight": 1e-3, "nthread": t}
    t0 = time.perf_counter()
    model = xgb.train(params, xgb.DMatrix(Xtr, label=ytr, weight=wtr, nthread=t), spec["numTrees"])
    seconds = time.perf_counter() - t0
    p = model.predict(xgb.DMatrix(Xte, nthread=t))
    version = xgb.__version__
else:
    import sklearn
    from sklearn.ensemble import HistGradientBoostingClassifier
    clf = HistGradientBoostingClassifier(max_iter=spec["numTrees"], max_depth=spec["maxDepth"] - 1,
        learning_rate=spec["shrinkage"], min_samples_leaf=1, l2_regularization=spec["l2"],
        max_bins=spec["maxBins"], max_leaf_nodes=None, early_stopping=False)
    t0 = time.perf_counter()
    clf.fit(Xtr, ytr, sample_weight=wtr)
    seconds = time.perf_counter() - t0
    p = clf.predict_proba(Xte)[:, 1]
    version = sklearn.__version__
print(json.dumps({"seconds": seconds, "auc": roc_auc_score(yte, p, sample_weight=wte), "version": version}))
`;

function readCsv(file: string, columns: readonly string[]): Float64Array[] {
  const lines = fs
    .readFileSync(file, "utf8")
    .split(/\r?\n/)
    .filter((l) => l.length > 0);
  const header = lines[0]!.split(",");
  const index = columns.map((c) => header.indexOf(c));
  const out = columns.map(() => new Float64Array(lines.length - 1));
  for (let r = 1; r < lines.length; r++) {
    const cells = lines[r]!.split(",");
    index.forEach((i, c) => (out[c]![r - 1] = Number(cells[i])));
  }
  return out;
}

function split(features: Float64Array[], labels: Uint8Array, weights: Float64Array, isTest: Uint8Array) {
  const part = (want: number): Part => {
    const idx: number[] = [];
    for (let r = 0; r < labels.length; r++) if (isTest[r] === want) idx.push(r);
    return {
      features: features.map((c) => Float64Array.from(idx, (r) => c[r]!)),
      labels: Uint8Array.from(idx, (r) => labels[r]!),
      weights: Float64Array.from(idx, (r) => weights[r]!),
    };
  };
  return { train: part(0), test: part(1) };
}

function darkMatter(): Case | undefined {
  if (!fs.existsSync(DM_DIR)) return undefined;
  const cols = PROCESSES.map((p) => readCsv(path.join(DM_DIR, p + ".csv"), [...DM_FEATURES, "totalWeight"]));
  const n = cols.reduce((s, c) => s + c[0]!.length, 0);
  const features = DM_FEATURES.map(() => new Float64Array(n));
  const labels = new Uint8Array(n);
  const weights = new Float64Array(n);
  let at = 0;
  cols.forEach((c, p) => {
    const m = c[0]!.length;
    features.forEach((f, j) => f.set(c[j]!, at));
    for (let i = 0; i < m; i++) weights[at + i] = Math.abs(c[DM_FEATURES.length]![i]!);
    labels.fill(PROCESSES[p] === "DM_300" ? 1 : 0, at, at + m);
    at += m;
  });
  const fixture = JSON.parse(
    fs.readFileSync(path.join(repoRoot, "test", "fixtures", "gbt", "darkmatter.json"), "utf8"),
  ) as { testRows: number[] };
  const isTest = new Uint8Array(n);
  for (const r of fixture.testRows) isTest[r] = 1;
  return {
    name: "dark matter, 150 stumps",
    featureNames: DM_FEATURES,
    ...split(features, labels, weights, isTest),
    options: {
      numTrees: 150,
      maxDepth: 2,
      minExamples: 1,
      subsample: 1,
      shrinkage: 0.2,
      maxBins: 255,
      l2: 0,
    },
  };
}

function synthetic(rows: number, numFeatures: number): Case {
  const rng = new Rng(2024);
  const n = Math.round(rows * 1.25); // 1 in 5 held out for the AUC
  const features = Array.from({ length: numFeatures }, () => new Float64Array(n));
  const labels = new Uint8Array(n);
  const weights = new Float64Array(n);
  const isTest = new Uint8Array(n);
  for (let r = 0; r < n; r++) {
    let logit = 0;
    for (let f = 0; f < numFeatures; f++) {
      const x = rng.normal();
      features[f]![r] = x;
      if (f < 8) logit += (f % 2 === 0 ? 0.6 : -0.4) * x + (f === 3 ? 0.5 * x * x : 0);
    }
    if (numFeatures > 5) logit += 0.4 * features[4]![r]! * features[5]![r]!;
    labels[r] = rng.uniform() < 1 / (1 + Math.exp(-logit + 0.3)) ? 1 : 0;
    weights[r] = 0.5 + rng.uniform();
    isTest[r] = r % 5 === 4 ? 1 : 0;
  }
  return {
    name: `synthetic ${rows} x ${numFeatures}, 200 trees depth 6`,
    featureNames: features.map((_, f) => `x${f}`),
    ...split(features, labels, weights, isTest),
    options: {
      numTrees: 200,
      maxDepth: 7,
      minExamples: 1,
      subsample: 1,
      shrinkage: 0.1,
      maxBins: 255,
      l2: 1,
    },
  };
}

function writePart(prefix: string, part: Part): void {
  const n = part.labels.length;
  const X = new Float64Array(part.features.length * n);
  part.features.forEach((c, f) => X.set(c, f * n));
  fs.writeFileSync(prefix + ".X", new Uint8Array(X.buffer));
  fs.writeFileSync(prefix + ".y", part.labels);
  fs.writeFileSync(prefix + ".w", new Uint8Array(part.weights.buffer));
}

const versions: Record<string, string> = {};

function python(py: string, tool: "xgboost" | "sklearn", c: Case, dir: string, threads: number): Run {
  const spec = {
    ...c.options,
    tool,
    threads,
    features: c.featureNames.length,
    train: path.join(dir, "train"),
    test: path.join(dir, "test"),
    nTrain: c.train.labels.length,
    nTest: c.test.labels.length,
  };
  const r = spawnSync(py, ["-c", PY_SCRIPT, JSON.stringify(spec)], {
    encoding: "utf8",
    env: { ...process.env, OMP_NUM_THREADS: String(threads) },
    maxBuffer: 1 << 20,
  });
  if (r.status !== 0) throw new Error(`${tool} run failed under ${py}:\n${r.stderr || String(r.error)}`);
  const out = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as Run & { version: string };
  versions[tool] = out.version;
  return out;
}

function quiver(c: Case, threads: number): Run {
  const t0 = performance.now();
  const { model } = trainGbt({ ...c.train, featureNames: c.featureNames }, c.options, 1, { threads });
  const seconds = (performance.now() - t0) / 1000;
  return { seconds, auc: weightedAuc(predictGbt(model, c.test.features), c.test.labels, c.test.weights) };
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const median = (a: number[]): number => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)] ?? NaN;
async function main(): Promise<void> {
  const py = requirePeer(["xgboost", "sklearn", "numpy"])?.python;
  const rows = Number(arg("--rows", "1000000"));
  const numFeatures = Number(arg("--features", "20"));
  const repeats = Number(arg("--repeats", "3"));
  const only = arg("--only", "");
  const cases: Case[] = [];
  if (only !== "synthetic") {
    const dm = darkMatter();
    if (dm) cases.push(dm);
    else process.stderr.write("dark-matter CSVs not found: that case is skipped\n");
  }
  if (only !== "dm") cases.push(synthetic(rows, numFeatures));
  const lines: string[] = [];
  const loadStart = loadAverage();
  const freeBefore = await freeSecondCore();
  for (const c of cases) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-gbt-bench-"));
    const caseLoad = loadAverage();
    try {
      writePart(path.join(dir, "train"), c.train);
      writePart(path.join(dir, "test"), c.test);
      quiver(c, 1); // warm-up: the JIT compiles the host code, workers start
      quiver(c, 2);
      const runs = new Map<string, Run[]>();
      const add = (k: string, r: Run) => runs.set(k, [...(runs.get(k) ?? []), r]);
      // The small case repeats five times as often: its runs take well under a second.
      const times = c.train.labels.length < 100_000 ? 5 * repeats : repeats;
      for (let i = 0; i < times; i++) {
        for (const t of [1, 2]) {
          process.stderr.write(`${c.name}: repeat ${i + 1}/${times}, ${t} thread(s)\n`);
          add(`quiver ${t}`, quiver(c, t));
          if (py) {
            add(`xgboost ${t}`, python(py, "xgboost", c, dir, t));
            add(`sklearn ${t}`, python(py, "sklearn", c, dir, t));
          }
        }
      }
      lines.push(
        `\n### ${c.name} (${c.train.labels.length} training rows)\n`,
        `Load average (1 / 5 / 15 min) when this case started: ${caseLoad}; when it ended: ${loadAverage()}.\n`,
      );
      lines.push(
        "| tool | threads | seconds (median) | all runs | quiver / tool, same repeat (median) | test AUC |",
        "| --- | ---: | ---: | --- | ---: | ---: |",
      );
      for (const tool of ["quiver", "xgboost", "sklearn"] as Tool[]) {
        for (const t of [1, 2]) {
          const rs = runs.get(`${tool} ${t}`);
          if (!rs) {
            lines.push(`| ${tool} | ${t} | peer not measured | | | |`);
            continue;
          }
          const ours = runs.get(`quiver ${t}`)!;
          const ratio = median(rs.map((r, i) => ours[i]!.seconds / r.seconds));
          const label = tool === "quiver" ? "quiver" : `${tool} ${versions[tool] ?? ""}`;
          lines.push(
            `| ${label} | ${t} | ${median(rs.map((r) => r.seconds)).toFixed(3)} | ${rs.map((r) => r.seconds.toFixed(3)).join(", ")} | ${tool === "quiver" ? "" : ratio.toFixed(2)} | ${rs[0]!.auc.toFixed(5)} |`,
          );
        }
      }
      const q1 = runs.get("quiver 1")!;
      const q2 = runs.get("quiver 2")!;
      lines.push(
        "",
        `- quiver 2 threads / 1 thread, same repeat (median): ${median(q2.map((r, i) => r.seconds / q1[i]!.seconds)).toFixed(2)}.`,
      );
      for (const t of [1, 2]) {
        const xs = runs.get(`xgboost ${t}`);
        if (!xs) continue;
        const ours = runs.get(`quiver ${t}`)!;
        const ratio = median(xs.map((r, i) => ours[i]!.seconds / r.seconds));
        // Every quiver run gives the same model; XGBoost's AUC is taken from its first run.
        const dAuc = ours[0]!.auc - xs[0]!.auc;
        lines.push(
          `- ${t} thread${t > 1 ? "s" : ""}: quiver / XGBoost ${ratio.toFixed(2)} (goal ≤ 1.00: ${ratio <= 1 ? "met" : "not met"}); ` +
            `test AUC quiver − XGBoost ${dAuc >= 0 ? "+" : "−"}${Math.abs(dAuc).toFixed(5)} (goal |Δ| ≤ 0.001: ${Math.abs(dAuc) <= 0.001 ? "met" : "not met"}).`,
        );
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  const head = [
    "# GBT training: quiver vs XGBoost and scikit-learn",
    "",
    `Command: \`node dist/bench/gbt.js${process.argv.slice(2).length ? " " + process.argv.slice(2).join(" ") : ""}\`; ${new Date().toISOString().slice(0, 10)};`,
    `${os.cpus()[0]?.model ?? "unknown CPU"}, ${os.cpus().length} cores, Node ${process.version}, Python tools under ${py ?? "(peer not measured)"}.`,
    `Load average (1 / 5 / 15 min) at the start: ${loadStart}; at the end: ${loadAverage()}.`,
    `Free second core (two busy threads against one; 1.00 = fully free): ${freeBefore.toFixed(2)} before, ${(await freeSecondCore()).toFixed(2)} after.`,
    `${repeats} repeats (dark matter: ${5 * repeats}), each running every tool at 1 and 2 threads in turn; ratios are taken within a repeat.`,
  ];
  process.stdout.write([...head, ...lines, ""].join("\n"));
}

await main();
