import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { oversampleStage, roundHalfEven } from "../stages/oversample.js";
import { table as tableArtifact } from "../core/stage.js";
import { makeTable, type Table } from "../core/table.js";
import { runStage } from "./support/stage-harness.js";

/** A table with an `id` column and a label: nSig rows of class 1 among nBkg of class 0. */
function labelled(nSig: number, nBkg: number): Table {
  const n = nSig + nBkg;
  const label = Int32Array.from({ length: n }, (_, i) => (i < nSig ? 1 : 0));
  return makeTable([
    ["id", { type: "int32", values: Int32Array.from({ length: n }, (_, i) => i) }],
    ["label", { type: "int32", values: label }],
    ["weight", { type: "float64", values: new Float64Array(n).fill(0.25) }],
  ]);
}

function out(r: Awaited<ReturnType<typeof runStage>>): Table {
  const a = r.outputs.table;
  assert.ok(a?.kind === "table");
  return a.table;
}
const ints = (t: Table, name: string) => (t.columns.get(name) as { values: Int32Array }).values;

void describe("oversample", () => {
  void test("rate 4 on the dark-matter notebook's 491 signal events: 5x signal, factor 5", async () => {
    const t = labelled(491, 23039);
    const r = await runStage(oversampleStage, {
      params: { rate: 4, multiplicity_column: "multiplicity" },
      inputs: { table: tableArtifact(t) },
      seed: 420,
    });
    const o = out(r);
    assert.equal(o.numRows, 23530 + 4 * 491);
    const info = r.outputs.info;
    assert.ok(info?.kind === "metrics");
    assert.equal(info.metrics.factor, 5);
    assert.equal(info.metrics.class_rows_after, 2455);
    assert.equal(info.metrics.rows_before, 23530);
    // The original rows come first, unchanged; the copies are all signal rows.
    const id = ints(o, "id");
    const label = ints(o, "label");
    for (let i = 0; i < 23530; i++) assert.equal(id[i], i);
    for (let i = 23530; i < o.numRows; i++) assert.equal(label[i], 1);
    // Multiplicity = how often the row's original appears; Σ 1/m recovers the original count.
    const seen = new Map<number, number>();
    for (const v of id) seen.set(v, (seen.get(v) ?? 0) + 1);
    const m = ints(o, "multiplicity");
    let recovered = 0;
    for (let i = 0; i < o.numRows; i++) {
      assert.equal(m[i], seen.get(id[i]!));
      recovered += 1 / m[i]!;
    }
    assert.ok(Math.abs(recovered - 23530) < 1e-6);
    // Drawn with replacement: some signal rows appear more than 5 times, some only once.
    const sigTimes = [...seen.entries()].filter(([k]) => k < 491).map(([, v]) => v);
    assert.ok(Math.max(...sigTimes) > 5 && Math.min(...sigTimes) === 1);
  });

  void test("seeded: same seed same copies, another seed other copies", async () => {
    const t = tableArtifact(labelled(50, 200));
    const ids = async (seed: number) => [
      ...ints(
        out(await runStage(oversampleStage, { params: { rate: 1 }, inputs: { table: t }, seed })),
        "id",
      ),
    ];
    assert.deepEqual(await ids(1), await ids(1));
    assert.notDeepEqual(await ids(1), await ids(2));
  });

  void test("ratio: the class grows to int(ratio · n_other), as imbalanced-learn's sampling_strategy", async () => {
    const r = await runStage(oversampleStage, {
      params: { ratio: 0.5 },
      inputs: { table: tableArtifact(labelled(100, 1001)) },
    });
    const info = r.outputs.info;
    assert.ok(info?.kind === "metrics");
    assert.equal(info.metrics.class_rows_after, 500);
    assert.equal(out(r).numRows, 1501);
  });

  void test("rate rounds as pandas' sample(frac=): half to even", async () => {
    assert.deepEqual([2.5, 3.5, 2.4, 2.6, 0].map(roundHalfEven), [2, 4, 2, 3, 0]);
    const r = await runStage(oversampleStage, {
      params: { rate: 0.5 },
      inputs: { table: tableArtifact(labelled(5, 5)) },
    });
    assert.equal(out(r).numRows, 12);
  });

  void test("oversampling a text class", async () => {
    const t = makeTable([
      ["kind", { type: "dict", codes: Int32Array.from([0, 1, 1, 1]), dictionary: ["sig", "bkg"] }],
    ]);
    const r = await runStage(oversampleStage, {
      params: { label: "kind", class: "sig", rate: 2 },
      inputs: { table: tableArtifact(t) },
    });
    assert.deepEqual([...(out(r).columns.get("kind") as { codes: Int32Array }).codes], [0, 1, 1, 1, 0, 0]);
  });

  void test("errors", async () => {
    const t = tableArtifact(labelled(10, 20));
    await assert.rejects(
      runStage(oversampleStage, { params: {}, inputs: { table: t } }),
      /exactly one of rate/,
    );
    await assert.rejects(
      runStage(oversampleStage, { params: { rate: 1, ratio: 1 }, inputs: { table: t } }),
      /exactly one of rate/,
    );
    await assert.rejects(
      runStage(oversampleStage, { params: { ratio: 0.2 }, inputs: { table: t } }),
      /cannot remove rows/,
    );
    await assert.rejects(
      runStage(oversampleStage, { params: { rate: 1, class: 7 }, inputs: { table: t } }),
      /no rows of class 7/,
    );
    await assert.rejects(
      runStage(oversampleStage, { params: { rate: 1, class: "sig" }, inputs: { table: t } }),
      /give the class as a number/,
    );
    const three = makeTable([["label", { type: "int32", values: Int32Array.from([0, 1, 2]) }]]);
    await assert.rejects(
      runStage(oversampleStage, { params: { ratio: 1 }, inputs: { table: tableArtifact(three) } }),
      /exactly two classes/,
    );
  });
});
