/**
 * `quiver report`: the report of each pipeline in pipelines/ (run small), parsed: every plot its
 * stages call for is present with data drawn, the file is self-contained (no URL, script, font or
 * image from outside), and `run --report` says what reran and why, with metric deltas.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { main } from "../cli/main.js";
import type { EngineEvent } from "../engine/events.js";
import type { PipelineSpec } from "../engine/pipeline/spec.js";
import { loadPipeline } from "../ops/load.js";
import { run } from "../ops/run.js";
import { openStore } from "../ops/store.js";
import { generateReport } from "../report/html.js";
import { registry } from "../stages/index.js";
import { datasets, DEFAULT_DATASET_SEED } from "../stages/lib/datasets/index.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-report-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const quiet = { out: () => {}, err: () => {}, color: false };

/**
 * Plot ids (`stage:block`) the report must hold for a pipeline, from its stage types and params.
 * Input variables are drawn once per training table, with the first stage that reads it.
 */
function expectedPlots(spec: PipelineSpec): string[] {
  const ids: string[] = [];
  const tables = new Set<string>();
  const rocs = spec.order.filter((id) => spec.stages.get(id)!.def.type === "roc");
  if (rocs.length > 1) ids.push("summary:roc");
  for (const id of spec.order) {
    const s = spec.stages.get(id)!;
    const pr = s.params as Record<string, unknown>;
    switch (s.def.type) {
      case "train":
      case "kfold": {
        ids.push(`${id}:loss`);
        // The table read, before any scaling: models on a table and on its scaled copy share plots.
        let from = s.inputs[s.def.type === "train" ? "train" : "table"]!;
        for (let sc = spec.stages.get(from.stage); sc?.def.type === "scale"; sc = spec.stages.get(from.stage))
          from = sc.inputs.apply ?? sc.inputs.fit!;
        const key = `${from.stage}.${from.port}`;
        if (!tables.has(key)) for (const f of pr.features as string[]) ids.push(`${id}:input:${f}`);
        tables.add(key);
        break;
      }
      case "roc":
        ids.push(`${id}:roc`, `${id}:rejection`);
        break;
      case "ks":
        for (const sc of pr.scores as string[]) ids.push(`${id}:response:${sc}`);
        break;
      case "significance":
        ids.push(`${id}:scan`, `${id}:yields`);
        break;
      case "importance":
        ids.push(`${id}:permutation`);
        break;
    }
  }
  return ids;
}

/** The `data-plot` → `data-points` of every plot in the HTML. */
function plotsIn(html: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of html.matchAll(/<svg class="plot[^"]*" data-plot="([^"]+)" data-points="(\d+)"/g))
    out.set(m[1]!.replace(/&quot;/g, '"').replace(/&amp;/g, "&"), Number(m[2]));
  return out;
}

/** assert.match without printing a whole report when it fails. */
function has(html: string, re: RegExp, yes = true): void {
  assert.equal(re.test(html), yes, `${yes ? "expected" : "did not expect"} ${re}`);
}

function assertSelfContained(html: string): void {
  has(html, /https?:\/\//i, false);
  has(html, /<script|<link|<img|<iframe|@import|@font-face/i, false);
  for (const m of html.matchAll(/\b(?:href|src|xlink:href)="([^"]*)"/g))
    assert.ok(m[1]!.startsWith("#"), `a link leaving the file: ${m[1]}`);
  for (const m of html.matchAll(/url\(([^)]*)\)/g)) assert.ok(m[1]!.startsWith("#"), `url(${m[1]})`);
}

function assertPlots(html: string, expected: string[], label: string): void {
  const plots = plotsIn(html);
  for (const id of expected) {
    assert.ok(plots.has(id), `${label}: plot ${id} missing; have ${[...plots.keys()].join(", ")}`);
    assert.ok(plots.get(id)! > 0, `${label}: plot ${id} drew no data`);
  }
  // Every drawn path has coordinates (an empty "d" would be an empty plot that looks fine in the count).
  has(html, /<path d=""/, false);
}

describe("quiver report", () => {
  test("demo: run --report writes a self-contained report with every expected plot", async () => {
    const dir = path.join(tmp, "demo");
    fs.mkdirSync(dir);
    fs.copyFileSync(path.join(repoRoot, "pipelines", "demo.yaml"), path.join(dir, "demo.yaml"));
    const cwd = process.cwd();
    process.chdir(dir); // run --report writes NAME-report.html in the working directory
    try {
      const small = ["--set", "events=3000", "--jobs", "2"];
      assert.equal(await main(["run", "demo.yaml", ...small, "--set", "epochs=2"], quiet, registry), 0);
      const err: string[] = [];
      const io = { out: () => {}, err: (s: string) => err.push(s), color: false };
      assert.equal(
        await main(["run", "demo.yaml", ...small, "--set", "epochs=3", "--report"], io, registry),
        0,
      );
      assert.match(err.join("\n"), /report: demo-report\.html \(\d+ plots/);
      const html = fs.readFileSync(path.join(dir, "demo-report.html"), "utf8");
      const loaded = loadPipeline(path.join(dir, "demo.yaml"), { registry });
      assertPlots(html, expectedPlots(loaded.spec), "demo");
      assertSelfContained(html);
      // The DAG: one box per stage, coloured by this run, linking to its section.
      for (const id of loaded.spec.order) {
        has(html, new RegExp(`<a href="#stage-${id}" class="dag-node" data-stage="${id}"`));
        has(html, new RegExp(`<section class="stage" id="stage-${id}"`));
      }
      has(html, /data-stage="nn" data-state="ran"/);
      has(html, /data-stage="bdt" data-state="cached"/);
      // Results first: the headline table before any stage's details, with AUC, Z and KS verdicts.
      assert.ok(html.indexOf("data-headline") < html.indexOf('id="details"'));
      assert.ok(html.indexOf('id="summary"') < html.indexOf('id="pipeline"'));
      const summary = html.slice(html.indexOf('id="summary"'), html.indexOf('id="changes"'));
      has(
        summary,
        /<td>AUC<\/td><td class="values"><span class="fig" title="[^"]*"><span class="dim">nn<\/span> <b>0\.\d{4}<\/b>/,
      );
      has(
        summary,
        /<td>Z at best cut<\/td><td class="values"><span class="fig" title="[^"]*"><span class="dim">bdt<\/span>/,
      );
      has(summary, /Z_A = √/);
      has(
        summary,
        /<span class="dim">nn · signal<\/span> <b>[0-9.e-]+<\/b> <span class="tone-(good|warn)">(compatible|overtrained\?)<\/span>/,
      );
      has(summary, /data-block="cuts:cutflow"/);
      has(summary, /data-plot="roc:roc"/);
      has(summary, /data-plot="significance:scan"/);
      // What changed: nn reran because of its epochs; downstream stages because of their inputs; deltas.
      const changes = html.slice(html.indexOf('id="changes"'), html.indexOf('id="pipeline"'));
      has(changes, /nn<\/a>: .*epochs.*2 → 3/);
      has(changes, /scores<\/a>: /);
      has(changes, /bdt<\/a>/, false);
      has(changes, /<td>val_loss<\/td>/);
      // The stage graph is folded, below the results.
      has(html, /<section id="pipeline"><details><summary>/);
      // Details: cutflow in the summary, scaler params, model description, table schemas.
      has(html, /<th>leptons<\/th><td>lep1_pt &gt; 25 &amp;&amp; lep2_pt &gt; 20<\/td>/);
      has(html, /<th>name<\/th><th>mean<\/th>/);
      has(html, /<th>model<\/th><td>network 7 → 16 → 16 → 1/);
      has(html, /<th>parameters<\/th><td class="num">417<\/td>/);
      has(html, /Columns [^<]*lep1_pt: float64/);
      // Input variables in physical units. The demo's network carries its scaler (preprocess), so
      // the table it trains on is raw: no plot is labelled scaled and none needs undoing a scale.
      has(html, /lep1_pt \[GeV\]/);
      has(html, /1\/N dN\/dlep1_pt \[1\/GeV\]/);
      has(html, /Values before rescaling/, false);
      has(html, /\(scaled\)|\(rescaled\)/, false);
      has(html, /<th>preprocess<\/th><td>standard \(7 features\)<\/td>/);
      // The best epoch, the working points and the confusion-free demo's correlation matrices.
      has(html, /data-plot="nn:correlation:signal"/);
      has(html, /data-series="working points at fixed ε_B"/);
      // Every plot says what its axes are, with units where the pipeline gives them.
      for (const m of html.matchAll(/<svg class="plot" data-plot="([^"]+)"[\s\S]*?<\/svg>/g)) {
        has(m[0], /data-axis="x">[^<]+</);
        has(m[0], /data-axis="y">[^<]+</);
      }

      // Standalone `quiver report` reads the store: same plots, same story.
      assert.equal(await main(["report", "demo.yaml", "--out", "again.html"], quiet, registry), 0);
      const again = fs.readFileSync(path.join(dir, "again.html"), "utf8");
      assert.deepEqual([...plotsIn(again).keys()], [...plotsIn(html).keys()]);
      has(again, /epochs.*2 → 3/);
      // A cached rerun changes nothing, and what changed before it is still what the report says.
      assert.equal(await main(["run", "demo.yaml", ...small, "--set", "epochs=3"], quiet, registry), 0);
      assert.equal(await main(["report", "demo.yaml", "--out", "cached.html"], quiet, registry), 0);
      const cached = fs.readFileSync(path.join(dir, "cached.html"), "utf8");
      has(cached, /The latest run \([^)]+\) reran nothing/);
      has(cached, /nn<\/a>: .*epochs.*2 → 3/);
      has(cached, /data-state="ran"/, false);
    } finally {
      process.chdir(cwd);
    }
  });

  test("report of a pipeline that has not run says so and draws nothing", async () => {
    const dir = path.join(tmp, "never");
    fs.mkdirSync(dir);
    fs.copyFileSync(path.join(repoRoot, "pipelines", "demo.yaml"), path.join(dir, "demo.yaml"));
    const out = path.join(dir, "r.html");
    assert.equal(await main(["report", path.join(dir, "demo.yaml"), "--out", out], quiet, registry), 0);
    const html = fs.readFileSync(out, "utf8");
    assert.equal(plotsIn(html).size, 0);
    has(html, /No stored result for this stage/);
    has(html, /No stage reports headline figures: the pipeline has not run/);
    assertSelfContained(html);
  });

  // The other seed pipelines, run small: in place for real data (paths relative to pipelines/),
  // as copies beside generated data for the Higgs and photon-ID analyses.
  const files = fs
    .readdirSync(path.join(repoRoot, "pipelines"))
    .filter((f) => f.endsWith(".yaml") && f !== "demo.yaml");
  for (const f of files) {
    test(`report of pipelines/${f}`, { timeout: 240_000 }, async (t) => {
      let file = path.join(repoRoot, "pipelines", f);
      // Pipelines on generated data: a copy next to freshly generated (small) data.
      const generator = datasets.get(f.replace(/\.yaml$/, ""));
      if (generator) {
        const dir = path.join(tmp, `gen-${generator.name}`);
        await generator.make(path.join(dir, "data", generator.name), {
          scale: 0.03,
          seed: DEFAULT_DATASET_SEED,
        });
        fs.copyFileSync(file, path.join(dir, f));
        file = path.join(dir, f);
      }
      const doc = parseYaml(fs.readFileSync(file, "utf8")) as { params?: Record<string, unknown> };
      const params = doc.params ?? {};
      const dataParam =
        typeof params.data === "string" ? path.resolve(path.dirname(file), params.data) : undefined;
      if (dataParam && !fs.existsSync(dataParam)) {
        t.skip(`its data folder ${path.relative(repoRoot, dataParam)} is absent`);
        return;
      }
      // Small versions: one or two epochs, two folds, fewer rows where the pipeline has a knob.
      const set: Record<string, number> = {};
      if ("epochs" in params) set.epochs = 2;
      if ("folds" in params) set.folds = 2;
      if ("events" in params) set.events = 3000;
      if ("background" in params) set.background = 5000;
      if ("signal" in params) set.signal = 1000;
      const loaded = loadPipeline(file, { registry, params: set });
      const cacheDir = path.join(tmp, `store-${f}`);
      const r = await run(loaded, { cacheDir, jobs: 2, lock: "never" });
      const failed: EngineEvent[] = r.events.filter((e) => e.type === "failed");
      assert.ok(r.ok, `${f} failed: ${JSON.stringify(failed)}`);
      const { store } = await openStore(cacheDir);
      const t0 = performance.now();
      const report = await generateReport({ store, spec: loaded.spec });
      t.diagnostic(`${f}: report in ${Math.round(performance.now() - t0)} ms, ${report.plots.length} plots`);
      assertPlots(report.html, expectedPlots(loaded.spec), f);
      assertSelfContained(report.html);
      // No plot drawn twice: each id once in the page.
      const ids = [...report.html.matchAll(/data-plot="([^"]+)"/g)].map((m) => m[1]!);
      assert.deepEqual(
        ids.filter((x, i) => ids.indexOf(x) !== i),
        [],
        `${f}: plots drawn twice`,
      );
      // Every evaluation stage that ran declares its figures.
      assert.ok(report.figures.length > 0, `${f}: no headline figures`);
    });
  }
});
