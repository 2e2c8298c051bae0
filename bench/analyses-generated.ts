/**
 * Rerun timings of the two example analyses that run on generated data (pipelines/higgs-4l.yaml,
 * pipelines/photon-id.yaml): a full run from an empty store, a no-op rerun, and a rerun after a
 * one-line edit of the last stage (the significance formula; the ROC curve's max_points). Each is
 * a real `quiver run` child process; the reruns are reported as a ratio to the full run measured
 * in the same session. Data are generated first (not timed) into a temp dir.
 *
 *   node dist/bench/analyses-generated.js [higgs-scale] [photon-scale]
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { writeHiggs4l } from "../stages/lib/datasets/higgs-4l.js";
import { writePhotonId } from "../stages/lib/datasets/photon-id.js";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const cli = path.join(repo, "bin", "quiver.js");
const higgsScale = Number(process.argv[2] ?? 0.1);
const photonScale = Number(process.argv[3] ?? 1);

interface Case {
  name: string;
  scale: number;
  generate(dir: string): Promise<unknown>;
  edit: [string, string];
}

const cases: Case[] = [
  {
    name: "higgs-4l",
    scale: higgsScale,
    generate: (dir) =>
      Promise.resolve(writeHiggs4l(path.join(dir, "data", "higgs-4l"), { scale: higgsScale, seed: 21 })),
    edit: ["formula: s_over_sqrt_b", "formula: asimov"],
  },
  {
    name: "photon-id",
    scale: photonScale,
    generate: (dir) => writePhotonId(path.join(dir, "data", "photon-id"), { scale: photonScale, seed: 21 }),
    edit: [
      "working_points: { signal_efficiency: [0.97, 0.5] }",
      "working_points: { signal_efficiency: [0.97, 0.5] }\n      max_points: 50",
    ],
  },
];

function run(pipeline: string): { seconds: number; ran: number; cached: number } {
  const t = performance.now();
  const r = spawnSync(process.execPath, [cli, "run", pipeline, "--json"], {
    stdio: "pipe",
    maxBuffer: 1 << 28,
  });
  const seconds = (performance.now() - t) / 1000;
  if (r.status !== 0) throw new Error(`quiver run ${pipeline} failed:\n${r.stderr.toString()}`);
  let ran = 0;
  let cached = 0;
  for (const line of r.stdout.toString().split("\n")) {
    if (line.includes('"type":"finished"')) ran++;
    else if (line.includes('"type":"cached"')) cached++;
  }
  return { seconds, ran, cached };
}

const rows: string[] = [];
for (const c of cases) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `quiver-bench-${c.name}-`));
  try {
    const yaml = fs.readFileSync(path.join(repo, "pipelines", `${c.name}.yaml`), "utf8");
    const file = path.join(dir, `${c.name}.yaml`);
    fs.writeFileSync(file, yaml);
    await c.generate(dir);
    const full = run(file);
    const noop = run(file);
    const edited = yaml.replace(c.edit[0], c.edit[1]);
    if (edited === yaml) throw new Error(`${c.name}: the edit did not apply`);
    fs.writeFileSync(file, edited);
    const edit = run(file);
    const line = `| ${c.name} | ${c.scale} | ${full.seconds.toFixed(1)} s (${full.ran} stages) | ${noop.seconds.toFixed(2)} s (${noop.ran} ran) | ${(noop.seconds / full.seconds).toFixed(4)} | ${edit.seconds.toFixed(2)} s (${edit.ran} ran) | ${(edit.seconds / full.seconds).toFixed(4)} |`;
    console.log(line);
    rows.push(line);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
console.log(
  [
    "",
    "| pipeline | data scale | full run | no-op rerun | ratio | last-stage edit | ratio |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n"),
);
