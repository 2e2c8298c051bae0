import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  atBackgroundEfficiency,
  atSignalEfficiency,
  dropIntermediate,
  rocAuc,
  rocCurve,
  thinCurve,
} from "../stages/lib/eval/roc.js";
import { genTable, readFixture, type GenSpec } from "./fixtures/eval/gen.js";

interface RocCase {
  name: string;
  gen?: GenSpec;
  y?: number[];
  score?: number[];
  weight?: number[] | null;
  auc?: number;
  mann_whitney: number;
  fpr?: number[];
  tpr?: number[];
  thresholds_without_first?: number[];
  fpr_dropped?: number[];
  tpr_dropped?: number[];
  n_points?: number;
  n_points_dropped?: number;
  eps_s_at_eps_b?: Record<string, number>;
  eps_b_at_eps_s?: Record<string, number>;
}

const fx = readFixture<{ cases: RocCase[] }>("roc.json");
const close = (got: number, want: number, tol: number, what: string) =>
  assert.ok(
    Math.abs(got - want) <= tol,
    `${what}: got ${got}, want ${want} (|diff| ${Math.abs(got - want)})`,
  );

function inputs(c: RocCase) {
  if (c.gen) {
    const g = genTable(c.gen);
    return { y: Uint8Array.from(g.y), s: g.score, w: c.gen.weights === "none" ? undefined : g.weight };
  }
  return {
    y: Uint8Array.from(c.y!),
    s: Float64Array.from(c.score!),
    w: c.weight ? Float64Array.from(c.weight) : undefined,
  };
}

void describe("ROC against scikit-learn 1.2.1", () => {
  for (const c of fx.cases) {
    void test(c.name, () => {
      const { y, s, w } = inputs(c);
      const curve = rocCurve(s, y, w);
      close(rocAuc(curve), c.mann_whitney, 1e-12, "AUC vs weighted Mann-Whitney");
      if (c.auc !== undefined) close(rocAuc(curve), c.auc, 1e-12, "AUC vs roc_auc_score");
      if (c.fpr) {
        assert.equal(curve.fpr.length, c.fpr.length, "points");
        for (let k = 0; k < c.fpr.length; k++) {
          close(curve.fpr[k]!, c.fpr[k]!, 1e-12, `fpr[${k}]`);
          close(curve.tpr[k]!, c.tpr![k]!, 1e-12, `tpr[${k}]`);
          if (k > 0) assert.equal(curve.threshold[k], c.thresholds_without_first![k - 1]);
        }
        const kept = dropIntermediate(curve);
        assert.deepEqual(
          kept.map((k) => curve.fpr[k]),
          c.fpr_dropped!.map((v, k) =>
            Math.abs(v - curve.fpr[kept[k]!]!) < 1e-12 ? curve.fpr[kept[k]!] : v,
          ),
        );
        assert.equal(kept.length, c.tpr_dropped!.length);
      }
      if (c.n_points !== undefined) {
        assert.equal(curve.fpr.length, c.n_points);
        assert.equal(dropIntermediate(curve).length, c.n_points_dropped);
      }
      for (const [e, want] of Object.entries(c.eps_s_at_eps_b ?? {}))
        close(
          atBackgroundEfficiency(curve, Number(e)).signal_efficiency.value,
          want,
          1e-12,
          `eps_s@eps_b=${e}`,
        );
      for (const [e, want] of Object.entries(c.eps_b_at_eps_s ?? {}))
        close(
          atSignalEfficiency(curve, Number(e)).background_efficiency.value,
          want,
          1e-12,
          `eps_b@eps_s=${e}`,
        );
    });
  }
});

void describe("ROC details", () => {
  void test("the shared sklearn fixtures (../shared/fixtures/roc.json) when present", (t) => {
    // Reference vectors shared by the team; the project's own fixtures above cover the same ground.
    const p = new URL("../../../shared/fixtures/roc.json", import.meta.url);
    let data: {
      cases: {
        name: string;
        y: number[];
        score: number[];
        weight: number[] | null;
        auc: number | null;
        fpr?: number[];
      }[];
    };
    try {
      data = JSON.parse(readFileSync(p, "utf8")) as typeof data;
    } catch {
      t.skip("../shared/fixtures is not available");
      return;
    }
    for (const c of data.cases) {
      if (c.auc === null || c.auc === undefined || !c.fpr) continue;
      const curve = rocCurve(
        Float64Array.from(c.score),
        Uint8Array.from(c.y),
        c.weight ? Float64Array.from(c.weight) : undefined,
      );
      close(rocAuc(curve), c.auc, 1e-12, `${c.name} auc`);
      assert.equal(curve.fpr.length, c.fpr.length, `${c.name} points`);
    }
  });

  void test("binomial uncertainty reduces to sqrt(e(1-e)/N) with unit weights", () => {
    const n = 1000;
    const s = Float64Array.from({ length: n }, (_, i) => i);
    const y = Uint8Array.from({ length: n }, (_, i) => i % 2);
    const c = rocCurve(s, y);
    const wp = atSignalEfficiency(c, 0.5);
    close(wp.signal_efficiency.value, 0.5, 1e-15, "eps_s");
    close(wp.signal_efficiency.error, Math.sqrt((0.5 * 0.5) / 500), 1e-15, "sigma eps_s");
    const eb = wp.background_efficiency.value;
    close(wp.background_efficiency.error, Math.sqrt((eb * (1 - eb)) / 500), 1e-15, "sigma eps_b");
    close(wp.rejection.value, 1 / eb, 1e-12, "rejection");
  });

  void test("collinear points are decided as numpy's np.diff(fps, 2) decides them", () => {
    // scikit-learn 1.2.1: roc_curve([0, 0, 0, 0, 1], [.9, .8, .7, .6, .1], sample_weight=[.3, .5, .5, .5, 1])
    // keeps the thresholds [1.9, 0.9, 0.6, 0.1] (1.9 is its stand-in for +inf). At 0.8 the cumulative
    // background weights 0.3, 0.8, 1.3 have (1.3 - 0.8) - (0.8 - 0.3) = 0 but 1.3 - 2*0.8 + 0.3 = -5.6e-17.
    const c = rocCurve(
      Float64Array.of(0.9, 0.8, 0.7, 0.6, 0.1),
      Uint8Array.of(0, 0, 0, 0, 1),
      Float64Array.of(0.3, 0.5, 0.5, 0.5, 1),
    );
    assert.deepEqual(
      dropIntermediate(c).map((k) => c.threshold[k]),
      [Infinity, 0.9, 0.6, 0.1],
    );
  });

  void test("thinning keeps the ends and at most max_points", () => {
    const g = genTable({ n: 50000, seed: 3, weights: "positive" });
    const c = rocCurve(g.score, Uint8Array.from(g.y), g.weight);
    const idx = thinCurve(c, 100);
    assert.ok(idx.length <= 100 && idx.length > 50, `${idx.length} points`);
    assert.equal(idx[0], 0);
    assert.equal(idx[idx.length - 1], c.fpr.length - 1);
    for (let k = 1; k < idx.length; k++) assert.ok(idx[k]! > idx[k - 1]!);
  });
});
