/**
 * Report generation time (goal: under 2 s for the dark-matter pipeline), in-process and as the
 * whole `quiver report` command (Node start-up and imports included). Reference measured in the
 * same run: reading and decoding every stored output of the run (the I/O floor any report pays).
 * The pipeline is run once first (not timed) into a temporary store.
 *
 *   node dist/bench/report.js [pipeline.yaml] [repeats] [--set k=v ...]
 * Default: pipelines/dark-matter.yaml (real data in ../shared/data), 7 repeats.
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
import { paramOptions } from "../cli/args.js";
import { readLastRun } from "../engine/history.js";
import { readStageResult } from "../engine/results.js";
import { generateReport } from "../report/html.js";
import { registry } from "../stages/index.js";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const args = process.argv.slice(2);
const sets = args.flatMap((a, i) => (args[i - 1] === "--set" ? [a] : []));
const plain = args.filter((a, i) => a !== "--set" && args[i - 1] !== "--set");
const file = path.resolve(plain[0] ?? path.join(repo, "pipelines", "dark-matter.yaml"));
const repeats = Number(plain[1] ?? 7);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const quiet = { out: () => {}, err: () => {}, color: false };

const store = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-bench-report-"));
try {
  const setArgs = sets.flatMap((s) => ["--set", s]);
  const t0 = performance.now();
  const code = await main(["run", file, "--cache-dir", store, ...setArgs, "--json"], quiet, registry);
  if (code !== 0) throw new Error(`quiver run ${file} failed (is ../shared/data present?)`);
  console.log(
    `ran ${path.relative(repo, file)} in ${((performance.now() - t0) / 1000).toFixed(1)} s (not timed)`,
  );

  const { problems: _problems, ...overrides } = paramOptions({ set: sets });
  const loaded = loadPipeline(file, { registry, ...overrides });
  const { store: st } = await openStore(store);

  // Reference: read and decode every output of the latest run.
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
  const ref: number[] = [];
  const gen: number[] = [];
  let plots = 0;
  let size = 0;
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
  // The whole command, as a user runs it: a fresh Node process each time.
  const out = path.join(store, "report.html");
  const cli: number[] = [];
  for (let i = 0; i < Math.min(repeats, 5); i++) {
    const t = performance.now();
    const r = spawnSync(
      process.execPath,
      [path.join(repo, "bin", "quiver.js"), "report", file, "--cache-dir", store, "--out", out, ...setArgs],
      { stdio: "pipe" },
    );
    if (r.status !== 0) throw new Error(`quiver report failed: ${r.stderr.toString()}`);
    cli.push(performance.now() - t);
  }
  const g = median(gen);
  const d = median(ref);
  console.log(
    `pipeline: ${loaded.spec.name}, ${loaded.spec.order.length} stages, ${(bytes / 1e6).toFixed(1)} MB of outputs`,
  );
  console.log(`report: ${plots} plots, ${(size / 1024).toFixed(0)} kB of HTML`);
  console.log(`generateReport (in process, median of ${repeats}): ${g.toFixed(0)} ms`);
  console.log(
    `reference, decode every output (median of ${repeats}): ${d.toFixed(0)} ms; ratio ${(g / d).toFixed(2)}`,
  );
  console.log(
    `quiver report command (fresh process, median of ${cli.length}): ${median(cli).toFixed(0)} ms (goal < 2000 ms)`,
  );
} finally {
  fs.rmSync(store, { recursive: true, force: true });
}
