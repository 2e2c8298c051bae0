/**
 * The model kinds' `describe` and `export` hooks. An exported model is one JSON document; here it
 * is evaluated by a small interpreter written from the document's stated rules alone, and must
 * give the scores `predict` gives (trees exactly; networks to float32 precision). Descriptions
 * must agree with what training reported (parameter counts) and with the exported trees.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { table as tableValue, type ArtifactValue, type ModelArtifact } from "../core/stage.js";
import { scaleStage } from "../stages/scale.js";
import type { JsonObject, JsonValue } from "../core/json.js";
import type { Table } from "../core/table.js";
import { trainStage } from "../stages/train.js";
import { kfoldStage } from "../stages/kfold.js";
import { defaultModelKinds } from "../stages/lib/models/index.js";
import { describeModel, exportModel, scoreModel } from "../stages/lib/models/envelope.js";
import { runStage } from "./support/stage-harness.js";
import { metricsOf, modelOf, noisyTable, tableOf } from "./fixtures/nn/helpers.js";

const opts = { backend: "auto", threads: 1 } as const;

function obj(v: JsonValue | undefined): JsonObject {
  assert.ok(typeof v === "object" && v !== null && !Array.isArray(v));
  return v;
}
function arr(v: JsonValue | undefined): JsonValue[] {
  assert.ok(Array.isArray(v));
  return v;
}
function nums(v: JsonValue | undefined): number[] {
  return arr(v).map((x) => {
    assert.equal(typeof x, "number");
    return x as number;
  });
}

/** The rows of `t` as feature vectors in `features` order. */
function rowsOf(t: Table, features: readonly string[]): number[][] {
  const cols = features.map((f) => {
    const c = t.columns.get(f);
    assert.ok(c?.type === "float64");
    return c.values;
  });
  return Array.from({ length: t.numRows }, (_, i) => cols.map((c) => c[i]!));
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** Trees, from the document: ≤ threshold goes left, missing goes to `missing`, sum the leaves. */
function evalForest(doc: JsonObject, x: number[]): number {
  const m = obj(doc.model);
  let z = m.base_score as number;
  for (const tree of arr(m.trees)) {
    const nodes = arr(obj(tree).nodes).map(obj);
    let k = 0;
    for (;;) {
      const node = nodes[k]!;
      if ("leaf" in node) {
        z += node.leaf as number;
        break;
      }
      const v = x[node.feature as number]!;
      const threshold =
        typeof node.threshold === "string" ? Number(node.threshold) : (node.threshold as number);
      const left = Number.isNaN(v) ? node.missing === "left" : v <= threshold;
      k = (left ? node.left : node.right) as number;
    }
  }
  return sigmoid(z);
}

const activations: Record<string, (z: number) => number> = {
  relu: (z) => Math.max(0, z),
  tanh: Math.tanh,
  sigmoid,
  linear: (z) => z,
};

/** A network, from the document: standardise, then each layer in order (the last ends in the sigmoid). */
function evalNetwork(doc: JsonObject, x: number[]): number {
  const m = obj(doc.model);
  let h = [...x];
  if (m.normalization !== null) {
    const n = obj(m.normalization);
    const mean = nums(n.mean);
    const std = nums(n.std);
    h = h.map((v, j) => (v - mean[j]!) / std[j]!);
  }
  for (const layerJson of arr(m.layers)) {
    const layer = obj(layerJson);
    const type = typeof layer.type === "string" ? layer.type : "";
    switch (type) {
      case "dense": {
        const kernel = arr(layer.kernel).map(nums);
        const bias = nums(layer.bias);
        const f = activations[layer.activation as string]!;
        h = bias.map((b, u) => f(b + h.reduce((s, v, i) => s + v * kernel[i]![u]!, 0)));
        break;
      }
      case "batchnorm": {
        const [g, b, mu, v] = [layer.gamma, layer.beta, layer.moving_mean, layer.moving_variance].map(nums);
        const eps = layer.epsilon as number;
        h = h.map((x, j) => (g![j]! * (x - mu![j]!)) / Math.sqrt(v![j]! + eps) + b![j]!);
        break;
      }
      case "dropout":
        break;
      default:
        assert.fail(`unknown layer ${type}`);
    }
  }
  assert.equal(h.length, 1);
  return h[0]!;
}

async function train(
  params: Record<string, unknown>,
  t: Table,
  extra: Record<string, ArtifactValue> = {},
): Promise<{ model: ModelArtifact; metrics: JsonObject }> {
  const r = await runStage(trainStage, { params, inputs: { train: tableValue(t), ...extra }, seed: 11 });
  return { model: modelOf(r), metrics: metricsOf(r) as JsonObject };
}

/** The document's preprocess (a scaler or a chain), from its stated rules, on raw features x. */
function preprocess(doc: JsonObject, x: number[]): number[] {
  if (doc.preprocess === null) return x;
  const p = obj(doc.preprocess);
  const steps = p.method === "chain" ? arr(p.steps).map(obj) : [p];
  const names = arr(doc.features) as string[];
  const v = [...x];
  for (const s of steps)
    for (const c of arr(s.columns).map(obj)) {
      const j = names.indexOf(c.name as string);
      if (j < 0) continue;
      if (s.method === "standard") v[j] = (v[j]! - (c.mean as number)) / (c.scale as number);
      else {
        v[j] = v[j]! * (c.scale as number) + (c.min as number);
        if (s.clip === true) {
          const [lo, hi] = nums(s.range);
          v[j] = Math.min(hi ?? Infinity, Math.max(lo ?? -Infinity, v[j]));
        }
      }
    }
  return v;
}

void describe("gbt: describe and export", () => {
  // x1 has missing values, so the trees route them; x3 is one value or missing, and whether it is
  // missing says something about the label, so some splits separate missing from present (+∞).
  const base = noisyTable(600, 5);
  const x1 = base.columns.get("x1");
  const label = base.columns.get("label");
  assert.ok(x1?.type === "float64" && label?.type === "float64");
  const withMissing = Float64Array.from(x1.values, (v, i) => (i % 7 === 0 ? NaN : v));
  const x3 = Float64Array.from(label.values, (y, i) => (y === 1 && i % 3 === 0 ? NaN : 1));
  const t: Table = {
    numRows: base.numRows,
    columns: new Map(base.columns)
      .set("x1", { type: "float64", values: withMissing })
      .set("x3", { type: "float64", values: x3 }),
  };
  const features = ["x0", "x1", "x2", "x3"];

  void test("the exported trees give predict's scores exactly, missing values included", async () => {
    const { model } = await train(
      { features, model: { kind: "gbt", num_trees: 20, max_depth: 3, subsample: 0.8 } },
      t,
    );
    const doc = await exportModel(defaultModelKinds, model);
    assert.equal(doc.format, "quiver-portable-model");
    assert.deepEqual([doc.kind, doc.features, doc.label], ["gbt", features, "label"]);
    assert.equal(arr(obj(doc.model).trees).length, 20);
    const want = await scoreModel(defaultModelKinds, model, t, opts);
    rowsOf(t, features).forEach((x, i) => assert.equal(evalForest(doc, x), want[i]!, `row ${i}`));
    const thresholds = arr(obj(doc.model).trees).flatMap((tree) =>
      arr(obj(tree).nodes).map((n) => obj(n).threshold),
    );
    assert.ok(thresholds.includes("Infinity"), "a split of missing against present values");
  });

  void test("describe counts the trees' splits per feature, as the exported trees show them", async () => {
    const { model } = await train({ features, model: { kind: "gbt", num_trees: 15, max_depth: 4 } }, t);
    const d = await describeModel(defaultModelKinds, model);
    const doc = await exportModel(defaultModelKinds, model);
    const counts = [0, 0, 0, 0];
    let leaves = 0;
    for (const tree of arr(obj(doc.model).trees))
      for (const node of arr(obj(tree).nodes).map(obj))
        if ("leaf" in node) leaves++;
        else counts[node.feature as number]!++;
    assert.deepEqual(d.importance?.values, { x0: counts[0], x1: counts[1], x2: counts[2], x3: counts[3] });
    assert.equal(d.facts.trees, 15);
    assert.equal(d.facts.leaves, leaves);
    assert.ok((d.facts.max_depth as number) <= 4);
    assert.equal(d.trainer, "quiver-gbt");
    // x2 carries no signal in this table (the label depends on x0 + x1).
    assert.ok(counts[0]! + counts[1]! > counts[2]!, JSON.stringify(counts));
  });
});

void describe("models that carry their scaler: the document holds it", () => {
  const t = noisyTable(300, 4);
  const features = ["x0", "x1", "x2"];
  for (const m of [
    { kind: "gbt", num_trees: 10, max_depth: 3 },
    { kind: "nn", layers: [{ dense: 4, activation: "tanh" }], epochs: 2, batch_size: 32 },
  ])
    void test(`${m.kind}: preprocess, then the model, gives predict's scores`, async () => {
      const s = await runStage(scaleStage, {
        params: { method: "minmax", range: [-1, 1], clip: true, columns: features },
        inputs: { fit: tableValue(t) },
      });
      const { model } = await train({ features, model: m }, t, { preprocess: s.outputs.scaler! });
      const doc = await exportModel(defaultModelKinds, model);
      assert.equal(obj(doc.preprocess).method, "minmax");
      assert.deepEqual(obj(doc.lineage).x0, []);
      assert.match(obj(doc.training_data).hash as string, /^[0-9a-f]{16}$/);
      const want = await scoreModel(defaultModelKinds, model, t, opts);
      rowsOf(t, features).forEach((x, i) => {
        const z = preprocess(doc, x);
        const got = m.kind === "gbt" ? evalForest(doc, z) : evalNetwork(doc, z);
        if (m.kind === "gbt") assert.equal(got, want[i]!, `row ${i}`);
        else assert.ok(Math.abs(got - want[i]!) < 2e-5, `row ${i}: ${got} vs ${want[i]}`);
      });
    });
});

void describe("nn: describe and export", () => {
  const t = noisyTable(400, 9);
  const features = ["x0", "x1", "x2"];
  const spec = {
    kind: "nn",
    normalization: true,
    layers: [
      { dense: 6, activation: "tanh" },
      { batchnorm: {} },
      { dropout: 0.2 },
      { dense: 4, activation: "relu" },
    ],
    epochs: 3,
    batch_size: 64,
  };

  for (const trainer of ["wasm", "tfjs"] as const)
    void test(`${trainer}: the exported network gives predict's scores; describe counts what training counted`, async () => {
      const { model, metrics } = await train({ features, trainer, model: spec }, t);
      const doc = await exportModel(defaultModelKinds, model);
      const layers = arr(obj(doc.model).layers).map((l) => obj(l).type);
      assert.deepEqual(layers, ["dense", "batchnorm", "dropout", "dense", "dense"]);
      const want = await scoreModel(defaultModelKinds, model, t, opts);
      // The scorers run in float32; the interpreter in float64.
      rowsOf(t, features).forEach((x, i) => {
        const got = evalNetwork(doc, x);
        assert.ok(Math.abs(got - want[i]!) < 2e-5, `row ${i}: ${got} vs ${want[i]}`);
      });
      const d = await describeModel(defaultModelKinds, model);
      assert.equal(d.parameters, metrics.parameters);
      assert.equal(d.summary, `network 3 → 6 → 4 → 1, ${d.parameters} trainable parameters`);
      // 3·6+6, 2·6 (gamma, beta), 0, 6·4+4, 4+1
      assert.deepEqual(
        d.parts.map((p) => p.parameters),
        [24, 12, 0, 28, 5],
      );
      assert.equal(d.trainer, trainer === "tfjs" ? "tfjs" : metrics.trainer);
    });

  void test("a kfold model exports its folds and describes them together", async () => {
    const tiny = tableOf({
      x0: Array.from({ length: 60 }, (_, i) => Math.sin(i)),
      x1: Array.from({ length: 60 }, (_, i) => Math.cos(3 * i)),
      label: Array.from({ length: 60 }, (_, i) => (Math.sin(i) + Math.cos(3 * i) > 0 ? 1 : 0)),
    });
    const r = await runStage(kfoldStage, {
      params: { features: ["x0", "x1"], k: 3, model: { kind: "gbt", num_trees: 5, max_depth: 2 } },
      inputs: { table: tableValue(tiny) },
    });
    const models = (r.outputs.models as { model: ModelArtifact }).model;
    const doc = await exportModel(defaultModelKinds, models);
    assert.equal(arr(doc.folds).length, 3);
    assert.equal(doc.combine, "mean of the folds' probabilities");
    const want = await scoreModel(defaultModelKinds, models, tiny, opts);
    rowsOf(tiny, ["x0", "x1"]).forEach((x, i) => {
      const mean = arr(doc.folds).reduce<number>((s, f) => s + evalForest(obj(f), x), 0) / 3;
      assert.ok(Math.abs(mean - want[i]!) < 1e-15, `row ${i}`);
    });
    assert.match((await describeModel(defaultModelKinds, models)).summary, /^3 folds of 5 boosted trees/);
  });
});
