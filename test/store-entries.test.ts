/**
 * Damaged store entries beyond bad bytes (issue #19, defect 12): an object, a manifest or a record
 * replaced by a folder, a folder of the store replaced by a file, entries without permissions for
 * the (non-root) user running Quiver, inode exhaustion, and the store removed while a run writes
 * to it. Each is a miss repaired by the next write, or a located error naming the path and the
 * fix — never an internal error, a stack trace or QV_STAGE_BUG.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test, type TestContext } from "node:test";
import { auditStore, STACK_FRAME } from "./support/chaos.js";
import { Rig, storeObjects, testCli, waitFor, type RunResult } from "./support/rig.js";

const PIPELINE = `quiver: 1
name: entries
stages:
  src:   { type: source, with: { values: [1, 2, 3, 4, 5] } }
  plus:  { type: add, inputs: { table: src }, with: { amount: 1 } }
  total: { type: sum, inputs: { table: plus } }
`;

const cleanup: (() => void)[] = [];
after(() => cleanup.reverse().forEach((c) => c()));

function rig(): Rig {
  const r = Rig.create({ "p.yaml": PIPELINE });
  cleanup.push(() => r.remove());
  return r;
}

function clean(res: RunResult, what: string): void {
  const all = res.stdout + res.stderr;
  assert.doesNotMatch(all, STACK_FRAME, what);
  assert.doesNotMatch(all, /QV_STAGE_BUG|internal error|TypeError|EISDIR/, what);
}

interface Lock {
  stages: Record<string, { key: string; outputs: Record<string, { hash: string }> }>;
}

function paths(r: Rig): { object: string; manifest: string; record: string } {
  const lock = JSON.parse(r.read("p.lock")) as Lock;
  const hash = lock.stages.plus!.outputs.table!.hash;
  const key = lock.stages.total!.key;
  return {
    object: path.join(r.cacheDir, "objects", hash.slice(0, 2), hash),
    manifest: path.join(r.cacheDir, "runs", key.slice(0, 2), `${key}.json`),
    record: path.join(r.cacheDir, "records", "pipeline-entries.json"),
  };
}

describe("entries replaced by folders, folders by files", () => {
  for (const which of ["object", "manifest", "record"] as const) {
    test(`an ${which} replaced by a folder: a miss with a warning, replaced on the next write`, async () => {
      const r = rig();
      assert.equal((await r.quiver("run", "p.yaml")).code, 0);
      const ref = storeObjects(r.cacheDir);
      const file = paths(r)[which];
      fs.rmSync(file);
      fs.mkdirSync(path.join(file, "inside"), { recursive: true });
      fs.writeFileSync(path.join(file, "inside", "x"), "x");
      const res = await r.quiver("run", "p.yaml", "--force", which === "record" ? "src" : "total");
      clean(res, which);
      assert.equal(res.code, 0, res.stderr);
      if (which !== "record") assert.match(res.stderr, /QV_CACHE_/);
      assert.ok(fs.statSync(file).isFile(), `the ${which} is a file again`);
      const again = await r.quiver("run", "p.yaml");
      assert.equal(again.code, 0);
      assert.deepEqual(again.ran, []);
      assert.deepEqual(storeObjects(r.cacheDir), ref);
      assert.deepEqual(await auditStore(r.cacheDir), []);
    });
  }

  test("a folder of the store replaced by a file: cleared on the next write", async () => {
    const r = rig();
    assert.equal((await r.quiver("run", "p.yaml")).code, 0);
    const { object } = paths(r);
    const folder = path.dirname(object);
    fs.rmSync(folder, { recursive: true });
    fs.writeFileSync(folder, "not a folder");
    const res = await r.quiver("run", "p.yaml");
    clean(res, "folder");
    assert.equal(res.code, 0, res.stderr);
    assert.ok(fs.statSync(object).isFile());
    assert.deepEqual(await auditStore(r.cacheDir), []);
  });
});

describe("the store removed while a run writes to it", () => {
  test("the run ends without a crash and the next run leaves a complete store", async () => {
    const r = rig();
    r.write("p.yaml", PIPELINE.replace("amount: 1 }", "amount: 1, sleep_ms: 1500 }"));
    const child = r.spawn("run", "p.yaml");
    const done = waitFor(child);
    const t0 = Date.now();
    while (!fs.existsSync(path.join(r.cacheDir, "runs")) && Date.now() - t0 < 20_000)
      await new Promise((res) => setTimeout(res, 20));
    // Move the store aside in one step (as `rm -rf` looks to the run), then remove it.
    const gone = `${r.cacheDir}-gone`;
    fs.renameSync(r.cacheDir, gone);
    cleanup.push(() => fs.rmSync(gone, { recursive: true, force: true }));
    const res = await done;
    clean(res, "store removed");
    assert.ok(res.code === 0 || /QV_/.test(res.stderr), res.stderr);
    const next = await r.quiver("run", "p.yaml");
    assert.equal(next.code, 0, next.stderr);
    assert.deepEqual(await auditStore(r.cacheDir), []);
    const lock = JSON.parse(r.read("p.lock")) as Lock;
    assert.deepEqual(Object.keys(lock.stages).sort(), ["plus", "src", "total"]);
    assert.deepEqual((await r.quiver("run", "p.yaml")).ran, []);
  });
});

/** Why the CLI cannot run as an unprivileged user here, or undefined when it can. */
function nobodyProblem(): string | undefined {
  if (process.platform !== "linux") return "needs Linux setpriv to run as another user";
  if (process.getuid?.() !== 0)
    return "needs root to run the CLI as the user nobody (permissions do not bind root)";
  try {
    execFileSync(
      "setpriv",
      ["--reuid=nobody", "--regid=nogroup", "--clear-groups", process.execPath, "-e", "0"],
      {
        stdio: "pipe",
        timeout: 10_000,
      },
    );
    return undefined;
  } catch (err) {
    return `cannot run as nobody with setpriv (${(err as { stderr?: Buffer }).stderr?.toString().trim() || String(err)})`;
  }
}

/** `quiver run` as the user nobody (root ignores permissions, so these cases need another user). */
function runAsNobody(r: Rig, ...args: string[]): Promise<RunResult> {
  const child = spawn(
    "setpriv",
    [
      "--reuid=nobody",
      "--regid=nogroup",
      "--clear-groups",
      process.execPath,
      testCli,
      "run",
      r.path("p.yaml"),
      "--json",
      ...args,
    ],
    { cwd: r.dir, stdio: ["ignore", "pipe", "pipe"] },
  );
  return waitFor(child);
}

describe("entries without permissions (as a non-root user)", () => {
  const owned = async (t: TestContext): Promise<Rig | undefined> => {
    const problem = nobodyProblem();
    if (problem) {
      t.skip(problem);
      return undefined;
    }
    const r = rig();
    execFileSync("chown", ["-R", "nobody:nogroup", r.dir]);
    const first = await runAsNobody(r);
    assert.equal(first.code, 0, first.stderr);
    return r;
  };

  for (const which of ["object", "manifest", "record"] as const) {
    test(`an unreadable ${which} (chmod 000): a miss, replaced on the next write`, async (t) => {
      const r = await owned(t);
      if (!r) return;
      const file = paths(r)[which];
      fs.chmodSync(file, 0o000);
      // A forced stage writes its manifest without reading it: force only where it reads.
      const res = await runAsNobody(
        r,
        ...(which === "object" ? ["--force", "total"] : which === "record" ? ["--force", "src"] : []),
      );
      clean(res, which);
      assert.equal(res.code, 0, res.stderr);
      assert.match(res.stderr, /cannot be read \(EACCES\)/);
      assert.equal(fs.statSync(file).mode & 0o777, 0o644, "replaced by a fresh, readable file");
      const again = await runAsNobody(r);
      assert.deepEqual(again.ran, []);
    });
  }

  test("a folder of objects without permissions: QV_STORE_ACCESS naming it and the fix", async (t) => {
    const r = await owned(t);
    if (!r) return;
    const folder = path.dirname(paths(r).object);
    fs.chmodSync(folder, 0o000);
    const res = await runAsNobody(r, "--force", "plus");
    clean(res, "folder");
    assert.equal(res.code, 1);
    const failed = res.events.find((e) => e.type === "failed");
    assert.ok(failed && failed.type === "failed", res.stderr);
    const d = failed.diagnostics[0]!;
    assert.equal(d.code, "QV_STORE_ACCESS");
    assert.ok(d.message.includes(folder) || d.message.includes(r.cacheDir), d.message);
    assert.match(d.hint ?? "", /chmod -R u\+rwX/);
    fs.chmodSync(folder, 0o755);
    assert.equal((await runAsNobody(r)).code, 0);
  });

  test("a store that cannot be written at all: QV_STORE_ACCESS, no stack trace", async (t) => {
    const r = await owned(t);
    if (!r) return;
    for (const d of ["objects", "runs", "records", "tmp", "locks", "active"])
      fs.chmodSync(path.join(r.cacheDir, d), 0o555);
    fs.chmodSync(r.cacheDir, 0o555);
    const res = await runAsNobody(r, "--force", "src");
    clean(res, "read-only store");
    assert.equal(res.code, 1);
    assert.match(res.stdout + res.stderr, /QV_STORE_ACCESS/);
    for (const d of ["objects", "runs", "records", "tmp", "locks", "active"])
      fs.chmodSync(path.join(r.cacheDir, d), 0o755);
    fs.chmodSync(r.cacheDir, 0o755);
  });
});

describe("inode exhaustion", () => {
  test("no free inodes: QV_DISK_FULL naming the store; with more, the next run finishes", async (t) => {
    if (process.platform !== "linux") return t.skip("needs a Linux tmpfs to limit inodes");
    if (process.getuid?.() !== 0) return t.skip("needs root to mount a tmpfs with few inodes");
    const base = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-inodes-"));
    cleanup.push(() => fs.rmSync(base, { recursive: true, force: true }));
    try {
      execFileSync("mount", ["-t", "tmpfs", "-o", "size=16m,nr_inodes=14", "tmpfs", base], { stdio: "pipe" });
    } catch (err) {
      return t.skip(`cannot mount a tmpfs (${(err as { stderr?: Buffer }).stderr?.toString().trim()})`);
    }
    cleanup.push(() => execFileSync("umount", [base], { stdio: "ignore" }));
    const store = path.join(base, "store");
    const r = rig();
    const res = await r.quiver("run", "p.yaml", "--cache-dir", store);
    clean(res, "inodes");
    assert.equal(res.code, 1, res.stdout);
    assert.match(res.stdout + res.stderr, /QV_DISK_FULL[\s\S]*no free inodes/);
    assert.ok((res.stdout + res.stderr).includes(store));
    execFileSync("mount", ["-o", "remount,nr_inodes=4096", base]);
    const next = await r.quiver("run", "p.yaml", "--cache-dir", store);
    assert.equal(next.code, 0, next.stderr);
    assert.deepEqual(await auditStore(store), []);
  });
});
