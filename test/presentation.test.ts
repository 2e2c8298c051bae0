/**
 * The presentation registry: a stage says, as data, what the report and `show` draw and print.
 * A throwaway stage type with a `present` hook, registered next to Quiver's own, runs through a
 * pipeline into the report (its figure in the headline table, its plot in the summary, its table
 * in its details) and into `show`; report/ and engine/ compare no stage types; the pipeline's
 * `report:` settings are validated and never change a cache key; rescaled inputs are drawn with
 * the values before the rescaling.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { main } from "../cli/main.js";
import type { Presentation } from "../core/present.js";
import { p } from "../core/schema.js";
import { defineStage, metrics, type AnyStageDefinition } from "../core/stage.js";
import { numericValues } from "../core/table.js";
import { loadPipeline } from "../ops/load.js";
import { presentResult } from "../ops/present.js";
import { run, status } from "../ops/run.js";
import { openStore } from "../ops/store.js";
import { generateReport } from "../report/html.js";
import { registry } from "../stages/index.js";
import { repoRoot } from "./support/rig.js";
import { testRegistry } from "./support/test-stages.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-present-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A stage invented for this test: the mean of a column, presented its own way. */
const meanStage = defineStage({
  type: "column-mean",
  version: 1,
  description: "the mean of column x",
  inputs: { table: { kind: "table", description: "column x" } },
  outputs: { metrics: { kind: "metrics", description: "mean and n" } },
  params: p.object({ scale: p.withDefault(p.number(), 1) }),
  run(ctx) {
    const t = ctx.inputs.table("table");
    const x = numericValues(t.columns.get("x")!);
    const mean = (x.reduce((a, b) => a + b, 0) / x.length) * ctx.params.scale;
    return Promise.resolve({ outputs: { metrics: metrics({ mean, n: x.length }) } });
  },
  async present(ctx): Promise<Presentation> {
    const m = await ctx.output("metrics");
    const mean = m?.kind === "metrics" && typeof m.metrics.mean === "number" ? m.metrics.mean : null;
    const input = await ctx.input("table");
    const x = input?.kind === "table" ? numericValues(input.table.columns.get("x")!) : new Float64Array();
    return {
      figures: [{ name: "mean of x", subject: "x", value: mean, unit: ctx.unit("x"), formula: "x̄ = Σx/n" }],
      blocks: [
        {
          kind: "plot",
          id: "values",
          title: "the values",
          x: { label: "row" },
          y: { label: "x", unit: ctx.unit("x") },
          series: [{ kind: "line", name: "x", x: x.map((_, i) => i), y: x, colour: 0 }],
          summary: { rank: 5 },
        },
        {
          kind: "table",
          id: "numbers",
          port: "metrics",
          title: "the numbers",
          columns: [{ name: "what" }, { name: "value" }],
          rows: [
            ["mean", mean],
            ["scale", ctx.params.scale],
          ],
        },
      ],
    };
  },
});

const withMean: ReadonlyMap<string, AnyStageDefinition> = new Map([
  ...testRegistry,
  [meanStage.type, meanStage],
]);

function write(name: string, text: string): string {
  const file = path.join(tmp, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

void describe("a presentation added with a stage type", () => {
  void test("runs through a pipeline into the report and show", async () => {
    const file = write(
      "mean/p.yaml",
      [
        "quiver: 1",
        "name: mean",
        "units: { x: GeV }",
        'report: { label: "Quiver Internal", energy: 1 TeV }',
        "stages:",
        "  numbers: { type: source, with: { values: [1, 2, 3, 6] } }",
        "  average: { type: column-mean, inputs: { table: numbers }, with: { scale: 2 } }",
        "",
      ].join("\n"),
    );
    const pipeline = loadPipeline(file, { registry: withMean });
    const cacheDir = path.join(tmp, "mean", ".quiver");
    const r = await run(pipeline, { cacheDir, lock: "never" });
    assert.ok(r.ok);
    const { store } = await openStore(cacheDir);
    const report = await generateReport({ store, spec: pipeline.spec });
    // The figure in the headline table, with its unit and formula.
    assert.deepEqual(report.figures, [
      {
        stage: "average",
        figures: [{ name: "mean of x", subject: "x", value: 6, unit: "GeV", formula: "x̄ = Σx/n" }],
      },
    ]);
    assert.match(
      report.html,
      /<td>mean of x<\/td><td class="values"><span class="fig" title=""><span class="dim">x<\/span> <b>6 GeV<\/b>/,
    );
    // Its plot in the summary, labelled as the pipeline asks, axis with unit; its table in its details.
    const summary = report.html.slice(
      report.html.indexOf('id="summary"'),
      report.html.indexOf('id="changes"'),
    );
    assert.match(summary, /data-plot="average:values"/);
    assert.match(summary, /<tspan font-weight="bold" font-style="italic">Quiver<\/tspan> Internal/);
    assert.match(summary, /√s = 1 TeV/);
    assert.match(summary, /data-axis="y">x \[GeV\]</);
    const details = report.html.slice(report.html.indexOf('id="stage-average"'));
    assert.match(details, /data-block="average:numbers"/);
    assert.deepEqual(report.plots, ["average:values"]);
    // show prints the same as aligned text.
    const out: string[] = [];
    const code = await main(
      ["show", file, "average.metrics", "--cache-dir", cacheDir],
      { out: (s) => out.push(s), err: () => {}, color: false },
      withMean,
    );
    assert.equal(code, 0);
    const text = out.join("\n");
    assert.match(text, /mean of x\s+x\s+6 GeV/);
    assert.match(text, /the numbers\n {2}what\s+value\n {2}─+ {2}─+\n {2}mean\s+6\n {2}scale\s+2/);
    const shown = await presentResult(pipeline, "average", { cacheDir });
    assert.deepEqual(
      shown.blocks.map((b) => b.id),
      ["values", "numbers"],
      "a port the stage presents itself keeps its default view out of show",
    );
  });
});

void describe("renderers know no stage types", () => {
  void test("report/ and engine/ compare no stage type names", () => {
    const names = [...registry.keys()];
    const offenders: string[] = [];
    const walk = (dir: string) => {
      for (const e of fs.readdirSync(path.join(repoRoot, dir), { withFileTypes: true })) {
        const rel = `${dir}/${e.name}`;
        if (e.isDirectory()) walk(rel);
        else if (e.name.endsWith(".ts")) {
          const src = fs.readFileSync(path.join(repoRoot, rel), "utf8");
          for (const name of names) {
            // A comparison with, or a case on, a stage type's name ("metrics" is also a port kind).
            const literal = `"${name}"`;
            const cmp = new RegExp(`(===|!==|==|!=)\\s*${literal}|${literal}\\s*(===|!==)|case ${literal}:`);
            if (name !== "metrics" && cmp.test(src)) offenders.push(`${rel}: ${name}`);
            if (new RegExp(`def\\.type\\s*(===|!==)`).test(src)) offenders.push(`${rel}: compares def.type`);
          }
        }
      }
    };
    walk("report");
    walk("engine");
    assert.deepEqual([...new Set(offenders)], []);
  });
});

void describe("report settings in the pipeline", () => {
  void test("are validated at their YAML position", () => {
    const file = write(
      "bad/p.yaml",
      [
        "quiver: 1",
        "name: bad",
        "report: { lable: ATLAS, energy: 13 }",
        "stages:",
        "  numbers: { type: source, with: { values: [1] } }",
        "",
      ].join("\n"),
    );
    assert.throws(
      () => loadPipeline(file, { registry: testRegistry }),
      (e: {
        diagnostics?: { code: string; location?: { line: number; column: number }; hint?: string }[];
      }) => {
        const d = e.diagnostics ?? [];
        assert.deepEqual(
          d.map((x) => [x.code, x.location?.line]),
          [
            ["QV_UNKNOWN_FIELD", 3],
            ["QV_PARAM_TYPE", 3],
          ],
        );
        assert.match(d[0]!.hint ?? "", /did you mean "label"/);
        assert.match(d[1]!.hint ?? "", /13 TeV/);
        return true;
      },
    );
  });

  void test("never enter a cache key: changing the label reruns nothing", async () => {
    const text = (label: string) =>
      [
        "quiver: 1",
        "name: labels",
        `report: { label: "${label}" }`,
        "stages:",
        "  numbers: { type: source, with: { values: [1, 2] } }",
        "  more: { type: add, inputs: { table: numbers } }",
        "",
      ].join("\n");
    const file = write("labels/p.yaml", text("ATLAS Open Data"));
    const cacheDir = path.join(tmp, "labels", ".quiver");
    assert.ok((await run(loadPipeline(file, { registry: testRegistry }), { cacheDir })).ok);
    write("labels/p.yaml", text("CMS Simulation"));
    const plan = await status(loadPipeline(file, { registry: testRegistry }), { cacheDir });
    assert.deepEqual(
      plan.planned.map((x) => x.decision),
      ["cached", "cached"],
    );
  });
});

void describe("inputs in physical units", () => {
  void test("a model trained on a scaled table is shown with the values before scaling", async () => {
    const n = 400;
    const rows = ["pt,eta,label"];
    for (let i = 0; i < n; i++) rows.push(`${20 + (i % 97) * 1.5},${((i % 13) - 6) / 3},${i % 2}`);
    write("phys/events.csv", rows.join("\n") + "\n");
    const file = write(
      "phys/p.yaml",
      [
        "quiver: 1",
        "name: phys",
        "units: { pt: GeV }",
        "stages:",
        "  events: { type: load, with: { files: [events.csv] } }",
        "  scaled: { type: scale, inputs: { fit: events }, with: { method: minmax, columns: [pt, eta] } }",
        "  net:",
        "    type: train",
        "    inputs: { train: scaled.table }",
        "    with: { features: [pt, eta], model: { kind: nn, layers: [], epochs: 1, batch_size: 50 } }",
        "",
      ].join("\n"),
    );
    const pipeline = loadPipeline(file, { registry });
    const cacheDir = path.join(tmp, "phys", ".quiver");
    assert.ok((await run(pipeline, { cacheDir, lock: "never" })).ok);
    const shown = await presentResult(pipeline, "net", { cacheDir });
    const pt = shown.blocks.find((b) => b.id === "input:pt");
    assert.ok(pt?.kind === "plot");
    assert.equal(pt.x.unit, "GeV");
    assert.equal(pt.x.label, "pt");
    // The drawn edges span the physical range (20 … 164 GeV), not the scaled [0, 1].
    const step = pt.series.find((s) => s.kind === "step");
    assert.ok(step?.kind === "step" && step.edges[0]! >= 19 && step.edges[step.edges.length - 1]! > 100);
    assert.match(pt.note ?? "", /Values before rescaling, from events/);
  });
});
