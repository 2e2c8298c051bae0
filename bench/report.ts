/**
 * Report generation time for the seed pipelines (goal: under 2 s each, the whole command), in
 * process and as the `quiver report` command (Node start-up and imports included). Peer measured
 * in the same run: reading and decoding every stored output of the run (the I/O floor any report
 * pays). Each pipeline is run once first (not timed) into a temporary store, with two epochs: the
 * report's cost depends on the sizes of the stored tables, which epochs do not change. Pipelines
 * on generated data (higgs-4l, photon-id) use `pipelines/data/NAME` when it exists, else data
 * generated at full scale into the temporary folder.
 *
 *   node dist/bench/report.js [pipeline.yaml ...] [--repeats N]
 * Default: the four analyses in pipelines/ (dark-matter and four-top need ../shared/data), 5 repeats.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { decodeArtifact } from "../engine/artifacts.js";
import { main } from "../cli/main.js";
import { loadPipeline } from "../ops/load.js";
import { openStore } from "../ops/store.js";
import { readLastRun } from "../engine/history.js";
import { readStageResult } from "../engine/results.js";
import { generateReport } from "../report/html.js";
import { registry } from "../stages/index.js";
import { datasets, DEFAULT_DATASET_SEED } from "../stages/lib/datasets/index.js";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const args = process.argv.slice(2);
const repeatsAt = args.indexOf("--repeats");
const repeats = repeatsAt >= 0 ? Number(args[repeatsAt + 1]) : 5;
const files = args.filter((a, i) => a.endsWith(".yaml") && args[i - 1] !== "--repeats");
const seeds = ["dark-matter", "four-top", "higgs-4l", "photon-id"].map((n) =>
  path.join(repo, "pipelines", `${n}.yaml`),
);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const quiet = { out: () => {}, err: () => {}, color: false };

interface Row {
  name: string;
  stages: number;
  mb: number;
  plots: number;
  kb: number;
  report: number;
  decode: number;
  command: number;
}

async function measure(original: string, work: string): Promise<Row | undefined> {
  let file = original;
  const name = path.basename(original, ".yaml");
  const generator = datasets.get(name);
  if (generator && !fs.existsSync(path.join(repo, "pipelines", "data", name))) {
    // A copy beside data generated at full scale (as `quiver datasets make NAME` writes it).
    const dir = path.join(work, name);
    const t = performance.now();
    await generator.make(path.join(dir, "data", name), { scale: 1, seed: DEFAULT_DATASET_SEED });
    console.log(`${name}: generated data in ${((performance.now() - t) / 1000).toFixed(1)} s (not timed)`);
    fs.copyFileSync(original, path.join(dir, `${name}.yaml`));
    file = path.join(dir, `${name}.yaml`);
  }
  const store = path.join(work, `store-${name}`);
  const set = ["--set", "epochs=2"];
  const t0 = performance.now();
  const code = await main(
    ["run", file, "--cache-dir", store, "--no-lock", "--json", ...set],
    quiet,
    registry,
  );
  if (code !== 0) {
    console.log(`${name}: quiver run failed (is its data present?); skipped`);
    return undefined;
  }
  console.log(`${name}: ran in ${((performance.now() - t0) / 1000).toFixed(1)} s (not timed)`);
  const loaded = loadPipeline(file, { registry, params: { epochs: 2 } });
  const { store: st } = await openStore(store);
  const last = (await readLastRun(st, loaded.spec.name))!;
  const decodeAll = async () => {
    let bytes = 0;
    for (const { key } of Object.values(last.stages)) {
      const m = await readStageResult(st, key);
      for (const [port, ref] of Object.entries(m?.objects ?? {})) {
        const b = await st.getObject(ref);
        const kind = m?.kinds[port];
        if (b && kind) {
          bytes += b.length;
          await decodeArtifact(kind, b);
        }
      }
    }
    return bytes;
  };
  const bytes = await decodeAll(); // warm-up (lazy imports)
  await generateReport({ store: st, spec: loaded.spec });
  const ref: number[] = [];
  const gen: number[] = [];
  let plots = 0;
  let size = 0;
  // Interleaved, so both see the same load.
  for (let i = 0; i < repeats; i++) {
    let t = performance.now();
    await decodeAll();
    ref.push(performance.now() - t);
    t = performance.now();
    const r = await generateReport({ store: st, spec: loaded.spec });
    gen.push(performance.now() - t);
    plots = r.plots.length;
    size = r.html.length;
  }
  const out = path.join(work, `${name}-report.html`);
  const cli: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t = performance.now();
    const r = spawnSync(
      process.execPath,
      [path.join(repo, "bin", "quiver.js"), "report", file, "--cache-dir", store, "--out", out, ...set],
      { stdio: "pipe" },
    );
    if (r.status !== 0) throw new Error(`quiver report failed: ${r.stderr.toString()}`);
    cli.push(performance.now() - t);
  }
  return {
    name,
    stages: loaded.spec.order.length,
    mb: bytes / 1e6,
    plots,
    kb: size / 1024,
    report: median(gen),
    decode: median(ref),
    command: median(cli),
  };
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-bench-report-"));
try {
  const rows: Row[] = [];
  for (const f of files.length ? files.map((f) => path.resolve(f)) : seeds) {
    const r = await measure(f, work);
    if (r) rows.push(r);
  }
  const load = fs.readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(", ");
  console.log(`\nmedians of ${repeats}; load average ${load}; ${os.cpus().length} cores`);
  console.log(
    "| pipeline | stages | stored outputs | plots | HTML | `generateReport` | peer: decode every output | ratio | `quiver report` command |",
  );
  console.log("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
  for (const r of rows)
    console.log(
      `| ${r.name} | ${r.stages} | ${r.mb.toFixed(1)} MB | ${r.plots} | ${r.kb.toFixed(0)} kB | ${r.report.toFixed(0)} ms | ${r.decode.toFixed(0)} ms | ${(r.report / r.decode).toFixed(2)} | ${r.command.toFixed(0)} ms |`,
    );
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
