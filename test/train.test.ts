import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { runStage } from "./support/stage-harness.js";
import { table as tableValue, type ModelArtifact } from "../engine/stage.js";
import { trainStage } from "../stages/train.js";
import { repoRoot, tableOf, networkWeights } from "./nn-helpers.js";

interface LogisticCase {
  X: number[][];
  y: number[];
  coef: number[];
  intercept: number;
  log_loss: number;
}

function logisticCase(): LogisticCase {
  const file = path.resolve(repoRoot, "..", "shared", "fixtures", "logistic.json");
  const json = JSON.parse(readFileSync(file, "utf8")) as { cases: LogisticCase[] };
  return json.cases[0]!;
}

function caseTable(c: LogisticCase) {
  return tableOf({
    x0: c.X.map((r) => r[0]!),
    x1: c.X.map((r) => r[1]!),
    x2: c.X.map((r) => r[2]!),
    label: c.y,
  });
}

describe("train: logistic regression", () => {
  test("zero hidden layers, full batch, no penalty → sklearn LogisticRegression(penalty=None) to 1e-3", async () => {
    const c = logisticCase();
    const r = await runStage(trainStage, {
      params: {
        features: ["x0", "x1", "x2"],
        model: {
          kind: "nn",
          optimizer: { sgd: { lr: 1, momentum: 0.9 } },
          epochs: 300,
          batch_size: 100000,
          shuffle: false,
        },
      },
      inputs: { train: tableValue(caseTable(c)) },
    });
    const m = (r.outputs.model as { model: ModelArtifact }).model;
    const w = networkWeights(m);
    const kernel = w.get("logit/kernel")!.values;
    const bias = w.get("logit/bias")!.values;
    for (let j = 0; j < 3; j++) assert.ok(Math.abs(kernel[j]! - c.coef[j]!) < 1e-3, `coef ${j}: ${kernel[j]} vs ${c.coef[j]}`);
    assert.ok(Math.abs(bias[0]! - c.intercept) < 1e-3, `intercept ${bias[0]} vs ${c.intercept}`);
    const metrics = (r.outputs.metrics as { metrics: Record<string, unknown> }).metrics;
    assert.ok(Math.abs((metrics.loss as number) - c.log_loss) < 1e-4, `loss ${String(metrics.loss)}`);
  });
});
