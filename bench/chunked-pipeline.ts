/**
 * What the scale benchmarks (bench/chunked.ts, bench/stage-memory.ts) share: their pipeline —
 * generate → select → define → scale → select (a training sample) → train (a small gbt) → predict
 * → roc over `rows` generated events — a `quiver` run measured for its peak memory, and the sizes
 * of a store's objects.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

/** The generate stage's columns: 10 toy features, the label and the weight. */
export const GENERATED_COLUMNS = 12;

export function pipeline(rows: number): string {
  const half = Math.floor(rows / 2);
  return `quiver: 1
name: chunked-bench
seed: 1
stages:
  events:
    type: generate
    with: { signal: ${half}, background: ${rows - half} }
  cuts:
    type: select
    inputs: { table: events }
    with: { where: "lep1_pt > 25 && lep2_pt > 20" }
  derived:
    type: define
    inputs: { table: cuts }
    with:
      columns:
        pt_ratio: lep2_pt / lep1_pt
        log_met: log(met + 1)
  scaled:
    type: scale
    inputs: { fit: derived }
    with: { method: standard, exclude: [label, weight, n_jets] }
  sample:
    type: select
    inputs: { table: scaled.table }
    with: { head: 20000 }
  bdt:
    type: train
    inputs: { train: sample }
    with:
      features: [lep1_pt, lep2_pt, m_ll, met, pt_ratio, log_met]
      weight: weight
      model: { kind: gbt, num_trees: 20, max_depth: 3 }
  scores:
    type: predict
    inputs: { model: bdt.model, table: scaled.table }
  roc:
    type: roc
    inputs: { table: scores }
    with: { scores: [bdt], weight: weight }
`;
}

/** One `quiver` command (`cli` with `args`, in `cwd`) under /usr/bin/time: wall seconds, peak RSS, stdout. */
export function runWithPeak(
  cli: string,
  args: readonly string[],
  cwd: string,
): { seconds: number; peakBytes: number; stdout: string } {
  const start = performance.now();
  const r = spawnSync("/usr/bin/time", ["-f", "QVTIME %M", process.execPath, cli, ...args], {
    cwd,
    encoding: "utf8",
    maxBuffer: 1 << 28,
  });
  const seconds = (performance.now() - start) / 1000;
  if (r.status !== 0)
    throw new Error(`quiver ${args.join(" ")} failed (${r.status}):\n${r.stderr.slice(-4000)}`);
  const kb = /QVTIME (\d+)/.exec(r.stderr)?.[1];
  if (!kb) throw new Error("/usr/bin/time gave no peak memory (is the `time` package installed?)");
  return { seconds, peakBytes: Number(kb) * 1024, stdout: r.stdout };
}

/** Every object file of the store in `storeDir` with its size in bytes (empty before the first run). */
export function objectSizes(storeDir: string): Map<string, number> {
  const out = new Map<string, number>();
  const dir = path.join(storeDir, "objects");
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true }))
    if (e.isFile()) {
      const p = path.join(e.parentPath, e.name);
      out.set(p, fs.statSync(p).size);
    }
  return out;
}
