/**
 * Benchmark of the evaluation numerics on 10 million weighted events: ROC (curve + AUC + working
 * points), KS (train vs test halves, asymptotic p-value) and a 1000-point significance scan, timed
 * in Node and, in the same run, with scikit-learn / scipy / numpy on the same data (raw float64
 * files in a temp dir). The Python half is skipped with a message when python3 with sklearn/scipy
 * is missing; set PYTHON to choose the interpreter.
 *
 *   node dist/bench/eval.js [events]
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Rng } from "../stages/lib/random.js";
import { atBackgroundEfficiency, atSignalEfficiency, rocAuc, rocCurve } from "../stages/lib/eval/roc.js";
import { ks2samp } from "../stages/lib/eval/ks.js";
import { linspaceThresholds, scanSums, significance } from "../stages/lib/eval/significance.js";

const n = Number(process.argv[2] ?? 10_000_000);
const REPEATS = 2;

function time<T>(f: () => T): { ms: number; value: T } {
  let best = Infinity;
  let value: T | undefined;
  for (let r = 0; r < REPEATS; r++) {
    const t0 = performance.now();
    value = f();
    best = Math.min(best, performance.now() - t0);
  }
  return { ms: best, value: value as T };
}

const rng = new Rng(20240601);
const score = new Float64Array(n);
const label = new Uint8Array(n);
const weight = new Float64Array(n);
for (let i = 0; i < n; i++) {
  const y = rng.uniform() < 0.3 ? 1 : 0;
  label[i] = y;
  // A sigmoid of a shifted normal, like a network's output; weights with ~5% negative.
  score[i] = 1 / (1 + Math.exp(-(rng.normal() + 1.2 * y)));
  const u = rng.uniform();
  weight[i] = u < 0.05 ? -0.5 * u : 0.2 + u;
}
const half = Math.floor(n / 2);

const roc = time(() => {
  const c = rocCurve(score, label, weight);
  return { auc: rocAuc(c), e: atBackgroundEfficiency(c, 0.1), r: atSignalEfficiency(c, 0.5) };
});
const ks = time(() => {
  const a = score.slice(0, half).sort();
  const b = score.slice(half).sort();
  return ks2samp(a, b, "auto");
});
const scan = time(() => {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    if (score[i]! < lo) lo = score[i]!;
    if (score[i]! > hi) hi = score[i]!;
  }
  const t = linspaceThresholds(lo, hi, 1000);
  const s = scanSums(score, label, weight, t, true);
  let best = 0;
  for (let j = 0; j < t.length; j++)
    best = Math.max(
      best,
      significance("asimov", s.s[j]!, s.b[j]!, { epsilonB: 0, sigmaB: 0, bReg: 10 }) || 0,
    );
  return best;
});

const node = {
  roc_ms: roc.ms,
  ks_ms: ks.ms,
  scan_ms: scan.ms,
  auc: roc.value.auc,
  ks_d: ks.value.statistic,
  ks_p: ks.value.pvalue,
};
console.log(`events: ${n} (weighted, ~5% negative weights), best of ${REPEATS}`);
console.log(
  `node  roc ${roc.ms.toFixed(0)} ms   ks ${ks.ms.toFixed(0)} ms   scan(1000) ${scan.ms.toFixed(0)} ms`,
);

const PY = String.raw`
import sys, time, json, numpy as np
from sklearn.metrics import roc_curve, roc_auc_score
from scipy.stats import ks_2samp
d = sys.argv[1]; n = int(sys.argv[2]); half = n // 2
s = np.fromfile(d + "/score.f64"); y = np.fromfile(d + "/label.f64"); w = np.fromfile(d + "/weight.f64")
def best(f, r=${REPEATS}):
    b, v = 1e99, None
    for _ in range(r):
        t = time.perf_counter(); v = f(); b = min(b, time.perf_counter() - t)
    return b * 1000, v
def roc():
    fpr, tpr, thr = roc_curve(y, s, sample_weight=w)
    return float(np.trapz(tpr, fpr))  # roc_auc_score raises when negative weights make fpr non-monotonic
def rocauc():
    roc_curve(y, s, sample_weight=w); return roc_auc_score(y, s, sample_weight=np.abs(w))
def ks():
    r = ks_2samp(s[:half], s[half:]); return [float(r.statistic), float(r.pvalue)]
def scan():
    t = np.linspace(s.min(), s.max(), 1000)
    o = np.argsort(s, kind="mergesort"); ss = s[o]
    cs = np.concatenate([[0.0], np.cumsum((w * y)[o])]); cb = np.concatenate([[0.0], np.cumsum((w * (1 - y))[o])])
    i = np.searchsorted(ss, t, side="right"); S = cs[-1] - cs[i]; B = cb[-1] - cb[i]
    with np.errstate(all="ignore"):
        Z = np.sqrt(np.maximum(2 * ((S + B) * np.log1p(S / B) - S), 0))
    Z[~np.isfinite(Z) | (B <= 0)] = np.nan
    return float(np.nanmax(Z))
r_ms, auc = best(roc); ra_ms, _ = best(rocauc, 1); k_ms, kv = best(ks); s_ms, z = best(scan)
print(json.dumps({"roc_ms": r_ms, "roc_plus_auc_ms": ra_ms, "ks_ms": k_ms, "scan_ms": s_ms, "auc": auc, "ks": kv, "z": z}))
`;

const python = process.env.PYTHON ?? "python3";
const probe = spawnSync(python, ["-c", "import sklearn, scipy, numpy"], { encoding: "utf8" });
if (probe.status !== 0) {
  console.log(`python half skipped: ${python} with scikit-learn/scipy/numpy is not available (set PYTHON)`);
} else {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-bench-eval-"));
  try {
    const write = (name: string, a: Float64Array) =>
      fs.writeFileSync(path.join(dir, name), new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    write("score.f64", score);
    write("label.f64", Float64Array.from(label));
    write("weight.f64", weight);
    const res = spawnSync(python, ["-c", PY, dir, String(n)], { encoding: "utf8", maxBuffer: 1 << 20 });
    if (res.status !== 0) throw new Error(`python failed: ${res.stderr}`);
    const py = JSON.parse(res.stdout.trim().split("\n").pop()!) as {
      roc_ms: number;
      roc_plus_auc_ms: number;
      ks_ms: number;
      scan_ms: number;
      auc: number;
      ks: [number, number];
      z: number;
    };
    const versions = spawnSync(
      python,
      [
        "-c",
        "import sklearn, scipy, numpy; print(sklearn.__version__, scipy.__version__, numpy.__version__)",
      ],
      { encoding: "utf8" },
    ).stdout.trim();
    console.log(
      `python (sklearn scipy numpy ${versions})  roc_curve ${py.roc_ms.toFixed(0)} ms (+roc_auc_score: ${py.roc_plus_auc_ms.toFixed(0)} ms)   ks_2samp ${py.ks_ms.toFixed(0)} ms   numpy scan ${py.scan_ms.toFixed(0)} ms`,
    );
    console.log(
      `speed-up (python time / node time): roc ${(py.roc_ms / node.roc_ms).toFixed(2)}x   ks ${(py.ks_ms / node.ks_ms).toFixed(2)}x   scan ${(py.scan_ms / node.scan_ms).toFixed(2)}x`,
    );
    console.log(
      `agreement: |AUC diff| ${Math.abs(py.auc - node.auc).toExponential(2)}   |D diff| ${Math.abs(py.ks[0] - node.ks_d).toExponential(2)}   |p diff| ${Math.abs(py.ks[1] - node.ks_p).toExponential(2)}   best Z_A node ${scan.value.toFixed(6)} numpy ${py.z.toFixed(6)}`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
