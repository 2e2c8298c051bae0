/**
 * The notebooks' own statistics in the ks and significance stages, against references computed
 * the notebook's way (test/fixtures/gen/notebook_stats.py: matplotlib/numpy histograms and
 * scipy's ks_2samp; numpy sums for the significance figures), and the `weight:` without
 * `weighted: true` diagnostic.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { metrics as metricsArtifact, table as tableArtifact } from "../core/stage.js";
import { float64Column, makeTable, numericValues, type Table } from "../core/table.js";
import { validate } from "../core/schema.js";
import { ksStage } from "../stages/ks.js";
import { significanceStage } from "../stages/significance.js";
import { binnedTest, histogramAtEdges, histogramUniform } from "../stages/lib/eval/ks-binned.js";
import { runStage } from "./support/stage-harness.js";
import { main } from "../cli/main.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const readFixture = <T>(name: string): T =>
  JSON.parse(fs.readFileSync(path.join(repoRoot, "test", "fixtures", "eval", name), "utf8")) as T;

interface Columns {
  score: number[];
  label: number[];
  weight: number[];
}
interface KsClass {
  train_heights: number[];
  test_heights: number[];
  statistic: number;
  pvalue: number;
  test_outside: number;
}
interface KsCase {
  train: Columns;
  test: Columns;
  bins: number;
  test_fraction: number;
  edges: number[];
  signal: KsClass;
  background: KsClass;
}

function tableOf(c: Columns): Table {
  return makeTable([
    ["score", float64Column(Float64Array.from(c.score))],
    ["label", float64Column(Float64Array.from(c.label))],
    ["weight", float64Column(Float64Array.from(c.weight))],
  ]);
}

function close(a: number, b: number, rel: number, what: string): void {
  assert.ok(Math.abs(a - b) <= rel * Math.max(Math.abs(b), 1e-300), `${what}: ${a} vs ${b}`);
}

function closeAll(a: ArrayLike<number>, b: readonly number[], rel: number, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  for (let i = 0; i < b.length; i++)
    if (b[i] === 0) assert.equal(a[i], 0, `${what}[${i}]`);
    else close(a[i]!, b[i]!, rel, `${what}[${i}]`);
}

void describe("ks binned, compare: bin_heights (the dark-matter notebook's overtraining check)", () => {
  const fx = readFixture<{ cases: KsCase[] }>("ks_bin_heights.json");

  void test("bin heights, D and p equal matplotlib/numpy histograms and scipy's ks_2samp", async () => {
    for (const [ci, c] of fx.cases.entries()) {
      const r = await runStage(ksStage, {
        params: {
          scores: ["score"],
          weight: "weight",
          weighted: true,
          binned: { bins: c.bins, compare: "bin_heights", range: "train", test_fraction: c.test_fraction },
        },
        inputs: { train: tableArtifact(tableOf(c.train)), test: tableArtifact(tableOf(c.test)) },
      });
      const m = r.outputs.metrics;
      assert.ok(m?.kind === "metrics");
      const perClass = (m.metrics.scores as Record<string, Record<string, Record<string, unknown>>>).score!;
      const h = r.outputs.histograms;
      assert.ok(h?.kind === "table");
      const cls = numericValues(h.table.columns.get("class")!);
      const sample = h.table.columns.get("sample")!;
      assert.ok(sample.type === "dict");
      const content = numericValues(h.table.columns.get("content")!);
      const low = numericValues(h.table.columns.get("bin_low")!);
      for (const [key, code] of [
        ["background", 0],
        ["signal", 1],
      ] as const) {
        const want = c[key];
        const heights = (smp: string): number[] =>
          [...content.keys()]
            .filter((i) => cls[i] === code && sample.dictionary[sample.codes[i]!] === smp)
            .map((i) => content[i]!);
        const what = `case ${ci} ${key}`;
        // numpy's own arithmetic: the train heights are bit-identical, the test heights (cumulative
        // sums of sorted weights, whose order among tied scores numpy leaves open) agree to rounding.
        assert.deepEqual(heights("train"), want.train_heights, `${what} train heights`);
        closeAll(heights("test"), want.test_heights, 1e-12, `${what} test heights`);
        const got = perClass[key]!;
        close(got.statistic as number, want.statistic, 1e-12, `${what} D`);
        close(got.p_value as number, want.pvalue, 1e-10, `${what} p`);
        assert.equal(got.compare, "bin_heights");
        assert.equal((got.outside as Record<string, number>).test, want.test_outside, `${what} outside`);
      }
      // The edges: numpy.linspace over the train range of both classes, bit for bit.
      assert.deepEqual([...new Set(low)], c.edges.slice(0, -1));
    }
  });

  void test("outside: drop leaves out-of-range values out (as numpy.histogram), clamp folds them into the edge bins", () => {
    const edges = Float64Array.from([0, 0.5, 1]);
    const train = { x: Float64Array.from([0.1, 0.2, 0.6, 0.9]), w: undefined };
    const test = { x: Float64Array.from([-0.2, 0.1, 0.7, 1.3, 1.4]), w: undefined };
    assert.deepEqual([...histogramAtEdges(test.x, undefined, edges)], [1, 1]);
    assert.deepEqual([...histogramUniform(test.x, undefined, edges)], [1, 1]);
    const o = { compare: "bin_heights", testFraction: undefined, method: "auto" } as const;
    const dropped = binnedTest(train, test, edges, { ...o, outside: "drop" });
    assert.deepEqual([...dropped.countsTest], [1, 1]);
    assert.deepEqual(dropped.outsideTest, { n: 3, weight: 3 });
    const clamped = binnedTest(train, test, edges, { ...o, outside: "clamp" });
    assert.deepEqual([...clamped.countsTest], [2, 3]);
    assert.deepEqual([...clamped.countsTrain], [2, 2]);
  });

  void test("the ROOT convention is unchanged by the new options' defaults", async () => {
    const c = fx.cases[0]!;
    const base = { scores: ["score"], weight: "weight", weighted: true };
    const inputs = { train: tableArtifact(tableOf(c.train)), test: tableArtifact(tableOf(c.test)) };
    const a = await runStage(ksStage, { params: { ...base, binned: { bins: 20 } }, inputs });
    const b = await runStage(ksStage, {
      params: { ...base, binned: { bins: 20, compare: "cumulative", range: "per_class", outside: "drop" } },
      inputs,
    });
    assert.deepEqual(a.outputs, b.outputs);
  });
});

void describe("ks: weight without weighted: true", () => {
  void test("is a located warning, not silence", () => {
    const { value } = validate(ksStage.params.spec, { scores: ["nn"], weight: "w" });
    const problems = ksStage.check!(value as Parameters<NonNullable<typeof ksStage.check>>[0]);
    assert.deepEqual(
      problems.map((p) => [p.code, p.severity, p.path]),
      [["QV_PARAM_UNUSED", "warning", ["weight"]]],
    );
    const { value: ok } = validate(ksStage.params.spec, { scores: ["nn"], weight: "w", weighted: true });
    assert.deepEqual(ksStage.check!(ok as Parameters<NonNullable<typeof ksStage.check>>[0]), []);
  });
});

interface BestRef {
  params: Record<string, unknown>;
  best_threshold: number;
  best_z: number;
  s: number;
  b: number;
  s_error: number;
  b_error: number;
  n_signal: number;
  n_background: number;
  z_by_formula: Record<string, number>;
}

void describe("significance: the best cut in every convention, with S, B and their uncertainties", () => {
  const fx = readFixture<{ table: Columns; notebook: BestRef; asimov: BestRef }>(
    "significance_all_formulas.json",
  );
  const input = tableArtifact(tableOf(fx.table));

  async function best(params: Record<string, unknown>, oversampling?: number) {
    const r = await runStage(significanceStage, {
      params: { score: "score", weight: "weight", ...params },
      inputs: {
        table: input,
        ...(oversampling ? { oversampling: metricsArtifact({ factor: oversampling }) } : {}),
      },
    });
    const m = r.outputs.metrics;
    assert.ok(m?.kind === "metrics");
    return m.metrics.best as Record<string, unknown>;
  }

  function check(got: Record<string, unknown>, want: BestRef, what: string): void {
    assert.equal(got.threshold, want.best_threshold, `${what} threshold`);
    assert.equal(got.n_signal, want.n_signal);
    assert.equal(got.n_background, want.n_background);
    for (const k of ["s", "b", "s_error", "b_error"] as const)
      close(got[k] as number, want[k], 1e-13, `${what} ${k}`);
    close(got.z as number, want.best_z, 1e-13, `${what} z`);
    const z = got.z_by_formula as Record<string, number>;
    assert.deepEqual(Object.keys(z).sort(), Object.keys(want.z_by_formula).sort());
    for (const [f, v] of Object.entries(want.z_by_formula)) close(z[f]!, v, 1e-12, `${what} ${f}`);
  }

  void test("the notebook's scan (S/5 over √(B + 0.001), 24 cuts from 0)", async () => {
    const { signal_scale: _scale, ...scan } = fx.notebook.params;
    // The ÷5 as the notebook applies it, through the oversampling factor.
    check(await best({ ...scan, min_background: 1e-9 }, 5), fx.notebook, "notebook");
  });

  void test("an Asimov scan with a 20 % background uncertainty", async () => {
    check(await best(fx.asimov.params), fx.asimov, "asimov");
  });
});

void describe("the new params' diagnostics point at the YAML", () => {
  void test("rng: numpy without random_state is an error, ks weight without weighted a warning, each located", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-diag-"));
    try {
      const file = path.join(dir, "diag.yaml");
      fs.writeFileSync(
        file,
        [
          "quiver: 1",
          "name: diag",
          "stages:",
          "  events:",
          "    type: generate",
          "    with: { signal: 500, background: 500 }",
          "  split:",
          "    type: split",
          "    inputs: { table: events }",
          "    with: { test: 0.3, rng: numpy }",
          "  ks:",
          "    type: ks",
          "    inputs: { train: split.train, test: split.test }",
          "    with: { scores: [m_ll], weight: weight }",
          "",
        ].join("\n"),
      );
      const lines: string[] = [];
      const io = { out: (s: string) => lines.push(s), err: (s: string) => lines.push(s), color: false };
      const code = await main(["status", file, "--cache-dir", path.join(dir, "store")], io);
      const text = lines.join("\n");
      assert.equal(code, 2, text);
      assert.match(text, /diag\.yaml:10:29 error QV_NUMPY_SEED: split: rng: numpy needs random_state/);
      assert.match(text, /diag\.yaml:14:37 warning QV_PARAM_UNUSED: ks: weight "weight" is ignored/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
