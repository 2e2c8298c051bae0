/**
 * pipelines/dimuon.yaml on the ROOT test files: both files flattened to the same columns (a flat
 * tree renamed, a jagged one padded), the cut flow per sample, the classifier, and a rerun that is
 * all cached. Counts are exact (they follow from the files); the AUC has a floor.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { num, run, show } from "./support/real-pipeline.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const dataDir = path.resolve(repoRoot, "..", "shared", "data", "root-testdata");
const pipelineFile = path.join(repoRoot, "pipelines", "dimuon.yaml");

test("dimuon: Zmumu and HZZ from ROOT, Z-window cut flow, boosted trees", async (t) => {
  if (!fs.existsSync(path.join(dataDir, "uproot-HZZ.root")))
    return t.skip(`data not present: ${path.relative(repoRoot, dataDir)} (see its SOURCE.md)`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-dimuon-"));
  try {
    const cache = path.join(tmp, "store");
    const first = await run(pipelineFile, cache);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.ran.length, 8);
    const load = first.events.find((e) => e.type === "finished" && e.stage === "events");
    assert.ok(load && load.type === "finished");
    assert.equal(load.summary?.rows, 2304 + 2421);
    const flow = await show(pipelineFile, cache, "zpeak.cutflow");
    assert.equal(num(flow, "input", "classes", "Zmumu", "rows"), 2304);
    assert.equal(num(flow, "input", "classes", "HZZ", "rows"), 2421);
    // Every Zmumu event has two muons; HZZ events with fewer than two are NaN after pad: 2 and drop.
    const steps = flow.steps as { name: string; after: { classes: Record<string, { rows: number }> } }[];
    assert.equal(steps[0]!.name, "two muons");
    assert.equal(steps[0]!.after.classes.Zmumu!.rows, 2304);
    assert.equal(steps[0]!.after.classes.HZZ!.rows, 2421 - 1008);
    const roc = await show(pipelineFile, cache, "roc.metrics");
    const auc = num(roc, "scores", "gbt", "auc");
    t.diagnostic(
      `Zmumu after cuts ${num(flow, "output", "classes", "Zmumu", "rows")}, AUC ${auc.toFixed(3)}`,
    );
    assert.ok(auc > 0.85, `AUC ${auc}`);
    const again = await run(pipelineFile, cache);
    assert.equal(again.ran.length, 0);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
