/**
 * gc and clean while a run is live (issue #19, defects 3 and 12): a run registers in the store, gc
 * and clean stop (QV_STORE_BUSY) instead of deleting its fresh results, a run that starts during a
 * gc waits for it, and a run never writes a lock naming results it cannot read back.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, describe, test } from "node:test";
import { Store } from "../cache/store.js";
import { currentOwner } from "../cache/owner.js";
import { main } from "../cli/main.js";
import { run } from "../ops/run.js";
import { loadPipeline } from "../ops/load.js";
import { OpError } from "../ops/errors.js";
import { auditStore } from "./support/chaos.js";
import { Rig, waitFor, type RunResult } from "./support/rig.js";
import { testRegistry } from "./support/test-stages.js";

const PIPELINE = `quiver: 1
name: live
stages:
  src:   { type: source, with: { values: [1, 2, 3, 4] } }
  a:     { type: add, inputs: { table: src }, with: { amount: 1 } }
  slow:  { type: add, inputs: { table: a }, with: { amount: 2, sleep_ms: 2500 } }
  total: { type: sum, inputs: { table: slow } }
`;

const rigs: Rig[] = [];
after(() => rigs.forEach((r) => r.remove()));
function rig(): Rig {
  const r = Rig.create({ "p.yaml": PIPELINE });
  rigs.push(r);
  return r;
}

async function cli(...args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const io = { out: (s: string) => lines.push(s), err: (s: string) => lines.push(s), color: false };
  return { code: await main(args, io, testRegistry), out: lines.join("\n") };
}

/** Starts `quiver run` in a child and resolves once `stage` has finished in it. */
async function runUntil(r: Rig, stage: string): Promise<{ done: Promise<RunResult> }> {
  const child = r.spawn("run", "p.yaml");
  let stdout = "";
  child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
  const done = waitFor(child);
  const t0 = Date.now();
  while (!stdout.includes(`"type":"finished","stage":"${stage}"`)) {
    if (child.exitCode !== null || Date.now() - t0 > 30_000)
      throw new Error(`the run never finished ${stage}`);
    await new Promise((res) => setTimeout(res, 20));
  }
  return { done };
}

interface Lock {
  stages: Record<string, { key: string }>;
}

describe("gc and clean during a run", () => {
  test("gc while a run is live removes nothing: QV_STORE_BUSY; the run's lock names every stage", async () => {
    const r = rig();
    const running = await runUntil(r, "a");
    const files = fs.readdirSync(path.join(r.cacheDir, "runs"), { recursive: true }).length;
    const g = await cli("gc", r.path("p.yaml"));
    assert.equal(g.code, 1, g.out);
    assert.match(g.out, /QV_STORE_BUSY: the store .* is in use: quiver run of live \(pid \d+ on /);
    assert.equal(fs.readdirSync(path.join(r.cacheDir, "runs"), { recursive: true }).length, files);
    const c = await cli("clean", r.path("p.yaml"), "--yes");
    assert.equal(c.code, 1, c.out);
    assert.match(c.out, /QV_STORE_BUSY/);
    const res = await running.done;
    assert.equal(res.code, 0, res.stderr);
    const lock = JSON.parse(r.read("p.lock")) as Lock;
    assert.deepEqual(Object.keys(lock.stages).sort(), ["a", "slow", "src", "total"]);
    assert.deepEqual(await auditStore(r.cacheDir), []);
    // Afterwards gc runs, and keeps what the lock and the latest run name.
    assert.equal((await cli("gc", r.path("p.yaml"))).code, 0);
    const again = await r.quiver("run", "p.yaml");
    assert.deepEqual(again.ran, []);
  });

  test("a run that starts while gc holds the store waits for it, then runs", async () => {
    const r = rig();
    assert.equal((await r.quiver("run", "p.yaml")).code, 0);
    const store = (await Store.openExisting(r.cacheDir))!;
    const release = await store.holdForMaintenance();
    const child = r.spawn("run", "p.yaml", "--force", "src");
    const done = waitFor(child);
    // Wait until the run says it waits (a loaded machine may take seconds to start it at all).
    let said = "";
    child.stderr?.on("data", (d: Buffer) => (said += d.toString()));
    const t0 = Date.now();
    while (!said.includes("QV_STORE_WAIT") && child.exitCode === null && Date.now() - t0 < 30_000)
      await new Promise((res) => setTimeout(res, 25));
    await new Promise((res) => setTimeout(res, 300));
    assert.equal(child.exitCode, null, "the run waits while gc holds the store");
    await release();
    const res = await done;
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /QV_STORE_WAIT: waiting for a gc or clean/);
    assert.deepEqual(res.ran, ["src"]);
  });

  test("registrations of processes that are gone do not block gc; they are removed", async () => {
    const r = rig();
    assert.equal((await r.quiver("run", "p.yaml")).code, 0);
    const active = path.join(r.cacheDir, "active");
    fs.mkdirSync(active, { recursive: true });
    // A run of this machine that was killed (its pid is a predecessor's: another token).
    fs.writeFileSync(
      path.join(active, "aa11.json"),
      JSON.stringify({ ...currentOwner(), token: "aa11", command: "run" }),
    );
    // A job on a node that died 3 minutes ago (no heartbeat since).
    const node = path.join(active, "bb22.json");
    fs.writeFileSync(node, JSON.stringify({ pid: 7, host: "node-3", token: "bb22", at: 0, command: "exec" }));
    const old = new Date(Date.now() - 180_000);
    fs.utimesSync(node, old, old);
    const g = await cli("gc", r.path("p.yaml"));
    assert.equal(g.code, 0, g.out);
    assert.deepEqual(fs.existsSync(active) ? fs.readdirSync(active) : [], []);
    // A job on a node with a fresh heartbeat is live: gc waits for it.
    fs.mkdirSync(active, { recursive: true });
    fs.writeFileSync(node, JSON.stringify({ pid: 7, host: "node-3", token: "bb22", at: 0, command: "exec" }));
    const busy = await cli("gc", r.path("p.yaml"));
    assert.equal(busy.code, 1);
    assert.match(busy.out, /quiver exec \(pid 7 on node-3/);
  });

  test("a result that vanishes before the lock is written is recomputed; if it cannot be, no lock", async () => {
    // Between the end of the graph walk and the lock, someone removes a's manifest by hand —
    // once: the run recomputes it; every time: the run fails and writes no lock.
    const attempt = (r: Rig, times: number) => {
      const p = loadPipeline(r.path("p.yaml"), { registry: testRegistry });
      let key: string | undefined;
      let left = times;
      const events: string[] = [];
      return {
        events,
        run: run(p, {
          jobs: 2,
          onEvent: (e) => {
            if (e.type === "finished" || e.type === "cached" || e.type === "started")
              events.push(`${e.type} ${e.stage}`);
            if ((e.type === "finished" || e.type === "cached") && e.stage === "a") key = e.key;
            if (e.type === "run-end" && key && left-- > 0)
              fs.rmSync(path.join(r.cacheDir, "runs", key.slice(0, 2), `${key}.json`));
          },
        }),
      };
    };
    const r = rig();
    const always = attempt(r, 99);
    const err = await always.run.then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof OpError, String(err));
    assert.equal(err.diagnostics[0]!.code, "QV_RESULTS_MISSING");
    assert.match(err.diagnostics[0]!.message, /the results of a are not complete/);
    assert.equal(fs.existsSync(r.path("p.lock")), false, "no lock pointing at a missing result");

    const r2 = rig();
    const once = attempt(r2, 1);
    const report = await once.run;
    assert.equal(report.ok, true);
    assert.equal(report.lock.state, "written");
    assert.deepEqual(
      once.events.filter((e) => e.endsWith(" a")),
      ["started a", "finished a", "started a", "finished a"],
      "a runs, then is recomputed once as a repair",
    );
    const lock = JSON.parse(r2.read("p.lock")) as Lock;
    assert.deepEqual(Object.keys(lock.stages).sort(), ["a", "slow", "src", "total"]);
  });
});
