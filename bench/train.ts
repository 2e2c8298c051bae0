/**
 * Seconds per epoch for the network 24→60→60→1 (relu, Adam 1e-3, batch 128) on 100 000 weighted
 * rows: tfjs `model.fit` and Quiver's own loop on each backend available here (each in a child
 * process, since tfjs holds one backend per process), against PyTorch (one thread) in the same
 * run. Then where a tfjs step spends its time: kernels per step, the cost of dispatching a tiny
 * kernel, and the matrix products alone.
 *
 *   node dist/bench/train.js [rows]          (the interpreter with torch: bench/peer.ts; --no-peer without)
 *   node dist/bench/train.js --stages        (the train/kfold stages in the real pipelines,
 *                                             default trainer vs tfjs: bench/train-e2e.ts)
 */
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import os from "node:os";
import path from "node:path";
import { stageTimings } from "./train-e2e.js";
import { Rng } from "../stages/lib/random.js";
import { loadTf, resolveBackend, type BackendChoice } from "../stages/lib/nn/backend.js";
import { buildNet, forwardLogits } from "../stages/lib/nn/network.js";
import { trainNn, weightedBceFromLogits } from "../stages/lib/nn/train-loop.js";
import type { NnSpec } from "../stages/lib/nn/spec.js";
import { benchArgs, requirePeer } from "./peer.js";

const D = 24;
const BATCH = 128;
const spec: NnSpec = {
  kind: "nn",
  normalization: false,
  layers: [
    { dense: 60, activation: "relu" },
    { dense: 60, activation: "relu" },
  ],
  output: "sigmoid",
  loss: "binary_crossentropy",
  loss_normalization: "batch_size",
  optimizer: { adam: { lr: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } },
  l2: 0,
  epochs: 2,
  batch_size: BATCH,
  shuffle: true,
  early_stopping: undefined,
};

function makeData(n: number) {
  const rng = new Rng(7);
  const features = Array.from({ length: D }, () => new Float64Array(n));
  const labels = new Uint8Array(n);
  const weights = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < D; j++) {
      const v = rng.normal();
      features[j]![i] = v;
      if (j < 4) s += v;
    }
    labels[i] = rng.uniform() < 1 / (1 + Math.exp(-s)) ? 1 : 0;
    weights[i] = 0.5 + rng.uniform();
  }
  return { n, features, labels, weights };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Mean milliseconds of `f` over `reps` calls after a warm-up. */
function msPer(reps: number, f: () => void): number {
  for (let i = 0; i < Math.min(20, reps); i++) f();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) f();
  return (performance.now() - t0) / reps;
}

interface ChildResult {
  backend: string;
  fitSecondsPerEpoch: number;
  loopSecondsPerEpoch: number;
  kernelsPerStep: number;
  kernelNames: Record<string, number>;
  stepMs: number;
  tinyOpMs: number;
  matmulsMs: number;
}

async function child(choice: BackendChoice, n: number): Promise<ChildResult> {
  const { tf, backend } = await loadTf(choice);
  const data = makeData(n);

  // 1. tfjs' own model.fit (unweighted: fit takes no per-sample weights here).
  const x = new Float32Array(n * D);
  for (let i = 0; i < n; i++) for (let j = 0; j < D; j++) x[i * D + j] = data.features[j]![i]!;
  const xt = tf.tensor2d(x, [n, D]);
  const yt = tf.tensor2d(Float32Array.from(data.labels), [n, 1]);
  const fitModel = tf.sequential({
    layers: [
      tf.layers.dense({ units: 60, activation: "relu", inputShape: [D] }),
      tf.layers.dense({ units: 60, activation: "relu" }),
      tf.layers.dense({ units: 1, activation: "sigmoid" }),
    ],
  });
  fitModel.compile({ optimizer: tf.train.adam(0.001), loss: "binaryCrossentropy" });
  const fitTimes: number[] = [];
  let te = 0;
  await fitModel.fit(xt, yt, {
    epochs: 2,
    batchSize: BATCH,
    shuffle: true,
    verbose: 0,
    callbacks: {
      onEpochBegin: () => {
        te = performance.now();
        return Promise.resolve();
      },
      onEpochEnd: () => {
        fitTimes.push((performance.now() - te) / 1000);
        return Promise.resolve();
      },
    },
  });
  fitModel.dispose();
  xt.dispose();
  yt.dispose();

  // 2. Quiver's loop (weighted), two epochs: the second is the warm figure.
  const r = await trainNn({ spec, train: data, seed: 1, backend: choice });
  const loopSeconds = r.history.time[1]!;

  // 3. Breakdown of one step of the same network.
  const model = buildNet(tf, spec, D, 3);
  const opt: import("@tensorflow/tfjs").Optimizer = tf.train.adam(0.001);
  const vars = model.trainableWeights.map((w) => w.read() as import("@tensorflow/tfjs").Variable);
  const xb = tf.tensor2d(x.subarray(0, BATCH * D), [BATCH, D]);
  const yb = tf.tensor2d(Float32Array.from(data.labels.subarray(0, BATCH)), [BATCH, 1]);
  const wb = tf.fill([BATCH, 1], 1 / BATCH);
  const step = () =>
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(
        () => weightedBceFromLogits(tf, forwardLogits(model, xb, true), yb, wb),
        vars,
      );
      opt.applyGradients(grads);
      value.dataSync();
    });
  step();
  const profile = await tf.profile(step);
  const kernelNames: Record<string, number> = {};
  for (const k of profile.kernels) kernelNames[k.name] = (kernelNames[k.name] ?? 0) + 1;
  const stepMs = msPer(300, step);
  const a = tf.scalar(1);
  const b = tf.scalar(2);
  // Dispatch cost: a chain of scalar adds with one sync at the end, so no arithmetic to speak of.
  const CHAIN = 200;
  const tinyOpMs =
    msPer(30, () =>
      tf.tidy(() => {
        let s = a;
        for (let i = 0; i < CHAIN; i++) s = tf.add(s, b);
        void s.dataSync();
      }),
    ) / CHAIN;
  // The step's 8 matrix products (3 forward; dW and dX backward), alone, one sync at the end.
  const m = (r: number, c: number) => tf.randomNormal([r, c]);
  const [x24, h60, g1, k24, k60, k1] = [
    m(BATCH, D),
    m(BATCH, 60),
    m(BATCH, 1),
    m(D, 60),
    m(60, 60),
    m(60, 1),
  ];
  const matmulsMs = msPer(200, () =>
    tf.tidy(() => {
      const outs = [
        tf.matMul(x24, k24),
        tf.matMul(h60, k60),
        tf.matMul(h60, k1),
        tf.matMul(x24, h60, true, false),
        tf.matMul(h60, h60, true, false),
        tf.matMul(h60, g1, true, false),
        tf.matMul(h60, k60, false, true),
        tf.matMul(g1, k1, false, true),
      ];
      for (const o of outs) void o.dataSync();
    }),
  );
  return {
    backend,
    fitSecondsPerEpoch: fitTimes[1] ?? fitTimes[0] ?? NaN,
    loopSecondsPerEpoch: loopSeconds,
    kernelsPerStep: profile.kernels.length,
    kernelNames,
    stepMs,
    tinyOpMs,
    matmulsMs,
  };
}

const TORCH = String.raw`
import json, sys, time
import torch
torch.set_num_threads(1)
torch.manual_seed(0)
n = int(sys.argv[1]); d = 24; bs = 128
X = torch.randn(n, d); w = 0.5 + torch.rand(n, 1)
y = (torch.rand(n, 1) < torch.sigmoid(X[:, :4].sum(1, keepdim=True))).float()
model = torch.nn.Sequential(torch.nn.Linear(d, 60), torch.nn.ReLU(), torch.nn.Linear(60, 60), torch.nn.ReLU(), torch.nn.Linear(60, 1))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
times = []
for epoch in range(3):
    perm = torch.randperm(n)
    t0 = time.perf_counter()
    for i in range(0, n, bs):
        idx = perm[i:i + bs]
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(X[idx]), y[idx], weight=w[idx])
        loss.backward()
        opt.step()
    times.append(time.perf_counter() - t0)
print(json.dumps({"torch": torch.__version__, "seconds": times}))
`;

function runTorch(n: number): { version: string; secondsPerEpoch: number; python: string } | string {
  const py = requirePeer(["torch"])?.python;
  if (!py) return "PyTorch: peer not measured (--no-peer)";
  const r = spawnSync(py, ["-c", TORCH, String(n)], { encoding: "utf8" });
  if (r.status !== 0)
    return `PyTorch run failed (${py}): ${(r.stderr || String(r.error)).trim().split("\n").pop()}`;
  const out = JSON.parse(r.stdout) as { torch: string; seconds: number[] };
  return { version: out.torch, secondsPerEpoch: median(out.seconds.slice(1)), python: py };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === "--child") {
    const res = await child(args[1] as BackendChoice, Number(args[2]));
    process.stdout.write(JSON.stringify(res) + "\n");
    return;
  }
  if (args[0] === "--stages") {
    // End-to-end train/kfold stage timings in the real pipelines: default trainer vs tfjs.
    console.log(
      `train stages benchmark; ${new Date().toISOString()}; load average ${os.loadavg()[0]!.toFixed(2)} on ${os.cpus().length} cores`,
    );
    await stageTimings(path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", ".."));
    return;
  }
  const n = Number(benchArgs()[0] ?? 100_000);
  const self = fileURLToPath(import.meta.url);
  const backends: BackendChoice[] = ["wasm", "cpu"];
  if (resolveBackend("auto") === "tensorflow") backends.unshift("tensorflow");
  console.log(
    `train benchmark: 24→60→60→1, batch ${BATCH}, ${n} rows, Adam; ${new Date().toISOString()}; ` +
      `load average ${os.loadavg()[0]!.toFixed(2)} on ${os.cpus().length} cores`,
  );
  const torch = runTorch(n);
  const torchS = typeof torch === "string" ? NaN : torch.secondsPerEpoch;
  console.log(
    typeof torch === "string" ? torch : `PyTorch ${torch.version} (1 thread): ${torchS.toFixed(3)} s/epoch`,
  );
  for (const b of backends) {
    // The cpu backend is pure JS and slow: a tenth of the rows, scaled up.
    const rows = b === "cpu" ? Math.round(n / 10) : n;
    const r = spawnSync(process.execPath, [self, "--child", b, String(rows)], { encoding: "utf8" });
    if (r.status !== 0) {
      console.log(`${b}: failed: ${r.stderr.trim().split("\n").slice(-3).join(" | ")}`);
      continue;
    }
    const res = JSON.parse(r.stdout.trim().split("\n").pop()!) as ChildResult;
    const scale = n / rows;
    const fit = res.fitSecondsPerEpoch * scale;
    const loop = res.loopSecondsPerEpoch * scale;
    console.log(
      `tfjs-${res.backend}${scale !== 1 ? ` (measured on ${rows} rows, ×${scale})` : ""}: ` +
        `model.fit ${fit.toFixed(3)} s/epoch (${(fit / torchS).toFixed(1)}× PyTorch), ` +
        `Quiver loop ${loop.toFixed(3)} s/epoch (${(loop / torchS).toFixed(1)}× PyTorch)`,
    );
    const steps = Math.ceil(rows / BATCH);
    const flops = 3 * 2 * BATCH * (D * 60 + 60 * 60 + 60); // forward + two backward products per layer
    const dispatch = res.kernelsPerStep * res.tinyOpMs;
    console.log(
      `  one step (${steps} per epoch): ${res.stepMs.toFixed(3)} ms for ${res.kernelsPerStep} kernels; ` +
        `dispatch of a tiny kernel ${(res.tinyOpMs * 1000).toFixed(1)} µs × ${res.kernelsPerStep} = ${dispatch.toFixed(3)} ms ` +
        `(${((dispatch / res.stepMs) * 100).toFixed(0)}%); the 8 matrix products ${res.matmulsMs.toFixed(3)} ms ` +
        `(${((res.matmulsMs / res.stepMs) * 100).toFixed(0)}%, ${(flops / res.matmulsMs / 1e6).toFixed(2)} GFLOP/s); ` +
        `outside the step (batch gather, masks, sync): ${((((res.loopSecondsPerEpoch * 1000) / steps - res.stepMs) / ((res.loopSecondsPerEpoch * 1000) / steps)) * 100).toFixed(0)}% of the loop`,
    );
    console.log(`  kernels: ${JSON.stringify(res.kernelNames)}`);
  }
}

await main();
