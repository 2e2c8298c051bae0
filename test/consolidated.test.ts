/**
 * The one-of-each helpers stages share: the seed mixer, meanStd with an explicit ddof (numpy's
 * values), the AUC every training figure uses (scikit-learn's values), `finite`, and the column
 * reader's rules and error codes.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { deriveSeed } from "../core/seed.js";
import { meanStd } from "../core/stats.js";
import { StageError } from "../core/stage.js";
import type { Table } from "../core/table.js";
import { weightedAuc } from "../stages/lib/eval/auc.js";
import { finite } from "../stages/lib/finite.js";
import {
  binaryLabels,
  classLabels,
  featureColumns,
  numericColumn,
  requireColumn,
  scoreValues,
  weightValues,
} from "../stages/lib/columns.js";
import { genTable, readFixture, repoRoot, type GenSpec } from "./fixtures/eval/gen.js";

void describe("deriveSeed", () => {
  void test("is the engine's mixer for stages too (the value the issue quotes for (42, folds))", () => {
    assert.equal(deriveSeed(42, "folds"), 4224745797);
  });
  void test("labels one character apart give unrelated seeds; results are uint32", () => {
    const a = deriveSeed(7, "fold0");
    const b = deriveSeed(7, "fold1");
    assert.notEqual(a, b);
    // About half the bits differ (the finaliser avalanches); a truncated mixer keeps more alike.
    const differing = (a ^ b).toString(2).replace(/0/g, "").length;
    assert.ok(differing >= 8 && differing <= 24, `${differing} bits differ`);
    for (const s of [0, 1, 0xffffffff, -1]) {
      const v = deriveSeed(s, "x");
      assert.ok(Number.isInteger(v) && v >= 0 && v <= 0xffffffff);
    }
  });
});

interface MeanStdCase {
  name: string;
  values: number[];
  mean: number | null;
  std_ddof0: number | null;
  std_ddof1: number | null;
}

void describe("meanStd against numpy", () => {
  const file = path.join(repoRoot, "test", "fixtures", "stats", "meanstd.json");
  const fx = JSON.parse(fs.readFileSync(file, "utf8")) as { cases: MeanStdCase[] };
  const close = (got: number, want: number | null, what: string) => {
    if (want === null) return assert.ok(Number.isNaN(got), `${what}: ${got}, numpy gives NaN`);
    assert.ok(Math.abs(got - want) <= 1e-12 * Math.max(1, Math.abs(want)), `${what}: ${got} vs ${want}`);
  };
  for (const c of fx.cases)
    void test(c.name, () => {
      for (const ddof of [0, 1] as const) {
        const r = meanStd(c.values, ddof);
        close(r.mean, c.mean, "mean");
        close(r.std, ddof === 0 ? c.std_ddof0 : c.std_ddof1, `std ddof ${ddof}`);
        assert.equal(r.n, c.values.length);
      }
    });
  void test("no values: NaN, as numpy", () => {
    assert.ok(Number.isNaN(meanStd([], 0).mean) && Number.isNaN(meanStd([], 0).std));
  });
});

interface RocCase {
  name: string;
  gen?: GenSpec;
  y?: number[];
  score?: number[];
  weight?: number[] | null;
  auc?: number;
  mann_whitney: number;
}

void describe("weightedAuc against scikit-learn", () => {
  const fx = readFixture<{ cases: RocCase[] }>("roc.json");
  for (const c of fx.cases)
    void test(c.name, () => {
      let y: Uint8Array;
      let s: Float64Array;
      let w: Float64Array | undefined;
      if (c.gen) {
        const g = genTable(c.gen);
        y = Uint8Array.from(g.y);
        s = g.score;
        w = c.gen.weights === "none" ? undefined : g.weight;
      } else {
        y = Uint8Array.from(c.y!);
        s = Float64Array.from(c.score!);
        w = c.weight ? Float64Array.from(c.weight) : undefined;
      }
      const want = c.auc ?? c.mann_whitney;
      const got = weightedAuc(s, y, w);
      assert.ok(Math.abs(got - want) <= 1e-12, `${got} vs ${want}`);
    });
  void test("float32 scores give the AUC of their values; one class gives NaN", () => {
    const s32 = Float32Array.from([0.1, 0.4, 0.35, 0.8]);
    const y = Uint8Array.from([0, 0, 1, 1]);
    assert.equal(weightedAuc(s32, y), weightedAuc(Float64Array.from(s32), y));
    assert.equal(weightedAuc(s32, y), 0.75);
    assert.ok(Number.isNaN(weightedAuc(s32, Uint8Array.from([1, 1, 1, 1]))));
    // Zero total weight of a class is "one class" too.
    assert.ok(Number.isNaN(weightedAuc(s32, y, Float64Array.from([1, 1, 0, 0]))));
  });
});

void describe("finite", () => {
  void test("NaN and ±∞ become null, numbers stay", () => {
    assert.deepEqual([NaN, Infinity, -Infinity, 0, -0.5, 3].map(finite), [null, null, null, 0, -0.5, 3]);
  });
});

void describe("the column reader: one set of rules and codes", () => {
  const t: Table = {
    numRows: 3,
    columns: new Map([
      ["x", { type: "float64", values: Float64Array.from([1, NaN, 3]) }],
      ["inf", { type: "float64", values: Float64Array.from([1, Infinity, 3]) }],
      ["n", { type: "int32", values: Int32Array.from([0, 1, 1]) }],
      ["y", { type: "float64", values: Float64Array.from([0, 2, 1]) }],
      ["half", { type: "float64", values: Float64Array.from([0, 0.5, 1]) }],
      ["s", { type: "dict", codes: Int32Array.from([0, 1, -1]), dictionary: ["a", "b"] }],
    ]),
  };
  const src = { what: "training table", param: ["label"] };
  const codeOf = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      if (e instanceof StageError) return { code: e.code, param: e.param, data: e.data, hint: e.hint };
      throw e;
    }
    assert.fail("no error");
  };
  void test("an unknown column names the nearest one and the param", () => {
    assert.deepEqual(
      codeOf(() => requireColumn(t, "xx", src)),
      {
        code: "QV_UNKNOWN_COLUMN",
        param: ["label"],
        data: { column: "xx" },
        hint: 'did you mean "x"?',
      },
    );
  });
  void test("text where numbers are needed is QV_COLUMN_TYPE, whatever the role", () => {
    for (const f of [
      () => numericColumn(t, "s", src, "a feature"),
      () => binaryLabels(t, "s", src),
      () => weightValues(t, "s", src),
      () => scoreValues(t, "s", src),
      () => featureColumns(t, ["s"], { what: "table", param: ["features"], missing: "allow" }),
    ])
      assert.equal(codeOf(f).code, "QV_COLUMN_TYPE");
  });
  void test("missing values: QV_MISSING_VALUE with the row, where the role forbids them", () => {
    const features = (missing: "allow" | "refuse") =>
      featureColumns(t, ["x"], { what: "table", param: ["features"], missing });
    assert.deepEqual(
      codeOf(() => features("refuse")),
      {
        code: "QV_MISSING_VALUE",
        param: ["features", 0],
        data: { row: 1, column: "x" },
        hint: "fill or filter missing values upstream (load's fill:, or a select stage)",
      },
    );
    assert.ok(Number.isNaN(features("allow")[0]![1]!));
    assert.equal(codeOf(() => weightValues(t, "inf", src)).data?.row, 1);
    assert.equal(codeOf(() => binaryLabels(t, "x", src)).code, "QV_MISSING_VALUE");
    assert.equal(codeOf(() => classLabels(t, "s", src)).code, "QV_MISSING_VALUE");
    assert.equal(codeOf(() => scoreValues(t, "x", src)).code, "QV_MISSING_VALUE");
    // A score may be infinite (it still orders the events).
    assert.equal(scoreValues(t, "inf", src)[1], Infinity);
  });
  void test("labels: 0/1 for binary labels, whole numbers for classes (QV_BAD_LABEL)", () => {
    assert.deepEqual([...binaryLabels(t, "n", src)], [0, 1, 1]);
    assert.deepEqual(
      codeOf(() => binaryLabels(t, "y", src)),
      {
        code: "QV_BAD_LABEL",
        param: ["label"],
        data: { row: 1, column: "y" },
        hint: undefined,
      },
    );
    assert.deepEqual([...classLabels(t, "y", src)], [0, 2, 1]);
    assert.equal(codeOf(() => classLabels(t, "half", src)).code, "QV_BAD_LABEL");
  });
});
