/** Real processes on one store: SIGKILL mid-stage, and concurrent runs. */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { Rig, storeObjects, waitFor } from "./support/rig.js";

const SLOW = `quiver: 1
name: slow
stages:
  src:  { type: source, with: { values: [1, 2, 3], sleep_ms: 300 } }
  a:    { type: add, inputs: { table: src }, with: { amount: 1, sleep_ms: 300 } }
  b:    { type: add, inputs: { table: a }, with: { amount: 2, sleep_ms: 300 } }
  total: { type: sum, inputs: { table: b } }
`;

describe("processes", () => {
  test("a run killed with SIGKILL mid-stage is followed by a run that finishes with the same bytes", async () => {
    const clean = Rig.create({ "p.yaml": SLOW });
    const reference = await clean.spawnAndWait("run", "p.yaml");
    assert.equal(reference.code, 0, reference.stderr);
    const refObjects = storeObjects(clean.cacheDir);

    const r = Rig.create({ "p.yaml": SLOW });
    for (const delay of [150, 450, 750]) {
      const child = r.spawn("run", "p.yaml");
      const done = waitFor(child);
      await new Promise((res) => setTimeout(res, delay));
      child.kill("SIGKILL");
      await done;
    }
    const after = await r.spawnAndWait("run", "p.yaml");
    assert.equal(after.code, 0, after.stderr);
    assert.deepEqual(storeObjects(r.cacheDir), refObjects);
    const again = await r.spawnAndWait("run", "p.yaml");
    assert.deepEqual(again.ran, []);
    clean.remove();
    r.remove();
  });

  test("two concurrent runs on one store both succeed and compute each stage once", async () => {
    const r = Rig.create({ "p.yaml": SLOW });
    const [x, y] = await Promise.all([r.spawnAndWait("run", "p.yaml"), r.spawnAndWait("run", "p.yaml")]);
    assert.equal(x.code, 0, x.stderr);
    assert.equal(y.code, 0, y.stderr);
    for (const stage of ["src", "a", "b", "total"]) {
      const computed = [...x.ran, ...y.ran].filter((s) => s === stage).length;
      assert.equal(computed, 1, `${stage} computed exactly once (single-flight)`);
    }
    r.remove();
  });
});

describe("isolated execution", () => {
  test("--isolate runs every stage as `quiver exec` of a job in the store, with the same results", async () => {
    const inline = Rig.create({ "p.yaml": SLOW.replace(/sleep_ms: 300/g, "sleep_ms: 0") });
    const ref = await inline.spawnAndWait("run", "p.yaml");
    assert.equal(ref.code, 0, ref.stderr);
    const r = Rig.create({ "p.yaml": SLOW.replace(/sleep_ms: 300/g, "sleep_ms: 0") });
    const res = await r.spawnAndWait("run", "p.yaml", "--isolate", "--jobs", "2");
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual([...res.ran].sort(), ["a", "b", "src", "total"]);
    assert.deepEqual(storeObjects(r.cacheDir), storeObjects(inline.cacheDir));
    const again = await r.spawnAndWait("run", "p.yaml");
    assert.deepEqual(again.ran, []);
    inline.remove();
    r.remove();
  });
});

describe("locks of jobs in other processes", () => {
  test("the head's lock of a job and the exec lock of `quiver exec` heartbeat while a stage blocks its thread", async () => {
    // The same code holds them on a batch node: a dead node's locks go stale within seconds.
    const r = Rig.create({
      "p.yaml": "quiver: 1\nname: beat\nstages:\n  s: { type: spin, with: { ms: 6000 } }\n",
    });
    try {
      const child = r.spawn("run", "p.yaml", "--isolate");
      const done = waitFor(child);
      const locks = path.join(r.cacheDir, "locks");
      const lockFiles = () =>
        (fs.existsSync(locks) ? fs.readdirSync(locks) : []).filter((f) =>
          /^[0-9a-f]{16}(\.exec)?\.lock$/.test(f),
        );
      const until = Date.now() + 60_000;
      while (lockFiles().length < 2 && Date.now() < until) await new Promise((res) => setTimeout(res, 50));
      const files = lockFiles().sort();
      assert.equal(files.length, 2, "the head's lock and the exec lock");
      const mtimes = () => files.map((f) => fs.statSync(path.join(locks, f)).mtimeMs);
      const before = mtimes();
      await new Promise((res) => setTimeout(res, 2500));
      const after = mtimes();
      for (const [i, f] of files.entries()) assert.ok(after[i]! > before[i]!, `${f} was refreshed`);
      const res = await done;
      assert.equal(res.code, 0, res.stderr);
      assert.deepEqual(lockFiles(), [], "released");
    } finally {
      r.remove();
    }
  });
});

describe("failures across the process boundary", () => {
  test("a stage failing under --isolate reports the same code and location as in-process", async () => {
    const pipeline = `quiver: 1
name: failing
stages:
  src:  { type: source, with: { values: [1, 2] } }
  bad:  { type: fail, inputs: { table: src }, with: { message: "no good" } }
`;
    const inline = Rig.create({ "p.yaml": pipeline });
    const isolated = Rig.create({ "p.yaml": pipeline });
    const a = await inline.spawnAndWait("run", "p.yaml");
    const b = await isolated.spawnAndWait("run", "p.yaml", "--isolate");
    const located = (r: typeof a) =>
      r.events.flatMap((e) =>
        e.type === "failed"
          ? e.diagnostics.map((d) => [d.code, d.message, d.location?.line, d.location?.col])
          : [],
      );
    assert.equal(b.code, 1);
    assert.deepEqual(located(a), [["QV_TEST_FAIL", "bad: no good", 5, 64]]);
    assert.deepEqual(located(b), located(a));
    // The failed job keeps its folder (for the user to read) until the next attempt or gc.
    const jobs = fs.readdirSync(path.join(isolated.cacheDir, "jobs"));
    assert.equal(jobs.length, 1);
    assert.deepEqual(fs.readdirSync(path.join(isolated.cacheDir, "jobs", jobs[0]!)).sort(), [
      "events.ndjson",
      "failure.json",
      "job.json",
      "log",
    ]);
    const gc = await isolated.spawnAndWait("gc", "p.yaml");
    assert.equal(gc.code, 0, gc.stderr);
    assert.deepEqual(
      fs.readdirSync(path.join(isolated.cacheDir, "jobs")),
      [],
      "gc removes finished job folders",
    );
    inline.remove();
    isolated.remove();
  });

  test("a child's progress and notes reach the head through the store; a crash is told with its log", async () => {
    const r = Rig.create({
      "p.yaml": `quiver: 1
name: chatty
stages:
  th:   { type: threads }
  boom: { type: crash, with: { code: 7 } }
`,
    });
    const res = await r.spawnAndWait("run", "p.yaml", "--isolate", "--keep-going");
    assert.equal(res.code, 1);
    assert.ok(
      res.events.some((e) => e.type === "note" && e.stage === "th" && /running with/.test(e.message)),
    );
    assert.ok(res.events.some((e) => e.type === "progress" && e.stage === "th" && e.fraction === 0.5));
    const failed = res.events.find((e) => e.type === "failed");
    assert.ok(failed?.type === "failed");
    assert.equal(failed.diagnostics[0]!.code, "QV_EXEC_FAILED");
    assert.match(failed.diagnostics[0]!.message, /exit code 7/);
    assert.match(failed.diagnostics[0]!.message, /crash stage boom: exiting with 7/);
    assert.deepEqual(
      fs.readdirSync(path.join(r.cacheDir, "jobs")).length,
      1,
      "only the crashed job's folder is left",
    );
    r.remove();
  });
});
