/**
 * Chaos: real `quiver run` processes killed with SIGKILL at random moments, and several processes
 * sharing one store. Kill times come from a seeded generator; a failure prints the seed
 * (replay: QUIVER_CHAOS_SEED=<seed>). QUIVER_CHAOS_KILLS sets the number of kills (default 20).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { after, describe, test } from "node:test";
import type { EngineEvent } from "../engine/events.js";
import { main } from "../cli/main.js";
import { testRegistry } from "./support/test-stages.js";
import { Rig, storeObjects } from "./support/rig.js";
import {
  auditStore,
  chaosSeed,
  envCount,
  killRepeatedly,
  runWithDeadline,
  tmpLeftovers,
  withSeed,
} from "./support/chaos.js";

const KILLS = envCount("QUIVER_CHAOS_KILLS", 20);
const DEADLINE_MS = 60_000;

/** Two branches, a multi-output stage and a few short sleeps: about half a second of work. */
const CHAIN = `quiver: 1
name: chaos
stages:
  src:    { type: source, with: { values: [1, 2, 3, 4, 5, 6, 7], sleep_ms: 40 } }
  a:      { type: add, inputs: { table: src }, with: { amount: 1, sleep_ms: 40 } }
  b:      { type: add, inputs: { table: a }, with: { amount: 2, sleep_ms: 40 } }
  c:      { type: add, inputs: { table: src }, with: { amount: 3, sleep_ms: 40 } }
  h:      { type: halves, inputs: { table: b } }
  first:  { type: sum, inputs: { table: h.first } }
  second: { type: sum, inputs: { table: h.second } }
  other:  { type: sum, inputs: { table: c } }
`;
const STAGES = ["a", "b", "c", "first", "h", "other", "second", "src"];

const rigs: Rig[] = [];
after(() => rigs.forEach((r) => r.remove()));
function rig(files: Record<string, string>): Rig {
  const r = Rig.create(files);
  rigs.push(r);
  return r;
}

/** Cache key and output hashes of every stage in a finished run's events. */
function results(events: readonly EngineEvent[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of events) {
    if (e.type === "finished") out[e.stage] = `${e.key} ${JSON.stringify(e.outputs)}`;
    else if (e.type === "cached") out[e.stage] = e.key;
  }
  return out;
}

describe("kill -9 at random moments", () => {
  test(`${KILLS} kills in a row, then a run to completion: the store equals a clean run's`, async (t) => {
    const seed = chaosSeed();
    await withSeed("chaos kills", seed, async (rng) => {
      const clean = rig({ "p.yaml": CHAIN });
      const t0 = performance.now();
      const ref = await runWithDeadline(clean, "p.yaml", [], DEADLINE_MS);
      const cleanMs = performance.now() - t0;
      assert.equal(ref.code, 0, ref.stderr);
      assert.deepEqual([...ref.ran].sort(), STAGES);
      const refObjects = storeObjects(clean.cacheDir);
      const refKeys = Object.fromEntries(
        ref.events.flatMap((e) => (e.type === "finished" ? [[e.stage, e.key]] : [])),
      );

      const t1 = performance.now();
      await runWithDeadline(clean, "p.yaml", [], DEADLINE_MS);
      const cachedMs = performance.now() - t1;

      const r = rig({ "p.yaml": CHAIN });
      // Half of the attempts force a random stage, so kills also land while an existing entry is
      // rewritten, and later attempts still have work to interrupt once everything is cached.
      // Half of the kill windows span a clean run, half a cached one: once most stages are
      // cached, runs are short, and kills drawn from a clean run's span would mostly miss them.
      const kills = [];
      for (let i = 0; i < KILLS; i++) {
        const force = rng.uniform() < 0.5 ? ["--force", STAGES[rng.int(STAGES.length)]!] : [];
        const window = 1.2 * (rng.uniform() < 0.5 ? cleanMs : cachedMs);
        kills.push(...(await killRepeatedly(r, "p.yaml", force, 1, window, rng)));
      }
      const interrupted = kills.filter((k) => !k.finishedFirst).length;
      t.diagnostic(`seed ${seed}: ${KILLS} kills, ${interrupted} during a live run`);
      const done = await runWithDeadline(r, "p.yaml", [], DEADLINE_MS);
      assert.equal(done.code, 0, `final run failed after kills ${JSON.stringify(kills)}:\n${done.stderr}`);
      assert.doesNotMatch(done.stderr, /QV_CACHE_CORRUPT/, "a kill never leaves a corrupt entry");

      assert.deepEqual(storeObjects(r.cacheDir), refObjects, "objects byte-identical to a clean run's");
      const finalKeys = Object.fromEntries(
        done.events.flatMap((e) => (e.type === "finished" || e.type === "cached" ? [[e.stage, e.key]] : [])),
      );
      assert.deepEqual(finalKeys, refKeys, "every stage has the clean run's cache key");
      assert.deepEqual(await auditStore(r.cacheDir), []);
      const again = await runWithDeadline(r, "p.yaml", [], DEADLINE_MS);
      assert.deepEqual(again.ran, [], "after the completed run everything is cached");
      // Interrupted writes may leave temp files behind (gc removes old ones); never in objects/.
      for (const name of tmpLeftovers(r.cacheDir)) assert.match(name, /\.tmp$/);
      // `quiver verify` recomputes every stage and compares with the clean run's lock file.
      fs.copyFileSync(clean.path("p.lock"), r.path("clean.lock"));
      const lines: string[] = [];
      const io = { out: (s: string) => lines.push(s), err: (s: string) => lines.push(s), color: false };
      const verify = await main(
        ["verify", r.path("p.yaml"), "--lock", r.path("clean.lock")],
        io,
        testRegistry,
      );
      assert.equal(verify, 0, lines.join("\n"));
      assert.match(lines.join("\n"), new RegExp(`${STAGES.length} bit-identical`));
      if (KILLS >= 10)
        assert.ok(interrupted >= KILLS / 4, `only ${interrupted}/${KILLS} kills hit a live run`);
    });
  });
});

describe("concurrent runs on one store", () => {
  test("4 processes of the same pipeline: all finish, each stage computed once, no corrupt entry", async () => {
    const clean = rig({ "p.yaml": CHAIN });
    assert.equal((await runWithDeadline(clean, "p.yaml", [], DEADLINE_MS)).code, 0);
    const r = rig({ "p.yaml": CHAIN });
    const runs = await Promise.all([0, 1, 2, 3].map(() => runWithDeadline(r, "p.yaml", [], DEADLINE_MS)));
    for (const res of runs) assert.equal(res.code, 0, res.stderr);
    for (const stage of STAGES) {
      const computed = runs.flatMap((x) => x.ran).filter((s) => s === stage).length;
      const story = runs
        .map(
          (x, i) =>
            `run ${i}: ` +
            x.events
              .filter((e) => "stage" in e && e.stage === stage && e.type !== "progress")
              .map((e) => JSON.stringify(e))
              .join(" ") +
            (x.stderr ? ` stderr: ${x.stderr.slice(0, 400)}` : ""),
        )
        .join("\n");
      assert.equal(computed, 1, `${stage} computed exactly once across 4 processes:\n${story}`);
    }
    const all = runs.map((x) => results(x.events));
    for (const stage of STAGES) {
      const keys = new Set(all.map((x) => x[stage]?.split(" ")[0]));
      assert.equal(keys.size, 1, `${stage}: every process agrees on the key`);
    }
    assert.deepEqual(storeObjects(r.cacheDir), storeObjects(clean.cacheDir));
    assert.deepEqual(await auditStore(r.cacheDir), []);
  });

  test("2 different pipelines sharing their first stages: each shared stage computed once", async () => {
    const shared = `  src:    { type: source, with: { values: [1, 2, 3, 4], sleep_ms: 150 } }
  a:      { type: add, inputs: { table: src }, with: { amount: 1, sleep_ms: 150 } }
  b:      { type: add, inputs: { table: a }, with: { amount: 2, sleep_ms: 150 } }
`;
    const r = rig({
      "one.yaml": `quiver: 1\nname: one\nstages:\n${shared}  t1: { type: sum, inputs: { table: b } }\n`,
      "two.yaml": `quiver: 1\nname: two\nseed: 9\nstages:\n${shared}  t2: { type: clip, inputs: { table: b }, with: { max: 3 } }\n  s2: { type: sum, inputs: { table: t2 } }\n`,
    });
    const [one, two] = await Promise.all([
      runWithDeadline(r, "one.yaml", [], DEADLINE_MS),
      runWithDeadline(r, "two.yaml", [], DEADLINE_MS),
    ]);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(two.code, 0, two.stderr);
    for (const stage of ["src", "a", "b"]) {
      const finished = [...one.ran, ...two.ran].filter((s) => s === stage).length;
      assert.equal(finished, 1, `shared stage ${stage} finished exactly once across both pipelines`);
      assert.equal(results(one.events)[stage]?.split(" ")[0], results(two.events)[stage]?.split(" ")[0]);
    }
    assert.deepEqual(
      one.ran.filter((s) => s === "t1"),
      ["t1"],
    );
    assert.deepEqual([...two.ran].filter((s) => s === "t2" || s === "s2").sort(), ["s2", "t2"]);
    assert.deepEqual(await auditStore(r.cacheDir), []);
  });
});
