/**
 * The radix sorts under roc/ks/significance against a plain stable comparison sort, and `rocCurve`
 * against the direct transcription of scikit-learn's `_binary_clf_curve` (one stable descending
 * sort of all events, cumulative sums in that order): every point must be bit-identical, since
 * the curve's points are compared with sklearn's exactly.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { argsort, sortWithPayload } from "../stages/lib/eval/sort.js";
import { rocCurve, type RocCurve } from "../stages/lib/eval/roc.js";
import { Rng } from "../stages/lib/random.js";

/** Indices that sort `v` ascending, ties in input order, -0 equal to +0. */
function referenceOrder(v: Float64Array): number[] {
  return Array.from(v.keys()).sort((a, b) => (v[a]! < v[b]! ? -1 : v[a]! > v[b]! ? 1 : a - b));
}

function checkSort(v: Float64Array): void {
  const order = referenceOrder(v);
  const values = v.slice();
  const index = Float64Array.from(v.keys());
  sortWithPayload(values, index);
  assert.deepEqual(Array.from(index), order, "payload follows the values, ties stay in input order");
  // Object.is tells -0 from +0: the sort hands -0 back as +0.
  for (let k = 0; k < v.length; k++) assert.ok(Object.is(values[k], v[order[k]!]! + 0), `value ${k}`);
  assert.deepEqual(Array.from(argsort(v)), order, "argsort");
  const keysOnly = v.slice();
  sortWithPayload(keysOnly);
  assert.deepEqual(keysOnly, values, "without a payload");
}

/** Doubles that stress the key transform: signs, zeros, infinities, subnormals, ties, few varying bits. */
const special = [
  0,
  -0,
  Infinity,
  -Infinity,
  Number.MIN_VALUE,
  -Number.MIN_VALUE,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  2.2250738585072014e-308,
  1,
  -1,
  0.5,
];
const double = fc.oneof(
  fc.double({ noNaN: true }),
  fc.constantFrom(...special),
  fc.integer({ min: -3, max: 3 }),
  fc.float({ noNaN: true }).map((x) => Math.fround(x)),
);

void describe("radix sort of float64 values", () => {
  void test("matches a stable comparison sort (random doubles, both sides of the small-input cut-off)", () => {
    fc.assert(
      fc.property(fc.array(double, { maxLength: 400 }), (xs) => checkSort(Float64Array.from(xs))),
      { numRuns: 300 },
    );
  });

  void test("values differing only in the low bits, in the sign, or in one middle digit", () => {
    const rng = new Rng(7);
    const n = 5000;
    const cases: Record<string, (i: number) => number> = {
      "last mantissa bits": (i) => 1 + (i % 17) * Number.EPSILON,
      "sign and magnitude": (i) => (i % 2 ? -1 : 1) * rng.uniform(),
      "from float32": () => Math.fround(rng.normal()),
      "sigmoid scores": () => 1 / (1 + Math.exp(-rng.normal())),
      "one middle digit": (i) => 1 + (i % 5) * 2 ** -30,
      "all equal": () => 0.25,
      "negative zeros and zeros": (i) => (i % 3 ? -0 : 0),
    };
    for (const [name, gen] of Object.entries(cases)) {
      const v = Float64Array.from({ length: n }, (_, i) => gen(i));
      assert.doesNotThrow(() => checkSort(v), name);
    }
  });

  void test("200k values: deep buckets, skewed digits, ties", () => {
    const rng = new Rng(3);
    const v = Float64Array.from({ length: 200_000 }, (_, i) =>
      i % 7 === 0 ? Math.round(rng.normal() * 4) / 4 : 1 / (1 + Math.exp(-3 * rng.normal())),
    );
    checkSort(v);
  });

  void test("a payload of the wrong length is refused", () => {
    assert.throws(() => sortWithPayload(new Float64Array(3), new Float64Array(2)), RangeError);
  });
});

/** scikit-learn 1.2 `_binary_clf_curve` + `roc_curve(drop_intermediate=False)`, transcribed. */
function referenceRoc(score: Float64Array, label: Uint8Array, weight?: Float64Array): RocCurve {
  const kept = Array.from(score.keys()).filter((i) => weight === undefined || weight[i] !== 0);
  // np.argsort(y_score, kind="mergesort")[::-1]: stable ascending, then reversed.
  kept.sort((a, b) => (score[a]! < score[b]! ? -1 : score[a]! > score[b]! ? 1 : a - b)).reverse();
  const thr = [Infinity];
  const tps = [0];
  const fps = [0];
  const tps2 = [0];
  const fps2 = [0];
  let tp = 0;
  let fp = 0;
  let tp2 = 0;
  let fp2 = 0;
  let ns = 0;
  let nb = 0;
  for (let k = 0; k < kept.length; k++) {
    const i = kept[k]!;
    const w = weight === undefined ? 1 : weight[i]!;
    if (label[i] === 1) {
      tp += w;
      tp2 += w * w;
      ns++;
    } else {
      fp += w;
      fp2 += w * w;
      nb++;
    }
    const next = kept[k + 1];
    if (next === undefined || score[next]! !== score[i]!) {
      thr.push(score[i]! + 0);
      tps.push(tp);
      fps.push(fp);
      tps2.push(tp2);
      fps2.push(fp2);
    }
  }
  const f = (a: number[]) => Float64Array.from(a);
  return {
    threshold: f(thr),
    fpr: f(fps.map((x) => x / fp)),
    tpr: f(tps.map((x) => x / tp)),
    tps: f(tps),
    fps: f(fps),
    tps2: f(tps2),
    fps2: f(fps2),
    signal: { sumw: tp, sumw2: tp2, n: ns },
    background: { sumw: fp, sumw2: fp2, n: nb },
  };
}

function checkRoc(score: Float64Array, label: Uint8Array, weight?: Float64Array): void {
  const got = rocCurve(score, label, weight);
  const want = referenceRoc(score, label, weight);
  // deepEqual compares with Object.is: bit-identical numbers, -0 and NaN included.
  assert.deepEqual(got, want);
}

void describe("rocCurve is bit-identical to sklearn's algorithm", () => {
  const event = fc.record({
    score: fc.oneof(fc.double({ noNaN: true, min: -5, max: 5 }), fc.constantFrom(0, -0, 0.5, 1, Infinity)),
    label: fc.constantFrom(0, 1),
    weight: fc.oneof(fc.double({ noNaN: true, min: -2, max: 2 }), fc.constantFrom(0, -0, 1, 0.1)),
  });
  void test("random events: ties across and within classes, zero and negative weights", () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 300 }), fc.boolean(), (evs, weighted) => {
        const score = Float64Array.from(evs, (e) => e.score);
        const label = Uint8Array.from(evs, (e) => e.label);
        checkRoc(score, label, weighted ? Float64Array.from(evs, (e) => e.weight) : undefined);
      }),
      { numRuns: 300 },
    );
  });

  void test("100k events, quantised and continuous scores, weights whose sums round", () => {
    const rng = new Rng(11);
    const n = 100_000;
    for (const quantum of [0, 1 / 64]) {
      const label = Uint8Array.from({ length: n }, () => (rng.uniform() < 0.3 ? 1 : 0));
      const score = Float64Array.from(label, (y) => {
        const s = 1 / (1 + Math.exp(-(rng.normal() + y)));
        return quantum ? Math.floor(s / quantum) * quantum : s;
      });
      const weight = Float64Array.from({ length: n }, () => {
        const u = rng.uniform();
        return u < 0.05 ? -0.5 * u : u < 0.07 ? 0 : 0.2 + u * Math.PI;
      });
      checkRoc(score, label, weight);
      checkRoc(score, label);
    }
  });

  void test("a NaN score is refused, not sorted somewhere", () => {
    assert.throws(() => rocCurve(Float64Array.of(0.1, NaN, 0.3), Uint8Array.of(0, 1, 1)), /score 1 is NaN/);
  });
});
