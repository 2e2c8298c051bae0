/**
 * GBT training time: quiver's gbt against scikit-learn's HistGradientBoostingClassifier with the
 * same settings, measured in the same run on the same arrays (handed to Python as raw files).
 *
 *   node dist/bench/gbt.js [--rows 1000000] [--features 25]
 *
 * Cases: the dark-matter notebook data (TF-DF settings: 150 trees, depth 2, min_examples 6,
 * shrinkage 0.2, subsample 0.65, |totalWeight| weights) and a synthetic 1M x 25 table.
 * scikit-learn has no row subsampling, so ours is timed with subsample 1 (like for like) and 0.65.
 * The interpreter with scikit-learn is found by bench/peer.ts ($PYTHON, python3, /usr/bin/python3);
 * without one the benchmark stops, unless run with --no-peer.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { predictGbt, trainGbt, weightedAuc } from "../stages/lib/gbt/index.js";
import type { GbtOptions } from "../stages/lib/gbt/index.js";
import { Rng } from "../stages/lib/random.js";
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
const NOTEBOOK: GbtOptions = {
  numTrees: 150,
  maxDepth: 2,
  minExamples: 6,
  subsample: 0.65,
  shrinkage: 0.2,
  maxBins: 255,
  l2: 0,
};

interface Dataset {
  name: string;
  featureNames: string[];
  train: { features: Float64Array[]; labels: Uint8Array; weights: Float64Array };
  test: { features: Float64Array[]; labels: Uint8Array; weights: Float64Array };
}

const SKLEARN_SCRIPT = `
import json, sys, time
import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
spec = json.loads(sys.argv[1])
def load(prefix, n):
    X = np.fromfile(prefix + ".X", "<f8").reshape(spec["features"], n).T.copy()
    y = np.fromfile(prefix + ".y", np.uint8)
    w = np.fromfile(prefix + ".w", "<f8")
    return X, y, w
Xtr, ytr, wtr = load(spec["train"], spec["nTrain"])
Xte, yte, wte = load(spec["test"], spec["nTest"])
clf = HistGradientBoostingClassifier(max_iter=spec["numTrees"], max_depth=spec["maxDepth"] - 1,
    learning_rate=spec["shrinkage"], min_samples_leaf=spec["minExamples"], l2_regularization=spec["l2"],
    max_bins=spec["maxBins"], early_stopping=False)
times = []
for _ in range(spec["repeats"]):
    t0 = time.perf_counter()
    clf.fit(Xtr, ytr, sample_weight=wtr / wtr.mean())
    times.append(time.perf_counter() - t0)
auc = roc_auc_score(yte, clf.predict_proba(Xte)[:, 1], sample_weight=wte)
print(json.dumps({"seconds": sorted(times)[len(times) // 2], "auc": auc}))
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

function split(
  features: Float64Array[],
  labels: Uint8Array,
  weights: Float64Array,
  isTest: Uint8Array,
): Pick<Dataset, "train" | "test"> {
  const part = (want: number) => {
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

function darkMatter(): Dataset | undefined {
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
    name: "dark matter (DM_300 vs 4 backgrounds)",
    featureNames: DM_FEATURES,
    ...split(features, labels, weights, isTest),
  };
}

function synthetic(rows: number, numFeatures: number): Dataset {
  const rng = new Rng(2024);
  const n = Math.round(rows * 1.25); // 1/5 held out for the AUC
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
    labels[r] = rng.uniform() < 1 / (1 + Math.exp(-logit + 0.3)) ? 1 : 0;
    weights[r] = 0.5 + rng.uniform();
    isTest[r] = r % 5 === 4 ? 1 : 0;
  }
  const featureNames = features.map((_, f) => `x${f}`);
  return {
    name: `synthetic ${rows} x ${numFeatures}`,
    featureNames,
    ...split(features, labels, weights, isTest),
  };
}

function writePart(prefix: string, part: Dataset["train"]): void {
  const n = part.labels.length;
  const X = new Float64Array(part.features.length * n);
  part.features.forEach((c, f) => X.set(c, f * n));
  fs.writeFileSync(prefix + ".X", new Uint8Array(X.buffer));
  fs.writeFileSync(prefix + ".y", part.labels);
  fs.writeFileSync(prefix + ".w", new Uint8Array(part.weights.buffer));
}

function sklearn(
  py: string,
  d: Dataset,
  o: GbtOptions,
  threads: number,
  repeats: number,
): { seconds: number; auc: number } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-gbt-bench-"));
  try {
    writePart(path.join(dir, "train"), d.train);
    writePart(path.join(dir, "test"), d.test);
    const spec = {
      ...o,
      features: d.featureNames.length,
      train: path.join(dir, "train"),
      test: path.join(dir, "test"),
      nTrain: d.train.labels.length,
      nTest: d.test.labels.length,
      repeats,
    };
    const r = spawnSync(py, ["-c", SKLEARN_SCRIPT, JSON.stringify(spec)], {
      encoding: "utf8",
      env: { ...process.env, OMP_NUM_THREADS: String(threads) },
      maxBuffer: 1 << 20,
    });
    if (r.status !== 0) throw new Error(`scikit-learn run failed: ${r.stderr}`);
    return JSON.parse(r.stdout) as { seconds: number; auc: number };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function ours(d: Dataset, o: GbtOptions, repeats: number): { seconds: number; auc: number } {
  const times: number[] = [];
  let auc = NaN;
  // With repeats, one untimed run first so the JIT has compiled the hot loops (Python's are compiled ahead).
  if (repeats > 1) trainGbt({ ...d.train, featureNames: d.featureNames }, o, 1);
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    const { model } = trainGbt({ ...d.train, featureNames: d.featureNames }, o, 1);
    times.push((performance.now() - t0) / 1000);
    auc = weightedAuc(predictGbt(model, d.test.features), d.test.labels, d.test.weights);
  }
  times.sort((a, b) => a - b);
  return { seconds: times[Math.floor(times.length / 2)]!, auc };
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function main(): void {
  const rows = arg("--rows", 1_000_000);
  const numFeatures = arg("--features", 25);
  const py = requirePeer(["sklearn", "numpy"])?.python;
  const lines: string[] = [];
  const say = (s: string) => {
    console.log(s);
    lines.push(s);
  };
  say(
    `| data | rows (train) | ours subsample 0.65 | ours subsample 1 | sklearn 2 threads | sklearn 1 thread | ratio ours(1)/sklearn(2 thr) | ratio ours(1)/sklearn(1 thr) | AUC ours(0.65) / ours(1) / sklearn |`,
  );
  say(`|---|---|---|---|---|---|---|---|---|`);
  const sets: [Dataset | undefined, number][] = [
    [darkMatter(), 5],
    [synthetic(rows, numFeatures), 1],
  ];
  for (const [d, repeats] of sets) {
    if (!d) {
      console.log("dark-matter CSVs not found: skipped");
      continue;
    }
    const sub = ours(d, NOTEBOOK, repeats);
    const full = ours(d, { ...NOTEBOOK, subsample: 1 }, repeats);
    const sk2 = py ? sklearn(py, d, NOTEBOOK, 2, repeats) : undefined;
    const sk1 = py ? sklearn(py, d, NOTEBOOK, 1, repeats) : undefined;
    const s = (x: number | undefined) => (x === undefined ? "peer not measured" : `${x.toFixed(2)} s`);
    const r = (x: number | undefined) =>
      x === undefined ? "peer not measured" : (full.seconds / x).toFixed(2);
    say(
      `| ${d.name} | ${d.train.labels.length} | ${s(sub.seconds)} | ${s(full.seconds)} | ${s(sk2?.seconds)} | ${s(sk1?.seconds)} | ${r(sk2?.seconds)} | ${r(sk1?.seconds)} | ${sub.auc.toFixed(4)} / ${full.auc.toFixed(4)} / ${sk2 ? sk2.auc.toFixed(4) : "peer not measured"} |`,
    );
  }
  if (!py) console.log("--no-peer: scikit-learn not measured");
}

main();
