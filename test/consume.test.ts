/**
 * Stages that consume their input (select, scale, split, roc, significance: `ctx.inputs.consume`) let go of columns as
 * they rewrite them, and the engine drops its in-memory hand-off once the last consumer holds a
 * value. Neither may change what any stage sees: a table two stages read is the same for both,
 * whichever consumes it and in whatever order they run.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Store } from "../cache/store.js";
import { consumeTable, float64Column, makeTable } from "../core/table.js";
import { readLastRun } from "../engine/history.js";
import { readManifestAs } from "../engine/records.js";
import { Rig } from "./support/rig.js";

void describe("consumeTable", () => {
  void test("release drops a column from the consumer's view only", () => {
    const x = new Float64Array([1, 2, 3]);
    const t = makeTable([
      ["x", float64Column(x)],
      ["y", float64Column(new Float64Array([4, 5, 6]))],
    ]);
    const c = consumeTable(t);
    c.release("x");
    assert.deepEqual([...c.table.columns.keys()], ["y"]);
    assert.deepEqual([...t.columns.keys()], ["x", "y"], "the caller's table is whole");
    const kept = t.columns.get("x")!;
    assert.equal(kept.type === "float64" ? kept.values : undefined, x);
    assert.equal(c.table.numRows, 3);
  });
});

/** Output object hashes of every stage of the last run of `pipeline` in the rig's store. */
async function outputHashes(rig: Rig, pipeline: string): Promise<Record<string, Record<string, string>>> {
  const store = await Store.open(rig.cacheDir);
  const last = await readLastRun(store, pipeline);
  assert.ok(last, "a last run is recorded");
  const out: Record<string, Record<string, string>> = {};
  for (const [id, s] of Object.entries(last.stages)) {
    const m = await readManifestAs(store, s.key, "stage-result");
    assert.ok(m, `manifest of ${id}`);
    out[id] = Object.fromEntries(Object.entries(m.objects).map(([p, r]) => [p, r.hash]));
  }
  return out;
}

const shared = `quiver: 1
name: shared
stages:
  events: { type: generate, with: { signal: 400, background: 800 } }
  cuts: { type: select, inputs: { table: events }, with: { where: "lep1_pt > 30" } }
  scaled: { type: scale, inputs: { fit: events }, with: { exclude: [label, weight, n_jets] } }
  derived: { type: define, inputs: { table: events }, with: { columns: { pt_sum: "lep1_pt + lep2_pt" } } }
  rescaled: { type: scale, inputs: { scaler: scaled.scaler, apply: cuts.table } }
  bdt:
    type: train
    inputs: { train: events }
    with: { features: [lep1_pt, m_ll], model: { kind: gbt, num_trees: 3, max_depth: 2 } }
  scores: { type: predict, inputs: { model: bdt.model, table: events } }
  roc: { type: roc, inputs: { table: scores.table }, with: { scores: [bdt] } }
  parts: { type: split, inputs: { table: events }, with: { test: 0.3, validation: 0.2 } }
  signif: { type: significance, inputs: { table: scores.table }, with: { score: bdt } }
`;

/** One consumer per run, so nothing is shared in memory: the reference for each stage's output. */
const alone: Record<string, string> = {
  cuts: "cuts",
  scaled: "scaled",
  derived: "derived",
  rescaled: "rescaled",
  roc: "roc",
  parts: "parts",
  signif: "signif",
};

void describe("through the engine", () => {
  void test("a table read by several stages, some consuming it, is the same for each; outputs equal runs of one stage at a time", async () => {
    const apart = Rig.create({ "p.yaml": shared });
    const rigs = [apart];
    try {
      // The stages one `--until` at a time, each in its own process, reading its inputs from the
      // store: consuming could not have touched what another stage saw.
      const one: Record<string, Record<string, string>> = {};
      for (const id of Object.keys(alone)) {
        const r = await apart.spawnAndWait("run", "p.yaml", "--until", id, "--isolate");
        assert.equal(r.code, 0, r.stderr);
        Object.assign(one, await outputHashes(apart, "shared"));
      }
      for (const jobs of ["1", "2"]) {
        const together = Rig.create({ "p.yaml": shared });
        rigs.push(together);
        const r = await together.quiver("run", "p.yaml", "--jobs", jobs);
        assert.equal(r.code, 0, r.stderr);
        const all = await outputHashes(together, "shared");
        for (const id of Object.keys(alone))
          assert.deepEqual(all[id], one[id], `outputs of ${id}, --jobs ${jobs}`);
        // What was consumed is intact in the store: a rerun finds every result.
        const again = await together.quiver("run", "p.yaml");
        assert.equal(again.code, 0);
        assert.deepEqual(again.ran, []);
      }
    } finally {
      for (const r of rigs) r.remove();
    }
  });
});
