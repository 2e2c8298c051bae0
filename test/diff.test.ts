/** `quiver diff`: stages that differ and why, and headline metrics side by side. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { main } from "../cli/main.js";
import { Rig } from "./support/rig.js";
import { testRegistry } from "./support/test-stages.js";

const PIPELINE = `quiver: 1
name: chain
params: { amount: 1, max: 100 }
stages:
  src:   { type: source, with: { file: data/numbers.txt } }
  plus:  { type: add, inputs: { table: src }, with: { amount: "\${amount}" } }
  clip:  { type: clip, inputs: { table: plus }, with: { max: "\${max}" } }
  total: { type: sum, inputs: { table: clip } }
`;

async function diff(r: Rig, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    ["diff", r.path("p.yaml"), ...args],
    { out: (s) => out.push(s), err: (s) => err.push(s), color: false },
    testRegistry,
  );
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("quiver diff", () => {
  test("lock vs latest run: which stages differ, why, and the metrics", async () => {
    const r = Rig.create({ "p.yaml": PIPELINE, "data/numbers.txt": "1 2 3 4\n" });
    await r.quiver("run", "p.yaml");
    let d = await diff(r);
    assert.equal(d.code, 0, d.err);
    assert.match(d.out, /0 of 4 stage\(s\) differ/);
    assert.match(d.out, /no headline metric differs/);

    await r.quiver("run", "p.yaml", "--set", "amount=2", "--no-lock");
    d = await diff(r);
    assert.match(d.out, /p\.lock → latest run/);
    assert.match(d.out, /= src\s+same/);
    assert.match(d.out, /≠ plus\s+param amount 1 → 2/);
    assert.match(d.out, /≠ clip\s+input table \(from plus\.table\)/);
    assert.match(d.out, /total\.metrics\.sum\s+14\s+18\s+\+4/);
    assert.match(d.out, /3 of 4 stage\(s\) differ/);

    const j = await diff(r, "--json");
    const doc = JSON.parse(j.out) as {
      stages: { stage: string; state: string }[];
      metrics: { name: string; a: number; b: number }[];
    };
    assert.deepEqual(
      doc.stages.map((s) => s.state),
      ["same", "changed", "changed", "changed"],
    );
    assert.deepEqual(doc.metrics, [{ name: "total.metrics.sum", a: 14, b: 18 }]);
    r.remove();
  });

  test("between two sweep points, and against a lock file from elsewhere", async () => {
    const r = Rig.create({ "p.yaml": PIPELINE, "data/numbers.txt": "1 2 3 4\n" });
    await r.quiver("run", "p.yaml");
    r.write("old.lock", r.read("p.lock"));
    const out: string[] = [];
    await main(
      ["sweep", r.path("p.yaml"), "--grid", "max=100,3"],
      { out: (s) => out.push(s), err: (s) => out.push(s), color: false },
      testRegistry,
    );
    const d = await diff(r, "--against", "sweep:1", "--to", "sweep:2");
    assert.equal(d.code, 0, d.err);
    assert.match(d.out, /sweep point 1 \(max=100\) → sweep point 2 \(max=3\)/);
    assert.match(d.out, /≠ clip\s+param max 100 → 3/);
    assert.match(d.out, /total\.metrics\.sum\s+14\s+11\s+−3/);
    const e = await diff(r, "--against", r.path("old.lock"), "--to", "lock");
    assert.match(e.out, /0 of 4 stage\(s\) differ/);
    const bad = await diff(r, "--against", "sweep:7");
    assert.equal(bad.code, 2);
    assert.match(bad.err, /the latest sweep has 2 points/);
    r.remove();
  });

  test("no lock and no run: a usage error that says what to do", async () => {
    const r = Rig.create({ "p.yaml": PIPELINE, "data/numbers.txt": "1 2 3 4\n" });
    const d = await diff(r);
    assert.equal(d.code, 2);
    assert.match(d.err, /no lock file .*p\.lock/);
    r.remove();
  });
});
