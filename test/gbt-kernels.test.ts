/**
 * The boosted-trees WebAssembly kernels against plain float64 arithmetic: gradients, hessians and
 * the loss (own exp and log1p), row sorting for bin edges, and the thread pool's bit-identity.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { canonicalJson } from "../core/json.js";
import type { ModelArtifact } from "../core/stage.js";
import { sortFloat64 } from "../stages/lib/gbt/binning.js";
import { trainGbt } from "../stages/lib/gbt/index.js";
import { needsRowCounts } from "../stages/lib/gbt/train.js";
import type { GbtOptions, GbtTrainData } from "../stages/lib/gbt/index.js";
import { BLOCK_OUT_BYTES, BLOCK_ROWS, KIND_GRADIENTS } from "../stages/lib/gbt/layout.js";
import { GbtSession } from "../stages/lib/gbt/session.js";
import { GbtMemory, GbtMemoryError, gbtModule } from "../stages/lib/gbt/wasm.js";
import { Rng } from "../stages/lib/random.js";

/** Distance in units in the last place of the larger magnitude (0 when equal). */
function ulps(a: number, b: number): number {
  if (a === b) return 0;
  const m = Math.max(Math.abs(a), Math.abs(b));
  return Math.abs(a - b) / Math.max(2 ** (Math.floor(Math.log2(m)) - 52), Number.MIN_VALUE);
}

void describe("gbt gradient kernel", () => {
  // Scores over the whole range the loss can see, including both underflow regimes of exp(-|s|).
  const rng = new Rng(17);
  const n = 3 * BLOCK_ROWS + 11; // several blocks and an odd tail
  const scores = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const u = rng.uniform();
    scores[i] =
      u < 0.6 ? rng.normal() * 4 : u < 0.9 ? (rng.uniform() - 0.5) * 80 : (rng.uniform() - 0.5) * 1600;
  }
  scores.set([0, -0, 1e-300, -1e-300, 708, -708, 745, -745, 746, -746, 1000, -1000], 0);
  const labels = Uint8Array.from(scores, () => (rng.uniform() < 0.5 ? 1 : 0));
  const weights = Float64Array.from(scores, () => 0.25 + rng.uniform());

  const s = new GbtSession({
    n,
    numFeatures: 1,
    histCols: Int32Array.of(0),
    numBins: Int32Array.of(2),
    sampleSize: n,
    subsampled: false,
    minExamples: 1,
    countRows: true,
    l2: 0,
    minChildHessian: 1e-3,
    threads: 1,
  });
  s.mem.f64(s.scores, n).set(scores);
  s.mem.u8(s.labels, n).set(labels);
  s.mem.f64(s.weights, n).set(weights);
  s.run(KIND_GRADIENTS, s.blocks, { blockOut: s.blockOut, resetRows: 1 });
  const gh = s.mem.f64(s.gh, 2 * n).slice();
  const blocks = s.mem.f64(s.blockOut, (s.blocks * BLOCK_OUT_BYTES) / 8).slice();
  s.close();

  void test("gradient w (p - y) and hessian w p (1 - p) within 8 ulp of float64 with Math.exp (both sides round exp, the division and the products)", () => {
    let worstG = 0;
    let worstH = 0;
    for (let i = 0; i < n; i++) {
      const x = scores[i]!;
      const e = Math.exp(-Math.abs(x));
      const p = x >= 0 ? 1 / (1 + e) : e / (1 + e);
      const w = weights[i]!;
      const y = labels[i]!;
      // p - y cancels when p is near y: measure that error in ulp of p (or of y).
      const scale = w * 2 ** (Math.floor(Math.log2(Math.max(p, y, Number.MIN_VALUE))) - 52);
      worstG = Math.max(worstG, Math.abs(gh[2 * i]! - w * (p - y)) / Math.max(scale, Number.MIN_VALUE));
      // Likewise 1 - p near p = 1: the error is one of p's ulps times w p.
      const hRef = w * p * (1 - p);
      const scaleH = w * p * 2 ** (Math.floor(Math.log2(Math.max(p, 1 - p))) - 52);
      worstH = Math.max(
        worstH,
        Math.min(
          ulps(gh[2 * i + 1]!, hRef),
          Math.abs(gh[2 * i + 1]! - hRef) / Math.max(scaleH, Number.MIN_VALUE),
        ),
      );
    }
    assert.ok(worstG <= 8, `gradient off by ${worstG} ulp`);
    assert.ok(worstH <= 8, `hessian off by ${worstH} ulp`);
  });

  void test("block loss sums and root totals match float64 sums with Math.exp / Math.log1p", () => {
    for (let b = 0; b < s.blocks; b++) {
      let loss = 0;
      let g = 0;
      let h = 0;
      for (let i = b * BLOCK_ROWS; i < Math.min(n, (b + 1) * BLOCK_ROWS); i++) {
        const x = scores[i]!;
        const e = Math.exp(-Math.abs(x));
        loss += weights[i]! * (Math.max(x, 0) + Math.log1p(e) - labels[i]! * x);
        g += gh[2 * i]!;
        h += gh[2 * i + 1]!;
      }
      assert.ok(
        Math.abs(blocks[4 * b]! - loss) <= 1e-13 * Math.abs(loss),
        `block ${b}: loss ${blocks[4 * b]} vs ${loss}`,
      );
      // The kernel sums the totals in row order too: exactly the same additions.
      assert.equal(blocks[4 * b + 1], g);
      assert.equal(blocks[4 * b + 2], h);
    }
  });
});

void test("sortFloat64 orders like Float64Array.prototype.sort (-0 before +0, infinities, subnormals)", () => {
  const rng = new Rng(4);
  for (const n of [5, 300, 20_000]) {
    for (const kind of ["normal", "integers", "zeros", "huge"] as const) {
      const a = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const u = rng.uniform();
        a[i] =
          kind === "normal"
            ? rng.normal() * 1e3
            : kind === "integers"
              ? Math.round(u * 10) - 5
              : kind === "zeros"
                ? u < 0.3
                  ? -0
                  : u < 0.6
                    ? 0
                    : (u - 0.8) * 1e-310
                : (u - 0.5) * 1e300;
      }
      a[0] = Infinity;
      a[1] = -Infinity;
      const expected = a.slice().sort();
      const got = sortFloat64(a.slice());
      for (let i = 0; i < n; i++) assert.ok(Object.is(got[i], expected[i]), `${kind} n=${n} at ${i}`);
    }
  }
});

void describe("gbt threads", () => {
  // Large enough that training uses every thread asked for (at least 50k codes per thread), with
  // histogram blocks of 4096 rows (40 at the root: partial histograms added in block order).
  const n = 160_000;
  const rng = new Rng(5);
  const features = Array.from({ length: 10 }, () => new Float64Array(n));
  const labels = new Uint8Array(n);
  const weights = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let z = 0;
    for (let f = 0; f < features.length; f++) {
      let x = rng.normal();
      if (f === 2 && rng.uniform() < 0.1) x = NaN; // missing values
      if (f === 5) x = Math.round(x * 2); // a discrete feature
      features[f]![r] = x;
      if (!Number.isNaN(x)) z += ((f % 3) - 1) * x;
    }
    labels[r] = rng.uniform() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
    weights[r] = rng.uniform() * 3;
  }
  const data: GbtTrainData = { features, featureNames: features.map((_, f) => `x${f}`), labels, weights };
  const bytes = (m: ModelArtifact): string =>
    canonicalJson(m.meta) +
    Object.keys(m.blobs)
      .sort()
      .map((k) => Buffer.from(m.blobs[k]!).toString("base64"))
      .join();

  for (const subsample of [1, 0.7]) {
    void test(`models are bit-identical for 1, 2 and 3 threads (subsample ${subsample})`, () => {
      const options: GbtOptions = {
        numTrees: 8,
        maxDepth: 6,
        minExamples: 20,
        subsample,
        shrinkage: 0.1,
        maxBins: 255,
        l2: 1,
      };
      const runs = [1, 2, 3].map((threads) => trainGbt(data, options, 3, { threads }));
      assert.deepEqual(
        runs.map((r) => r.threads),
        [1, 2, 3],
      );
      for (const r of runs.slice(1)) {
        assert.equal(bytes(r.model), bytes(runs[0]!.model));
        assert.deepEqual(r.trainLoss, runs[0]!.trainLoss);
      }
    });
  }

  void test("a 15k-row set (four blocks at the root) gives bit-identical models on 1 and 2 threads", () => {
    const m = 15_000;
    const part: GbtTrainData = {
      features: features.map((c) => c.subarray(0, m)),
      featureNames: data.featureNames,
      labels: labels.subarray(0, m),
      weights: weights.subarray(0, m),
    };
    const options: GbtOptions = {
      numTrees: 6,
      maxDepth: 4,
      minExamples: 5,
      subsample: 1,
      shrinkage: 0.2,
      maxBins: 255,
      l2: 0,
    };
    const runs = [1, 2].map((threads) => trainGbt(part, options, 3, { threads }));
    assert.deepEqual(
      runs.map((r) => r.threads),
      [1, 2],
    );
    assert.equal(bytes(runs[1]!.model), bytes(runs[0]!.model));
    assert.deepEqual(runs[1]!.trainLoss, runs[0]!.trainLoss);
  });

  void test("histograms without row counts give the same models (minExamples 1, no missing values)", () => {
    // Row counts are left out only here (train.ts needsRowCounts); the left count of each split,
    // and so where missing values go at prediction, then comes from the partition or the
    // split-apply pass. Discrete features and deep trees reach nodes of two rows and exact ties.
    assert.equal(needsRowCounts(1, false), false);
    assert.equal(needsRowCounts(2, false), true);
    assert.equal(needsRowCounts(1, true), true);
    const cases: [number, number][] = [
      [120_000, 1],
      [120_000, 0.7],
      [3000, 1],
      [3000, 0.6],
    ];
    for (const [m, subsample] of cases) {
      const part: GbtTrainData = {
        features: features
          .filter((_, f) => f !== 2) // the one with missing values
          .map((c, f) => (f % 2 === 0 ? c.subarray(0, m).map((x) => Math.round(x * 3)) : c.subarray(0, m))),
        featureNames: data.featureNames.filter((_, f) => f !== 2),
        labels: labels.subarray(0, m),
        weights: weights.subarray(0, m),
      };
      const options: GbtOptions = {
        numTrees: 5,
        maxDepth: m > 10_000 ? 7 : 12,
        minExamples: 1,
        subsample,
        shrinkage: 0.3,
        maxBins: 255,
        l2: 0,
      };
      const counted = trainGbt(part, options, 3, { threads: 1, countRows: true });
      for (const threads of [1, 2]) {
        const r = trainGbt(part, options, 3, { threads });
        assert.equal(
          bytes(r.model),
          bytes(counted.model),
          `${m} rows, subsample ${subsample}, ${threads} threads`,
        );
        assert.deepEqual(r.trainLoss, counted.trainLoss);
      }
    }
  });

  void test("small data sets train on one thread whatever is allowed", () => {
    const small = {
      ...data,
      features: features.map((c) => c.subarray(0, 2000)),
      labels: labels.subarray(0, 2000),
    };
    const { threads } = trainGbt(
      { ...small, weights: weights.subarray(0, 2000) },
      { numTrees: 2, maxDepth: 3, minExamples: 5, subsample: 1, shrinkage: 0.1, maxBins: 255, l2: 0 },
      1,
      { threads: 8 },
    );
    assert.equal(threads, 1);
  });
});

void test("a training that does not fit its memory's limit is refused with GbtMemoryError", () => {
  const m = new GbtMemory(gbtModule(), 64); // 4 MiB
  m.alloc(1 << 20);
  assert.throws(
    () => m.alloc(8 << 20),
    (e: unknown) => e instanceof GbtMemoryError && /needs 10 MiB, above the 4 MiB/.test(e.message),
  );
});
