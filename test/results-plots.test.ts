/**
 * The plots and tables a physicist looks at, on one small analysis written for this test: an
 * hoE-like input (a spike at zero, a long tail, a few far outliers) drawn on a log axis with the
 * outliers folded into the last bin and said so; inputs stacked by sample; a significance scan
 * whose excluded cuts are apart from the curve, with S and B beside it and a legend clear of the
 * best-cut line; input correlations per class; the confusion matrix as a 2×2 table; the best
 * epoch and the early stop on the loss curve (and per fold for a k-fold); one ROC with every model
 * in the summary; the empty KS `histograms` output described
 * as what it is; and the help examples naming stages and ports the demo has.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { main } from "../cli/main.js";
import type { Block, PlotBlock, TableBlock } from "../core/present.js";
import { loadPipeline } from "../ops/load.js";
import { presentResult } from "../ops/present.js";
import { run } from "../ops/run.js";
import { openStore } from "../ops/store.js";
import { generateReport } from "../report/html.js";
import { renderPlot } from "../report/svg.js";
import { float64Column, int32Column, makeTable } from "../core/table.js";
import { lossPlot } from "../stages/lib/present/training.js";
import { registry } from "../stages/index.js";
import { repoRoot } from "./support/rig.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-results-plots-"));
after(() => (process.env.KEEP ? undefined : fs.rmSync(tmp, { recursive: true, force: true })));

/** A small seeded generator (mulberry32), so the table is the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const N = 4000;
const OUTLIERS = 6; // hoe = 40: above the 99.5 % quantile, folded into the last bin

function writeEvents(file: string): void {
  const r = rng(11);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const rows = ["mass,hoe,iso,sample,label,weight"];
  for (let i = 0; i < N; i++) {
    const signal = i % 4 === 0;
    const sample = signal ? "higgs" : i % 4 === 1 ? "wjets" : "ttbar";
    const mass = signal ? 125 + 8 * gauss() : 60 + 140 * r();
    // Most photons have no hadronic leakage; the rest an exponential tail.
    let hoe = r() < 0.85 ? 0 : -0.02 * Math.log(1 - r());
    if (i < OUTLIERS) hoe = 40;
    // Follows the mass in signal, independent of it in background.
    const iso = signal ? mass / 100 + 0.01 * gauss() : 0.5 + 1.5 * r();
    rows.push(`${mass.toFixed(3)},${hoe.toFixed(5)},${iso.toFixed(5)},${sample},${signal ? 1 : 0},1`);
  }
  fs.writeFileSync(file, rows.join("\n") + "\n");
}

const PIPELINE = [
  "quiver: 1",
  "name: plots",
  "seed: 5",
  "units: { mass: GeV }",
  "stages:",
  "  events: { type: load, with: { files: [events.csv] } }",
  "  split: { type: split, inputs: { table: events }, with: { test: 0.4, stratify: label } }",
  "  scaled: { type: scale, inputs: { fit: split.train }, with: { method: standard, columns: [mass, hoe, iso] } }",
  "  scaled_test: { type: scale, inputs: { scaler: scaled.scaler, apply: split.test } }",
  "  nn:",
  "    type: train",
  "    inputs: { train: scaled.table, validation: scaled_test.table }",
  "    with:",
  "      features: [mass, hoe, iso]",
  "      model:",
  "        kind: nn",
  "        layers: [{ dense: 8, activation: relu }]",
  "        optimizer: { adam: { lr: 0.05 } }",
  "        epochs: 60",
  "        batch_size: 32",
  "        early_stopping: { patience: 2 }",
  "  bdt:",
  "    type: train",
  // Trees are blind to a monotone rescaling: trained on the table they will score.
  "    inputs: { train: scaled.table }",
  "    with: { features: [mass, hoe, iso], model: { kind: gbt, num_trees: 20, max_depth: 3 } }",
  "  nn_test: { type: predict, inputs: { model: nn.model, table: scaled_test.table } }",
  "  nn_train: { type: predict, inputs: { model: nn.model, table: scaled.table } }",
  "  scores: { type: predict, inputs: { model: bdt.model, table: nn_test } }",
  "  roc_nn: { type: roc, inputs: { table: scores }, with: { scores: [nn] } }",
  "  roc_bdt: { type: roc, inputs: { table: scores }, with: { scores: [bdt] } }",
  "  overtraining: { type: ks, inputs: { train: nn_train, test: nn_test }, with: { scores: [nn] } }",
  "  significance:",
  "    type: significance",
  "    inputs: { table: scores }",
  "    with: { score: bdt, weight: weight, formula: asimov, min_background: 200 }",
  "  classification: { type: metrics, inputs: { table: scores }, with: { scores: [nn, bdt] } }",
  "",
].join("\n");

const dir = path.join(tmp, "plots");
const file = path.join(dir, "plots.yaml");
const cacheDir = path.join(dir, ".quiver");
const pipeline = () => loadPipeline(file, { registry });

function block(blocks: readonly Block[], id: string): Block {
  const b = blocks.find((x) => x.id === id);
  assert.ok(b, `no block ${id}; have ${blocks.map((x) => x.id).join(", ")}`);
  return b;
}

function plot(blocks: readonly Block[], id: string): PlotBlock {
  const b = block(blocks, id);
  assert.ok(b.kind === "plot", `${id} is a ${b.kind}`);
  return b;
}

void describe("the plots of a small photon-like analysis", () => {
  before(async () => {
    fs.mkdirSync(dir, { recursive: true });
    writeEvents(path.join(dir, "events.csv"));
    fs.writeFileSync(file, PIPELINE);
    const r = await run(pipeline(), { cacheDir, jobs: 2, lock: "never" });
    assert.ok(r.ok, JSON.stringify(r.events.filter((e) => e.type === "failed")));
  });

  void test("an hoE-like input: log y axis, outliers folded into the last bin and said so", async () => {
    const shown = await presentResult(pipeline(), "nn", { cacheDir });
    const hoe = plot(shown.blocks, "input:hoe");
    assert.equal(hoe.y.log, true, "a spike at zero and a tail call for a log axis");
    assert.match(hoe.note ?? "", /Log scale/);
    // The outliers in the training table, and the far end of the tail (beyond the 99.5 % quantile).
    const folded = /folded into the edge bins: (\d+) above it in the last bin/.exec(hoe.note ?? "");
    assert.ok(folded, hoe.note);
    assert.ok(Number(folded[1]) >= 1 && Number(folded[1]) <= 0.005 * N * 0.6 + 1, folded[1]);
    // The range ends well below the outliers: the plot shows the bulk, not one bin at zero.
    const drawn = hoe.series.find((s) => s.kind === "stack" || s.kind === "step");
    assert.ok(drawn && (drawn.kind === "stack" || drawn.kind === "step"));
    assert.ok(drawn.edges[drawn.edges.length - 1]! < 1, "outliers at 40 must not set the range");
    // mass has no such spread: a linear axis, in GeV (the values before the scale stage).
    const mass = plot(shown.blocks, "input:mass");
    assert.notEqual(mass.y.log, true);
    assert.equal(mass.x.unit, "GeV");
    const massDrawn = mass.series.find((s) => s.kind === "stack");
    assert.ok(massDrawn?.kind === "stack" && massDrawn.edges[0]! > 50, "mass in GeV, not standardised");
  });

  void test("inputs stacked by sample, each sample once, the signal on top", async () => {
    const shown = await presentResult(pipeline(), "nn", { cacheDir });
    const mass = plot(shown.blocks, "input:mass");
    const stack = mass.series.find((s) => s.kind === "stack");
    assert.ok(stack?.kind === "stack", `series: ${mass.series.map((s) => s.kind).join(", ")}`);
    const names = stack.layers.map((l) => l.name);
    assert.deepEqual([...names].sort(), ["higgs (signal)", "ttbar", "wjets"]);
    assert.equal(names[names.length - 1], "higgs (signal)", "signal stacked on top of the backgrounds");
    // Unit weights: the layers' yields add up to the rows of the table drawn (split.train).
    let total = 0;
    for (const l of stack.layers) for (let i = 0; i < l.values.length; i++) total += l.values[i]!;
    assert.ok(Math.abs(total - N * 0.6) <= 2, `stacked yields ${total}`);
    assert.match(mass.note ?? "", /stacked by sample/);
  });

  void test("significance: excluded cuts apart from the curve, S and B beside Z, legend clear of the best cut", async () => {
    const shown = await presentResult(pipeline(), "significance", { cacheDir });
    const scan = plot(shown.blocks, "scan");
    const curve = scan.series.find((s) => s.kind === "line");
    const excluded = scan.series.find((s) => s.kind === "points");
    assert.ok(curve?.kind === "line" && excluded?.kind === "points");
    assert.match(excluded.name, /excluded: B < 200/);
    assert.ok(excluded.x.length > 0, "tight cuts leave B below 200");
    // No excluded cut is on the curve: the curve is NaN (a gap) at every excluded threshold.
    const at = new Map<number, number>();
    for (let i = 0; i < curve.x.length; i++) at.set(curve.x[i]!, curve.y[i]!);
    for (let i = 0; i < excluded.x.length; i++) assert.ok(Number.isNaN(at.get(excluded.x[i]!)));
    // The best cut is a valid point, and the largest valid Z.
    const bestLine = scan.series.find((s) => s.kind === "vline");
    assert.ok(bestLine?.kind === "vline");
    let maxValid = -Infinity;
    for (let i = 0; i < curve.y.length; i++) if (curve.y[i]! > maxValid) maxValid = curve.y[i]!;
    assert.ok(Number.isFinite(at.get(bestLine.x)!) && at.get(bestLine.x) === maxValid);
    assert.ok(
      (scan.annotations ?? []).some((a) => /^S = .+, B = .+/.test(a)),
      "S and B written on the scan",
    );
    const yields = plot(shown.blocks, "yields");
    assert.deepEqual(
      yields.series.filter((s) => s.kind === "line").map((s) => s.name),
      ["signal S", "background B"],
    );
    // Drawn: excluded points in their own legend entry, the legend box not across the best-cut line.
    const svg = renderPlot(scan, { id: "significance:scan" });
    assert.match(svg, /excluded: B &lt; 200/);
    const box = /data-box="([\d.-]+) ([\d.-]+) ([\d.-]+) ([\d.-]+)"/.exec(svg);
    const line = /<line x1="([\d.-]+)"[^>]*data-vline=""/.exec(svg);
    assert.ok(box && line);
    const [bx, , bw] = [Number(box[1]), Number(box[2]), Number(box[3])];
    const lx = Number(line[1]);
    assert.ok(lx < bx || lx > bx + bw, `legend [${bx}, ${bx + bw}] crosses the best-cut line at ${lx}`);
  });

  void test("input correlations for signal and for background", async () => {
    const shown = await presentResult(pipeline(), "nn", { cacheDir });
    for (const [cls, massIso] of [
      ["signal", (r: number) => r > 0.95],
      ["background", (r: number) => Math.abs(r) < 0.1],
    ] as const) {
      const m = block(shown.blocks, `correlation:${cls}`);
      assert.ok(m.kind === "matrix");
      assert.deepEqual(m.labels, ["mass", "hoe", "iso"]);
      const k = m.labels.length;
      for (let a = 0; a < k; a++) {
        assert.ok(Math.abs(m.values[a * k + a]! - 1) < 1e-12, `${cls}: diagonal`);
        for (let b = 0; b < k; b++)
          assert.equal(m.values[a * k + b], m.values[b * k + a], `${cls}: symmetric`);
      }
      assert.ok(massIso(m.values[2]!), `${cls}: r(mass, iso) = ${m.values[2]}`);
    }
  });

  void test("the confusion matrix is a 2×2 table whose cells add up to the events", async () => {
    const shown = await presentResult(pipeline(), "classification", { cacheDir });
    const c = block(shown.blocks, "confusion:bdt") as TableBlock;
    assert.equal(c.kind, "table");
    assert.deepEqual(
      c.columns.map((x) => x.name),
      ["true \\ predicted", "background", "signal"],
    );
    assert.deepEqual(
      c.rows.map((r) => r[0]),
      ["background", "signal"],
    );
    let sum = 0;
    for (const r of c.rows)
      for (const cell of r.slice(1)) {
        assert.equal(typeof cell, "string");
        sum += Number(/^[\d.]+/.exec(cell as string)![0]);
      }
    assert.equal(sum, N * 0.4);
  });

  void test("the loss curve marks the best epoch and the early stop", async () => {
    const shown = await presentResult(pipeline(), "nn", { cacheDir });
    const loss = plot(shown.blocks, "loss");
    const lines = loss.series.filter((s) => s.kind === "vline");
    const best = lines.find((s) => s.name.startsWith("best epoch"));
    const stop = lines.find((s) => s.name.startsWith("early stop"));
    assert.ok(best?.kind === "vline" && stop?.kind === "vline", loss.series.map((s) => s.kind).join(", "));
    assert.equal(stop.x, best.x + 2, "patience 2: stopped two epochs after the best");
    assert.match(loss.note ?? "", /best epoch \d+, stopped early after epoch \d+/);
  });

  void test("the report draws one ROC with every model and says what the empty KS histograms are", async () => {
    const { store } = await openStore(cacheDir);
    const report = await generateReport({ store, spec: pipeline().spec });
    const summary = report.html.slice(
      report.html.indexOf('id="summary"'),
      report.html.indexOf('id="details"'),
    );
    const roc = /<svg class="plot[^"]*" data-plot="summary:roc"[\s\S]*?<\/svg>/.exec(summary);
    assert.ok(roc, "one ROC in the summary");
    assert.match(roc[0], /data-series="[^"]*nn[^"]*"/);
    assert.match(roc[0], /data-series="[^"]*bdt[^"]*"/);
    // The KS stage's binned-only output, empty here, says why.
    const ks = report.html.slice(report.html.indexOf('id="stage-overtraining"'));
    assert.match(ks, /It is empty; it holds binned variant only/);
  });
});

void describe("help examples", () => {
  void test("name stages and ports the demo pipeline has", async () => {
    const demo = loadPipeline(path.join(repoRoot, "pipelines", "demo.yaml"), { registry });
    const out: string[] = [];
    const io = { out: (s: string) => out.push(s), err: () => {}, color: false };
    for (const cmd of ["", "show", "export", "results", "report", "diff"])
      await main(cmd ? [cmd, "--help"] : ["--help"], io, registry);
    const refs = [...out.join("\n").matchAll(/quiver (?:show|export) pipelines\/demo\.yaml ([\w.-]+)/g)].map(
      (m) => m[1]!,
    );
    assert.ok(refs.length >= 3, `examples found: ${refs.join(", ")}`);
    for (const ref of refs) {
      const [stage, port] = ref.split(".");
      const s = demo.spec.stages.get(stage!);
      assert.ok(s, `help names stage "${stage}", which pipelines/demo.yaml does not have`);
      if (port) assert.ok(port in s.def.outputs, `stage ${stage} has no output "${port}"`);
    }
  });
});

void describe("loss curves of a k-fold", () => {
  void test("mark the best epoch of each fold on its validation curve, and say where each stopped", () => {
    const epochs = [1, 2, 3, 4, 5, 1, 2, 3, 4];
    const fold = [0, 0, 0, 0, 0, 1, 1, 1, 1];
    const loss = [0.7, 0.6, 0.55, 0.5, 0.48, 0.69, 0.6, 0.56, 0.54];
    const val = [0.69, 0.62, 0.6, 0.61, 0.63, 0.7, 0.58, 0.6, 0.62];
    const history = makeTable([
      ["fold", int32Column(Int32Array.from(fold))],
      ["epoch", int32Column(Int32Array.from(epochs))],
      ["loss", float64Column(Float64Array.from(loss))],
      ["val_loss", float64Column(Float64Array.from(val))],
    ]);
    const p = lossPlot(history, [
      { best: 3, epochsRun: 5, stoppedEarly: true, restored: true },
      { best: 2, epochsRun: 4, stoppedEarly: true, restored: true },
    ]);
    assert.ok(p);
    assert.deepEqual(
      p.series.filter((s) => s.kind === "line").map((s) => s.name),
      ["loss (fold 1)", "val_loss (fold 1)", "loss (fold 2)", "val_loss (fold 2)"],
    );
    const markers = p.series.find((s) => s.kind === "markers");
    assert.ok(markers?.kind === "markers");
    assert.deepEqual(Array.from(markers.x), [3, 2]);
    assert.deepEqual(Array.from(markers.y), [0.6, 0.58], "on each fold's validation loss at its best epoch");
    assert.equal(
      p.note,
      "fold 1: best epoch 3, stopped early after epoch 5 (weights of the best epoch restored); " +
        "fold 2: best epoch 2, stopped early after epoch 4 (weights of the best epoch restored).",
    );
  });
});
