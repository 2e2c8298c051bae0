/** Sweeps: grid parsing, shared stages run once, the plan, and mean ± std over seeds. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { main } from "../cli/main.js";
import { GridError, gridPoints, parseGrid, parseGridAxis } from "../engine/sweep.js";
import { meanStd } from "../core/stats.js";
import { Rig } from "./support/rig.js";
import { testRegistry } from "./support/test-stages.js";

// `seed` is a declared param here, so sweeping it changes what `plus` adds: results vary by seed.
const PIPELINE = `quiver: 1
name: grid
params: { seed: 1, scale: 1 }
stages:
  src:   { type: source, with: { file: data/numbers.txt } }
  plus:  { type: add, inputs: { table: src }, with: { amount: "\${seed}" } }
  total: { type: sum, inputs: { table: plus }, with: { scale: "\${scale}" } }
  other: { type: sum, inputs: { table: src } }
`;

async function sweep(r: Rig, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    ["sweep", r.path("p.yaml"), ...args],
    { out: (s) => out.push(s), err: (s) => err.push(s), color: false },
    testRegistry,
  );
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("grid parsing", () => {
  test("lists, YAML scalars and inclusive integer ranges", () => {
    assert.deepEqual(parseGridAxis("lr=0.001,0.003"), { name: "lr", values: [0.001, 0.003] });
    assert.deepEqual(parseGridAxis("seed=420..424").values, [420, 421, 422, 423, 424]);
    assert.deepEqual(parseGridAxis("kind=nn, gbt").values, ["nn", "gbt"]);
    assert.deepEqual(parseGridAxis("x=-2..0").values, [-2, -1, 0]);
  });

  test("mistakes are explained", () => {
    const msg = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        assert.ok(e instanceof GridError);
        return e.message;
      }
      assert.fail("expected a GridError");
    };
    assert.match(
      msg(() => parseGridAxis("lr")),
      /NAME=VALUES/,
    );
    assert.match(
      msg(() => parseGridAxis("seed=5..1")),
      /empty range/,
    );
    assert.match(
      msg(() => parseGridAxis("lr=1,,2")),
      /empty value/,
    );
    assert.match(
      msg(() => parseGridAxis("lr=1,1")),
      /listed twice/,
    );
    assert.match(
      msg(() => parseGrid(["a=1", "a=2"])),
      /given twice/,
    );
    assert.match(
      msg(() => parseGrid(["a=1..100", "b=1..100"])),
      /10000 points; the limit is 1000/,
    );
  });

  test("points: every combination, first axis slowest; values keep their type", () => {
    const pts = gridPoints(parseGrid(["a=1,2", "b=x,y"]));
    assert.deepEqual(pts, [
      { a: 1, b: "x" },
      { a: 1, b: "y" },
      { a: 2, b: "x" },
      { a: 2, b: "y" },
    ]);
    assert.deepEqual(gridPoints(parseGrid(['b="1",2'])), [{ b: "1" }, { b: 2 }]);
  });

  test("the sweep's spread is the sample standard deviation (ddof 1); one seed has none", () => {
    const m = meanStd([14, 18, 22], 1);
    assert.equal(m.mean, 18);
    assert.equal(m.std, 4);
    assert.ok(Number.isNaN(meanStd([3], 1).std));
  });
});

describe("quiver sweep", () => {
  test("shares stages across points, prints the plan, then mean ± std over seeds", async () => {
    const r = Rig.create({ "p.yaml": PIPELINE, "data/numbers.txt": "1 2 3 4\n" });
    const res = await sweep(
      r,
      "--grid",
      "scale=1,2",
      "--grid",
      "seed=1..3",
      "--metric",
      "total.sum",
      "-j",
      "2",
    );
    assert.equal(res.code, 0, res.err);
    // Plan: 6 points × 4 stages = 24 point by point; src and other once, plus once per seed,
    // total once per point: 1 + 1 + 3 + 6 = 11.
    assert.match(res.out, /· 6 points · 2 jobs/);
    assert.match(res.out, /work: 11 stage run\(s\) instead of 24 point by point/);
    assert.match(res.out, /shared: src, plus, other run once/);
    // What actually ran matches the plan.
    const ran = [...res.out.matchAll(/ (\d+) ran, (\d+) cached/g)].map((m) => Number(m[1]));
    assert.equal(ran.length, 6);
    assert.equal(
      ran.reduce((a, b) => a + b, 0),
      11,
    );
    // sums: 10 + 4·seed → 14, 18, 22 (× scale).
    assert.match(res.out, /mean ± std over seeds/);
    assert.match(res.out, /scale=1 \(3 seeds\)\s+18\.0 ± 4\.0/);
    assert.match(res.out, /scale=2 \(3 seeds\)\s+36\.0 ± 8\.0/);

    // Everything is cached now: the plan says so and nothing runs.
    const again = await sweep(r, "--grid", "scale=1,2", "--grid", "seed=1..3", "--dry-run");
    assert.equal(again.code, 0);
    assert.match(again.out, /work: 0 stage run\(s\) instead of 0/);
    r.remove();
  });

  test("the default table picks the final metrics that vary; a sweep does not move the latest run", async () => {
    const r = Rig.create({ "p.yaml": PIPELINE, "data/numbers.txt": "1 2 3 4\n" });
    await r.quiver("run", "p.yaml");
    const before = r.read(".quiver/records/pipeline-grid.json");
    const res = await sweep(r, "--grid", "scale=1,3");
    assert.equal(res.code, 0, res.err);
    assert.match(res.out, /metrics per point/);
    assert.match(res.out, /total\.sum/);
    assert.doesNotMatch(res.out, /other\.sum/, "constant across points: not a column");
    assert.match(res.out, /scale=3\s+42/);
    assert.equal(r.read(".quiver/records/pipeline-grid.json"), before);
    r.remove();
  });

  test("an unknown grid param is the same error as --set", async () => {
    const r = Rig.create({ "p.yaml": PIPELINE, "data/numbers.txt": "1 2 3 4\n" });
    const res = await sweep(r, "--grid", "scael=1,2");
    assert.equal(res.code, 2);
    assert.match(res.err, /QV_SET_UNKNOWN/);
    assert.match(res.err, /scale/);
    const bad = await sweep(r, "--grid", "scale=1", "--metric", "nope.x");
    assert.equal(bad.code, 2);
    assert.match(bad.err, /no stage "nope"/);
    r.remove();
  });
});
