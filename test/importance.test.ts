/**
 * Feature importance. On a table where only two of six features carry signal: scikit-learn's
 * `permutation_importance` of a fixed linear model (reference computed once by
 * test/fixtures/gen/importance_reference.py) agrees with Quiver's within the spread of the
 * shuffles; and through a pipeline, the `importance` stage ranks those two features first by
 * permutation (for a network and for boosted trees) and by the trees' split gain.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { isJsonObject, type JsonObject } from "../core/json.js";
import { loadPipeline } from "../ops/load.js";
import { run } from "../ops/run.js";
import { presentResult } from "../ops/present.js";
import { permutationImportance } from "../stages/lib/eval/importance.js";
import { registry } from "../stages/index.js";
import { hashUniform, repoRoot } from "./fixtures/eval/gen.js";

interface Reference {
  n: number;
  seed: number;
  repeats: number;
  coef: number[];
  intercept: number;
  signal_rows: number;
  baseline_auc: number;
  importances_mean: number[];
  importances_std: number[];
}

const reference = JSON.parse(
  fs.readFileSync(path.join(repoRoot, "test", "fixtures", "importance", "permutation.json"), "utf8"),
) as Reference;

/** The reference table: six uniform features, P(signal) = 0.1 + 0.5·x0 + 0.3·(1 − x1). */
function table(n: number, seed: number): { x: Float64Array[]; y: Uint8Array } {
  const x = Array.from({ length: 6 }, (_, k) => hashUniform(seed + k, n));
  const u = hashUniform(seed + 100, n);
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) y[i] = u[i]! < 0.1 + 0.5 * x[0]![i]! + 0.3 * (1.0 - x[1]![i]!) ? 1 : 0;
  return { x, y };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-importance-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

void describe("permutation importance", () => {
  void test("matches scikit-learn's permutation_importance within the spread of the shuffles", async () => {
    const { x, y } = table(reference.n, reference.seed);
    assert.equal(
      y.reduce((a, b) => a + b, 0),
      reference.signal_rows,
      "the table is rebuilt bit for bit",
    );
    // The fixed linear model, summed left to right as the reference does.
    const score = (cols: readonly Float64Array[]) => {
      const s = new Float64Array(reference.n).fill(reference.intercept);
      cols.forEach((c, k) => {
        for (let i = 0; i < s.length; i++) s[i] = s[i]! + reference.coef[k]! * c[i]!;
      });
      return Promise.resolve(s);
    };
    const r = await permutationImportance(score, x, y, undefined, "auc", reference.repeats, 7);
    assert.ok(Math.abs(r.baseline - reference.baseline_auc) < 1e-12, `baseline ${r.baseline}`);
    const R = reference.repeats;
    for (let k = 0; k < 6; k++) {
      const ours = r.mean[k]!;
      const theirs = reference.importances_mean[k]!;
      const spread = Math.sqrt((r.std[k]! ** 2 + reference.importances_std[k]! ** 2) / R);
      assert.ok(
        Math.abs(ours - theirs) <= 3 * spread + 1e-4,
        `x${k}: ${ours} ± ${r.std[k]} vs sklearn ${theirs} ± ${reference.importances_std[k]} (3σ of the mean: ${3 * spread})`,
      );
      // The spread of single shuffles is of the same size as scikit-learn's.
      if (reference.importances_std[k]! > 1e-3)
        assert.ok(
          r.std[k]! / reference.importances_std[k]! < 2.5 && reference.importances_std[k]! / r.std[k]! < 2.5,
        );
    }
    const ranked = [...r.mean.keys()].sort((a, b) => r.mean[b]! - r.mean[a]!);
    assert.deepEqual(ranked.slice(0, 2), [0, 1]);
  });

  void test("the importance stage ranks the two signal features first, by permutation and by split gain", async () => {
    const n = 6000;
    const { x, y } = table(n, 99);
    const lines = ["x0,x1,x2,x3,x4,x5,label"];
    for (let i = 0; i < n; i++) lines.push([...x.map((c) => c[i]!.toFixed(6)), y[i]].join(","));
    fs.writeFileSync(path.join(tmp, "events.csv"), lines.join("\n") + "\n");
    const features = "[x0, x1, x2, x3, x4, x5]";
    fs.writeFileSync(
      path.join(tmp, "importance.yaml"),
      [
        "quiver: 1",
        "name: importance",
        "seed: 5",
        "stages:",
        "  events: { type: load, with: { files: [events.csv] } }",
        "  split: { type: split, inputs: { table: events }, with: { test: 0.4 } }",
        "  trees:",
        "    type: train",
        "    inputs: { train: split.train }",
        `    with: { features: ${features}, model: { kind: gbt, num_trees: 40, max_depth: 3, shrinkage: 0.2 } }`,
        "  net:",
        "    type: train",
        "    inputs: { train: split.train }",
        `    with: { features: ${features}, model: { kind: nn, layers: [{ dense: 8 }], epochs: 8, batch_size: 64 } }`,
        "  trees_importance: { type: importance, inputs: { model: trees.model, table: split.test }, with: { repeats: 5 } }",
        "  net_importance: { type: importance, inputs: { model: net.model, table: split.test }, with: { repeats: 5 } }",
        "",
      ].join("\n"),
    );
    const pipeline = loadPipeline(path.join(tmp, "importance.yaml"), { registry });
    const r = await run(pipeline, { cacheDir: path.join(tmp, ".quiver"), jobs: 2, lock: "never" });
    assert.ok(r.ok, JSON.stringify(r.events.filter((e) => e.type === "failed")));
    const top2 = (values: JsonObject, key?: string) =>
      Object.keys(values)
        .sort((a, b) => value(values[b], key) - value(values[a], key))
        .slice(0, 2)
        .sort();
    const value = (v: unknown, key?: string): number => {
      const x = key && isJsonObject(v) ? v[key] : v;
      return typeof x === "number" ? x : NaN;
    };
    for (const stage of ["trees_importance", "net_importance"]) {
      const shown = await presentResult(pipeline, `${stage}.metrics`, {
        cacheDir: path.join(tmp, ".quiver"),
      });
      const v = shown.output?.value;
      assert.ok(v?.kind === "metrics");
      const m = v.metrics;
      assert.equal(m.metric, "auc");
      const perm = m.permutation as JsonObject;
      assert.deepEqual(top2(perm, "mean"), ["x0", "x1"], `${stage}: ${JSON.stringify(perm)}`);
      if (stage === "trees_importance") {
        const own = m.kind as JsonObject;
        assert.match(typeof own.method === "string" ? own.method : "", /total gain/);
        assert.deepEqual(top2(own.values as JsonObject), ["x0", "x1"], JSON.stringify(own.values));
      } else assert.equal(m.kind, undefined, "networks have no importance of their own");
      // The presentation: bars with the spread, and the ranking table.
      const bars = shown.blocks.find((b) => b.kind === "bars" && b.id === "permutation");
      assert.ok(
        bars?.kind === "bars" &&
          bars.bars[0]!.error !== undefined &&
          ["x0", "x1"].includes(bars.bars[0]!.label),
      );
      assert.ok(shown.blocks.some((b) => b.kind === "table" && b.id === "ranking"));
    }
  });
});
