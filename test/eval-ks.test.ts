import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { kolmogorovSf, smirnovSf } from "../stages/lib/eval/kolmogorov.js";
import { kstwoSf } from "../stages/lib/eval/kstwo.js";
import { binnedKs, ks2samp, linspace, weightedKs, type KsMethod } from "../stages/lib/eval/ks.js";
import { ksSample, ksWeights, readFixture, type KsSampleSpec } from "./fixtures/eval/gen.js";

interface KsFixture {
  cases: {
    name: string;
    a: KsSampleSpec;
    b: KsSampleSpec;
    auto: { statistic: number; pvalue: number };
    exact?: { statistic: number; pvalue: number };
    asymp: { statistic: number; pvalue: number };
    weighted: { statistic: number; pvalue: number; n_eff_a: number; n_eff_b: number };
    binned40: { statistic: number; pvalue: number; counts_a: number[]; counts_b: number[] };
  }[];
  kstwo_sf: { n: number; d: number; sf: number }[];
  kolmogorov: { x: number; sf: number }[];
  smirnov: { n: number; x: number; sf: number }[];
}

const fx = readFixture<KsFixture>("ks.json");
const close = (got: number, want: number | null, tol: number, what: string) =>
  want === null
    ? assert.ok(Number.isNaN(got), `${what}: got ${got}, want NaN`)
    : assert.ok(
        Math.abs(got - want) <= tol,
        `${what}: got ${got}, want ${want} (|diff| ${Math.abs(got - want)})`,
      );
const sorted = (x: Float64Array) => x.slice().sort();

void describe("Kolmogorov distribution functions against scipy 1.10", () => {
  void test("kolmogorov (kstwobign.sf)", () => {
    for (const c of fx.kolmogorov) close(kolmogorovSf(c.x), c.sf, 1e-14, `kolmogorov(${c.x})`);
  });
  void test("smirnov (one-sided exact)", () => {
    // kstwo calls smirnov only in the tail (n·x² ≥ 2.2, or x ≥ 0.5): there the log-space sum matches
    // cephes' double-double one to 1e-10. Near the bulk with n ~ 10⁶ its rounding grows to ~1e-9.
    for (const c of fx.smirnov) {
      const tail = c.n * c.x * c.x >= 2.2 || c.x >= 0.5;
      close(smirnovSf(c.n, c.x), c.sf, tail ? 1e-10 : 1e-8, `smirnov(${c.n}, ${c.x})`);
    }
  });
  void test("kstwo.sf over every algorithm branch", () => {
    for (const c of fx.kstwo_sf) close(kstwoSf(c.d, c.n), c.sf, 1e-10, `kstwo.sf(${c.d}, ${c.n})`);
  });
});

void describe("ks_2samp", () => {
  for (const c of fx.cases) {
    void test(c.name, () => {
      const a = sorted(ksSample(c.a));
      const b = sorted(ksSample(c.b));
      for (const m of ["auto", "exact", "asymp"] as KsMethod[]) {
        const want = c[m];
        if (!want) continue;
        const r = ks2samp(a, b, m);
        close(r.statistic, want.statistic, 1e-12, `${m} D`);
        close(r.pvalue, want.pvalue, 1e-9, `${m} p`);
      }
    });
  }
});

void describe("weighted and binned KS", () => {
  for (const c of fx.cases) {
    void test(c.name, () => {
      const a = ksSample(c.a);
      const b = ksSample(c.b);
      const wa = ksWeights(c.a.seed, c.a.n);
      const wb = ksWeights(c.b.seed, c.b.n);
      const oa = Uint32Array.from(a.keys()).sort((i, j) => a[i]! - a[j]!);
      const ob = Uint32Array.from(b.keys()).sort((i, j) => b[i]! - b[j]!);
      const r = weightedKs(
        Float64Array.from(oa, (i) => a[i]!),
        Float64Array.from(oa, (i) => wa[i]!),
        Float64Array.from(ob, (i) => b[i]!),
        Float64Array.from(ob, (i) => wb[i]!),
      );
      close(r.statistic, c.weighted.statistic, 1e-12, "weighted D");
      close(r.nEffA, c.weighted.n_eff_a, 1e-9 * c.weighted.n_eff_a, "Kish n_a");
      close(r.pvalue, c.weighted.pvalue, 1e-9, "weighted p");
      let lo = Infinity;
      let hi = -Infinity;
      for (const v of [...a, ...b]) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
      const bk = binnedKs(a, undefined, b, undefined, linspace(lo, hi, 41));
      assert.deepEqual(Array.from(bk.countsA), c.binned40.counts_a);
      assert.deepEqual(Array.from(bk.countsB), c.binned40.counts_b);
      close(bk.statistic, c.binned40.statistic, 1e-12, "binned D");
      close(bk.pvalue, c.binned40.pvalue, 1e-9, "binned p");
    });
  }
  void test("unit weights reproduce ks_2samp(method='asymp')", () => {
    const c = fx.cases.find((x) => x.name === "asymp_60000_40000")!;
    const a = sorted(ksSample(c.a));
    const b = sorted(ksSample(c.b));
    const r = weightedKs(a, new Float64Array(a.length).fill(1), b, new Float64Array(b.length).fill(1));
    close(r.pvalue, c.asymp.pvalue, 1e-9, "p");
  });
});
