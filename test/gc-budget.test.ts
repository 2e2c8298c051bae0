/** Value-aware gc: what it keeps, what --max-size evicts first, and what still works afterwards. */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { main } from "../cli/main.js";
import { parseSize, planEviction, type Holder } from "../ops/gc-budget.js";
import { Rig, storeObjects } from "./support/rig.js";
import { testRegistry } from "./support/test-stages.js";

const PIPELINE = `quiver: 1
name: chain
params: { amount: 1, max: 100 }
stages:
  src:   { type: source, with: { file: data/numbers.txt } }
  plus:  { type: add, inputs: { table: src }, with: { amount: "\${amount}", sleep_ms: 30 } }
  clip:  { type: clip, inputs: { table: plus }, with: { max: "\${max}" } }
  total: { type: sum, inputs: { table: clip } }
`;

async function text(r: Rig, ...args: string[]): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const code = await main(
    args,
    { out: (s) => out.push(s), err: (s) => out.push(s), color: false },
    testRegistry,
  );
  void r;
  return { code, out: out.join("\n") };
}

const h = (key: string, hash: string, durationMs: number, kind = "table"): Holder<string, string> => ({
  key,
  stage: key,
  durationMs,
  hash,
  kind,
});

describe("eviction plan", () => {
  test("cheapest recompute time per byte goes first, until under budget; metrics never go", () => {
    const objects = [
      { hash: "a", size: 1000 }, // 10 ms → 0.01 ms/B
      { hash: "b", size: 100 }, // 10 ms → 0.1 ms/B
      { hash: "c", size: 1000 }, // 1000 ms → 1 ms/B
      { hash: "m", size: 5000 }, // metrics: kept whatever its size
    ];
    const holders = [h("ka", "a", 10), h("kb", "b", 10), h("kc", "c", 1000), h("km", "m", 0, "metrics")];
    const plan = planEviction(objects, holders, 6000);
    assert.deepEqual(
      plan.evict.map((e) => e.hash),
      ["a", "b"],
    );
    assert.equal(plan.freed, 1100);
    assert.equal(plan.lostMs, 20);
    assert.deepEqual(plan.keys, ["ka", "kb"]);
    assert.equal(plan.after, 6000);
    // A budget below what metrics need: everything else goes, metrics stay.
    const all = planEviction(objects, holders, 0);
    assert.deepEqual(all.evict.map((e) => e.hash).sort(), ["a", "b", "c"]);
    assert.equal(all.after, 5000);
    // Within budget: nothing.
    assert.equal(planEviction(objects, holders, 1e9).evict.length, 0);
  });

  test("an object two results share costs both their durations", () => {
    const plan = planEviction(
      [
        { hash: "s", size: 100 },
        { hash: "t", size: 100 },
      ],
      [h("k1", "s", 10), h("k2", "s", 10), h("k3", "t", 15)],
      150,
    );
    assert.deepEqual(
      plan.evict.map((e) => e.hash),
      ["t"],
    );
  });

  test("sizes", () => {
    assert.equal(parseSize("5G"), 5 * 1024 ** 3);
    assert.equal(parseSize("500M"), 500 * 1024 ** 2);
    assert.equal(parseSize("1.5GiB"), 1.5 * 1024 ** 3);
    assert.equal(parseSize("123"), 123);
    assert.equal(parseSize("5 parsecs"), undefined);
  });
});

describe("quiver gc", () => {
  test("keeps what the lock references even after the latest run moved on", async () => {
    const r = Rig.create({ "p.yaml": PIPELINE, "data/numbers.txt": "1 2 3 4\n" });
    await r.quiver("run", "p.yaml");
    await r.quiver("run", "p.yaml", "--set", "amount=2", "--no-lock");
    const gc = await text(r, "gc", r.path("p.yaml"));
    assert.equal(gc.code, 0);
    const st = await r.quiver("run", "p.yaml");
    assert.deepEqual(st.ran, [], "the locked results survived gc");
    r.remove();
  });

  test("--max-size evicts payloads; status says why; metrics, diff and the rerun still work", async () => {
    const r = Rig.create({ "p.yaml": PIPELINE, "data/numbers.txt": "1 2 3 4\n" });
    await r.quiver("run", "p.yaml");
    const before = storeObjects(r.cacheDir);
    const dry = await text(r, "gc", r.path("p.yaml"), "--max-size", "1", "--dry-run");
    assert.equal(dry.code, 0);
    assert.match(dry.out, /would evict 3 payload\(s\) .*recomputing them would take \d+ ms/);
    assert.deepEqual([...storeObjects(r.cacheDir).keys()], [...before.keys()], "dry run deletes nothing");

    const real = await text(r, "gc", r.path("p.yaml"), "--max-size", "1");
    assert.match(real.out, /evicted 3 payload\(s\)/); // clip passes plus through: one object
    assert.match(real.out, /still over budget: the rest is metrics and manifests/);
    const after = storeObjects(r.cacheDir);
    assert.equal(after.size, 1, "only the metrics object is left");
    assert.ok(fs.readdirSync(path.join(r.cacheDir, "runs")).length > 0, "manifests kept");

    const status = await text(r, "status", r.path("p.yaml"));
    assert.match(status.out, /src\s+will run: cached result evicted by gc/);
    const diff = await text(r, "diff", r.path("p.yaml"), "--all");
    assert.match(diff.out, /total\.metrics\.sum\s+14\s+14/);

    const rerun = await r.quiver("run", "p.yaml");
    assert.equal(rerun.code, 0);
    // plus's recomputed output is clip's output too: clip's entry is whole again and stays cached.
    assert.deepEqual(rerun.ran.sort(), ["plus", "src", "total"]);
    r.remove();
  });

  test("a bad --max-size is a usage error", async () => {
    const r = Rig.create({ "p.yaml": PIPELINE, "data/numbers.txt": "1 2 3 4\n" });
    await r.quiver("run", "p.yaml");
    const res = await text(r, "gc", r.path("p.yaml"), "--max-size", "lots");
    assert.equal(res.code, 2);
    assert.match(res.out, /--max-size expects a size/);
    r.remove();
  });
});
