import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { runStage } from "./support/stage-harness.js";
import { table as tableValue } from "../core/stage.js";
import type { Table } from "../core/table.js";
import { trainStage } from "../stages/train.js";
import { predictStage } from "../stages/predict.js";
import { historyColumn, metricsOf, noisyTable } from "./fixtures/nn/helpers.js";

for (const trainer of ["auto", "tfjs"] as const) {
  void describe(`train: early stopping [${trainer}]`, () => {
    void test("stops after `patience` epochs without improvement and restores the best epoch's weights", async () => {
      const train = tableValue(noisyTable(150, 5, { signal: 0.3 }));
      const validationTable = noisyTable(400, 6, { signal: 0.3 });
      const r = await runStage(trainStage, {
        params: {
          trainer,
          features: ["x0", "x1", "x2"],
          model: {
            kind: "nn",
            layers: [{ dense: 64 }, { dense: 64 }],
            optimizer: { adam: { lr: 0.01 } },
            epochs: 300,
            batch_size: 16,
            early_stopping: { patience: 4 },
          },
        },
        inputs: { train, validation: tableValue(validationTable) },
        seed: 3,
      });
      const m = metricsOf(r);
      const valLoss = historyColumn(r, "val_loss");
      let best = 0;
      for (let i = 1; i < valLoss.length; i++) if (valLoss[i]! < valLoss[best]!) best = i;
      assert.equal(m.stopped_early, true);
      assert.equal(m.best_epoch, best + 1);
      assert.equal(m.epochs_run, best + 1 + 4);
      assert.equal(m.restored_best, true);
      assert.equal(m.val_loss, valLoss[best]);
      // Independently: the saved model's scores on the validation table give the best epoch's loss.
      const scored = await runStage(predictStage, {
        params: { column: "s" },
        inputs: { model: r.outputs.model!, table: tableValue(validationTable) },
      });
      const tbl = (scored.outputs.table as { table: Table }).table;
      const s = (tbl.columns.get("s") as { values: Float64Array }).values;
      const y = (validationTable.columns.get("label") as { values: Float64Array }).values;
      let loss = 0;
      for (let i = 0; i < s.length; i++) loss -= y[i]! * Math.log(s[i]!) + (1 - y[i]!) * Math.log(1 - s[i]!);
      loss /= s.length;
      assert.ok(Math.abs(loss - valLoss[best]!) < 1e-6, `${loss} vs ${valLoss[best]}`);
      assert.ok(valLoss[valLoss.length - 1]! > valLoss[best]!);
    });
  });

  void describe(`train: early stopping on accuracy [${trainer}]`, () => {
    void test("monitor val_accuracy maximises: the best epoch has the highest validation accuracy", async () => {
      const r = await runStage(trainStage, {
        params: {
          trainer,
          features: ["x0", "x1", "x2"],
          model: {
            kind: "nn",
            layers: [{ dense: 32 }],
            optimizer: { adam: { lr: 0.02 } },
            epochs: 60,
            batch_size: 16,
            early_stopping: { monitor: "val_accuracy", patience: 3 },
          },
        },
        inputs: {
          train: tableValue(noisyTable(200, 21, { signal: 0.8 })),
          validation: tableValue(noisyTable(300, 22, { signal: 0.8 })),
        },
        seed: 5,
      });
      const m = metricsOf(r);
      const acc = historyColumn(r, "val_accuracy");
      let best = 0;
      for (let i = 1; i < acc.length; i++) if (acc[i]! > acc[best]!) best = i;
      assert.equal(m.best_epoch, best + 1);
      assert.equal(m.val_accuracy, acc[best]);
      if (m.stopped_early === true) assert.equal(m.epochs_run, best + 1 + 3);
    });
  });
}
