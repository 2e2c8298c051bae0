/**
 * No-op rerun cost: `quiver run` of a fully cached pipeline, against bare `node -e ''` start-up
 * measured in the same run (the floor any Node CLI pays). Two pipelines: the demo, and a
 * generated chain-and-fan of 500 tiny stages.
 *
 *   node dist/bench/noop.js [repeats]
 */
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const cli = path.join(repo, "bin", "quiver.js");
const repeats = Number(process.argv[2] ?? 15);

function timeCommand(args: string[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t = performance.now();
    const r = spawnSync(process.execPath, args, { stdio: "pipe" });
    if (r.status !== 0) throw new Error(`${args.join(" ")} failed: ${r.stderr.toString()}`);
    out.push(performance.now() - t);
  }
  return out;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function bigPipeline(n: number): string {
  // 500 stages: 10 independent chains of 50 `generate → select → select ...` stages.
  const lines = ["quiver: 1", "name: bench-500", "seed: 1", "stages:"];
  const chains = 10;
  const per = n / chains;
  for (let c = 0; c < chains; c++) {
    lines.push(`  g${c}_0: { type: generate, with: { signal: 50, background: 50 } }`);
    for (let i = 1; i < per; i++)
      lines.push(
        `  g${c}_${i}: { type: select, inputs: { table: g${c}_${i - 1} }, with: { where: "lep1_pt > ${i % 7}" } }`,
      );
  }
  return lines.join("\n") + "\n";
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-bench-noop-"));
const demo = path.join(repo, "pipelines", "demo.yaml");
const demoCache = path.join(dir, "demo-cache");
const big = path.join(dir, "big.yaml");
fs.writeFileSync(big, bigPipeline(500));
execFileSync(process.execPath, [cli, "run", demo, "--cache-dir", demoCache], { stdio: "ignore" });
execFileSync(process.execPath, [cli, "run", big], { stdio: "ignore" });

const node = median(timeCommand(["-e", ""]));
const demoNoop = median(timeCommand([cli, "run", demo, "--cache-dir", demoCache]));
const bigNoop = median(timeCommand([cli, "run", big]));
const node2 = median(timeCommand(["-e", ""]));
const nodeMed = (node + node2) / 2;

const rows = [
  ["node -e '' (start-up floor)", nodeMed, 1],
  ["demo no-op rerun (13 stages)", demoNoop, demoNoop / nodeMed],
  ["500-stage no-op rerun", bigNoop, bigNoop / nodeMed],
] as const;
console.log(`median of ${repeats} runs, ${os.cpus().length} cores, node ${process.version}`);
for (const [name, ms, ratio] of rows)
  console.log(`${name.padEnd(32)} ${ms.toFixed(0).padStart(6)} ms  ×${ratio.toFixed(2)}`);
console.log(`demo above node start-up: ${(demoNoop - nodeMed).toFixed(0)} ms (goal ≤ 150 ms)`);
console.log(
  `500 stages: ${bigNoop.toFixed(0)} ms total (goal ≤ 1000 ms), ${((bigNoop - nodeMed) / 500).toFixed(2)} ms per stage above start-up`,
);
fs.rmSync(dir, { recursive: true, force: true });
