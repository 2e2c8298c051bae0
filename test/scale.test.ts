import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { scaleStage } from "../stages/scale.js";
import { metrics as metricsArtifact, table as tableArtifact } from "../core/stage.js";
import { makeTable, withColumn, type Column, type Table } from "../core/table.js";
import type { JsonObject } from "../core/json.js";
import { runStage } from "./support/stage-harness.js";
import { f64, readSharedFixture, readTransformsFixture } from "./fixtures/transforms/read.js";

type Num = number | null;
interface ScalerCase {
  name: string;
  X_fit: Num[][];
  X_apply: Num[][];
  standard: {
    mean: number[];
    var: number[];
    scale: number[];
    n_samples_seen: number[];
    fit: Num[][];
    apply: Num[][];
  };
  minmax: {
    range: [number, number];
    data_min: number[];
    data_max: number[];
    scale: number[];
    min: number[];
    apply: Num[][];
  }[];
  minmax_clip: { range: [number, number]; apply: Num[][] };
}
interface SharedScalerCase {
  X_fit: number[][];
  X_apply: number[][];
  standard: { mean: number[]; scale: number[]; apply: number[][] };
  minmax_0_1: { min: number[]; max: number[]; apply: number[][] };
  minmax_m1_1: { apply: number[][] };
}

const REL = 1e-12;
function close(got: number, want: Num, what: string): void {
  if (want === null) return assert.ok(Number.isNaN(got), `${what}: got ${got}, want NaN`);
  const tol = REL * Math.max(Math.abs(want), 1e-300);
  assert.ok(
    Math.abs(got - want) <= tol,
    `${what}: got ${got}, want ${want} (rel diff ${Math.abs(got - want) / Math.abs(want)})`,
  );
}

/** Column-major lists to a table with columns x0, x1, ... plus label and weight columns. */
function tableOf(cols: Num[][], extra = true): Table {
  const n = cols[0]!.length;
  const entries: [string, Column][] = cols.map((c, j) => [`x${j}`, { type: "float64", values: f64(c) }]);
  if (extra) {
    entries.push(["label", { type: "int32", values: Int32Array.from({ length: n }, (_, i) => i % 2) }]);
    entries.push(["weight", { type: "float64", values: new Float64Array(n).fill(2.5) }]);
  }
  return makeTable(entries);
}

function outTable(r: Awaited<ReturnType<typeof runStage>>): Table {
  const a = r.outputs.table;
  assert.ok(a?.kind === "table");
  return a.table;
}
function outScaler(r: Awaited<ReturnType<typeof runStage>>): JsonObject {
  const a = r.outputs.scaler;
  assert.ok(a?.kind === "metrics");
  return a.metrics;
}
function values(t: Table, name: string): Float64Array {
  const c = t.columns.get(name);
  assert.ok(c?.type === "float64", `${name} is float64`);
  return c.values;
}
function compareColumns(t: Table, want: Num[][], what: string): void {
  want.forEach((col, j) => {
    const got = values(t, `x${j}`);
    assert.equal(got.length, col.length);
    col.forEach((w, i) => close(got[i]!, w, `${what} x${j}[${i}]`));
  });
}

const fx = readTransformsFixture<{ cases: ScalerCase[] }>("scalers.json");

void describe("scale against scikit-learn", () => {
  for (const c of fx.cases) {
    void test(`StandardScaler: ${c.name}`, async () => {
      const fit = tableArtifact(tableOf(c.X_fit));
      const r = await runStage(scaleStage, {
        params: { method: "standard" },
        inputs: { fit, apply: tableArtifact(tableOf(c.X_apply)) },
      });
      const cols = outScaler(r).columns as {
        name: string;
        mean: number;
        var: number;
        scale: number;
        n_samples_seen: number;
      }[];
      assert.deepEqual(
        cols.map((x) => x.name),
        c.X_fit.map((_, j) => `x${j}`),
      );
      cols.forEach((x, j) => {
        close(x.mean, c.standard.mean[j]!, `mean ${j}`);
        close(x.var, c.standard.var[j]!, `var ${j}`);
        close(x.scale, c.standard.scale[j]!, `scale ${j}`);
        assert.equal(x.n_samples_seen, c.standard.n_samples_seen[j]);
      });
      compareColumns(outTable(r), c.standard.apply, "apply");
      // Without `apply`, the fit table itself is transformed.
      const self = await runStage(scaleStage, { params: {}, inputs: { fit } });
      compareColumns(outTable(self), c.standard.fit, "fit");
    });
    for (const m of c.minmax) {
      void test(`MinMaxScaler [${m.range.join(", ")}]: ${c.name}`, async () => {
        const r = await runStage(scaleStage, {
          params: { method: "minmax", range: m.range },
          inputs: { fit: tableArtifact(tableOf(c.X_fit)), apply: tableArtifact(tableOf(c.X_apply)) },
        });
        const s = outScaler(r);
        assert.deepEqual(s.range, m.range);
        (s.columns as { data_min: number; data_max: number; scale: number; min: number }[]).forEach(
          (x, j) => {
            close(x.data_min, m.data_min[j]!, `data_min ${j}`);
            close(x.data_max, m.data_max[j]!, `data_max ${j}`);
            close(x.scale, m.scale[j]!, `scale ${j}`);
            close(x.min, m.min[j]!, `min ${j}`);
          },
        );
        compareColumns(outTable(r), m.apply, "apply");
      });
    }
    void test(`MinMaxScaler clip: ${c.name}`, async () => {
      const r = await runStage(scaleStage, {
        params: { method: "minmax", range: c.minmax_clip.range, clip: true },
        inputs: { fit: tableArtifact(tableOf(c.X_fit)), apply: tableArtifact(tableOf(c.X_apply)) },
      });
      compareColumns(outTable(r), c.minmax_clip.apply, "apply");
    });
  }

  void test("shared scalers fixture (row-major, constant column)", async (t) => {
    const shared = readSharedFixture<{ cases: SharedScalerCase[] }>("scalers.json");
    if (!shared) return t.skip("shared fixtures folder not present");
    const transpose = (rows: number[][]) => rows[0]!.map((_, j) => rows.map((r) => r[j]!));
    for (const c of shared.cases) {
      const fit = tableArtifact(tableOf(transpose(c.X_fit)));
      const apply = tableArtifact(tableOf(transpose(c.X_apply)));
      const std = await runStage(scaleStage, { params: {}, inputs: { fit, apply } });
      (outScaler(std).columns as { mean: number; scale: number }[]).forEach((x, j) => {
        close(x.mean, c.standard.mean[j]!, "mean");
        close(x.scale, c.standard.scale[j]!, "scale");
      });
      compareColumns(outTable(std), transpose(c.standard.apply), "standard");
      const m01 = await runStage(scaleStage, { params: { method: "minmax" }, inputs: { fit, apply } });
      compareColumns(outTable(m01), transpose(c.minmax_0_1.apply), "minmax [0,1]");
      const m11 = await runStage(scaleStage, {
        params: { method: "minmax", range: [-1, 1] },
        inputs: { fit, apply },
      });
      compareColumns(outTable(m11), transpose(c.minmax_m1_1.apply), "minmax [-1,1]");
    }
  });
});

void describe("scale columns and ports", () => {
  const t = makeTable([
    ["a", { type: "float64", values: Float64Array.from([1, 2, 3, 4]) }],
    ["n", { type: "int32", values: Int32Array.from([1, 1, 2, 2]) }],
    ["label", { type: "int32", values: Int32Array.from([0, 1, 0, 1]) }],
    ["weight", { type: "float64", values: Float64Array.from([0.5, 0.5, 1, 1]) }],
    ["kind", { type: "dict", codes: Int32Array.from([0, 0, 1, 1]), dictionary: ["x", "y"] }],
  ]);

  void test("by default scales float64 columns except label and weights; others pass through", async () => {
    const r = await runStage(scaleStage, {
      params: {},
      inputs: {
        fit: tableArtifact(
          withColumn(t, "training_weight", { type: "float64", values: new Float64Array(4) }),
        ),
      },
    });
    const o = outTable(r);
    assert.deepEqual([...o.columns.keys()], ["a", "n", "label", "weight", "kind", "training_weight"]);
    assert.equal(o.columns.get("weight"), t.columns.get("weight"));
    assert.equal(o.columns.get("n"), t.columns.get("n"));
    assert.notEqual(values(o, "a"), values(t, "a"));
    assert.deepEqual(r.summary?.columns, ["a"]);
    assert.match(r.notes.join("\n"), /integer columns left unscaled: n/);
  });

  void test("explicit columns may include int32 (becomes float64); exclude replaces the default", async () => {
    const r = await runStage(scaleStage, {
      params: { columns: ["n"], method: "minmax" },
      inputs: { fit: tableArtifact(t) },
    });
    assert.deepEqual([...values(outTable(r), "n")], [0, 0, 1, 1]);
    const e = await runStage(scaleStage, { params: { exclude: ["a"] }, inputs: { fit: tableArtifact(t) } });
    assert.deepEqual(e.summary?.columns, ["weight"]);
  });

  void test("a fitted scaler is reused on another table through the scaler port", async () => {
    const fitted = await runStage(scaleStage, {
      params: { method: "minmax", range: [-1, 1] },
      inputs: { fit: tableArtifact(t) },
    });
    const other = makeTable([["a", { type: "float64", values: Float64Array.from([0, 4, 5.5]) }]]);
    const r = await runStage(scaleStage, {
      params: {},
      inputs: { scaler: metricsArtifact(outScaler(fitted)), apply: tableArtifact(other) },
    });
    assert.deepEqual([...values(outTable(r), "a")], [-1 - 2 / 3, 1, 2]);
    assert.equal(r.summary?.method, "minmax");
  });

  void test("a constant column gets scale 1 (standard) and maps to the low end (minmax)", async () => {
    const c = makeTable([["c", { type: "float64", values: new Float64Array(5).fill(0.1) }]]);
    const s = await runStage(scaleStage, { params: {}, inputs: { fit: tableArtifact(c) } });
    assert.equal((outScaler(s).columns as { scale: number }[])[0]!.scale, 1);
    const m = await runStage(scaleStage, {
      params: { method: "minmax", range: [-1, 1] },
      inputs: { fit: tableArtifact(c) },
    });
    assert.deepEqual([...values(outTable(m), "c")], [-1, -1, -1, -1, -1]);
  });

  void test("errors", async () => {
    const fit = tableArtifact(t);
    const rejects = (
      params: Record<string, unknown>,
      inputs: NonNullable<Parameters<typeof runStage>[1]>["inputs"],
      re: RegExp,
    ) => assert.rejects(runStage(scaleStage, { params, inputs }), re);
    await rejects({ columns: ["aa"] }, { fit }, /no column "aa"/);
    await rejects({ columns: ["kind"] }, { fit }, /text categories/);
    await rejects({ exclude: ["wieght"] }, { fit }, /no column "wieght"/);
    await rejects({ range: [0, 1] }, { fit }, /range applies to method: minmax only/);
    await rejects({ method: "minmax", range: [1, 0] }, { fit }, /low end must be below/);
    await rejects({ columns: ["a"], exclude: ["b"] }, { fit }, /either columns .* or exclude/);
    await rejects({}, {}, /needs a `fit` table/);
    await rejects({}, { scaler: metricsArtifact({ method: "robust", columns: [] }) }, /not a fitted scaler/);
    const missing = makeTable([["b", { type: "float64", values: Float64Array.from([1]) }]]);
    await rejects({}, { fit, apply: tableArtifact(missing) }, /apply table has no column "a"/);
    const allNaN = makeTable([["a", { type: "float64", values: Float64Array.from([NaN, NaN]) }]]);
    await rejects({}, { fit: tableArtifact(allNaN) }, /no values in the fit table/);
  });
});
