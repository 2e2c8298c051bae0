/**
 * Benchmark of the evaluation numerics on 10 million weighted events: ROC (curve and AUC; then, as
 * the roc stage does, five working points and the plotted curve with sklearn's collinear points
 * dropped first), KS (train vs test halves, asymptotic p-value)
 * and a 1000-point significance scan, against scikit-learn / scipy / numpy on the same data (raw
 * float64 files in a temp dir), in the same run. The repetitions alternate Node and Python, so
 * both sides see the same machine load; the table gives medians and the ratio of medians, with
 * the load average printed. The Python interpreter is found by bench/peer.ts ($PYTHON, python3,
 * /usr/bin/python3); without one the benchmark stops (exit 2) unless run with --no-peer.
 *
 *   node dist/bench/eval.js [events] [repetitions] [--no-peer]
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Rng } from "../stages/lib/random.js";
import {
  atBackgroundEfficiency,
  atSignalEfficiency,
  dropIntermediate,
  rocAuc,
  rocCurve,
  thinCurve,
} from "../stages/lib/eval/roc.js";
import { ks2samp } from "../stages/lib/eval/ks.js";
import { sortWithPayload } from "../stages/lib/eval/sort.js";
import { linspaceThresholds, scanSums, significance } from "../stages/lib/eval/significance.js";
import { benchArgs, peerVersions, requirePeer } from "./peer.js";

const [eventsArg, repsArg] = benchArgs();
const n = Number(eventsArg ?? 10_000_000);
const REPS = Number(repsArg ?? 5);
const peer = requirePeer(["sklearn", "scipy", "numpy"]);

const load = () =>
  os
    .loadavg()
    .map((v) => v.toFixed(2))
    .join(" / ");
const loadAtStart = load();

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

function timed<T>(f: () => T): { ms: number; value: T } {
  const t0 = performance.now();
  const value = f();
  return { ms: performance.now() - t0, value };
}

/** The roc stage's numerics with its defaults: curve and AUC, then working points and the plotted curve. */
function nodeRoc() {
  const t0 = performance.now();
  const c = rocCurve(score, label, weight);
  const auc = rocAuc(c);
  const curveAucMs = performance.now() - t0;
  for (const e of [0.01, 0.1, 0.3]) atBackgroundEfficiency(c, e);
  for (const e of [0.97, 0.5]) atSignalEfficiency(c, e);
  thinCurve(c, 200);
  return { c, kept: dropIntermediate(c), auc, curveAucMs };
}
function nodeKs() {
  // As the ks stage does (stages/ks.ts sortSample): radix-sort copies, then the statistic and p-value.
  const a = score.slice(0, half);
  const b = score.slice(half);
  sortWithPayload(a);
  sortWithPayload(b);
  return ks2samp(a, b, "auto");
}
function nodeScan(): number {
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
}

/** One repetition of the Python side; `first` also dumps sklearn's curve and times roc_auc_score. */
const PY = String.raw`
import sys, time, json, numpy as np
from sklearn.metrics import roc_curve, roc_auc_score
from scipy.stats import ks_2samp
d = sys.argv[1]; n = int(sys.argv[2]); first = sys.argv[3] == "1"; half = n // 2
s = np.fromfile(d + "/score.f64"); y = np.fromfile(d + "/label.f64"); w = np.fromfile(d + "/weight.f64")
def timed(f):
    t = time.perf_counter(); v = f(); return (time.perf_counter() - t) * 1000, v
def roc():
    fpr, tpr, thr = roc_curve(y, s, sample_weight=w)
    return float(np.trapz(tpr, fpr)), (fpr, tpr, thr)  # roc_auc_score raises when negative weights make fpr non-monotonic
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
r_ms, (auc, curve) = timed(roc)
if first:
    for name, a in zip(("fpr", "tpr", "thr"), curve): a.astype("<f8").tofile(d + "/sk_" + name + ".f64")
del curve
ra_ms = timed(rocauc)[0] if first else None
k_ms, kv = timed(ks); s_ms, z = timed(scan)
print(json.dumps({"roc_ms": r_ms, "roc_plus_auc_ms": ra_ms, "ks_ms": k_ms, "scan_ms": s_ms, "auc": auc, "ks": kv, "z": z}))
`;

interface PyRep {
  roc_ms: number;
  roc_plus_auc_ms: number | null;
  ks_ms: number;
  scan_ms: number;
  auc: number;
  ks: [number, number];
  z: number;
}

const median = (a: number[]): number => {
  const s = [...a].sort((p, q) => p - q);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** Does our curve, collinear points dropped, hold exactly sklearn's points? */
function compareCurves(dir: string, r: ReturnType<typeof nodeRoc>): string {
  const read = (name: string) => {
    const b = fs.readFileSync(path.join(dir, `sk_${name}.f64`));
    return new Float64Array(b.buffer, b.byteOffset, b.byteLength / 8);
  };
  const [fpr, tpr, thr] = [read("fpr"), read("tpr"), read("thr")];
  if (fpr.length !== r.kept.length) return `different: ${r.kept.length} points, sklearn ${fpr.length}`;
  let worst = 0;
  for (let k = 0; k < fpr.length; k++) {
    const i = r.kept[k]!;
    worst = Math.max(worst, Math.abs(r.c.fpr[i]! - fpr[k]!), Math.abs(r.c.tpr[i]! - tpr[k]!));
    // sklearn 1.2 puts max(score) + 1 where we put +∞ at the origin.
    if (k > 0 && r.c.threshold[i] !== thr[k])
      return `threshold ${k} differs: ${r.c.threshold[i]} vs ${thr[k]}`;
  }
  return worst === 0
    ? `identical (${fpr.length} points, fpr, tpr and thresholds bit for bit)`
    : `${fpr.length} points, same thresholds, max |fpr/tpr diff| ${worst.toExponential(2)}`;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-bench-eval-"));
const rows: { curve: number; roc: number; ks: number; scan: number; py?: PyRep }[] = [];
let last: { auc: number; ks: ReturnType<typeof nodeKs>; z: number } | undefined;
let curves = "not compared (peer not measured)";
try {
  if (peer) {
    const write = (name: string, a: Float64Array) =>
      fs.writeFileSync(path.join(dir, name), new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
    write("score.f64", score);
    write("label.f64", Float64Array.from(label));
    write("weight.f64", weight);
  }
  for (let rep = 0; rep < REPS; rep++) {
    const roc = timed(nodeRoc);
    const ks = timed(nodeKs);
    const scan = timed(nodeScan);
    last = { auc: roc.value.auc, ks: ks.value, z: scan.value };
    let py: PyRep | undefined;
    if (peer) {
      const res = spawnSync(peer.python, ["-c", PY, dir, String(n), rep === 0 ? "1" : "0"], {
        encoding: "utf8",
        maxBuffer: 1 << 20,
      });
      if (res.status !== 0) throw new Error(`the Python peer failed: ${res.stderr}`);
      py = JSON.parse(res.stdout.trim().split("\n").pop()!) as PyRep;
      if (rep === 0) curves = compareCurves(dir, roc.value);
    }
    rows.push({ curve: roc.value.curveAucMs, roc: roc.ms, ks: ks.ms, scan: scan.ms, py });
    process.stderr.write(
      `rep ${rep + 1}/${REPS}: node curve+auc ${roc.value.curveAucMs.toFixed(0)} roc stage ${roc.ms.toFixed(0)} ks ${ks.ms.toFixed(0)} scan ${scan.ms.toFixed(0)} ms` +
        (py
          ? ` | python roc ${py.roc_ms.toFixed(0)} ks ${py.ks_ms.toFixed(0)} scan ${py.scan_ms.toFixed(0)} ms`
          : "") +
        ` | load ${load()}\n`,
    );
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}

const med = (f: (r: (typeof rows)[number]) => number) => median(rows.map(f));
const node = {
  curve: med((r) => r.curve),
  roc: med((r) => r.roc),
  ks: med((r) => r.ks),
  scan: med((r) => r.scan),
};
const pys = rows.flatMap((r) => (r.py ? [r.py] : []));
const py = pys.length
  ? {
      roc: median(pys.map((p) => p.roc_ms)),
      ks: median(pys.map((p) => p.ks_ms)),
      scan: median(pys.map((p) => p.scan_ms)),
      rocAuc: pys[0]!.roc_plus_auc_ms ?? NaN,
    }
  : undefined;
const ratio = (ours: number, theirs: number | undefined, perRep: (r: (typeof rows)[number]) => number) =>
  theirs === undefined
    ? "peer not measured"
    : `${(ours / theirs).toFixed(2)}× (per repetition ${rows.map((r) => perRep(r).toFixed(2)).join(", ")})`;
const ms = (x: number | undefined) => (x === undefined ? "peer not measured" : `${x.toFixed(0)} ms`);

const out = [
  `events: ${n.toLocaleString("en")} (30% signal, weighted, ~5% negative weights); ${REPS} repetitions, Node and Python alternating; medians`,
  `${new Date().toISOString().slice(0, 16)}Z, ${os.cpus().length} cores, Node ${process.version}, peer: ${peer ? `${peer.python} (${peerVersions(peer)})` : "peer not measured"}`,
  `load average (1 / 5 / 15 min): ${loadAtStart} at the start, ${load()} at the end`,
  "",
  "| task | Quiver | peer | Quiver / peer (time) |",
  "| --- | ---: | ---: | ---: |",
  `| ROC: curve + AUC (\`rocCurve\` + \`rocAuc\`) | ${ms(node.curve)} | \`roc_curve\` + \`np.trapz\` ${ms(py?.roc)} | ${ratio(node.curve, py?.roc, (r) => r.curve / (r.py?.roc_ms ?? NaN))} |`,
  `| ROC as the roc stage computes it: curve + AUC + 5 working points + 200-point plot curve | ${ms(node.roc)} | \`roc_curve\` + \`np.trapz\` ${ms(py?.roc)} (\`roc_curve\` + \`roc_auc_score\`, first repetition: ${ms(py?.rocAuc)}) | ${ratio(node.roc, py?.roc, (r) => r.roc / (r.py?.roc_ms ?? NaN))} |`,
  `| KS train vs test (${half.toLocaleString("en")} vs ${(n - half).toLocaleString("en")}, asymptotic p) | ${ms(node.ks)} | \`ks_2samp\` ${ms(py?.ks)} | ${ratio(node.ks, py?.ks, (r) => r.ks / (r.py?.ks_ms ?? NaN))} |`,
  `| 1000-point significance scan (Asimov) | ${ms(node.scan)} | numpy argsort + cumsum + searchsorted ${ms(py?.scan)} | ${ratio(node.scan, py?.scan, (r) => r.scan / (r.py?.scan_ms ?? NaN))} |`,
  "",
];
if (py && last && pys[0]) {
  const p0 = pys[0];
  out.push(
    `agreement: |AUC diff| ${Math.abs(p0.auc - last.auc).toExponential(2)}; curve after dropping collinear points: ${curves}; ` +
      `KS |D diff| ${Math.abs(p0.ks[0] - last.ks.statistic).toExponential(2)}, |p diff| ${Math.abs(p0.ks[1] - last.ks.pvalue).toExponential(2)}; ` +
      `best Z_A ${last.z.toFixed(6)} (numpy ${p0.z.toFixed(6)})`,
  );
}
process.stdout.write(out.join("\n") + "\n");
