/**
 * The demo report in a real browser: headless Chromium (the Debian `chromium` package, driven by
 * playwright-core) opens the file offline, every plot renders with a non-zero size, the console
 * stays clean, and a screenshot is kept in test-artifacts/ for people to look at.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { fileURLToPath, pathToFileURL } from "node:url";
import { main } from "../cli/main.js";
import { registry } from "../stages/index.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const CHROMIUM = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => fs.existsSync(p));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-browser-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

test("the demo report renders in headless Chromium", { timeout: 120_000 }, async (t) => {
  if (!CHROMIUM) {
    t.skip("no chromium binary (Debian package `chromium`; .ci/run installs it)");
    return;
  }
  fs.copyFileSync(path.join(repoRoot, "pipelines", "demo.yaml"), path.join(tmp, "demo.yaml"));
  const quiet = { out: () => {}, err: () => {}, color: false };
  const pipeline = path.join(tmp, "demo.yaml");
  const small = ["--set", "events=3000", "--set", "epochs=2", "--jobs", "2"];
  assert.equal(await main(["run", pipeline, ...small], quiet, registry), 0);
  const report = path.join(tmp, "demo-report.html");
  assert.equal(await main(["report", pipeline, "--out", report], quiet, registry), 0);
  const expected = [...fs.readFileSync(report, "utf8").matchAll(/data-plot="([^"]+)"/g)].map((m) => m[1]!);
  assert.ok(expected.length >= 10, `only ${expected.length} plots in the report`);

  const { chromium } = await import("playwright-core");
  const context = await chromium.launchPersistentContext(path.join(tmp, "profile"), {
    executablePath: CHROMIUM,
    headless: true,
    timeout: 60_000,
    viewport: { width: 1300, height: 900 },
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
    const boxes = await page.$$eval("svg.plot, svg.dag", (els) =>
      els.map((e) => {
        const r = e.getBoundingClientRect();
        return {
          id: e.getAttribute("data-plot") ?? "dag",
          w: r.width,
          h: r.height,
          drawn: e.querySelectorAll("path, circle, line").length,
        };
      }),
    );
    const dag = boxes.find((b) => b.id === "dag");
    assert.ok(dag && dag.w > 100 && dag.h > 100, `DAG size ${JSON.stringify(dag)}`);
    for (const id of expected) {
      const b = boxes.find((x) => x.id === id);
      assert.ok(b, `plot ${id} not in the page`);
      assert.ok(b.w > 0 && b.h > 0, `plot ${id} has size ${b.w}×${b.h}`);
      assert.ok(b.drawn > 3, `plot ${id} draws nothing`);
    }
    // Every DAG box links to its stage's section.
    const dangling = await page.$$eval("a.dag-node", (as) =>
      as.map((a) => a.getAttribute("href") ?? "").filter((h) => !document.getElementById(h.slice(1))),
    );
    assert.deepEqual(dangling, []);
    const artifacts = path.join(repoRoot, "test-artifacts");
    fs.mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, "demo-report.png"), fullPage: true, timeout: 30_000 });
    assert.deepEqual(problems, []);
  } finally {
    await context.close();
  }
});
