/**
 * The trainers' threads follow the run's `--jobs`, end to end: a pipeline run with one job and with
 * two gives the same cache keys and byte-identical outputs, the threads used are in each run's
 * summary, and a store filled at one job count is a full cache hit at the other.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { EngineEvent } from "../engine/events.js";
import { Rig, type RunResult } from "./support/rig.js";

// `big`: 60k + 60k rows x 10 features, enough bin codes for the tree trainer to take 2 threads;
// `small`: a network wide enough (256 units, batch 256) for the wasm trainer to take 2.
const PIPELINE = `quiver: 1
name: threads
seed: 3
stages:
  big: { type: generate, with: { signal: 60000, background: 60000 } }
  small: { type: generate, with: { signal: 400, background: 400 } }
  bdt:
    type: train
    inputs: { train: big }
    with:
      features: [lep1_pt, lep1_eta, lep2_pt, lep2_eta, dphi_ll, m_ll, met, n_jets, ht, met_sig]
      weight: weight
      model: { kind: gbt, num_trees: 3, max_depth: 4 }
  nn:
    type: train
    inputs: { train: small }
    with:
      features: [lep1_pt, m_ll, met]
      weight: weight
      model: { kind: nn, layers: [{ dense: 256 }, { dense: 128 }], epochs: 2, batch_size: 256 }
`;

type Finished = Extract<EngineEvent, { type: "finished" }>;
function finished(r: RunResult, stage: string): Finished {
  const e = r.events.find((x): x is Finished => x.type === "finished" && x.stage === stage);
  assert.ok(e, `${stage} ran: ${r.stderr}`);
  return e;
}

void describe("trainer threads follow --jobs", () => {
  void test("same keys and outputs at 1 and 2 jobs; threads in the run summary; a hit at the other count", async () => {
    const one = Rig.create({ "p.yaml": PIPELINE });
    const two = Rig.create({ "p.yaml": PIPELINE });
    try {
      const r1 = await one.quiver("run", "p.yaml", "--jobs", "1");
      const r2 = await two.quiver("run", "p.yaml", "--jobs", "2");
      assert.equal(r1.code, 0, r1.stderr);
      assert.equal(r2.code, 0, r2.stderr);
      for (const stage of ["bdt", "nn"]) {
        const a = finished(r1, stage);
        const b = finished(r2, stage);
        assert.equal(a.key, b.key, `${stage}: the key does not depend on --jobs`);
        assert.deepEqual(a.outputs, b.outputs, `${stage}: byte-identical model, history and metrics`);
        assert.equal(a.summary?.threads, 1, `${stage} at --jobs 1`);
        assert.equal(b.summary?.threads, 2, `${stage} at --jobs 2`);
      }
      const again = await one.quiver("run", "p.yaml", "--jobs", "2");
      assert.equal(again.code, 0, again.stderr);
      assert.deepEqual(again.ran, []);
      assert.deepEqual(again.cached.sort(), ["bdt", "big", "nn", "small"]);
    } finally {
      one.remove();
      two.remove();
    }
  });
});
