/**
 * The WebAssembly SIMD trainer (stages/lib/mlp) against PyTorch, measured in the same run, at 1
 * and 2 threads, repetitions interleaved so that both see the same machine load:
 *   - 50→256→256→1 relu, Adam, batch 512, 500k weighted rows (seconds per epoch);
 *   - 24→60→60→1 relu, Adam, batch 128, 100k rows (seconds per epoch);
 *   - the dark-matter NN 7→20→20→1, batch 32, 15.8k rows, 10 epochs (seconds in total);
 *   - the 4-top NN 24→20→20→1 with dropout 0.2, batch 200, 3k rows, 100 epochs (seconds in total);
 * and the matrix product alone (the 256-wide layer's forward and weight-gradient shapes), as
 * GFLOP/s of one core: quiver's GEMM kernel against torch.mm on one thread.
 * Data are synthetic with the real shapes (the time does not depend on the values).
 *
 *   node dist/bench/mlp.js [--repeats 3] [--only big|small]
 *
 * PyTorch (Debian python3-torch, OpenBLAS) runs with torch.set_num_threads, OMP_NUM_THREADS and
 * OPENBLAS_NUM_THREADS all set to the thread count, under the interpreter bench/peer.ts finds
 * ($PYTHON, python3, /usr/bin/python3); without one the benchmark stops. Before and after the
 * cases it measures how much of a second core is free (two busy threads against one), since other
 * work on the machine decides what 2 threads can give.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import { Rng } from "../stages/lib/random.js";
import { createMlpTrainer, type MlpLayer } from "../stages/lib/mlp/index.js";
import { createMlpInstance, loadMlpModule } from "../stages/lib/mlp/wasm.js";
import { freeSecondCore, loadAverage } from "./machine.js";
import { requirePeer } from "./peer.js";

let PYTHON = "";

interface Case {
  name: string;
  key: string;
  rows: number;
  dims: number[];
  dropout: number;
  batch: number;
  epochs: number;
  perEpoch: boolean;
  weighted: boolean;
  group: "big" | "small";
}
const CASES: Case[] = [
  {
    name: "50→256→256→1, batch 512, 500k weighted rows",
    key: "wide",
    rows: 500_000,
    dims: [50, 256, 256],
    dropout: 0,
    batch: 512,
    epochs: 3,
    perEpoch: true,
    weighted: true,
    group: "big",
  },
  {
    name: "24→60→60→1, batch 128, 100k rows",
    key: "seed",
    rows: 100_000,
    dims: [24, 60, 60],
    dropout: 0,
    batch: 128,
    epochs: 3,
    perEpoch: true,
    weighted: false,
    group: "small",
  },
  {
    name: "dark-matter NN 7→20→20→1, batch 32, 15.8k rows, 10 epochs",
    key: "darkMatter",
    rows: 15_800,
    dims: [7, 20, 20],
    dropout: 0,
    batch: 32,
    epochs: 10,
    perEpoch: false,
    weighted: false,
    group: "small",
  },
  {
    name: "4-top NN 24→20→20→1 + dropout 0.2, batch 200, 3k rows, 100 epochs",
    key: "fourTop",
    rows: 3_000,
    dims: [24, 20, 20],
    dropout: 0.2,
    batch: 200,
    epochs: 100,
    perEpoch: false,
    weighted: false,
    group: "small",
  },
];

/** Multiply-adds of one row through the network, and flops of a training step per row. */
function flopsPerRow(dims: readonly number[]): number {
  const widths = [...dims, 1];
  let fwd = 0;
  let inputGrad = 0;
  for (let l = 0; l + 1 < widths.length; l++) {
    fwd += widths[l]! * widths[l + 1]!;
    if (l > 0) inputGrad += widths[l]! * widths[l + 1]!;
  }
  // forward, weight gradient, input gradient (not for the first layer): 2 flops per multiply-add
  return 2 * (2 * fwd + inputGrad);
}

function data(c: Case): { x: Float32Array; y: Float32Array; w: Float32Array } {
  const d = c.dims[0]!;
  const rng = new Rng(1);
  const x = new Float32Array(c.rows * d);
  const y = new Float32Array(c.rows);
  const w = new Float32Array(c.rows);
  for (let r = 0; r < c.rows; r++) {
    let z = 0;
    for (let j = 0; j < d; j++) {
      const v = rng.normal();
      x[r * d + j] = v;
      z += v * Math.sin(j + 1);
    }
    y[r] = z + rng.normal() > 0 ? 1 : 0;
    w[r] = 0.5 + rng.uniform();
  }
  return { x, y, w };
}

const median = (a: number[]): number => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)] ?? NaN;

/** Seconds (per epoch, median, or in total) and the final training loss. */
async function quiver(c: Case, threads: number): Promise<{ seconds: number; loss: number }> {
  const [d, ...hidden] = c.dims as [number, ...number[]];
  const layers: MlpLayer[] = [];
  for (const units of hidden) {
    layers.push({ kind: "dense", units, activation: "relu" });
    if (c.dropout > 0) layers.push({ kind: "dropout", rate: c.dropout });
  }
  layers.push({ kind: "dense", units: 1, activation: "sigmoid" });
  const { x, y, w } = data(c);
  const t0 = performance.now();
  const t = await createMlpTrainer({ inputDim: d, layers, optimizer: { kind: "adam" }, seed: 1, threads });
  const set = t.loadData(x, y, c.weighted ? w : undefined);
  const times: number[] = [];
  let loss = NaN;
  for (let e = 0; e < c.epochs; e++) {
    const s = performance.now();
    loss = t.trainEpoch(set, c.batch, e).loss;
    times.push((performance.now() - s) / 1000);
  }
  const total = (performance.now() - t0) / 1000;
  await t.dispose();
  return { seconds: c.perEpoch ? median(times) : total, loss };
}

const TORCH = String.raw`
import json, sys, time
import numpy as np, torch
spec = json.loads(sys.argv[1])
torch.set_num_threads(spec["threads"])
out = {"version": torch.__version__}
if spec["kind"] == "gemm":
    res = {}
    for name, (m, k, n) in spec["shapes"].items():
        a = torch.randn(m, k); b = torch.randn(k, n); c = torch.empty(m, n)
        reps = max(3, int(2e9 / (2 * m * n * k)))
        best = float("inf")
        for _ in range(7):
            t0 = time.perf_counter()
            for _ in range(reps): torch.mm(a, b, out=c)
            best = min(best, (time.perf_counter() - t0) / reps)
        res[name] = 2 * m * n * k / best / 1e9
    out["gflops"] = res
else:
    rows, batch, epochs, drop = spec["rows"], spec["batch"], spec["epochs"], spec["dropout"]
    dims = spec["dims"]
    rng = np.random.default_rng(1)
    X = torch.tensor(rng.normal(size=(rows, dims[0])).astype(np.float32))
    Y = torch.tensor((rng.uniform(size=rows) < 0.5).astype(np.float32))
    W = torch.tensor((0.5 + rng.uniform(size=rows)).astype(np.float32))
    t0 = time.perf_counter()
    layers = []
    for a, b in zip(dims[:-1], dims[1:]):
        layers += [torch.nn.Linear(a, b), torch.nn.ReLU()] + ([torch.nn.Dropout(drop)] if drop > 0 else [])
    model = torch.nn.Sequential(*layers, torch.nn.Linear(dims[-1], 1))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    times = []
    for e in range(epochs):
        s = time.perf_counter()
        perm = torch.randperm(rows)
        for i in range(0, rows, batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            z = model(X[idx])[:, 0]
            if spec["weighted"]:
                loss = (torch.nn.functional.binary_cross_entropy_with_logits(z, Y[idx], reduction="none") * W[idx]).mean()
            else:
                loss = torch.nn.functional.binary_cross_entropy_with_logits(z, Y[idx])
            loss.backward()
            opt.step()
        times.append(time.perf_counter() - s)
    total = time.perf_counter() - t0
    out["seconds"] = sorted(times)[len(times) // 2] if spec["perEpoch"] else total
print(json.dumps(out))
`;

let torchVersion = "";

function torch(spec: Record<string, unknown>, threads: number): Record<string, unknown> {
  const t = String(threads);
  const r = spawnSync(PYTHON, ["-c", TORCH, JSON.stringify({ ...spec, threads })], {
    encoding: "utf8",
    timeout: 1_800_000,
    env: { ...process.env, OMP_NUM_THREADS: t, OPENBLAS_NUM_THREADS: t, MKL_NUM_THREADS: t },
  });
  if (r.status !== 0) throw new Error(`PyTorch run failed under ${PYTHON}:\n${r.stderr || String(r.error)}`);
  const out = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as Record<string, unknown>;
  torchVersion = String(out.version);
  return out;
}

/** GFLOP/s of quiver's GEMM kernel (one thread) on C[m, n] = A[m, k] B[k, n]. */
async function quiverGemm(shapes: Record<string, [number, number, number]>): Promise<Record<string, number>> {
  const { memory, ex } = createMlpInstance(await loadMlpModule());
  const out: Record<string, number> = {};
  for (const [name, [m, k, n]] of Object.entries(shapes)) {
    const transposedA = name.includes("weight");
    const floats = m * k + k * n + m * n + n + 16 * Math.max(k, 64);
    const base = Math.ceil(ex.heapBase() / 64) * 64;
    const need = base + 4 * floats + 64 * 8;
    if (memory.buffer.byteLength < need) memory.grow(Math.ceil((need - memory.buffer.byteLength) / 65536));
    const f = new Float32Array(memory.buffer, base, floats);
    for (let i = 0; i < f.length; i++) f[i] = Math.sin(i);
    const a = base;
    const b = a + 4 * m * k + 64;
    const c = b + 4 * k * n + 64;
    const bias = c + 4 * m * n + 64;
    const pack = bias + 4 * n + 64;
    // The weight gradient reads A transposed (A(i, k) at i + k * m), as the trainer does.
    const [sAm, sAk] = transposedA ? [1, m] : [k, 1];
    const run = () => ex.gemm(m, n, k, a, sAm, sAk, b, n, c, n, transposedA ? 0 : 1, bias, 1, c, pack);
    const reps = Math.max(3, Math.floor(2e9 / (2 * m * n * k)));
    run();
    let best = Infinity;
    for (let t = 0; t < 7; t++) {
      const t0 = performance.now();
      for (let r = 0; r < reps; r++) run();
      best = Math.min(best, (performance.now() - t0) / 1000 / reps);
    }
    out[name] = (2 * m * n * k) / best / 1e9;
  }
  return out;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

const fmt = (s: number): string => s.toFixed(s < 1 ? 3 : 2);
async function main(): Promise<void> {
  const peer = requirePeer(["torch", "numpy"]);
  if (!peer) throw new Error("this benchmark is a comparison with PyTorch: it has no --no-peer mode");
  PYTHON = peer.python;
  const repeats = Number(arg("--repeats", "3"));
  const only = arg("--only", "");
  const loadStart = loadAverage();
  const freeBefore = await freeSecondCore();
  const lines: string[] = [];

  if (only !== "small") {
    const shapes: Record<string, [number, number, number]> = {
      "forward 512×256 · 256×256": [512, 256, 256],
      "weight gradient 256×512 · 512×256": [256, 512, 256],
    };
    const q: Record<string, number>[] = [];
    const p: Record<string, number>[] = [];
    for (let i = 0; i < repeats; i++) {
      q.push(await quiverGemm(shapes));
      p.push(torch({ kind: "gemm", shapes }, 1).gflops as Record<string, number>);
    }
    lines.push(
      "\n### The matrix product alone, one thread (GFLOP/s, best of 7 timings; median over repeats)\n",
      "| shape | quiver GEMM (wasm SIMD) | torch.mm (OpenBLAS) | quiver / torch |",
      "| --- | ---: | ---: | ---: |",
    );
    for (const name of Object.keys(shapes)) {
      const a = median(q.map((r) => r[name]!));
      const b = median(p.map((r) => r[name]!));
      lines.push(`| ${name} | ${a.toFixed(1)} | ${b.toFixed(1)} | ${(a / b).toFixed(2)} |`);
    }
  }

  for (const c of CASES) {
    if (only !== "" && c.group !== only) continue;
    const runs = new Map<string, number[]>();
    const add = (k: string, v: number) => runs.set(k, [...(runs.get(k) ?? []), v]);
    const losses = new Map<number, number>();
    const spec = { kind: "train", ...c };
    const caseLoad = loadAverage();
    for (let i = 0; i < repeats; i++) {
      for (const t of [1, 2]) {
        process.stderr.write(`${c.name}: repeat ${i + 1}/${repeats}, ${t} thread(s)\n`);
        const ours = await quiver(c, t);
        add(`quiver ${t}`, ours.seconds);
        losses.set(t, ours.loss);
        add(`torch ${t}`, torch(spec, t).seconds as number);
      }
    }
    const unit = c.perEpoch ? "s/epoch" : "s total";
    const flops = c.perEpoch ? flopsPerRow(c.dims) * c.rows : flopsPerRow(c.dims) * c.rows * c.epochs;
    lines.push(
      `\n### ${c.name} (${unit}, median of ${repeats} repeats)\n`,
      `Load average (1 / 5 / 15 min) when this case started: ${caseLoad}; when it ended: ${loadAverage()}.\n`,
    );
    lines.push(
      "| trainer | threads | seconds | all runs | GFLOP/s per core | quiver / PyTorch, same repeat and threads |",
      "| --- | ---: | ---: | --- | ---: | ---: |",
    );
    for (const tool of ["quiver", "torch"]) {
      for (const t of [1, 2]) {
        const rs = runs.get(`${tool} ${t}`)!;
        const ours = runs.get(`quiver ${t}`)!;
        const ratio = median(ours.map((s, i) => s / rs[i]!));
        const label = tool === "quiver" ? "quiver wasm SIMD" : `PyTorch ${torchVersion}`;
        lines.push(
          `| ${label} | ${t} | ${fmt(median(rs))} | ${rs.map(fmt).join(", ")} | ${(flops / median(rs) / t / 1e9).toFixed(1)} | ${tool === "quiver" ? "" : ratio.toFixed(2)} |`,
        );
      }
    }
    const q1 = runs.get("quiver 1")!;
    const q2 = runs.get("quiver 2")!;
    const t1 = runs.get("torch 1")!;
    lines.push(
      "",
      `- quiver 2 threads / 1 thread (same repeat, median): ${median(q2.map((s, i) => s / q1[i]!)).toFixed(2)}.`,
      `- quiver 1 thread / PyTorch 1 thread: ${median(q1.map((s, i) => s / t1[i]!)).toFixed(2)}; ` +
        `quiver 2 threads / PyTorch 1 thread: ${median(q2.map((s, i) => s / t1[i]!)).toFixed(2)} (same repeat, median).`,
      `- Final loss, 1 and 2 threads: ${losses.get(1)?.toFixed(6)} / ${losses.get(2)?.toFixed(6)}` +
        (losses.get(1) === losses.get(2) ? " (bit-identical)." : " (DIFFERENT)."),
    );
  }
  const freeAfter = await freeSecondCore();
  const head = [
    "# WebAssembly SIMD trainer vs PyTorch",
    "",
    `Command: \`node dist/bench/mlp.js${process.argv.slice(2).length ? " " + process.argv.slice(2).join(" ") : ""}\`; ${new Date().toISOString().slice(0, 10)};`,
    `${os.cpus()[0]?.model ?? "unknown CPU"}, ${os.cpus().length} cores, Node ${process.version}, PyTorch ${torchVersion} under ${PYTHON}.`,
    `Load average (1 / 5 / 15 min) at the start: ${loadStart}; at the end: ${loadAverage()}.`,
    `Free second core (two busy threads against one; 1.00 = fully free): ${freeBefore.toFixed(2)} before, ${freeAfter.toFixed(2)} after.`,
    "Synthetic data of the real shapes; Adam (lr 1e-3). GFLOP/s per core counts the forward, weight-gradient and input-gradient products (not the first layer's input gradient).",
  ];
  process.stdout.write([...head, ...lines, ""].join("\n"));
  fs.writeSync(2, "done\n");
}

await main();
