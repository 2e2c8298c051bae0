/**
 * Chaos beyond `quiver run` (issue #19): SIGKILL at random moments of `run --isolate` (the head
 * alone, leaving its `quiver exec` workers orphaned, or the head with its workers), of `push` and
 * of `pull` (to and from a shared-directory remote). After the kills one complete command must
 * leave a store (and a remote) byte-identical to a clean run's, with nothing corrupt and nothing
 * left to run. Kill times come from a seeded generator; a failure prints the seed (replay with
 * QUIVER_CHAOS_SEED). QUIVER_CHAOS_KILLS_EXTRA sets the kills per command (default 4), so the suite
 * stays bounded.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import type { Rng } from "../stages/lib/random.js";
import { auditStore, chaosSeed, envCount, runWithDeadline, tmpLeftovers, withSeed } from "./support/chaos.js";
import { Rig, storeObjects, testCli, waitFor, type RunResult } from "./support/rig.js";

const KILLS = envCount("QUIVER_CHAOS_KILLS_EXTRA", 4);
const DEADLINE_MS = 60_000;

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

const cleanup: (() => void)[] = [];
after(() => cleanup.reverse().forEach((c) => c()));

function rig(): Rig {
  const r = Rig.create({ "p.yaml": CHAIN });
  cleanup.push(() => r.remove());
  return r;
}

/** `quiver CMD p.yaml --json ARGS` in a process group of its own, so its workers can be killed too. */
function start(r: Rig, cmd: string, args: readonly string[]): ChildProcess {
  return spawn(process.execPath, [testCli, cmd, r.path("p.yaml"), "--json", ...args], {
    cwd: r.dir,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Waits (bounded) for what is left of a process group to end, then kills the rest. */
async function drainGroup(pid: number): Promise<void> {
  const t0 = Date.now();
  while (groupAlive(pid) && Date.now() - t0 < 10_000) await new Promise((res) => setTimeout(res, 25));
  if (groupAlive(pid)) process.kill(-pid, "SIGKILL");
}

async function timed(r: Rig, cmd: string, args: readonly string[]): Promise<{ res: RunResult; ms: number }> {
  const t0 = performance.now();
  const child = start(r, cmd, args);
  const timer = setTimeout(() => child.kill("SIGKILL"), DEADLINE_MS);
  const res = await waitFor(child);
  clearTimeout(timer);
  if (child.pid !== undefined) await drainGroup(child.pid);
  return { res, ms: performance.now() - t0 };
}

/**
 * Starts the command and kills it after a random delay below the window: the process alone, or
 * (with `group`) its whole process group; until `KILLS` kills have hit a live process, at most
 * 3 × `KILLS` attempts. An attempt that finishes first narrows the window to its own duration
 * (the load of the machine changes how long a command takes). `args` may vary per attempt.
 * Returns how many kills hit a live process.
 */
async function killRepeatedly(
  r: Rig,
  cmd: string,
  args: (i: number) => readonly string[],
  windowMs: number,
  rng: Rng,
  group: (i: number) => boolean,
): Promise<number> {
  let hits = 0;
  let window = windowMs;
  for (let i = 0; i < 3 * KILLS && hits < KILLS; i++) {
    const t0 = performance.now();
    const child = start(r, cmd, args(i));
    const done = waitFor(child);
    let exited = false;
    child.once("exit", () => (exited = true));
    await new Promise((res) => setTimeout(res, Math.floor(rng.uniform() * window)));
    if (!exited && child.pid !== undefined) {
      hits++;
      if (group(i)) process.kill(-child.pid, "SIGKILL");
      else child.kill("SIGKILL");
    }
    await done;
    if (exited) window = Math.min(window, 0.9 * (performance.now() - t0));
    // Orphaned workers finish (or are killed) before the next attempt, so none outlives the test.
    if (child.pid !== undefined) await drainGroup(child.pid);
  }
  return hits;
}

function assertStoreLike(store: string, reference: string, what: string): void {
  const ref = storeObjects(reference);
  assert.deepEqual(storeObjects(store), ref, `${what}: objects byte-identical to a clean run's`);
  for (const name of tmpLeftovers(store)) assert.match(name, /\.tmp$/, `${what}: only temp files in tmp/`);
}

describe("kill -9 during run --isolate, push and pull", () => {
  test(`${KILLS} kills of run --isolate (head alone or with its workers), then a complete run`, async (t) => {
    const seed = chaosSeed();
    await withSeed("chaos isolate", seed, async (rng) => {
      // The clean reference is itself a run --isolate: its time gives the kill window.
      const clean = rig();
      const { res: ref, ms } = await timed(clean, "run", ["--isolate"]);
      assert.equal(ref.code, 0, ref.stderr);
      const r = rig();
      // Half of the attempts force a stage, so there is work to interrupt once results are cached.
      const args = () =>
        rng.uniform() < 0.5 ? ["--isolate", "--force", STAGES[rng.int(STAGES.length)]!] : ["--isolate"];
      const hits = await killRepeatedly(r, "run", args, 1.2 * ms, rng, (i) => i % 2 === 1);
      t.diagnostic(`seed ${seed}: ${hits} kills of run --isolate during a live run`);
      const { res: done } = await timed(r, "run", ["--isolate"]);
      assert.equal(done.code, 0, done.stderr);
      assert.doesNotMatch(done.stderr, /QV_CACHE_CORRUPT|QV_STAGE_BUG/);
      assertStoreLike(r.cacheDir, clean.cacheDir, "run --isolate");
      assert.deepEqual(await auditStore(r.cacheDir), []);
      const again = await runWithDeadline(r, "p.yaml", [], DEADLINE_MS);
      assert.deepEqual(again.ran, [], "after the complete run everything is cached");
      if (KILLS > 0) assert.ok(hits >= 1, "at least one kill hit a live run");
    });
  });

  test(`${KILLS} kills of push, then of pull: the remote and the pulled store are whole`, async (t) => {
    const seed = chaosSeed();
    await withSeed("chaos push/pull", seed, async (rng) => {
      const remote = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-remote-"));
      cleanup.push(() => fs.rmSync(remote, { recursive: true, force: true }));
      const a = rig();
      assert.equal((await runWithDeadline(a, "p.yaml", [], DEADLINE_MS)).code, 0);

      // Push: a measured push to a scratch remote gives the window.
      const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-remote-"));
      cleanup.push(() => fs.rmSync(scratch, { recursive: true, force: true }));
      const { res: p0, ms: pushMs } = await timed(a, "push", ["--remote", scratch]);
      assert.equal(p0.code, 0, p0.stderr);
      const pushHits = await killRepeatedly(
        a,
        "push",
        () => ["--remote", remote],
        1.2 * pushMs,
        rng,
        () => false,
      );
      const push = await timed(a, "push", ["--remote", remote]);
      assert.equal(push.res.code, 0, push.res.stderr);
      assertStoreLike(remote, a.cacheDir, "remote after killed pushes");
      assert.deepEqual(await auditStore(remote), []);

      // Pull into a fresh checkout, killed, then complete.
      const b = rig();
      const { res: q0, ms: pullMs } = await timed(rig(), "pull", ["--remote", remote]);
      assert.equal(q0.code, 0, q0.stderr);
      const pullHits = await killRepeatedly(
        b,
        "pull",
        () => ["--remote", remote],
        1.2 * pullMs,
        rng,
        () => false,
      );
      t.diagnostic(`seed ${seed}: ${pushHits} pushes and ${pullHits} pulls killed while live`);
      const pull = await timed(b, "pull", ["--remote", remote]);
      assert.equal(pull.res.code, 0, pull.res.stderr);
      assert.doesNotMatch(pull.res.stderr, /QV_CACHE_CORRUPT|QV_REMOTE_/);
      assertStoreLike(b.cacheDir, a.cacheDir, "store after killed pulls");
      assert.deepEqual(await auditStore(b.cacheDir), []);
      const run = await runWithDeadline(b, "p.yaml", [], DEADLINE_MS);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(run.ran, [], "nothing recomputed after the pull");
    });
  });
});
