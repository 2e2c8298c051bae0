/**
 * The CMS photon-ID pipeline (pipelines/photon-id.yaml) end to end on a generated file at 10% of the
 * full size, with the per-class limits scaled down so that they still bite: the five classifiers,
 * one ROC stage with rejection at 97% and 50% signal efficiency, and a late edit that reruns only
 * the ROC stage.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { writePhotonId } from "../stages/lib/datasets/photon-id.js";
import { repoRoot, Rig, type RunResult } from "./support/rig.js";
import { checkOnnxOnPipeline } from "./support/onnx-check.js";

const yaml = fs.readFileSync(path.join(repoRoot, "pipelines", "photon-id.yaml"), "utf8");
const BACKGROUND = 8000;
const SIGNAL = 800;
const QUICK = ["--set", "epochs=60", "--set", `background=${BACKGROUND}`, "--set", `signal=${SIGNAL}`];
const MODELS = ["logistic", "mlp", "mlp3", "mlp3_batchnorm", "mlp3_dropout"];

interface WorkingPoint {
  background_efficiency: { value: number };
  rejection: { value: number | null };
}
interface ScoreMetrics {
  auc: number;
  at_signal_efficiency: Record<string, WorkingPoint>;
}

async function metrics(rig: Rig, ref: string): Promise<Record<string, unknown>> {
  const file = rig.path(`${ref}.json`);
  const r = await rig.quiver("export", "photon-id.yaml", ref, "--to", file, ...QUICK);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
}

describe("photon-id pipeline on generated data", () => {
  let rig: Rig;
  let first: RunResult;
  before(async () => {
    rig = Rig.create({ "photon-id.yaml": yaml });
    await writePhotonId(rig.path("data/photon-id"), { scale: 0.1, seed: 21 });
    first = await rig.quiver("run", "photon-id.yaml", ...QUICK);
  });
  after(() => rig.remove());

  test("runs every stage", () => {
    assert.equal(first.code, 0, first.stderr + first.stdout.slice(-2000));
    assert.equal(first.ran.length, 17);
  });

  test("all five networks exported to ONNX (batch norm folded, dropout dropped) give predict's scores", async (t) => {
    for (const m of ["logistic", "mlp", "mlp3", "mlp3_batchnorm", "mlp3_dropout"]) {
      const c = await checkOnnxOnPipeline(
        rig.path("photon-id.yaml"),
        rig.cacheDir,
        {
          model: `${m}.model`,
          table: "score_dropout",
          column: m,
        },
        QUICK,
      );
      t.diagnostic(
        `ONNX ${m}: max |ONNX − Quiver| ${c.max.toExponential(2)}${c.floor ? ` (float32 floor: ONNX ${c.floor.onnx.toExponential(2)}, Quiver ${c.floor.quiver.toExponential(2)} from the float64 value)` : ""}`,
      );
    }
  });

  test("cuts, per-class limits and the 30 / 56 / 14 split", async () => {
    const flow = (await metrics(rig, "selected.cutflow")) as {
      output: { classes: Record<string, { rows: number }> };
      steps: { name: string; after: { classes: Record<string, { rows: number }> } }[];
    };
    // The limits bite: more rows pass the cuts than are kept.
    const cuts = flow.steps.find((s) => s.name === "matched")!;
    assert.ok(cuts.after.classes["0"]!.rows > BACKGROUND && cuts.after.classes["1"]!.rows > SIGNAL);
    assert.equal(flow.output.classes["0"]!.rows, BACKGROUND);
    assert.equal(flow.output.classes["1"]!.rows, SIGNAL);
    const n = BACKGROUND + SIGNAL;
    const split = first.events.find((e) => e.type === "finished" && e.stage === "split");
    const summary = (split as { summary?: Record<string, { rows?: number }> }).summary!;
    assert.equal(summary.test!.rows, Math.ceil(0.3 * n));
    assert.equal(summary.validation!.rows, Math.ceil(0.14 * n));
    assert.equal(summary.train!.rows, n - Math.ceil(0.3 * n) - Math.ceil(0.14 * n));
  });

  test("all five classifiers separate e/γ from pileup; rejection at 97% and 50% efficiency", async () => {
    const roc = (await metrics(rig, "roc.metrics")) as { scores: Record<string, ScoreMetrics> };
    assert.deepEqual(Object.keys(roc.scores).sort(), [...MODELS].sort());
    for (const name of MODELS) {
      const s = roc.scores[name]!;
      assert.ok(s.auc > 0.75 && s.auc < 1, `${name} AUC ${s.auc}`);
      const r97 = s.at_signal_efficiency["0.97"]!.rejection.value!;
      const r50 = s.at_signal_efficiency["0.5"]!.rejection.value!;
      assert.ok(Number.isFinite(r97) && r97 > 1, `${name} rejection at 97%: ${r97}`);
      assert.ok(Number.isFinite(r50) && r50 > r97, `${name} rejection at 50%: ${r50}`);
    }
    // Hidden layers help on shower shapes (the lesson's point), by a clear margin on this data.
    assert.ok(roc.scores.mlp!.auc > roc.scores.logistic!.auc + 0.02);
  });

  test("editing the roc stage reruns only it", async () => {
    const noop = await rig.quiver("run", "photon-id.yaml", ...QUICK);
    assert.deepEqual(noop.ran, []);
    const edited = yaml.replace(
      "working_points: { signal_efficiency: [0.97, 0.5] }",
      "working_points: { signal_efficiency: [0.97, 0.5] }\n      max_points: 50",
    );
    assert.notEqual(edited, yaml);
    rig.write("photon-id.yaml", edited);
    const edit = await rig.quiver("run", "photon-id.yaml", ...QUICK);
    assert.equal(edit.code, 0, edit.stderr);
    assert.deepEqual(edit.ran, ["roc"]);
    assert.equal(edit.cached.length, 16);
  });
});
