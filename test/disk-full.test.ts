/**
 * A full disk under the store: the store lives on a tiny tmpfs (mounted when the suite runs as
 * root; skipped with the reason otherwise). A run that cannot write fails with QV_DISK_FULL naming
 * the store, leaves no temp file, half object or empty lock behind, and the next run with space
 * finishes with the same bytes as a run on a roomy disk.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test, type TestContext } from "node:test";
import type { EngineEvent } from "../engine/events.js";
import { main } from "../cli/main.js";
import { Rig, storeObjects } from "./support/rig.js";
import { testRegistry } from "./support/test-stages.js";
import { auditStore, STACK_FRAME, tmpLeftovers } from "./support/chaos.js";

/** About 600 kB of tables: more than the 256 kB tmpfs holds. */
const PIPELINE = `quiver: 1
name: big
seed: 1
stages:
  events: { type: generate, with: { signal: 3000, background: 3000 } }
  cuts:   { type: select, inputs: { table: events }, with: { cuts: [{ name: lead, where: "lep1_pt > 25" }] } }
  total:  { type: sum, inputs: { table: cuts } }
`;

const mounts: string[] = [];
const cleanup: (() => void)[] = [];
after(() => {
  for (const m of mounts) {
    try {
      execFileSync("umount", [m], { stdio: "ignore", timeout: 10_000 });
    } catch {
      /* already unmounted */
    }
  }
  for (const c of cleanup) c();
});

/** A tmpfs of `size` mounted at a fresh folder, or the reason it cannot be. */
function tinyStore(size: string): { dir: string } | { skip: string } {
  if (process.platform !== "linux") return { skip: "needs Linux tmpfs to simulate a full disk" };
  if (process.getuid?.() !== 0)
    return {
      skip: "needs root to mount a tiny tmpfs for the store (run the suite as root to test a full disk)",
    };
  const base = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-full-"));
  cleanup.push(() => fs.rmSync(base, { recursive: true, force: true }));
  const dir = path.join(base, "store");
  fs.mkdirSync(dir);
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir], {
      stdio: "pipe",
      timeout: 10_000,
    });
  } catch (err) {
    const why = (err as { stderr?: Buffer }).stderr?.toString().trim() || String(err);
    return { skip: `cannot mount a tmpfs for the store (${why}); the full-disk test needs CAP_SYS_ADMIN` };
  }
  mounts.push(dir);
  return { dir };
}

function capture(): {
  io: { out: (s: string) => void; err: (s: string) => void; color: false };
  text: () => string;
} {
  const lines: string[] = [];
  return {
    io: { out: (s) => lines.push(s), err: (s) => lines.push(s), color: false },
    text: () => lines.join("\n"),
  };
}

function noDebris(store: string): void {
  assert.deepEqual(tmpLeftovers(store), [], "no temp file left in tmp/");
  const locks = path.join(store, "locks");
  assert.deepEqual(fs.existsSync(locks) ? fs.readdirSync(locks) : [], [], "no lock left behind");
}

async function roomyReference(): Promise<Map<string, Buffer>> {
  const r = Rig.create({ "p.yaml": PIPELINE });
  cleanup.push(() => r.remove());
  const res = await r.quiver("run", "p.yaml");
  assert.equal(res.code, 0, res.stderr);
  return storeObjects(r.cacheDir);
}

describe("full disk", () => {
  test("a store too small for the results: QV_DISK_FULL naming the store; with more space the next run finishes", async (t: TestContext) => {
    const s = tinyStore("256k");
    if ("skip" in s) return t.skip(s.skip);
    const r = Rig.create({ "p.yaml": PIPELINE });
    cleanup.push(() => r.remove());

    const res = await r.quiver("run", "p.yaml", "--cache-dir", s.dir);
    assert.equal(res.code, 1, res.stdout + res.stderr);
    const failed = res.events.filter(
      (e): e is Extract<EngineEvent, { type: "failed" }> => e.type === "failed",
    );
    assert.ok(failed.length >= 1);
    const d = failed[0]!.diagnostics[0]!;
    assert.equal(d.code, "QV_DISK_FULL");
    assert.ok(d.message.includes(s.dir), `the message names the store: ${d.message}`);
    assert.doesNotMatch(JSON.stringify(failed), /QV_STAGE_BUG|bug in Quiver/);

    // What a user sees on the console: the code, the store, no stack trace.
    const human = capture();
    assert.equal(await main(["run", r.path("p.yaml"), "--cache-dir", s.dir], human.io, testRegistry), 1);
    assert.match(human.text(), /QV_DISK_FULL/);
    assert.ok(human.text().includes(s.dir), human.text());
    assert.doesNotMatch(human.text(), STACK_FRAME);
    noDebris(s.dir);
    assert.deepEqual(await auditStore(s.dir), [], "no half object in objects/");

    execFileSync("mount", ["-o", "remount,size=16m", s.dir], { timeout: 10_000 });
    const next = await r.quiver("run", "p.yaml", "--cache-dir", s.dir);
    assert.equal(next.code, 0, next.stderr);
    assert.deepEqual(storeObjects(s.dir), await roomyReference(), "same bytes as a run with space");
    noDebris(s.dir);
  });

  test("a disk already full: QV_DISK_FULL; after deleting something the next run finishes", async (t: TestContext) => {
    const s = tinyStore("1m");
    if ("skip" in s) return t.skip(s.skip);
    const r = Rig.create({ "p.yaml": PIPELINE });
    cleanup.push(() => r.remove());
    // The store is a folder of its own on the disk; the disk is filled to the last byte beside it.
    const store = path.join(s.dir, "store");
    fs.mkdirSync(store);
    const filler = path.join(s.dir, "filler");
    const fd = fs.openSync(filler, "w");
    const chunk = Buffer.alloc(16 * 1024, 1);
    try {
      for (;;) fs.writeSync(fd, chunk);
    } catch (err) {
      assert.equal((err as { code?: string }).code, "ENOSPC");
    }
    try {
      for (;;) fs.writeSync(fd, chunk.subarray(0, 512));
    } catch {
      /* full */
    } finally {
      fs.closeSync(fd);
    }
    const human = capture();
    const code = await main(["run", r.path("p.yaml"), "--cache-dir", store], human.io, testRegistry);
    assert.equal(code, 1, human.text());
    assert.match(human.text(), /QV_DISK_FULL/);
    assert.ok(human.text().includes(store), human.text());
    assert.doesNotMatch(human.text(), STACK_FRAME);
    noDebris(store);
    assert.deepEqual(await auditStore(store), []);

    fs.rmSync(filler);
    const next = await r.quiver("run", "p.yaml", "--cache-dir", store);
    assert.equal(next.code, 0, next.stderr);
    assert.deepEqual(storeObjects(store), await roomyReference());
    noDebris(store);
  });

  test("export --to FILE on a full disk: the previous FILE is untouched, nothing partial is left", async (t: TestContext) => {
    const s = tinyStore("256k");
    if ("skip" in s) return t.skip(s.skip);
    const r = Rig.create({ "p.yaml": PIPELINE });
    cleanup.push(() => r.remove());
    assert.equal((await r.quiver("run", "p.yaml")).code, 0);
    const target = path.join(s.dir, "events.csv");
    const previous = "the export of last week\n".repeat(2000);
    fs.writeFileSync(target, previous);
    const human = capture();
    const code = await main(
      ["export", r.path("p.yaml"), "events.table", "--to", target],
      human.io,
      testRegistry,
    );
    assert.equal(code, 1, human.text());
    assert.match(human.text(), /QV_DISK_FULL/);
    assert.doesNotMatch(human.text(), STACK_FRAME);
    assert.equal(fs.readFileSync(target, "utf8"), previous, "the previous export is intact");
    assert.deepEqual(fs.readdirSync(s.dir), ["events.csv"], "no temp file left beside it");

    // With room, the export replaces it whole.
    execFileSync("mount", ["-o", "remount,size=16m", s.dir], { timeout: 10_000 });
    assert.equal(
      await main(["export", r.path("p.yaml"), "events.table", "--to", target], capture().io, testRegistry),
      0,
    );
    assert.match(fs.readFileSync(target, "utf8"), /^lep1_pt,/);
    assert.deepEqual(fs.readdirSync(s.dir), ["events.csv"]);
  });
});
