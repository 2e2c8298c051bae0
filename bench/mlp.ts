/**
 * The WebAssembly SIMD trainer (stages/lib/mlp) against PyTorch on one thread, measured in the
 * same run, on three networks:
 *   - 24→60→60→1 relu, Adam, batch 128, 100 000 rows (seconds per epoch, median of 3 epochs);
 *   - the dark-matter NN: 7→20→20→1 relu, Adam, batch 32, 15 800 rows, 10 epochs;
 *   - the 4-top NN: 24→20→20→1 relu with dropout 0.2, Adam, batch 200, 3 000 rows, 100 epochs;
 * the last two also against Keras' times for the same training on this machine (constants below).
 * Data are synthetic with the real shapes (the time does not depend on the values).
 *
 *   node dist/bench/mlp.js [--no-peer]   (the interpreter with torch: bench/peer.ts; without one it stops)
 */
import { spawnSync } from "node:child_process";
import os from "node:os";
import { Rng } from "../stages/lib/random.js";
import { createMlpTrainer, type MlpLayer } from "../stages/lib/mlp/index.js";
import { requirePeer, type Peer } from "./peer.js";

/** Keras (TensorFlow CPU) wall times of the two seed networks on this machine, from the issue. */
const KERAS_SECONDS = { darkMatter: 4.0, fourTop: 3.5 };

interface Case {
  name: string;
  key: "big" | "darkMatter" | "fourTop";
  rows: number;
  dims: number[];
  dropout: number;
  batch: number;
  epochs: number;
  perEpoch: boolean;
}
const CASES: Case[] = [
  {
    name: "24→60→60→1, batch 128, 100k rows",
    key: "big",
    rows: 100_000,
    dims: [24, 60, 60],
    dropout: 0,
    batch: 128,
    epochs: 3,
    perEpoch: true,
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
  },
];

function data(rows: number, d: number): { x: Float32Array; y: Float32Array } {
  const rng = new Rng(1);
  const x = new Float32Array(rows * d);
  const y = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let z = 0;
    for (let j = 0; j < d; j++) {
      const v = rng.normal();
      x[r * d + j] = v;
      z += v * Math.sin(j + 1);
    }
    y[r] = z + rng.normal() > 0 ? 1 : 0;
  }
  return { x, y };
}

const median = (a: number[]): number => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)] ?? NaN;

/** Seconds (per epoch or in total) and the final training loss. */
async function wasm(c: Case, threads: number): Promise<{ seconds: number; loss: number }> {
  const [d, ...hidden] = c.dims as [number, ...number[]];
  const layers: MlpLayer[] = [];
  for (const units of hidden) {
    layers.push({ kind: "dense", units, activation: "relu" });
    if (c.dropout > 0) layers.push({ kind: "dropout", rate: c.dropout });
  }
  layers.push({ kind: "dense", units: 1, activation: "sigmoid" });
  const { x, y } = data(c.rows, d);
  const t0 = performance.now();
  const t = await createMlpTrainer({ inputDim: d, layers, optimizer: { kind: "adam" }, seed: 1, threads });
  const set = t.loadData(x, y);
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
import sys, time, json, numpy as np, torch
torch.set_num_threads(1)
rows, batch, epochs, drop, per_epoch = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5] == "1"
dims = [int(v) for v in sys.argv[6].split(",")]
rng = np.random.default_rng(1)
X = torch.tensor(rng.normal(size=(rows, dims[0])).astype(np.float32))
Y = torch.tensor((rng.uniform(size=rows) < 0.5).astype(np.float32))
t0 = time.perf_counter()
layers = []
for a, b in zip(dims[:-1], dims[1:]):
    layers += [torch.nn.Linear(a, b), torch.nn.ReLU()] + ([torch.nn.Dropout(drop)] if drop > 0 else [])
model = torch.nn.Sequential(*layers, torch.nn.Linear(dims[-1], 1))
opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
lossf = torch.nn.BCEWithLogitsLoss()
times = []
for e in range(epochs):
    s = time.perf_counter()
    perm = torch.randperm(rows)
    for i in range(0, rows, batch):
        idx = perm[i:i + batch]
        opt.zero_grad()
        loss = lossf(model(X[idx])[:, 0], Y[idx])
        loss.backward()
        opt.step()
    times.append(time.perf_counter() - s)
total = time.perf_counter() - t0
print(json.dumps({"seconds": sorted(times)[len(times) // 2] if per_epoch else total, "version": torch.__version__}))
`;

function torch(c: Case, python: string): { seconds: number; version: string } {
  const args = [
    String(c.rows),
    String(c.batch),
    String(c.epochs),
    String(c.dropout),
    c.perEpoch ? "1" : "0",
    c.dims.join(","),
  ];
  const r = spawnSync(python, ["-c", TORCH, ...args], { encoding: "utf8", timeout: 600_000 });
  if (r.status !== 0)
    throw new Error(
      `PyTorch run failed (${python}): ${(r.stderr || String(r.error)).split("\n").slice(-2).join(" ")}`,
    );
  return JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}") as { seconds: number; version: string };
}

const fmt = (s: number): string => s.toFixed(s < 1 ? 3 : 2);

async function main(): Promise<void> {
  const peer: Peer | undefined = requirePeer(["torch", "numpy"]);
  const loadAtStart = os
    .loadavg()
    .map((v) => v.toFixed(1))
    .join(" / ");
  const lines: string[] = [];
  let torchVersion = "";
  for (const c of CASES) {
    process.stderr.write(`${c.name}...\n`);
    const th = peer ? torch(c, peer.python) : undefined;
    const one = await wasm(c, 1);
    const two = await wasm(c, 2);
    if (th) torchVersion = th.version;
    const unit = c.perEpoch ? "s/epoch" : "s total";
    lines.push(`\n### ${c.name} (${unit})\n`);
    lines.push("| trainer | seconds | vs PyTorch 1 thread | final loss |", "| --- | ---: | ---: | ---: |");
    const ref = th?.seconds;
    const ratio = (s: number): string => (ref ? (s / ref).toFixed(2) : "n/a");
    lines.push(
      th
        ? `| PyTorch ${th.version}, 1 thread | ${fmt(th.seconds)} | 1.00 | |`
        : "| PyTorch, 1 thread | peer not measured | | |",
    );
    if (c.key !== "big")
      lines.push(
        `| Keras, this machine (issue figure) | ${fmt(KERAS_SECONDS[c.key])} | ${ratio(KERAS_SECONDS[c.key])} | |`,
      );
    lines.push(
      `| wasm SIMD, 1 thread | ${fmt(one.seconds)} | ${ratio(one.seconds)} | ${one.loss.toFixed(5)} |`,
    );
    lines.push(
      `| wasm SIMD, 2 threads | ${fmt(two.seconds)} | ${ratio(two.seconds)} | ${two.loss.toFixed(5)} |`,
    );
  }
  const head = [
    "# WebAssembly SIMD trainer vs PyTorch",
    "",
    `Command: \`node dist/bench/mlp.js\`; ${new Date().toISOString().slice(0, 10)}; peer: ${peer ? peer.python : "peer not measured"};`,
    `${os.cpus()[0]?.model ?? "unknown CPU"}, ${os.cpus().length} cores, Node ${process.version}${torchVersion ? `, PyTorch ${torchVersion}` : ""}.`,
    `Load average at the start: ${loadAtStart}; at the end: ${os
      .loadavg()
      .map((v) => v.toFixed(1))
      .join(" / ")} (other jobs share the machine; compare ratios, not seconds).`,
    "Synthetic data of the real shapes; Adam (lr 1e-3); PyTorch with torch.set_num_threads(1) and index-sliced batches.",
    "The wasm final losses are identical for 1 and 2 threads (bit-identical training).",
  ];
  process.stdout.write([...head, ...lines, ""].join("\n"));
}

await main();
