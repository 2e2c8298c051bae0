/**
 * Column lineage: every stage that writes a column's values records a step on it, the steps
 * survive the Arrow round trip and enter the table's bytes, row operations keep them, and scoring
 * refuses a table prepared unlike the training table (QV_FEATURE_LINEAGE).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { tableFromArrowIPC, tableToArrowIPC } from "../core/arrow-codec.js";
import { StageError, table as tableValue, type ArtifactValue } from "../core/stage.js";
import { filterRows, lineageOf, makeTable, takeRows, withLineage, type Table } from "../core/table.js";
import { defineColumnsStage } from "../stages/define.js";
import { kfoldStage } from "../stages/kfold.js";
import { oversampleStage } from "../stages/oversample.js";
import { predictStage } from "../stages/predict.js";
import { reweightStage } from "../stages/reweight.js";
import { scaleStage } from "../stages/scale.js";
import { selectStage } from "../stages/select.js";
import { splitStage } from "../stages/split.js";
import { trainStage } from "../stages/train.js";
import { modelOf, noisyTable } from "./fixtures/nn/helpers.js";
import { runStage } from "./support/stage-harness.js";
import { concatParts } from "../stages/lib/io/combine.js";
import { Rig } from "./support/rig.js";

const tableOut = (r: { outputs: Record<string, ArtifactValue> }, port = "table"): Table => {
  const a = r.outputs[port];
  assert.ok(a?.kind === "table", `output ${port} is a table`);
  return a.table;
};
const lineage = (t: Table, c: string) => lineageOf(t.columns.get(c)!);

async function stageError(p: Promise<unknown>): Promise<StageError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof StageError) return e;
    throw e;
  }
  return assert.fail("no StageError");
}

/** Raw rows with x0..x2, a label and a weight w. */
const raw = () => noisyTable(400, 7, { weights: true });

async function scaled(t: Table, apply?: Table) {
  const r = await runStage(scaleStage, {
    params: { columns: ["x0", "x1", "x2"] },
    inputs: { fit: tableValue(t), ...(apply ? { apply: tableValue(apply) } : {}) },
  });
  return { table: tableOut(r), scaler: r.outputs.scaler! };
}

const gbt = { kind: "gbt", num_trees: 5, max_depth: 2 };

void describe("lineage in tables", () => {
  void test("survives the Arrow round trip, changes the bytes, and leaves tables without lineage as they were", async () => {
    const plain = makeTable([["x", { type: "float64", values: Float64Array.of(1, 2, 3) }]]);
    const tagged = makeTable([["x", withLineage(plain.columns.get("x")!, ["standard@0123456789abcdef"])]]);
    const emptied = makeTable([["x", withLineage(plain.columns.get("x")!, [])]]);
    const a = await tableToArrowIPC(plain);
    const b = await tableToArrowIPC(tagged);
    assert.deepEqual(await tableToArrowIPC(emptied), a, "an empty chain encodes like none");
    assert.notDeepEqual(a, b, "lineage is part of the bytes, so of the content hash");
    assert.deepEqual(await tableToArrowIPC(tagged), b, "deterministic");
    const back = await tableFromArrowIPC(b);
    assert.deepEqual(lineage(back, "x"), ["standard@0123456789abcdef"]);
    assert.deepEqual(lineage(await tableFromArrowIPC(a), "x"), []);
  });

  void test("files loaded together keep a lineage they share and refuse one they do not", () => {
    const col = (lineage: string[]) =>
      withLineage({ type: "float64", values: Float64Array.of(1, 2) }, lineage);
    const part = (file: string, lineage: string[]) => ({ file, table: makeTable([["x", col(lineage)]]) });
    const same = concatParts([
      part("a.arrow", ["standard@0123456789abcdef"]),
      part("b.arrow", ["standard@0123456789abcdef"]),
    ]);
    assert.deepEqual(lineage(same, "x"), ["standard@0123456789abcdef"]);
    assert.equal(same.numRows, 4);
    assert.throws(
      () => concatParts([part("a.arrow", ["standard@0123456789abcdef"]), part("b.arrow", [])]),
      (e: unknown) =>
        e instanceof StageError &&
        e.code === "QV_FEATURE_LINEAGE" &&
        /b\.arrow \(as loaded\)/.test(e.message),
    );
  });

  void test("row operations keep it: takeRows, filterRows, select, split", async () => {
    const { table: t } = await scaled(raw());
    const want = lineage(t, "x0");
    assert.equal(want.length, 1);
    assert.deepEqual(lineage(takeRows(t, Int32Array.of(3, 1, 1)), "x0"), want);
    assert.deepEqual(lineage(filterRows(t, new Uint8Array(t.numRows).fill(1, 0, 10)), "x0"), want);
    const sel = await runStage(selectStage, {
      params: { cuts: [{ name: "pos", where: "x2 > 0" }] },
      inputs: { table: tableValue(t) },
    });
    assert.deepEqual(lineage(tableOut(sel), "x0"), want);
    const sp = await runStage(splitStage, { params: { test: 0.25 }, inputs: { table: tableValue(t) } });
    assert.deepEqual(lineage(tableOut(sp, "train"), "x0"), want);
    assert.deepEqual(lineage(tableOut(sp, "test"), "x0"), want);
  });
});

void describe("stages that rewrite columns record a step", () => {
  void test("scale: one step per scaled column, the same when the fitted scaler is reused; other columns untouched", async () => {
    const t = raw();
    const fit = await scaled(t);
    assert.match(lineage(fit.table, "x0")[0]!, /^standard@[0-9a-f]{16}$/);
    assert.notEqual(lineage(fit.table, "x0")[0], lineage(fit.table, "x1")[0]);
    assert.deepEqual(lineage(fit.table, "w"), []);
    assert.deepEqual(lineage(fit.table, "label"), []);
    const other = takeRows(
      t,
      Int32Array.from({ length: 50 }, (_, i) => i * 2),
    );
    const reuse = await runStage(scaleStage, {
      inputs: { scaler: fit.scaler, apply: tableValue(other) },
    });
    assert.deepEqual(lineage(tableOut(reuse), "x0"), lineage(fit.table, "x0"));
    assert.deepEqual(
      reuse.summary?.lineage,
      {
        x0: lineage(fit.table, "x0")[0]!,
        x1: lineage(fit.table, "x1")[0]!,
        x2: lineage(fit.table, "x2")[0]!,
      },
      "a reused scaler writes its steps too",
    );
    // Scaling twice appends; minmax is another operation.
    const twice = await runStage(scaleStage, {
      params: { method: "minmax", columns: ["x0"] },
      inputs: { fit: tableValue(fit.table) },
    });
    const chain = lineage(tableOut(twice), "x0");
    assert.equal(chain.length, 2);
    assert.equal(chain[0], lineage(fit.table, "x0")[0]);
    assert.match(chain[1]!, /^minmax@/);
  });

  void test("define: an expression over an existing name appends a step, a new column starts one, an alias copies", async () => {
    const t = (await scaled(raw())).table;
    const run = (columns: Record<string, string>) =>
      runStage(defineColumnsStage, { params: { columns }, inputs: { table: tableValue(t) } });
    const ran = await run({ x0: "x0 * 2", s: "x1 + x2", alias: "x1" });
    const a = tableOut(ran);
    // The summary lists the steps this stage wrote (the engine names the stage by them), not the
    // scaler's step the alias copied.
    assert.deepEqual(ran.summary?.lineage, { x0: lineage(a, "x0")[1]!, s: lineage(a, "s")[0]! });
    assert.equal(lineage(a, "x0").length, 2);
    assert.equal(lineage(a, "x0")[0], lineage(t, "x0")[0]);
    assert.match(lineage(a, "x0")[1]!, /^define@/);
    assert.equal(lineage(a, "s").length, 1);
    assert.deepEqual(lineage(a, "alias"), lineage(t, "x1"));
    // Same expression, same step (whitespace does not matter); another expression, another step.
    const b = tableOut(await run({ x0: "x0*2", s: "x1 + x2 + 0" }));
    assert.deepEqual(lineage(b, "x0"), lineage(a, "x0"));
    assert.notDeepEqual(lineage(b, "s"), lineage(a, "s"));
    // The step depends on how the inputs were prepared.
    const fromRaw = tableOut(
      await runStage(defineColumnsStage, {
        params: { columns: { s: "x1 + x2" } },
        inputs: { table: tableValue(raw()) },
      }),
    );
    assert.notDeepEqual(lineage(fromRaw, "s"), lineage(a, "s"));
  });

  void test("reweight: the training-weight column carries a reweight step, appended when it replaces a column", async () => {
    const t = raw();
    const r = tableOut(
      await runStage(reweightStage, { params: { weight: "w" }, inputs: { table: tableValue(t) } }),
    );
    assert.match(lineage(r, "training_weight")[0]!, /^reweight@/);
    assert.deepEqual(lineage(r, "w"), []);
    const over = tableOut(
      await runStage(reweightStage, { params: { weight: "w", out: "w" }, inputs: { table: tableValue(r) } }),
    );
    assert.equal(lineage(over, "w").length, 1);
  });

  void test("oversample: copies keep every column's lineage; the multiplicity column gets a step", async () => {
    const t = (await scaled(raw())).table;
    const r = tableOut(
      await runStage(oversampleStage, {
        params: { rate: 1, multiplicity_column: "times" },
        inputs: { table: tableValue(t) },
      }),
    );
    assert.deepEqual(lineage(r, "x0"), lineage(t, "x0"));
    assert.match(lineage(r, "times")[0]!, /^oversample@/);
  });

  void test("predict and kfold: the score column carries the model's identity, the same for oof and predict", async () => {
    const t = raw();
    const kf = await runStage(kfoldStage, {
      params: { features: ["x0", "x1", "x2"], k: 2, model: gbt },
      inputs: { table: tableValue(t) },
    });
    const oof = tableOut(kf, "oof");
    const step = lineage(oof, "test");
    assert.match(step[0]!, /^score@/);
    const pr = await runStage(predictStage, {
      inputs: { model: kf.outputs.models!, table: tableValue(t) },
      inputFrom: { model: "cv.models", table: "events" },
    });
    assert.deepEqual(lineage(tableOut(pr), "cv"), step);
  });
});

void describe("scoring checks the features' lineage", () => {
  void test("a model trained on raw columns refuses a scaled table, naming the model, the column and the scaler", async () => {
    const t = raw();
    const tr = await runStage(trainStage, {
      params: { features: ["x0", "x1", "x2"], model: gbt },
      inputs: { train: tableValue(t) },
    });
    assert.deepEqual((modelOf(tr).meta.lineage as Record<string, unknown>).x0, []);
    const s = await scaled(t);
    const e = await stageError(
      runStage(predictStage, {
        inputs: { model: tr.outputs.model!, table: tableValue(s.table) },
        inputFrom: { model: "bdt.model", table: "nn_test.table" },
      }),
    );
    assert.equal(e.code, "QV_FEATURE_LINEAGE");
    assert.equal(e.data?.column, "x0");
    assert.match(
      e.message,
      /^bdt was trained on x0 as loaded; in this table \(from nn_test\.table\) x0 was standardised/,
    );
    assert.match(e.message, /standard@[0-9a-f]{16}/);
    assert.match(e.hint ?? "", /preprocess/);
    // The raw table scores.
    await runStage(predictStage, { inputs: { model: tr.outputs.model!, table: tableValue(t) } });
  });

  void test("a model trained on scaled columns refuses raw ones, and one scaled by another scaler", async () => {
    const t = raw();
    const s = await scaled(t);
    const tr = await runStage(trainStage, {
      params: { features: ["x0", "x1", "x2"], model: gbt },
      inputs: { train: tableValue(s.table) },
    });
    const rawError = await stageError(
      runStage(predictStage, { inputs: { model: tr.outputs.model!, table: tableValue(t) } }),
    );
    assert.match(rawError.message, /trained on x0 standardised .*; in this table .* x0 was as loaded/);
    const elsewhere = await scaled(
      takeRows(
        t,
        Int32Array.from({ length: 100 }, (_, i) => i),
      ),
    );
    const otherError = await stageError(
      runStage(predictStage, { inputs: { model: tr.outputs.model!, table: tableValue(elsewhere.table) } }),
    );
    assert.equal(otherError.code, "QV_FEATURE_LINEAGE");
  });

  void test("a validation table prepared unlike the training table is refused", async () => {
    const t = raw();
    const s = await scaled(t);
    const e = await stageError(
      runStage(trainStage, {
        params: { features: ["x0", "x1", "x2"], model: gbt },
        inputs: { train: tableValue(s.table), validation: tableValue(t) },
      }),
    );
    assert.equal(e.code, "QV_FEATURE_LINEAGE");
    assert.match(
      e.message,
      /training table's x0 is standardised .* but the validation table's x0 is as loaded/,
    );
    assert.deepEqual(e.marks, lineage(s.table, "x0"), "the engine is asked to name the stage that scaled it");
  });
});

void describe("models that carry their scaler (preprocess)", () => {
  void test("train on raw + scaler scores raw tables exactly as train and predict on scaled tables", async () => {
    const t = raw();
    const s = await scaled(t);
    const spec = { kind: "nn", layers: [{ dense: 4, activation: "tanh" }], epochs: 3, batch_size: 32 };
    const carried = await runStage(trainStage, {
      params: { features: ["x0", "x1", "x2"], model: spec },
      inputs: { train: tableValue(t), preprocess: s.scaler },
    });
    const plain = await runStage(trainStage, {
      params: { features: ["x0", "x1", "x2"], model: spec },
      inputs: { train: tableValue(s.table) },
    });
    assert.deepEqual(carried.outputs.history, plain.outputs.history, "the same training");
    const a = await runStage(predictStage, {
      inputs: { model: carried.outputs.model!, table: tableValue(t) },
      inputFrom: { model: "nn.model", table: "raw" },
    });
    const b = await runStage(predictStage, {
      inputs: { model: plain.outputs.model!, table: tableValue(s.table) },
      inputFrom: { model: "nn.model", table: "scaled" },
    });
    const sa = tableOut(a).columns.get("nn")!;
    const sb = tableOut(b).columns.get("nn")!;
    assert.ok(sa.type === "float64" && sb.type === "float64");
    assert.deepEqual(sa.values, sb.values);
    // The carried model refuses the scaled table: the scaler would be applied twice.
    const e = await stageError(
      runStage(predictStage, { inputs: { model: carried.outputs.model!, table: tableValue(s.table) } }),
    );
    assert.equal(e.code, "QV_FEATURE_LINEAGE");
    assert.match(e.hint ?? "", /applies its own preprocessing/);
  });

  void test("train refuses a table the scaler was already applied to, and a scaler of none of the features", async () => {
    const t = raw();
    const s = await scaled(t);
    const twice = await stageError(
      runStage(trainStage, {
        params: { features: ["x0", "x1", "x2"], model: gbt },
        inputs: { train: tableValue(s.table), preprocess: s.scaler },
      }),
    );
    assert.equal(twice.code, "QV_FEATURE_LINEAGE");
    assert.match(twice.message, /would apply it twice/);
    const other = await runStage(scaleStage, { params: { columns: ["w"] }, inputs: { fit: tableValue(t) } });
    const none = await stageError(
      runStage(trainStage, {
        params: { features: ["x0", "x1"], model: gbt },
        inputs: { train: tableValue(t), preprocess: other.outputs.scaler! },
      }),
    );
    assert.equal(none.code, "QV_PREPROCESS_COLUMNS");
  });

  void test("kfold carries the scaler into every fold model; its oof scores equal kfold on the scaled table", async () => {
    const t = raw();
    const s = await scaled(t);
    const params = { features: ["x0", "x1", "x2"], k: 2, model: gbt };
    const carried = await runStage(kfoldStage, {
      params,
      inputs: { table: tableValue(t), preprocess: s.scaler },
    });
    const plain = await runStage(kfoldStage, { params, inputs: { table: tableValue(s.table) } });
    const oa = tableOut(carried, "oof").columns.get("test")!;
    const ob = tableOut(plain, "oof").columns.get("test")!;
    assert.ok(oa.type === "float64" && ob.type === "float64");
    assert.deepEqual(oa.values, ob.values);
    await runStage(predictStage, { inputs: { model: carried.outputs.models!, table: tableValue(t) } });
    const e = await stageError(
      runStage(predictStage, { inputs: { model: carried.outputs.models!, table: tableValue(s.table) } }),
    );
    assert.equal(e.code, "QV_FEATURE_LINEAGE");
  });

  void test("a chain: scale with `previous` hands on both scalers; reusing it applies both; a model carries it", async () => {
    const t = raw();
    const first = await scaled(t);
    const second = await runStage(scaleStage, {
      params: { method: "minmax", columns: ["x0"] },
      inputs: { fit: tableValue(first.table), previous: first.scaler },
    });
    const chain = second.outputs.scaler as unknown as { metrics: { method: string; steps: unknown[] } };
    assert.equal(chain.metrics.method, "chain");
    assert.equal(chain.metrics.steps.length, 2);
    // Reused on another table: both steps, the same lineage as the fitted path.
    const reuse = tableOut(
      await runStage(scaleStage, { inputs: { scaler: second.outputs.scaler!, apply: tableValue(t) } }),
    );
    assert.deepEqual(lineage(reuse, "x0"), lineage(tableOut(second), "x0"));
    assert.deepEqual(
      (reuse.columns.get("x0") as { values: Float64Array }).values,
      (tableOut(second).columns.get("x0") as { values: Float64Array }).values,
    );
    const tr = await runStage(trainStage, {
      params: { features: ["x0", "x1", "x2"], model: gbt },
      inputs: { train: tableValue(t), preprocess: second.outputs.scaler! },
    });
    const direct = await runStage(trainStage, {
      params: { features: ["x0", "x1", "x2"], model: gbt },
      inputs: { train: tableValue(tableOut(second)) },
    });
    assert.deepEqual(tr.outputs.history, direct.outputs.history);
    // `previous` must be the scaler that made the fit table.
    const wrong = await stageError(
      runStage(scaleStage, {
        params: { method: "minmax", columns: ["x0"] },
        inputs: { fit: tableValue(t), previous: first.scaler },
      }),
    );
    assert.equal(wrong.code, "QV_FEATURE_LINEAGE");
  });
});

void describe("through the engine", () => {
  void test("the demo's old mistake (trees trained on raw columns scoring a scaled table) fails located, with the model and column", async () => {
    const rig = Rig.create({
      "p.yaml": `quiver: 1
name: mistake
stages:
  events: { type: generate, with: { signal: 300, background: 600 } }
  split: { type: split, inputs: { table: events }, with: { test: 0.3 } }
  train_scaled: { type: scale, inputs: { fit: split.train }, with: { exclude: [label, weight, n_jets] } }
  test_scaled: { type: scale, inputs: { scaler: train_scaled.scaler, apply: split.test } }
  bdt:
    type: train
    inputs: { train: split.train }
    with: { features: [lep1_pt, m_ll], model: { kind: gbt, num_trees: 3, max_depth: 2 } }
  scores:
    type: predict
    inputs: { model: bdt.model, table: test_scaled.table }
`,
    });
    try {
      const r = await rig.quiver("run", "p.yaml");
      assert.equal(r.code, 1);
      assert.deepEqual(r.failed, ["scores"]);
      const failed = r.events.find((e) => e.type === "failed") as unknown as {
        diagnostics: {
          code: string;
          message: string;
          location: { line: number };
          related?: { message: string; location: { file: string; line: number } }[];
        }[];
      };
      const d = failed.diagnostics[0]!;
      assert.equal(d.code, "QV_FEATURE_LINEAGE");
      assert.equal(d.location.line, 13, "located at the predict stage");
      assert.match(
        d.message,
        /bdt was trained on lep1_pt as loaded; in this table \(from test_scaled\.table\) lep1_pt was standardised/,
      );
      // The step is named with the stage that wrote it (the nearest: test_scaled applied the
      // scaler train_scaled fitted, and wrote the same step) and where that stage is defined.
      assert.match(d.message, /; standard@[0-9a-f]{16} was written by test_scaled \(\S*p\.yaml:7\)$/);
      assert.equal(d.related?.length, 1);
      assert.match(d.related[0]!.message, /^test_scaled wrote standard@[0-9a-f]{16}$/);
      assert.equal(d.related[0]!.location.line, 7);
      assert.match(d.related[0]!.location.file, /p\.yaml$/);
      // A rerun reads the writer from the cached run's summary and says the same.
      const again = await rig.quiver("run", "p.yaml");
      const d2 = (again.events.find((e) => e.type === "failed") as unknown as typeof failed).diagnostics[0]!;
      assert.equal(d2.message, d.message);
    } finally {
      rig.remove();
    }
  });

  void test("importance checks the lineage of the table it shuffles, as predict does", async () => {
    const rig = Rig.create({
      "p.yaml": `quiver: 1
name: importance-lineage
stages:
  events: { type: generate, with: { signal: 300, background: 600 } }
  split: { type: split, inputs: { table: events }, with: { test: 0.3 } }
  train_scaled: { type: scale, inputs: { fit: split.train }, with: { exclude: [label, weight, n_jets] } }
  test_scaled: { type: scale, inputs: { scaler: train_scaled.scaler, apply: split.test } }
  bdt:
    type: train
    inputs: { train: split.train }
    with: { features: [lep1_pt, m_ll], model: { kind: gbt, num_trees: 3, max_depth: 2 } }
  on_raw:
    type: importance
    inputs: { model: bdt.model, table: split.test }
    with: { repeats: 2 }
  on_scaled:
    type: importance
    inputs: { model: bdt.model, table: test_scaled.table }
    with: { repeats: 2 }
`,
    });
    try {
      const r = await rig.quiver("run", "p.yaml", "--keep-going");
      assert.equal(r.code, 1);
      assert.deepEqual(r.failed, ["on_scaled"], "the table prepared like the training table is measured");
      const failed = r.events.find((e) => e.type === "failed") as unknown as {
        diagnostics: { code: string; message: string; location: { line: number } }[];
      };
      const d = failed.diagnostics[0]!;
      assert.equal(d.code, "QV_FEATURE_LINEAGE");
      assert.equal(d.location.line, 19, "located at the importance stage (its with:)");
      assert.match(
        d.message,
        /bdt was trained on lep1_pt as loaded; in this table \(from test_scaled\.table\) lep1_pt was standardised/,
      );
    } finally {
      rig.remove();
    }
  });
});
