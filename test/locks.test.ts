/**
 * Single-flight locks (issue #19, defects 1 and 12): an owner is more than (pid, host) — a restarted
 * container's PID 1 on an unchanged host name must not wait for its dead predecessor; an owner this
 * machine cannot check (another host, another container) is judged by its heartbeat; damaged locks
 * (`{}`, `5`, `[]`, `null`, a directory) are broken at once without spinning; the debris of killed
 * runs in locks/ is removed.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test, type TestContext } from "node:test";
import { acquireLock, removeAbandonedLocks } from "../cache/lock.js";
import { currentOwner } from "../cache/owner.js";
import { Rig, testCli, waitFor } from "./support/rig.js";

const dirs: string[] = [];
after(() => dirs.forEach((d) => fs.rmSync(d, { recursive: true, force: true })));
function tmp(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-locks-"));
  dirs.push(d);
  return d;
}

/** Resolves with the time taken, or rejects after `ms`. */
async function within<T>(ms: number, what: string, p: Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms);
  });
  try {
    const value = await Promise.race([p, deadline]);
    return { value, ms: performance.now() - t0 };
  } finally {
    clearTimeout(timer);
  }
}

/** A lock as another host's Quiver would write it. */
function foreignLock(file: string, at = Date.now()): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(
    file,
    JSON.stringify({ pid: 4242, host: "node-17.cluster", token: "f0f0f0f0f0f0f0f0f0f0f0f0", at }),
  );
}

describe("damaged locks", () => {
  for (const content of ["{}", "5", "[]", "null", "", "not json", '{"pid": 1}']) {
    test(`a lock file containing ${JSON.stringify(content)} is broken at once`, async () => {
      const file = path.join(tmp(), "locks", "k.lock");
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, content);
      const { value: release, ms } = await within(2000, "taking a damaged lock", acquireLock(file));
      assert.ok(ms < 2000);
      const owner = JSON.parse(fs.readFileSync(file, "utf8")) as { token: string };
      assert.equal(owner.token, currentOwner().token, "the lock is ours now");
      await release();
      assert.equal(fs.existsSync(file), false);
    });
  }

  test("a directory at the lock path is removed, without spinning", async () => {
    const file = path.join(tmp(), "locks", "k.lock");
    fs.mkdirSync(path.join(file, "inner"), { recursive: true });
    fs.writeFileSync(path.join(file, "inner", "x"), "x");
    const cpu0 = process.cpuUsage();
    const { value: release } = await within(
      2000,
      "taking a lock whose path is a directory",
      acquireLock(file),
    );
    const cpu = process.cpuUsage(cpu0);
    assert.ok(fs.statSync(file).isFile());
    assert.ok((cpu.user + cpu.system) / 1000 < 1500, "no busy loop");
    await release();
  });
});

describe("owners beyond pid and host", () => {
  test("a lock of a process of this machine that is gone is broken at once", async () => {
    const file = path.join(tmp(), "locks", "k.lock");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const child = spawn(process.execPath, ["-e", "0"]);
    await new Promise((r) => child.on("exit", r));
    fs.writeFileSync(file, JSON.stringify({ ...currentOwner(), pid: child.pid!, token: "00aa00aa" }));
    const { ms } = await within(
      2000,
      "breaking a dead owner's lock",
      acquireLock(file).then((r) => r()),
    );
    assert.ok(ms < 2000);
  });

  test("this process's own pid with another token is a predecessor (a restarted container's PID 1)", async () => {
    const file = path.join(tmp(), "locks", "k.lock");
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify({ ...currentOwner(), token: "11bb11bb" }));
    await within(
      2000,
      "breaking a predecessor's lock",
      acquireLock(file).then((r) => r()),
    );
  });

  test("another host's lock is honoured while its heartbeat goes on, broken once it stops", async () => {
    const file = path.join(tmp(), "locks", "k.lock");
    foreignLock(file);
    const beat = setInterval(() => fs.utimesSync(file, new Date(), new Date()), 100);
    let got = false;
    const acquiring = acquireLock(file, { staleMs: 800 }).then((release) => {
      got = true;
      return release;
    });
    await new Promise((r) => setTimeout(r, 2000));
    assert.equal(got, false, "a heartbeated lock is not broken, whatever its age");
    clearInterval(beat);
    const { value: release, ms } = await within(3000, "breaking a silent foreign lock", acquiring);
    assert.ok(ms >= 500, `broken only after the heartbeat stopped for a while (${ms} ms)`);
    await release();
  });

  test("a held lock is heartbeated even while the main thread is blocked", async () => {
    const file = path.join(tmp(), "locks", "k.lock");
    const release = await acquireLock(file);
    const t0 = fs.statSync(file).mtimeMs;
    const until = Date.now() + 2500;
    while (Date.now() < until) {
      /* a stage computing synchronously */
    }
    const t1 = fs.statSync(file).mtimeMs;
    assert.ok(t1 > t0, `mtime moved while the main thread was busy (${t0} → ${t1})`);
    await release();
  });

  test("releasing never removes a lock that is not ours any more", async () => {
    const file = path.join(tmp(), "locks", "k.lock");
    const release = await acquireLock(file);
    // Someone judged ours abandoned, broke it and took the lock.
    fs.rmSync(file);
    foreignLock(file);
    await release();
    assert.ok(fs.existsSync(file), "the other owner's lock is still there");
    assert.equal((JSON.parse(fs.readFileSync(file, "utf8")) as { host: string }).host, "node-17.cluster");
  });
});

describe("debris of killed runs", () => {
  test("lock acquisition removes old private files; gc's sweep removes abandoned locks", async () => {
    const dir = path.join(tmp(), "locks");
    fs.mkdirSync(dir, { recursive: true });
    const old = new Date(Date.now() - 3600_000);
    const junk = [
      "a.lock.12345.k3j4h5",
      "a.lock.12345.stale",
      "b.lock.0123abcd-x1y2z3.new",
      "c.lock.9f-aa.old",
    ];
    for (const j of junk) {
      fs.writeFileSync(path.join(dir, j), "{}");
      fs.utimesSync(path.join(dir, j), old, old);
    }
    fs.writeFileSync(path.join(dir, "young.lock.999.abc"), "{}"); // a live attempt: young, kept
    const release = await acquireLock(path.join(dir, "d.lock"));
    await release();
    assert.deepEqual(fs.readdirSync(dir).sort(), ["young.lock.999.abc"]);

    // Locks nobody will ask for again: a dead local owner's, a damaged one, a silent foreign one.
    fs.writeFileSync(path.join(dir, "dead.lock"), JSON.stringify({ ...currentOwner(), token: "22cc" }));
    fs.writeFileSync(path.join(dir, "damaged.lock"), "null");
    foreignLock(path.join(dir, "silent.lock"));
    fs.utimesSync(path.join(dir, "silent.lock"), old, old);
    foreignLock(path.join(dir, "busy.lock")); // heartbeated recently: kept
    const held = await acquireLock(path.join(dir, "mine.lock"));
    assert.equal(await removeAbandonedLocks(dir, 10 * 60_000), 3);
    assert.deepEqual(fs.readdirSync(dir).sort(), ["busy.lock", "mine.lock", "young.lock.999.abc"]);
    await held();
  });
});

describe("a restarted container (same host name, PID 1 again)", () => {
  const rigs: Rig[] = [];
  after(() => rigs.forEach((r) => r.remove()));

  /** Why `unshare --pid` cannot be used here, or undefined when it can. */
  function unshareProblem(): string | undefined {
    if (process.platform !== "linux") return "PID namespaces are Linux-only";
    try {
      execFileSync("unshare", ["--pid", "--fork", "--mount-proc", "--kill-child", "true"], {
        stdio: "pipe",
        timeout: 10_000,
      });
      return undefined;
    } catch (err) {
      const why = (err as { stderr?: Buffer }).stderr?.toString().trim() || String(err);
      return `cannot create a PID namespace with unshare (${why}); needs root or CAP_SYS_ADMIN`;
    }
  }

  test("a run killed as PID 1 does not make the next PID 1 wait for it", async (t: TestContext) => {
    const problem = unshareProblem();
    if (problem) return t.skip(problem);
    const r = Rig.create({
      "p.yaml": `quiver: 1
name: container
stages:
  slow: { type: source, with: { values: [1, 2, 3], sleep_ms: 4000 } }
`,
    });
    rigs.push(r);
    const inNamespace = () =>
      spawn(
        "unshare",
        [
          "--pid",
          "--fork",
          "--mount-proc",
          "--kill-child=SIGKILL",
          process.execPath,
          testCli,
          "run",
          r.path("p.yaml"),
          "--json",
        ],
        { cwd: r.dir, stdio: ["ignore", "pipe", "pipe"] },
      );
    const first = inNamespace();
    const firstDone = waitFor(first);
    // Wait until it holds the stage's lock, then kill it the way a container runtime does.
    const locks = path.join(r.cacheDir, "locks");
    const deadline = Date.now() + 20_000;
    const held = () =>
      fs.existsSync(locks) &&
      fs.readdirSync(locks).some((f) => f.endsWith(".lock") && f !== "maintenance.lock");
    while (!held() && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
    assert.ok(held(), "the first run took the stage's lock");
    const lockFile = fs.readdirSync(locks).find((f) => f.endsWith(".lock") && f !== "maintenance.lock")!;
    const owner = JSON.parse(fs.readFileSync(path.join(locks, lockFile), "utf8")) as { pid: number };
    assert.equal(owner.pid, 1, "the run is PID 1 of its namespace");
    first.kill("SIGKILL");
    await firstDone;
    assert.ok(fs.existsSync(path.join(locks, lockFile)), "the killed run left its lock");

    // The restarted container: PID 1 again, the same host name. Waiting for the dead owner would
    // be 6 h with the old rule (same pid, same host: "alive").
    const second = inNamespace();
    const timer = setTimeout(() => second.kill("SIGKILL"), 30_000);
    const res = await waitFor(second);
    clearTimeout(timer);
    assert.equal(res.code, 0, `the second run finished (exit ${res.code}): ${res.stderr}`);
    assert.deepEqual(res.ran, ["slow"]);
  });
});

describe("a job in another process (quiver exec, as on a cluster node)", () => {
  test("its registration in the store is heartbeated while the stage blocks its main thread", async () => {
    const r = Rig.create({
      "p.yaml": `quiver: 1
name: busy
stages:
  spin: { type: spin, with: { ms: 3500 } }
`,
    });
    try {
      const child = r.spawn("run", "p.yaml", "--isolate");
      const done = waitFor(child);
      const active = path.join(r.cacheDir, "active");
      const seen = new Map<string, Set<number>>();
      const t0 = Date.now();
      while (Date.now() - t0 < 8000 && child.exitCode === null) {
        for (const f of fs.existsSync(active) ? fs.readdirSync(active) : []) {
          try {
            const doc = JSON.parse(fs.readFileSync(path.join(active, f), "utf8")) as { command: string };
            const set = seen.get(doc.command) ?? new Set<number>();
            set.add(fs.statSync(path.join(active, f)).mtimeMs);
            seen.set(doc.command, set);
          } catch {
            /* removed meanwhile */
          }
        }
        await new Promise((res) => setTimeout(res, 100));
      }
      const res = await done;
      assert.equal(res.code, 0, res.stderr);
      assert.ok(seen.has("run"), "the head registered");
      const beats = seen.get("exec")?.size ?? 0;
      assert.ok(
        beats >= 3,
        `the job's registration was refreshed while it computed (${beats} distinct mtimes)`,
      );
      assert.deepEqual(fs.readdirSync(active), [], "both registrations are gone when they end");
    } finally {
      r.remove();
    }
  });
});
