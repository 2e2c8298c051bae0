/**
 * Sharing benchmarks, each against a reference measured in the same run:
 *   1. a 10-point sweep (learning rate × seed) of the dark-matter pipeline vs ten independent
 *      full runs of the same points, each with a fresh cache;
 *   2. `quiver pull` from an HTTP remote (nginx + WebDAV on 127.0.0.1) then `quiver run` of the
 *      fully cached pipeline, vs running it from scratch.
 * The pipeline is copied to a temp folder with the NN learning rate turned into a param `lr`
 * (the committed pipeline writes it inline). Without ../shared/data it falls back to the demo.
 *
 *   node dist/bench/share.js
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startNginx } from "../test/support/nginx.js";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const cli = path.join(repo, "bin", "quiver.js");
const work = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-bench-share-"));

function quiver(...args: string[]): { ms: number; out: string } {
  const t = performance.now();
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", maxBuffer: 1 << 26 });
  const ms = performance.now() - t;
  if (r.status !== 0) throw new Error(`quiver ${args.join(" ")} failed (${r.status}):\n${r.stderr}`);
  return { ms, out: r.stdout };
}

/** The pipeline with `lr` as a param, data paths made absolute. */
function preparePipeline(): { file: string; name: string; dataRoot: string | undefined } {
  const dmFile = path.join(repo, "pipelines", "dark-matter.yaml");
  const data = path.resolve(repo, "..", "shared", "data");
  const useDm = fs.existsSync(dmFile) && fs.existsSync(path.join(data, "atlas_dm_ml_notebook"));
  const src = useDm ? dmFile : path.join(repo, "pipelines", "demo.yaml");
  let text = fs.readFileSync(src, "utf8");
  const lrs = text.match(/adam: \{ lr: ([0-9.e-]+) \}/g) ?? [];
  if (!lrs.length) throw new Error(`${src}: no Adam learning rate to turn into a param`);
  text = text.replace(/adam: \{ lr: ([0-9.e-]+) \}/g, 'adam: { lr: "${lr}" }');
  text = text.replace(/^params:\n/m, "params:\n  lr: 0.005\n");
  if (useDm) {
    text = text.replace(/^data_roots: .*$/m, `data_roots: [${JSON.stringify(data)}]`);
    text = text.replace(/^( {2}data: ).*$/m, `$1${JSON.stringify(path.join(data, "atlas_dm_ml_notebook"))}`);
  }
  const file = path.join(work, useDm ? "dark-matter.yaml" : "demo.yaml");
  fs.writeFileSync(file, text);
  return { file, name: useDm ? "dark-matter" : "demo", dataRoot: useDm ? data : undefined };
}

const fmt = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function main(): Promise<void> {
  const { file, name, dataRoot } = preparePipeline();
  const extra = dataRoot ? ["--data-root", dataRoot] : [];
  const lrs = ["0.001", "0.005"];
  const seeds = [420, 421, 422, 423, 424];
  const lines: string[] = [];
  const log = (s: string) => {
    lines.push(s);
    console.log(s);
  };
  log(`pipeline: ${name} (lr param added), ${lrs.length} learning rates × ${seeds.length} seeds`);

  // Warm-up (untimed): file system caches, the data files, Node's compile cache.
  quiver("run", file, "--cache-dir", path.join(work, "warm"), "--no-lock", "-j", "2", ...extra);

  // 1. Ten independent runs, each with its own fresh cache.
  let independent = 0;
  let i = 0;
  for (const lr of lrs)
    for (const seed of seeds) {
      const dir = path.join(work, `independent-${i++}`);
      independent += quiver(
        "run",
        file,
        "--set",
        `lr=${lr}`,
        "--set",
        `seed=${seed}`,
        "--cache-dir",
        dir,
        "--no-lock",
        "-j",
        "2",
        ...extra,
      ).ms;
    }
  const sweep = quiver(
    "sweep",
    file,
    "--grid",
    `lr=${lrs.join(",")}`,
    "--grid",
    `seed=${seeds[0]}..${seeds[seeds.length - 1]}`,
    "--cache-dir",
    path.join(work, "sweep"),
    "-j",
    "2",
    ...extra,
  );
  const plan = sweep.out.split("\n").find((l) => l.startsWith("work:")) ?? "";
  log(`ten independent runs (fresh cache each): ${fmt(independent)}`);
  log(`one sweep of the same 10 points:          ${fmt(sweep.ms)}   (${plan})`);
  log(`ratio independent / sweep: ${(independent / sweep.ms).toFixed(2)}×`);
  const table = sweep.out.split("\n").findIndex((l) => l.startsWith("mean ± std"));
  if (table >= 0)
    log(
      sweep.out
        .split("\n")
        .slice(table, table + 4)
        .join("\n"),
    );

  // 2. HTTP remote: push a fully cached pipeline, then pull + run elsewhere vs run from scratch.
  const server = await startNginx();
  if ("skip" in server) {
    log(`HTTP pull benchmark skipped: ${server.skip}`);
  } else {
    try {
      const origin = path.join(work, "origin");
      quiver("run", file, "--cache-dir", origin, "-j", "2", ...extra); // writes the lock
      quiver("push", file, "--cache-dir", origin, "--remote", server.url);
      const pulls: number[] = [];
      const runsCached: number[] = [];
      const scratch: number[] = [];
      for (let rep = 0; rep < 3; rep++) {
        const b = path.join(work, `pulled-${rep}`);
        pulls.push(quiver("pull", file, "--cache-dir", b, "--remote", server.url).ms);
        const r = quiver("run", file, "--cache-dir", b, "-j", "2", ...extra);
        if (!/ 0 ran, /.test(r.out)) throw new Error(`after a pull, something ran:\n${r.out}`);
        runsCached.push(r.ms);
        scratch.push(
          quiver("run", file, "--cache-dir", path.join(work, `scratch-${rep}`), "-j", "2", ...extra).ms,
        );
      }
      const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!;
      const bytes = dirSize(path.join(origin, "objects"));
      log(
        `HTTP remote (nginx dav, 127.0.0.1), ${(bytes / 1024 ** 2).toFixed(1)} MiB of objects, median of 3:`,
      );
      log(
        `  pull ${fmt(med(pulls))} + cached run ${fmt(med(runsCached))} = ${fmt(med(pulls) + med(runsCached))}`,
      );
      log(`  run from scratch ${fmt(med(scratch))}`);
      log(
        `  ratio scratch / (pull + cached run): ${(med(scratch) / (med(pulls) + med(runsCached))).toFixed(2)}×`,
      );
    } finally {
      await server.stop();
    }
  }
  fs.rmSync(work, { recursive: true, force: true });
}

function dirSize(dir: string): number {
  let n = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    n += e.isDirectory() ? dirSize(p) : fs.statSync(p).size;
  }
  return n;
}

await main();
