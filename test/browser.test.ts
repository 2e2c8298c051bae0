/**
 * Reports in a real browser: headless Chromium (the Debian `chromium` package, driven by
 * playwright-core) opens them offline. For the demo, the dark-matter analysis (real data) and
 * photon ID (generated data): every plot renders with a non-zero size, the console stays clean,
 * nothing is requested from outside the file, the results come first (the first plot inside the
 * first screen), every plot names its axes with their units where the pipeline gives units, and no
 * legend covers a marker line (a best cut, a best epoch) or the experiment label. Screenshots of
 * the summary block are kept in test-artifacts/ for people to look at.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { main } from "../cli/main.js";
import { loadPipeline } from "../ops/load.js";
import { registry } from "../stages/index.js";
import { datasets, DEFAULT_DATASET_SEED } from "../stages/lib/datasets/index.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => fs.existsSync(p));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-browser-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const quiet = { out: () => {}, err: () => {}, color: false };
const artifacts = path.join(repoRoot, "test-artifacts");
const VIEWPORT = { width: 1300, height: 900 };

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

interface PlotFacts {
  id: string;
  w: number;
  h: number;
  drawn: number;
  xAxis: string | null;
  yAxis: string | null;
  legend: Box | null;
  label: Box | null;
  vlines: Box[];
}

function overlap(a: Box, b: Box): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

/** Opens a report and checks it; returns after saving a screenshot of its summary block. */
async function checkInBrowser(
  report: string,
  name: string,
  units: Readonly<Record<string, string>>,
): Promise<void> {
  const expected = [...fs.readFileSync(report, "utf8").matchAll(/data-plot="([^"]+)"/g)].map((m) => m[1]!);
  assert.ok(expected.length >= 5, `only ${expected.length} plots in the ${name} report`);
  const { chromium } = await import("playwright-core");
  const context = await chromium.launchPersistentContext(path.join(tmp, `profile-${name}`), {
    executablePath: CHROMIUM!,
    headless: true,
    timeout: 60_000,
    viewport: VIEWPORT,
    offline: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  try {
    const page = await context.newPage();
    const problems: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    // Any request leaving the file is a report that is not self-contained.
    page.on("request", (r) => {
      if (!r.url().startsWith("file:")) problems.push(`request to ${r.url()}`);
    });
    await page.goto(pathToFileURL(report).href, { waitUntil: "load", timeout: 30_000 });

    // Results first: the first plot starts within the first screen.
    const first = await page.$eval("svg.plot", (e) => ({
      top: e.getBoundingClientRect().top,
      id: e.getAttribute("data-plot"),
    }));
    assert.ok(
      first.top < VIEWPORT.height,
      `${name}: the first plot (${first.id}) starts at ${first.top} px, below the first screen`,
    );
    fs.mkdirSync(artifacts, { recursive: true });
    await page
      .locator("#summary")
      .screenshot({ path: path.join(artifacts, `${name}-summary.png`), timeout: 30_000 });

    // Open every folded part, so every plot is laid out.
    await page.$$eval("details", (ds) => ds.forEach((d) => (d.open = true)));
    const facts: PlotFacts[] = await page.$$eval("svg.plot", (els) =>
      els.map((e) => {
        const box = (el: Element | null) => {
          if (!el) return null;
          const r = el.getBoundingClientRect();
          return { x: r.x, y: r.y, w: r.width, h: r.height };
        };
        const r = e.getBoundingClientRect();
        return {
          id: e.getAttribute("data-plot") ?? "",
          w: r.width,
          h: r.height,
          drawn: e.querySelectorAll("path, circle, line, rect").length,
          xAxis: e.querySelector('[data-axis="x"]')?.textContent ?? null,
          yAxis: e.querySelector('[data-axis="y"]')?.textContent ?? null,
          legend: box(e.querySelector("[data-legend]")),
          label: box(e.querySelector("[data-label]")),
          vlines: Array.from(e.querySelectorAll("[data-vline]"), (l) => box(l)!),
        };
      }),
    );
    for (const id of expected) {
      const f = facts.find((x) => x.id === id);
      assert.ok(f, `${name}: plot ${id} not in the page`);
      assert.ok(f.w > 0 && f.h > 0, `${name}: plot ${id} has size ${f.w}×${f.h}`);
      assert.ok(f.drawn > 3, `${name}: plot ${id} draws nothing`);
    }
    for (const f of facts) {
      if (f.id.includes(":correlation:")) continue; // a matrix: its labels are the axes
      assert.ok(f.xAxis?.trim(), `${name}: plot ${f.id} has no x axis label`);
      if (!f.id.includes(":permutation") && !f.id.includes(":kind") && !f.id.includes(":importance"))
        assert.ok(f.yAxis?.trim(), `${name}: plot ${f.id} has no y axis label`);
      // Input variables with a unit in the pipeline's units: carry it on the axis.
      const feature = /:input:(.+)$/.exec(f.id)?.[1];
      if (feature && Object.hasOwn(units, feature))
        assert.ok(
          f.xAxis!.includes(`[${units[feature]}]`),
          `${name}: ${f.id} x axis "${f.xAxis}" lacks [${units[feature]}]`,
        );
      // The legend is a box that must not cover a marker line nor the experiment label.
      if (f.legend) {
        for (const v of f.vlines)
          assert.ok(
            !overlap(f.legend, { ...v, x: v.x - 1, w: v.w + 2 }),
            `${name}: ${f.id}: the legend covers a marker line`,
          );
        if (f.label) assert.ok(!overlap(f.legend, f.label), `${name}: ${f.id}: the legend covers the label`);
      }
    }
    // Every DAG box links to its stage's section.
    const dangling = await page.$$eval("a.dag-node", (as) =>
      as.map((a) => a.getAttribute("href") ?? "").filter((h) => !document.getElementById(h.slice(1))),
    );
    assert.deepEqual(dangling, []);
    await page.screenshot({
      path: path.join(artifacts, `${name}-report.png`),
      fullPage: true,
      timeout: 30_000,
    });
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
}

test("the demo report renders in headless Chromium", { timeout: 240_000 }, async (t) => {
  if (!CHROMIUM) {
    t.skip("no chromium binary (Debian package `chromium`; .ci/run installs it)");
    return;
  }
  const pipeline = path.join(tmp, "demo.yaml");
  fs.copyFileSync(path.join(repoRoot, "pipelines", "demo.yaml"), pipeline);
  const small = ["--set", "events=3000", "--set", "epochs=2", "--jobs", "2"];
  assert.equal(await main(["run", pipeline, ...small], quiet, registry), 0);
  const report = path.join(tmp, "demo-report.html");
  assert.equal(await main(["report", pipeline, "--out", report], quiet, registry), 0);
  await checkInBrowser(report, "demo", loadPipeline(pipeline, { registry }).spec.units);
});

test("the dark-matter report in headless Chromium", { timeout: 600_000 }, async (t) => {
  if (!CHROMIUM) {
    t.skip("no chromium binary (Debian package `chromium`; .ci/run installs it)");
    return;
  }
  const file = path.join(repoRoot, "pipelines", "dark-matter.yaml");
  if (!fs.existsSync(path.join(repoRoot, "..", "shared", "data", "atlas_dm_ml_notebook"))) {
    t.skip("the dark-matter data (../shared/data/atlas_dm_ml_notebook) is absent");
    return;
  }
  const cacheDir = path.join(tmp, "dm-store");
  const small = ["--set", "epochs=2", "--jobs", "2", "--cache-dir", cacheDir, "--no-lock"];
  assert.equal(await main(["run", file, ...small], quiet, registry), 0);
  const report = path.join(tmp, "dark-matter-report.html");
  assert.equal(await main(["report", file, "--cache-dir", cacheDir, "--out", report], quiet, registry), 0);
  const html = fs.readFileSync(report, "utf8");
  // The experiment label on the plots; the notebook's significance scan shows its excluded cuts.
  assert.match(html, /<tspan font-weight="bold" font-style="italic">ATLAS<\/tspan> Open Data/);
  assert.match(html, /data-plot="significance_nn:scan"[\s\S]*?data-excluded=""/);
  await checkInBrowser(report, "dark-matter", loadPipeline(file, { registry }).spec.units);
});

test("the photon-ID report in headless Chromium", { timeout: 600_000 }, async (t) => {
  if (!CHROMIUM) {
    t.skip("no chromium binary (Debian package `chromium`; .ci/run installs it)");
    return;
  }
  const dir = path.join(tmp, "photon-id");
  const generator = datasets.get("photon-id")!;
  await generator.make(path.join(dir, "data", "photon-id"), { scale: 0.03, seed: DEFAULT_DATASET_SEED });
  const file = path.join(dir, "photon-id.yaml");
  fs.copyFileSync(path.join(repoRoot, "pipelines", "photon-id.yaml"), file);
  const small = ["--set", "epochs=2", "--set", "background=5000", "--set", "signal=1000", "--jobs", "2"];
  assert.equal(await main(["run", file, ...small], quiet, registry), 0);
  const report = path.join(dir, "photon-id-report.html");
  assert.equal(await main(["report", file, "--out", report], quiet, registry), 0);
  const html = fs.readFileSync(report, "utf8");
  assert.match(html, /<tspan font-weight="bold" font-style="italic">CMS<\/tspan> Simulation/);
  // Five models train on one table: its input variables are drawn once.
  assert.equal([...html.matchAll(/data-plot="[^"]*:input:hoE"/g)].length, 1);
  await checkInBrowser(report, "photon-id", loadPipeline(file, { registry }).spec.units);
});
