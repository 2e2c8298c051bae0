import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { runStage } from "./support/stage-harness.js";
import { StageError, table as tableValue, type ArtifactValue, type ModelArtifact } from "../core/stage.js";
import type { Table } from "../core/table.js";
import { trainStage } from "../stages/train.js";
import { predictStage } from "../stages/predict.js";
import { networkWeights, tableOf } from "./fixtures/nn/helpers.js";

const data = {
  a: [0.5, -1.2, 2.0, 0.1, -0.7, 1.3, 0.2, -0.4],
  b: [1.0, 0.3, -0.4, -2.2, 0.9, 0.05, 0.6, -1.1],
  label: [1, 0, 1, 0, 0, 1, 1, 0],
};

async function trainedModel(): Promise<ArtifactValue> {
  const r = await runStage(trainStage, {
    params: { features: ["a", "b"], model: { kind: "nn", normalization: true, epochs: 5, batch_size: 4 } },
    inputs: { train: tableValue(tableOf(data)) },
  });
  return r.outputs.model!;
}

function scoreColumn(r: { outputs: Record<string, ArtifactValue> }, name: string): Float64Array {
  const t = (r.outputs.table as { table: Table }).table;
  const c = t.columns.get(name);
  if (!c || c.type !== "float64") throw new Error(`no float64 column ${name}`);
  return c.values;
}

async function errorOf(p: Promise<unknown>): Promise<StageError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof StageError) return e;
    throw e;
  }
  assert.fail("no error");
}

void describe("predict", () => {
  void test("appends the sigmoid of the network, named after the training stage, in float64", async () => {
    const m = await trainedModel();
    // Other rows and columns in another order: features are found by name.
    const other = tableOf({ b: [0.1, -3, 40], extra: [1, 2, 3], a: [2, 0, 35] });
    const r = await runStage(predictStage, {
      inputs: { model: m, table: tableValue(other) },
      inputFrom: { model: "logreg.model", table: "events" },
    });
    const s = scoreColumn(r, "logreg");
    const meta = (m as { model: ModelArtifact }).model.meta;
    const norm = (meta.nn as { normalization: { mean: number[]; std: number[] } }).normalization;
    const w = networkWeights((m as { model: ModelArtifact }).model);
    const k = w.get("logit/kernel")!.values;
    const bias = w.get("logit/bias")!.values[0]!;
    const col = { a: [2, 0, 35], b: [0.1, -3, 40] };
    for (let i = 0; i < 3; i++) {
      const z =
        (k[0]! * (col.a[i]! - norm.mean[0]!)) / norm.std[0]! +
        (k[1]! * (col.b[i]! - norm.mean[1]!)) / norm.std[1]! +
        bias;
      assert.ok(
        Math.abs(s[i]! - 1 / (1 + Math.exp(-z))) < 1e-6,
        `row ${i}: ${s[i]} vs ${1 / (1 + Math.exp(-z))}`,
      );
    }
    assert.deepEqual(
      [...(r.outputs.table as { table: Table }).table.columns.keys()],
      ["b", "extra", "a", "logreg"],
    );
  });

  void test("weights held in a view into a larger buffer (as the store returns them) load correctly", async () => {
    const m = (await trainedModel()) as { kind: "model"; model: ModelArtifact };
    const w = m.model.blobs.weights!;
    const pool = Buffer.alloc(w.byteLength + 64, 0xab);
    pool.set(w, 37);
    const viewed: ArtifactValue = {
      kind: "model",
      model: { meta: m.model.meta, blobs: { weights: pool.subarray(37, 37 + w.byteLength) } },
    };
    const t = tableValue(tableOf(data));
    const a = await runStage(predictStage, { params: { column: "s" }, inputs: { model: m, table: t } });
    const b = await runStage(predictStage, { params: { column: "s" }, inputs: { model: viewed, table: t } });
    assert.deepEqual(scoreColumn(a, "s"), scoreColumn(b, "s"));
  });

  void test("an explicit column name; a taken name is an error", async () => {
    const m = await trainedModel();
    const t = tableValue(tableOf(data));
    const r = await runStage(predictStage, {
      params: { column: "nn_score" },
      inputs: { model: m, table: t },
    });
    assert.equal(scoreColumn(r, "nn_score").length, 8);
    const e = await errorOf(
      runStage(predictStage, { params: { column: "a" }, inputs: { model: m, table: t } }),
    );
    assert.deepEqual([e.code, e.param], ["QV_COLUMN_EXISTS", ["column"]]);
  });

  void test("a table without a model feature is refused by name", async () => {
    const m = await trainedModel();
    const e = await errorOf(
      runStage(predictStage, { inputs: { model: m, table: tableValue(tableOf({ a: [1], c: [2] })) } }),
    );
    assert.equal(e.code, "QV_UNKNOWN_COLUMN");
    assert.match(e.message, /"b"/);
  });

  void test("a model from another stage type is refused", async () => {
    const foreign: ArtifactValue = {
      kind: "model",
      model: { meta: { format: "sklearn-pickle" }, blobs: {} },
    };
    const e = await errorOf(
      runStage(predictStage, { inputs: { model: foreign, table: tableValue(tableOf(data)) } }),
    );
    assert.equal(e.code, "QV_MODEL_FORMAT");
  });
});
