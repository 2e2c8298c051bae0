/**
 * Remote caches: push from one checkout, pull into another folder, and every stage is cached on
 * the first run there. Against a shared directory and a real nginx speaking WebDAV on 127.0.0.1.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { HttpRemote, RemoteHttpError } from "../cache/remote-http.js";
import { openRemote } from "../cache/remote.js";
import { Rig, storeObjects } from "./support/rig.js";
import { chainRig } from "./support/chain.js";
import { startNginx, type Nginx } from "./support/nginx.js";

const STAGES = ["clip", "other", "plus", "src", "total"];
const sorted = (xs: string[]) => [...xs].sort();

const checkout = chainRig;

/** A second checkout elsewhere with the pipeline, its data and the committed lock file. */
function collaborator(from: Rig): Rig {
  const b = checkout();
  b.write("p.lock", from.read("p.lock"));
  return b;
}

async function sharedFlow(remote: string): Promise<void> {
  const a = checkout();
  const b = collaborator(
    await (async () => {
      const r = await a.quiver("run", "p.yaml");
      assert.equal(r.code, 0, r.stderr);
      return a;
    })(),
  );
  try {
    const push = await a.quiver("push", "p.yaml", "--remote", remote);
    assert.equal(push.code, 0, push.stderr);
    assert.match(push.stderr, /pushed 5 result\(s\)/);
    const pull = await b.quiver("pull", "p.yaml", "--remote", remote);
    assert.equal(pull.code, 0, pull.stderr);
    assert.match(pull.stderr, /pulled 5 result\(s\)/);
    const run = await b.quiver("run", "p.yaml");
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.ran, [], "nothing recomputed after a pull");
    assert.deepEqual(sorted(run.cached), STAGES);
    // Same objects, byte for byte, in both stores.
    const objsA = storeObjects(a.cacheDir);
    for (const [k, v] of storeObjects(b.cacheDir)) assert.deepEqual(v, objsA.get(k), k);
    // A second push uploads nothing new.
    const again = await a.quiver("push", "p.yaml", "--remote", remote);
    assert.match(again.stderr, /pushed 0 result\(s\), 0 object\(s\).*5 already there/);
  } finally {
    a.remove();
    b.remove();
  }
}

describe("remote cache: shared directory", () => {
  test("push, pull in another folder, first run is fully cached", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-remote-"));
    try {
      await sharedFlow(dir);
      assert.ok(fs.existsSync(path.join(dir, "runs")) && fs.existsSync(path.join(dir, "objects")));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("file:// URLs name the same kind of remote; unknown schemes are a usage error", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-remote-"));
    try {
      assert.equal(openRemote(`file://${dir}`).display, dir);
      const a = checkout();
      await a.quiver("run", "p.yaml");
      const r = await a.quiver("push", "p.yaml", "--remote", "s3://bucket/x");
      assert.equal(r.code, 2);
      assert.match(r.stderr, /unsupported remote "s3:\/\/"/);
      a.remove();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("remote cache: HTTP (nginx + WebDAV)", () => {
  let server: Nginx | undefined;
  let skip: string | undefined;
  before(async () => {
    const s = await startNginx();
    if ("skip" in s) skip = s.skip;
    else server = s;
  });
  after(async () => {
    await server?.stop();
  });

  test("push, pull in another folder, first run is fully cached", async (t) => {
    if (!server) return t.skip(skip);
    await sharedFlow(server.url);
    // Uploads went through temp names and MOVE: nothing is left under tmp/.
    const tmp = path.join(server.root, "tmp");
    assert.ok(fs.existsSync(tmp), "uploads went to temp names first");
    assert.deepEqual(fs.readdirSync(tmp), []);
  });

  test("a corrupted remote object is detected on pull, named, and never used", async (t) => {
    if (!server) return t.skip(skip);
    const url = `${server.url}corrupt/`;
    const a = checkout();
    await a.quiver("run", "p.yaml");
    assert.equal((await a.quiver("push", "p.yaml", "--remote", url)).code, 0);
    // Flip one byte of the object `other` produced (its sum metrics).
    const lock = JSON.parse(a.read("p.lock")) as {
      stages: Record<string, { outputs: Record<string, { hash: string }> }>;
    };
    const hash = lock.stages.other!.outputs.metrics!.hash;
    const file = path.join(server.root, "corrupt", "objects", hash.slice(0, 2), hash);
    const bytes = fs.readFileSync(file);
    bytes[0] = bytes[0]! ^ 0x20;
    fs.writeFileSync(file, bytes);
    const b = collaborator(a);
    const pull = await b.quiver("pull", "p.yaml", "--remote", url);
    assert.equal(pull.code, 1);
    assert.match(
      pull.stderr,
      new RegExp(`QV_REMOTE_CORRUPT: .*: manifest [0-9a-f]{16} .*remote object ${hash} is corrupt`),
    );
    assert.ok(!storeObjects(b.cacheDir).has(`${hash.slice(0, 2)}/${hash}`), "corrupt bytes not stored");
    // The run recomputes exactly that stage (correctly) and takes the rest from the pull.
    const run = await b.quiver("run", "p.yaml");
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.ran, ["other"]);
    assert.ok(storeObjects(b.cacheDir).has(`${hash.slice(0, 2)}/${hash}`), "recomputed identically");
    a.remove();
    b.remove();
  });

  test("run --remote reads through: no pull, nothing recomputed", async (t) => {
    if (!server) return t.skip(skip);
    const url = `${server.url}readthrough/`;
    const a = checkout();
    const first = await a.quiver("run", "p.yaml", "--remote", url, "--push");
    assert.equal(first.code, 0, first.stderr);
    const b = checkout();
    const run = await b.quiver("run", "p.yaml", "--remote", url);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.ran, []);
    assert.deepEqual(sorted(run.cached), STAGES);
    assert.ok(run.events.some((e) => e.type === "note" && e.message.includes("remote cache")));
    a.remove();
    b.remove();
  });

  test("concurrent pushes of the same results leave a valid remote", async (t) => {
    if (!server) return t.skip(skip);
    const url = `${server.url}concurrent/`;
    const rigs = [checkout(), checkout(), checkout()];
    for (const r of rigs) assert.equal((await r.quiver("run", "p.yaml")).code, 0);
    const pushes = await Promise.all(rigs.map((r) => r.spawnAndWait("push", "p.yaml", "--remote", url)));
    for (const p of pushes) assert.equal(p.code, 0, p.stderr);
    const b = collaborator(rigs[0]!);
    const pull = await b.quiver("pull", "p.yaml", "--remote", url);
    assert.equal(pull.code, 0, pull.stderr);
    const run = await b.quiver("run", "p.yaml");
    assert.deepEqual(run.ran, []);
    for (const r of [...rigs, b]) r.remove();
  });

  test("an unreachable remote on run is a warning; the run computes locally", async () => {
    const a = checkout();
    const run = await a.quiver("run", "p.yaml", "--remote", "http://127.0.0.1:9/nothing/");
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /QV_REMOTE_UNAVAILABLE/);
    assert.equal(run.ran.length, 5);
    a.remove();
  });

  test("run --push to an unreachable remote keeps the local results and reports the error, no crash", async () => {
    const a = checkout();
    const run = await a.quiver("run", "p.yaml", "--remote", "http://127.0.0.1:9/nothing/", "--push");
    assert.equal(run.code, 1);
    assert.match(run.stderr, /QV_REMOTE_/);
    assert.equal(run.ran.length, 5);
    const again = await a.quiver("run", "p.yaml");
    assert.deepEqual(again.ran, []);
    a.remove();
  });
});

describe("HTTP remote client", () => {
  test("refuses credentials in the URL and never shows query strings", () => {
    assert.throws(
      () => new HttpRemote("https://user:secret@example.org/c/"),
      (e: unknown) => {
        assert.ok(e instanceof RemoteHttpError);
        assert.ok(!e.message.includes("secret"), e.message);
        return true;
      },
    );
    assert.equal(new HttpRemote("https://example.org/c?token=abc").display, "https://example.org/c/");
  });
});
