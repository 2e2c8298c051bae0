import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { metrics as metricsArtifact, table, StageError, type ArtifactValue } from "../core/stage.js";
import { float64Column, makeTable, type Table } from "../core/table.js";
import { runStage } from "./support/stage-harness.js";
import { rocStage } from "../stages/roc.js";
import { ksStage } from "../stages/ks.js";
import { significanceStage } from "../stages/significance.js";
import { metricsStage } from "../stages/metrics.js";
import { significance } from "../stages/lib/eval/significance.js";
import { genTable, ksSample, readFixture, type GenSpec, type KsSampleSpec } from "./fixtures/eval/gen.js";

const close = (got: unknown, want: number, tol: number, what: string) =>
  assert.ok(
    typeof got === "number" && Math.abs(got - want) <= tol,
    `${what}: got ${String(got)}, want ${want}`,
  );

function events(cols: Record<string, Float64Array>): Table {
  return makeTable(Object.entries(cols).map(([k, v]) => [k, float64Column(v)] as const));
}
const metricsOf = (a: ArtifactValue | undefined) => {
  assert.ok(a && a.kind === "metrics");
  return a.metrics as Record<string, unknown>;
};
const tableOf = (a: ArtifactValue | undefined) => {
  assert.ok(a && a.kind === "table");
  return a.table;
};
const get = (o: unknown, ...path: string[]): unknown =>
  path.reduce<unknown>((x, k) => (x as Record<string, unknown>)[k], o);

void describe("significance formulas", () => {
  const opts = { epsilonB: 0, sigmaB: 0, bReg: 10 };
  void test("hand-checkable: Z_A(s=5, b=1) = 3.3913, s/√b = 5", () => {
    close(significance("asimov", 5, 1, opts), 3.3913, 5e-5, "Z_A");
    close(significance("s_over_sqrt_b", 5, 1, opts), 5, 0, "s/sqrt(b)");
  });
  void test("closed forms of the shared fixture (Cowan et al., RooStats, HiggsML)", (t) => {
    let data: { cases: Record<string, number>[] };
    try {
      data = JSON.parse(
        readFileSync(new URL("../../../shared/fixtures/significance.json", import.meta.url), "utf8"),
      ) as typeof data;
    } catch {
      t.skip("../shared/fixtures is not available");
      return;
    }
    for (const c of data.cases) {
      const s = c.s!;
      const b = c.b!;
      close(significance("s_over_sqrt_b", s, b, opts), c.s_over_sqrt_b!, 1e-12, "s/sqrt(b)");
      close(significance("s_over_sqrt_s_plus_b", s, b, opts), c.s_over_sqrt_s_plus_b!, 1e-12, "s/sqrt(s+b)");
      close(significance("asimov", s, b, opts), c.asimov!, 1e-12, "Z_A");
      close(
        significance("asimov", s, b, { ...opts, sigmaB: 0.1 }),
        c.asimov_sigma_b_10pct!,
        1e-12,
        "Z_A σ_b",
      );
      close(significance("ams", s, b, opts), c.ams_breg10!, 1e-12, "AMS");
    }
  });
});

interface SigFixture {
  gen: GenSpec;
  points: number;
  scan_s_unscaled: number[];
  scan_b: number[];
  direct: { i: number; threshold: number; s: number; b: number }[];
  best: { i: number; threshold: number; s: number; b: number; z: number };
}

void describe("significance stage", () => {
  const fx = readFixture<SigFixture>("significance.json");
  const g = genTable(fx.gen);
  const input = table(events({ nn: g.score, label: g.y, w: g.weight }));
  void test("1000-point scan and best cut match numpy (sort + cumsum + searchsorted), notebook corrections", async () => {
    const r = await runStage(significanceStage, {
      params: {
        score: "nn",
        weight: "w",
        formula: "s_over_sqrt_b",
        epsilon_b: 0.001,
        min_background: 10,
        points: fx.points,
      },
      inputs: { table: input, oversampling: metricsArtifact({ factor: 5 }) },
    });
    const scan = tableOf(r.outputs.scan);
    assert.equal(scan.numRows, fx.points);
    const col = (n: string) => (scan.columns.get(n) as { values: Float64Array }).values;
    for (let k = 0; k < fx.scan_b.length; k++) {
      close(col("b")[k * 50], fx.scan_b[k]!, 1e-9 * Math.max(1, fx.scan_b[k]!), `B[${k * 50}]`);
      close(
        col("s")[k * 50],
        fx.scan_s_unscaled[k]! / 5,
        1e-9 * Math.max(1, fx.scan_s_unscaled[k]!),
        `S[${k * 50}]`,
      );
    }
    for (const d of fx.direct) {
      assert.equal(col("threshold")[d.i], d.threshold);
      close(col("b")[d.i], d.b, 1e-9 * Math.max(1, d.b), `direct B at ${d.i}`);
    }
    const m = metricsOf(r.outputs.metrics);
    close(get(m, "best", "threshold"), fx.best.threshold, 0, "best threshold");
    close(get(m, "best", "z"), fx.best.z, 1e-9, "best Z");
    close(get(m, "best", "s"), fx.best.s, 1e-10 * fx.best.s, "best S");
    assert.equal(get(m, "corrections", "oversampling_factor"), 5);
  });
  void test("signal_scale and evaluated_fraction scale the yields", async () => {
    const base = await runStage(significanceStage, {
      params: { score: "nn", weight: "w", points: 10 },
      inputs: { table: input },
    });
    const r = await runStage(significanceStage, {
      params: { score: "nn", weight: "w", points: 10, signal_scale: 0.2, evaluated_fraction: 0.5 },
      inputs: { table: input },
    });
    const s0 = get(metricsOf(base.outputs.metrics), "no_cut", "s") as number;
    const b0 = get(metricsOf(base.outputs.metrics), "no_cut", "b") as number;
    close(get(metricsOf(r.outputs.metrics), "no_cut", "s"), (s0 * 0.2) / 0.5, 1e-9, "S");
    close(get(metricsOf(r.outputs.metrics), "no_cut", "b"), b0 / 0.5, 1e-9, "B");
  });
  void test("unique thresholds agree with the uniform scan where they coincide", async () => {
    const s = Float64Array.from([0.1, 0.2, 0.2, 0.5, 0.9, 0.9]);
    const y = Float64Array.from([0, 0, 1, 0, 1, 1]);
    const r = await runStage(significanceStage, {
      params: { score: "s", thresholds: "unique", formula: "s_over_sqrt_s_plus_b" },
      inputs: { table: table(events({ s, label: y })) },
    });
    const scan = tableOf(r.outputs.scan);
    assert.deepEqual(
      Array.from((scan.columns.get("threshold") as { values: Float64Array }).values),
      [0.1, 0.2, 0.5, 0.9],
    );
    assert.deepEqual(Array.from((scan.columns.get("s") as { values: Float64Array }).values), [3, 2, 2, 0]);
    assert.deepEqual(Array.from((scan.columns.get("b") as { values: Float64Array }).values), [2, 1, 0, 0]);
  });
  void test("min_background guard: no eligible cut gives best = null and a note", async () => {
    const r = await runStage(significanceStage, {
      params: { score: "nn", points: 5, min_background: 1e12 },
      inputs: { table: input },
    });
    assert.equal(get(metricsOf(r.outputs.metrics), "best"), null);
    assert.equal(r.notes.length, 1);
  });
  void test("a bad oversampling factor is a StageError", async () => {
    await assert.rejects(
      runStage(significanceStage, {
        params: { score: "nn" },
        inputs: { table: input, oversampling: metricsArtifact({ factor: "5" }) },
      }),
      (e: unknown) => e instanceof StageError && e.code === "QV_EVAL_OVERSAMPLING",
    );
  });
});

void describe("roc stage", () => {
  const g = genTable({ n: 20000, seed: 77, weights: "negative" });
  const y = g.y;
  const other = g.score.map((v, i) => v * 0.5 + (i % 7) / 10);
  const input = table(events({ a: g.score, b: other, label: y, w: g.weight }));
  void test("several scores on the same events; curve table thinned; metrics per score", async () => {
    const r = await runStage(rocStage, {
      params: { scores: ["a", "b"], weight: "w", max_points: 50 },
      inputs: { table: input },
    });
    const curve = tableOf(r.outputs.curve);
    assert.deepEqual([...curve.columns.keys()], ["score", "threshold", "fpr", "tpr", "rejection"]);
    assert.ok(curve.numRows <= 100 && curve.numRows > 20);
    const m = metricsOf(r.outputs.metrics);
    assert.equal(get(m, "negative_weights"), "keep");
    const aucA = get(m, "scores", "a", "auc") as number;
    assert.ok(aucA > 0.6 && aucA < 1);
    assert.ok(
      typeof get(m, "scores", "b", "at_background_efficiency", "0.1", "signal_efficiency", "error") ===
        "number",
    );
    assert.ok(typeof get(m, "scores", "a", "at_signal_efficiency", "0.5", "rejection", "value") === "number");
  });
  void test("negative weight policies change the result: abs ≠ keep, zero drops events", async () => {
    const run = (negative_weights: string) =>
      runStage(rocStage, {
        params: { scores: ["a"], weight: "w", negative_weights },
        inputs: { table: input },
      });
    const [keep, abs, zero] = await Promise.all([run("keep"), run("abs"), run("zero")]);
    const n = (x: typeof keep) =>
      get(metricsOf(x.outputs.metrics), "scores", "a", "background", "n") as number;
    assert.ok(n(zero) < n(keep));
    assert.equal(n(abs), n(keep));
    assert.notEqual(
      get(metricsOf(abs.outputs.metrics), "scores", "a", "auc"),
      get(metricsOf(keep.outputs.metrics), "scores", "a", "auc"),
    );
  });
  void test("a single class is a StageError, as sklearn raises", async () => {
    await assert.rejects(
      runStage(rocStage, {
        params: { scores: ["s"] },
        inputs: {
          table: table(events({ s: Float64Array.from([0.1, 0.2]), label: Float64Array.from([1, 1]) })),
        },
      }),
      (e: unknown) => e instanceof StageError && e.code === "QV_EVAL_ONE_CLASS",
    );
  });
  void test("NaN score and unknown column are StageErrors with row / hint", async () => {
    await assert.rejects(
      runStage(rocStage, {
        params: { scores: ["s"] },
        inputs: {
          table: table(events({ s: Float64Array.from([0.1, NaN]), label: Float64Array.from([0, 1]) })),
        },
      }),
      (e: unknown) => e instanceof StageError && e.code === "QV_MISSING_VALUE" && e.data?.row === 1,
    );
    await assert.rejects(
      runStage(rocStage, {
        params: { scores: ["sc"] },
        inputs: { table: table(events({ s: Float64Array.from([0.1]), label: Float64Array.from([0]) })) },
      }),
      (e: unknown) => e instanceof StageError && e.code === "QV_UNKNOWN_COLUMN",
    );
    await assert.rejects(
      runStage(rocStage, {
        params: { scores: ["s"] },
        inputs: {
          table: table(events({ s: Float64Array.from([0.1, 0.3]), label: Float64Array.from([0, 2]) })),
        },
      }),
      (e: unknown) => e instanceof StageError && e.code === "QV_BAD_LABEL",
    );
  });
});

void describe("ks stage", () => {
  const fx = readFixture<{
    cases: { name: string; a: KsSampleSpec; b: KsSampleSpec; auto: { statistic: number; pvalue: number } }[];
  }>("ks.json");
  void test("per class D and p-value equal ks_2samp on each class", async () => {
    const c = fx.cases.find((x) => x.name === "exact_ties_800_1200")!;
    const d = fx.cases.find((x) => x.name === "exact_60_25")!;
    // Background (label 0) = case c, signal (label 1) = case d.
    const tr = [...ksSample(c.a), ...ksSample(d.a)];
    const te = [...ksSample(c.b), ...ksSample(d.b)];
    const lab = (n0: number, n1: number) =>
      Float64Array.from({ length: n0 + n1 }, (_, i) => (i < n0 ? 0 : 1));
    const r = await runStage(ksStage, {
      params: { scores: ["nn"] },
      inputs: {
        train: table(events({ nn: Float64Array.from(tr), label: lab(c.a.n, d.a.n) })),
        test: table(events({ nn: Float64Array.from(te), label: lab(c.b.n, d.b.n) })),
      },
    });
    const m = metricsOf(r.outputs.metrics);
    close(get(m, "scores", "nn", "background", "statistic"), c.auto.statistic, 1e-12, "D bkg");
    close(get(m, "scores", "nn", "background", "p_value"), c.auto.pvalue, 1e-9, "p bkg");
    close(get(m, "scores", "nn", "signal", "p_value"), d.auto.pvalue, 1e-9, "p sig");
    assert.equal(get(m, "scores", "nn", "signal", "verdict"), "overtrained?");
    assert.equal(get(m, "scores", "nn", "background", "verdict"), "compatible");
    assert.equal(get(m, "scores", "nn", "signal", "method"), "exact");
    assert.equal(tableOf(r.outputs.histograms).numRows, 0);
  });
  void test("binned variant writes the histograms; weighted needs a weight column", async () => {
    const x = Float64Array.from({ length: 400 }, (_, i) => (i * 0.37) % 1);
    const y = Float64Array.from({ length: 400 }, (_, i) => i % 2);
    const w = Float64Array.from({ length: 400 }, (_, i) => 1 + (i % 3));
    const t = table(events({ nn: x, label: y, w }));
    const r = await runStage(ksStage, {
      params: { scores: ["nn"], binned: { bins: 10 }, weighted: true, weight: "w" },
      inputs: { train: t, test: t },
    });
    assert.equal(tableOf(r.outputs.histograms).numRows, 2 * 2 * 10);
    close(
      get(metricsOf(r.outputs.metrics), "scores", "nn", "signal", "statistic"),
      0,
      0,
      "identical samples",
    );
    await assert.rejects(
      runStage(ksStage, { params: { scores: ["nn"], weighted: true }, inputs: { train: t, test: t } }),
      (e: unknown) => e instanceof StageError && e.code === "QV_EVAL_NO_WEIGHT",
    );
  });
});

interface MetricsCase {
  name: string;
  y: number[];
  score: number[];
  weight: number[] | null;
  threshold: number;
  accuracy: number;
  precision: number;
  recall: number;
  f1: number;
  confusion: number[][];
  "log_loss_eps1e-7": number;
  "log_loss_eps1e-15": number;
}

void describe("metrics stage against scikit-learn", () => {
  const fx = readFixture<{ cases: MetricsCase[] }>("metrics.json");
  for (const c of fx.cases) {
    void test(c.name, async () => {
      const cols: Record<string, Float64Array> = {
        p: Float64Array.from(c.score),
        label: Float64Array.from(c.y),
      };
      if (c.weight) cols.w = Float64Array.from(c.weight);
      for (const eps of [1e-7, 1e-15]) {
        const r = await runStage(metricsStage, {
          params: { scores: ["p"], ...(c.weight ? { weight: "w" } : {}), clip_epsilon: eps },
          inputs: { table: table(events(cols)) },
        });
        const m = get(metricsOf(r.outputs.metrics), "scores", "p");
        close(get(m, "accuracy"), c.accuracy, 1e-12, "accuracy");
        close(get(m, "precision"), c.precision, 1e-12, "precision");
        close(get(m, "recall"), c.recall, 1e-12, "recall");
        close(get(m, "f1"), c.f1, 1e-12, "f1");
        const [[tn, fp], [fn, tp]] = c.confusion as [[number, number], [number, number]];
        close(get(m, "confusion", "tn"), tn, 1e-9, "tn");
        close(get(m, "confusion", "fp"), fp, 1e-9, "fp");
        close(get(m, "confusion", "fn"), fn, 1e-9, "fn");
        close(get(m, "confusion", "tp"), tp, 1e-9, "tp");
        close(
          get(m, "binary_cross_entropy"),
          eps === 1e-7 ? c["log_loss_eps1e-7"] : c["log_loss_eps1e-15"],
          1e-12,
          "log loss",
        );
      }
    });
  }
});
