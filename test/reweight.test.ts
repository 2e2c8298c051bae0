import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { reweightStage } from "../stages/reweight.js";
import { table as tableArtifact } from "../core/stage.js";
import { makeTable, type Table } from "../core/table.js";
import { Rng } from "../stages/lib/random.js";
import { runStage } from "./support/stage-harness.js";

/** nSig signal and nBkg background rows with log-normal weights, some negative. */
function events(nSig: number, nBkg: number, seed = 1, negative = 0.1): Table {
  const rng = new Rng(seed);
  const n = nSig + nBkg;
  const label = Int32Array.from({ length: n }, (_, i) => (i < nSig ? 1 : 0));
  const weight = Float64Array.from({ length: n }, (_, i) => {
    const w = (label[i] ? 4e-5 : 1.2e-3) * Math.exp(0.5 * rng.normal());
    return rng.uniform() < negative ? -w : w;
  });
  return makeTable([
    ["label", { type: "int32", values: label }],
    ["weight", { type: "float64", values: weight }],
  ]);
}

function sums(t: Table, column: string): { signal: number; background: number } {
  const l = t.columns.get("label");
  const w = t.columns.get(column);
  assert.ok(l?.type === "int32" && w?.type === "float64");
  const out = { signal: 0, background: 0 };
  for (let i = 0; i < t.numRows; i++) out[l.values[i] === 1 ? "signal" : "background"] += w.values[i]!;
  return out;
}

function out(r: Awaited<ReturnType<typeof runStage>>): Table {
  const a = r.outputs.table;
  assert.ok(a?.kind === "table");
  return a.table;
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

void describe("reweight", () => {
  void test("equalize reproduces the Higgs notebook's training sums: Σ signal = Σ background = 268608", async () => {
    // The notebook's training set: 221714 signal and 315502 background MC events.
    const t = events(221714, 315502);
    const r = await runStage(reweightStage, { inputs: { table: tableArtifact(t) } });
    const s = sums(out(r), "training_weight");
    assert.ok(rel(s.signal, 268608) < 1e-10, `signal ${s.signal}`);
    assert.ok(rel(s.background, 268608) < 1e-10, `background ${s.background}`);
    // Every weight is |w| times its class factor n / (2 Σ|w|).
    const w = t.columns.get("weight")!;
    const tw = out(r).columns.get("training_weight")!;
    assert.ok(w.type === "float64" && tw.type === "float64");
    const absSum = { signal: 0, background: 0 };
    const label = (t.columns.get("label") as { values: Int32Array }).values;
    w.values.forEach((x, i) => (absSum[label[i] ? "signal" : "background"] += Math.abs(x)));
    for (const i of [0, 1, 2, 1000, 537215]) {
      const cls = label[i] ? "signal" : "background";
      assert.ok(rel(tw.values[i]!, (Math.abs(w.values[i]!) * t.numRows) / (2 * absSum[cls])) < 1e-12);
    }
    // The original weights are untouched.
    assert.equal(out(r).columns.get("weight"), t.columns.get("weight"));
  });

  void test("TMVA EqualNumEvents: both classes sum to the number of signal events", async () => {
    const r = await runStage(reweightStage, {
      params: { mode: "EqualNumEvents" },
      inputs: { table: tableArtifact(events(300, 1700)) },
    });
    const s = sums(out(r), "training_weight");
    assert.ok(rel(s.signal, 300) < 1e-12 && rel(s.background, 300) < 1e-12, JSON.stringify(s));
  });

  void test("TMVA NumEvents: each class sums to its own number of events", async () => {
    const r = await runStage(reweightStage, {
      params: { mode: "NumEvents" },
      inputs: { table: tableArtifact(events(300, 1700)) },
    });
    const s = sums(out(r), "training_weight");
    assert.ok(rel(s.signal, 300) < 1e-12 && rel(s.background, 1700) < 1e-12, JSON.stringify(s));
  });

  void test("None: only |w|, or the weights unchanged with abs: false", async () => {
    const t = events(10, 20, 3, 0.5);
    const w = (t.columns.get("weight") as { values: Float64Array }).values;
    const a = await runStage(reweightStage, {
      params: { mode: "None" },
      inputs: { table: tableArtifact(t) },
    });
    assert.deepEqual(
      [...(out(a).columns.get("training_weight") as { values: Float64Array }).values],
      [...w].map(Math.abs),
    );
    const b = await runStage(reweightStage, {
      params: { mode: "None", abs: false, out: "w2" },
      inputs: { table: tableArtifact(t) },
    });
    assert.deepEqual([...(out(b).columns.get("w2") as { values: Float64Array }).values], [...w]);
    assert.ok(b.notes.some((n) => /negative weights kept/.test(n)));
  });

  void test("signal given as a category of a text label column", async () => {
    const t = makeTable([
      ["process", { type: "dict", codes: Int32Array.from([0, 1, 1, 0, 1]), dictionary: ["DM_300", "ZZ"] }],
      ["weight", { type: "float64", values: Float64Array.from([1, 2, 3, 3, 5]) }],
    ]);
    const r = await runStage(reweightStage, {
      params: { label: "process", signal: "DM_300" },
      inputs: { table: tableArtifact(t) },
    });
    const tw = (out(r).columns.get("training_weight") as { values: Float64Array }).values;
    // Signal Σ = 4, background Σ = 10; 5 events: each class sums to 2.5.
    assert.ok(rel(tw[0]! + tw[3]!, 2.5) < 1e-12 && rel(tw[1]! + tw[2]! + tw[4]!, 2.5) < 1e-12);
    assert.deepEqual(r.summary?.events, { signal: 2, background: 3 });
  });

  void test("errors", async () => {
    const t = tableArtifact(events(0, 10));
    await assert.rejects(runStage(reweightStage, { inputs: { table: t } }), /no signal events/);
    await assert.rejects(
      runStage(reweightStage, { params: { weight: "wieght" }, inputs: { table: t } }),
      /no column "wieght"/,
    );
    const nan = makeTable([
      ["label", { type: "int32", values: Int32Array.from([0, 1]) }],
      ["weight", { type: "float64", values: Float64Array.from([1, NaN]) }],
    ]);
    await assert.rejects(
      runStage(reweightStage, { inputs: { table: tableArtifact(nan) } }),
      (e: { code?: string; data?: { row?: number } }) => e.code === "QV_MISSING_VALUE" && e.data?.row === 1,
    );
    const cancel = makeTable([
      ["label", { type: "int32", values: Int32Array.from([0, 1, 1]) }],
      ["weight", { type: "float64", values: Float64Array.from([1, 1, -1]) }],
    ]);
    await assert.rejects(
      runStage(reweightStage, { params: { abs: false }, inputs: { table: tableArtifact(cancel) } }),
      /sum to 0/,
    );
  });
});
