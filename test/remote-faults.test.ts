/**
 * A misbehaving HTTP remote (issue #19, defect 11): 500s, HTML pages with status 200, bodies that
 * break off, trickle, never end or never come, requests never answered, and a server that accepts
 * uploads and keeps nothing. pull, push and run --remote retry what may pass, give up on what does
 * not within a bounded time, never read past the bytes they can expect, and end with a located
 * QV_REMOTE error — never a crash, never a wrong result.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { HttpRemote } from "../cache/remote-http.js";
import { RemoteTooLargeError } from "../cache/remote-backend.js";
import { Rig, storeObjects } from "./support/rig.js";
import { chainRig } from "./support/chain.js";
import { startBadServer, type BadServer, type Fault } from "./support/bad-http.js";
import { STACK_FRAME } from "./support/chaos.js";

// Short limits, so every failure is over in seconds.
process.env.QUIVER_REMOTE_TIMEOUT = "0.5";
process.env.QUIVER_REMOTE_RETRIES = "2";

const STAGES = ["clip", "other", "plus", "src", "total"];

let server: BadServer;
let origin: Rig;
const rigs: Rig[] = [];
before(async () => {
  server = await startBadServer();
  origin = chainRig();
  rigs.push(origin);
  assert.equal((await origin.quiver("run", "p.yaml")).code, 0);
  const push = await origin.quiver("push", "p.yaml", "--remote", server.url("good"));
  assert.equal(push.code, 0, push.stderr);
});
after(async () => {
  rigs.forEach((r) => r.remove());
  await server.close();
});

/** A collaborator's checkout with the committed lock. */
function collaborator(): Rig {
  const b = chainRig();
  b.write("p.lock", origin.read("p.lock"));
  rigs.push(b);
  return b;
}

async function pullWith(fault: Fault): Promise<{ code: number; stderr: string; ms: number; b: Rig }> {
  const b = collaborator();
  const t0 = performance.now();
  const r = await b.quiver("pull", "p.yaml", "--remote", server.url(fault));
  const ms = performance.now() - t0;
  assert.doesNotMatch(r.stderr + r.stdout, STACK_FRAME, `${fault}: no stack trace`);
  assert.doesNotMatch(r.stderr, /internal error|TypeError/, fault);
  return { code: r.code, stderr: r.stderr, ms, b };
}

describe("pull from a misbehaving server", () => {
  test("500 twice, then fine: retried, the pull succeeds and the run needs nothing", async () => {
    const p = await pullWith("flaky500");
    assert.equal(p.code, 0, p.stderr);
    const run = await p.b.quiver("run", "p.yaml");
    assert.deepEqual(run.ran, []);
    assert.deepEqual(storeObjects(p.b.cacheDir), storeObjects(origin.cacheDir));
  });

  test("500 every time: QV_REMOTE after the retries, bounded", async () => {
    const p = await pullWith("always500");
    assert.equal(p.code, 1);
    assert.match(p.stderr, /QV_REMOTE: GET .*\/always500\/runs\/.*HTTP 500/);
    assert.ok(p.ms < 10_000, `${p.ms} ms`);
  });

  test("HTML pages with status 200: named as such, nothing stored", async () => {
    const p = await pullWith("html");
    assert.equal(p.code, 1);
    assert.match(
      p.stderr,
      /QV_REMOTE_CORRUPT: .*\/html\/: manifest [0-9a-f]{16} does not parse \(the server sent an HTML page\)/,
    );
    assert.equal(storeObjects(p.b.cacheDir).size, 0);
  });

  test("a body cut off once: retried; cut off every time: QV_REMOTE", async () => {
    const once = await pullWith("truncate-once");
    assert.equal(once.code, 0, once.stderr);
    assert.deepEqual((await once.b.quiver("run", "p.yaml")).ran, []);
    const always = await pullWith("truncate");
    assert.equal(always.code, 1);
    assert.match(always.stderr, /QV_REMOTE: GET .*objects.*(broke off|ended after)/);
    assert.ok(always.ms < 10_000, `${always.ms} ms`);
  });

  test("a trickling body, a body that never comes, no answer at all: time limits, QV_REMOTE", async () => {
    for (const [fault, why] of [
      ["slow", /stalled/],
      ["hang-body", /stalled/],
      ["hang", /no response within 0.5 s/],
    ] as const) {
      const p = await pullWith(fault);
      assert.equal(p.code, 1, `${fault}: ${p.stderr}`);
      assert.match(p.stderr, why, fault);
      assert.ok(p.ms < 15_000, `${fault}: ${p.ms} ms`);
    }
  });

  test("an endless body: read only up to the object's size, rejected, memory stays small", async () => {
    const rss0 = process.memoryUsage().rss;
    const p = await pullWith("endless");
    assert.equal(p.code, 1);
    assert.match(
      p.stderr,
      /QV_REMOTE_CORRUPT: .*remote object [0-9a-f]{16} is corrupt: larger than its \d+ bytes/,
    );
    assert.ok((server.sent.get("endless") ?? 0) < 64 << 20, `sent ${server.sent.get("endless")} bytes`);
    assert.ok(process.memoryUsage().rss - rss0 < 256 << 20, "no unbounded buffering");
    assert.equal(storeObjects(p.b.cacheDir).size, 0);
  });

  test("run --remote against a failing server: a warning, the stages computed locally", async () => {
    const b = collaborator();
    const run = await b.quiver("run", "p.yaml", "--remote", server.url("hang"));
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /QV_REMOTE_UNAVAILABLE/);
    assert.deepEqual([...run.ran].sort(), STAGES);
  });
});

describe("push to a misbehaving server", () => {
  test("a server that accepts uploads and keeps nothing: the read-back finds it, push fails", async () => {
    const a = chainRig();
    rigs.push(a);
    a.write("p.yaml", a.read("p.yaml").replace("amount: 1", "amount: 11"));
    assert.equal((await a.quiver("run", "p.yaml")).code, 0);
    const push = await a.quiver("push", "p.yaml", "--remote", server.url("swallow"));
    assert.equal(push.code, 1);
    assert.match(push.stderr, /QV_REMOTE: PUT .* was accepted, but HEAD finds nothing there/);
    assert.doesNotMatch(push.stderr, STACK_FRAME);
  });

  test("a server that answers every GET and HEAD with an HTML page: push fails, it does not report success", async () => {
    const a = chainRig();
    rigs.push(a);
    a.write("p.yaml", a.read("p.yaml").replace("amount: 1", "amount: 12"));
    assert.equal((await a.quiver("run", "p.yaml")).code, 0);
    const push = await a.quiver("push", "p.yaml", "--remote", server.url("html"));
    assert.equal(push.code, 1);
    assert.match(
      push.stderr,
      /QV_REMOTE: PUT .* was accepted, but HEAD reports \d+ bytes where \d+ were sent/,
    );
  });

  test("500 twice per request, then fine: the push succeeds", async () => {
    const a = chainRig();
    rigs.push(a);
    a.write("p.yaml", a.read("p.yaml").replace("amount: 1", "amount: 13"));
    assert.equal((await a.quiver("run", "p.yaml")).code, 0);
    const push = await a.quiver("push", "p.yaml", "--remote", server.url("flaky500"));
    assert.equal(push.code, 0, push.stderr);
  });
});

describe("the client's bounds", () => {
  test("a document larger than the caller allows is refused while reading", async () => {
    const client = new HttpRemote(server.url("endless"), { timeoutMs: 2000, retries: 0 });
    server.files.set("objects/zz/big", Buffer.alloc(10));
    await assert.rejects(client.get("objects/zz/big", 1 << 20), RemoteTooLargeError);
  });
});
