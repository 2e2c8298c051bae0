/**
 * `show` and `export` give the result of THIS pipeline file as it is now (issue #19, defect 2):
 * two checkouts of one pipeline (same `name:`) sharing one store, one with a tighter cut, each
 * see their own numbers; an edited pipeline that has not run has no stored result, and says so.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { main } from "../cli/main.js";
import { Rig } from "./support/rig.js";
import { testRegistry } from "./support/test-stages.js";

const pipeline = (max: number) => `quiver: 1
name: shared
stages:
  src:   { type: source, with: { values: [1, 2, 3, 4, 5] } }
  cut:   { type: clip, inputs: { table: src }, with: { max: ${max} } }
  total: { type: sum, inputs: { table: cut } }
`;

const cleanup: (() => void)[] = [];
after(() => cleanup.forEach((c) => c()));

async function cli(...args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const io = { out: (s: string) => lines.push(s), err: (s: string) => lines.push(s), color: false };
  return { code: await main(args, io, testRegistry), out: lines.join("\n") };
}

describe("show and export resolve this pipeline's current keys", () => {
  test("two checkouts sharing a store: each shows and exports its own result", async () => {
    const store = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-shared-store-"));
    fs.rmdirSync(store);
    cleanup.push(() => fs.rmSync(store, { recursive: true, force: true }));
    const a = Rig.create({ "p.yaml": pipeline(4) });
    const b = Rig.create({ "p.yaml": pipeline(2) });
    cleanup.push(
      () => a.remove(),
      () => b.remove(),
    );
    assert.equal((await cli("run", a.path("p.yaml"), "--cache-dir", store)).code, 0);
    assert.equal((await cli("run", b.path("p.yaml"), "--cache-dir", store)).code, 0);

    const shownA = await cli("show", a.path("p.yaml"), "total.metrics", "--cache-dir", store);
    assert.equal(shownA.code, 0, shownA.out);
    assert.match(shownA.out, /sum\s+14\b/, "checkout A: 1+2+3+4+4");
    const shownB = await cli("show", b.path("p.yaml"), "total.metrics", "--cache-dir", store);
    assert.match(shownB.out, /sum\s+9\b/, "checkout B: 1+2+2+2+2");

    const csv = a.path("cut.csv");
    assert.equal(
      (await cli("export", a.path("p.yaml"), "cut.table", "--to", csv, "--cache-dir", store)).code,
      0,
    );
    assert.equal(fs.readFileSync(csv, "utf8"), "x\n1\n2\n3\n4\n4\n");
  });

  test("an edited pipeline that has not run: no stored result, and why", async () => {
    const r = Rig.create({ "p.yaml": pipeline(4) });
    cleanup.push(() => r.remove());
    assert.equal((await cli("run", r.path("p.yaml"))).code, 0);
    r.write("p.yaml", pipeline(3));
    const shown = await cli("show", r.path("p.yaml"), "total.metrics");
    assert.equal(shown.code, 1, shown.out);
    assert.match(shown.out, /QV_NOT_RUN: stage "total" has no stored result for .*p\.yaml as it is now/);
    assert.doesNotMatch(shown.out, /sum\s+14/, "the old result is not shown as the current one");
    const cut = await cli("show", r.path("p.yaml"), "cut");
    assert.match(cut.out, /QV_NOT_RUN: .*\(params\.max: 4 → 3 \(.*p\.yaml:5:61\)\)/);
    // The unchanged upstream stage is still shown; --set shows an explored variant once it ran.
    assert.equal((await cli("show", r.path("p.yaml"), "src")).code, 0);
    r.write("p.yaml", pipeline(4));
    const set = await cli("show", r.path("p.yaml"), "total.metrics", "--set", "max=3");
    assert.equal(set.code, 2, "max is not a pipeline param: a usage error, not a wrong result");
  });

  test("results in the store without a run record (pulled, or records lost) are shown", async () => {
    const r = Rig.create({ "p.yaml": pipeline(4) });
    cleanup.push(() => r.remove());
    assert.equal((await cli("run", r.path("p.yaml"))).code, 0);
    fs.rmSync(path.join(r.cacheDir, "records"), { recursive: true });
    const shown = await cli("show", r.path("p.yaml"), "total.metrics");
    assert.equal(shown.code, 0, shown.out);
    assert.match(shown.out, /sum\s+14\b/);
  });
});
