/**
 * A poisoned remote (issue #19, defect 10). Nothing pulled is trusted: (a) a manifest whose
 * objects were swapped for another valid object (fingerprint untouched, checksum recomputed) is
 * refused when the lock says what the result holds — by pull and by run --remote, and the lock is
 * never rewritten with the planted hash; (b) a manifest without its fingerprint, or with one bit
 * flipped in it, is refused; (c) a digit altered in a summary is caught by the checksum the
 * manifest was pushed with, not given a fresh local one. Every refusal names the remote and the key.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { hasher, hashJson } from "../core/hash.js";
import { main } from "../cli/main.js";
import { Rig, storeObjects } from "./support/rig.js";
import { chainRig } from "./support/chain.js";
import { testRegistry } from "./support/test-stages.js";

const cleanup: (() => void)[] = [];
after(() => cleanup.forEach((c) => c()));

interface Lock {
  stages: Record<string, { key: string; outputs: Record<string, { hash: string; size: number }> }>;
}

function tmpdir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-poison-"));
  cleanup.push(() => fs.rmSync(d, { recursive: true, force: true }));
  return d;
}

function rig(make: () => Rig = chainRig): Rig {
  const r = make();
  cleanup.push(() => r.remove());
  return r;
}

/** A checkout that ran and pushed to a fresh directory remote; its lock and the remote. */
async function pushed(make?: () => Rig): Promise<{ a: Rig; remote: string; lock: Lock }> {
  const a = rig(make);
  assert.equal((await a.quiver("run", "p.yaml")).code, 0);
  const remote = tmpdir();
  const p = await a.quiver("push", "p.yaml", "--remote", remote);
  assert.equal(p.code, 0, p.stderr);
  return { a, remote, lock: JSON.parse(a.read("p.lock")) as Lock };
}

function manifestFile(remote: string, key: string): string {
  return path.join(remote, "runs", key.slice(0, 2), `${key}.json`);
}

/** Edits a remote manifest; `recompute`: also give it a matching checksum (a deliberate forger). */
async function tamper(
  remote: string,
  key: string,
  edit: (m: Record<string, unknown>) => void,
  recompute: boolean,
): Promise<void> {
  await hasher();
  const file = manifestFile(remote, key);
  const m = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
  const { integrity, ...body } = m;
  edit(body);
  fs.writeFileSync(
    file,
    JSON.stringify({ ...body, integrity: recompute ? hashJson(body) : integrity }, null, 1),
  );
}

function withLockOf(a: Rig): Rig {
  const b = rig();
  b.write("p.lock", a.read("p.lock"));
  return b;
}

describe("a planted result (objects swapped, checksum recomputed)", () => {
  test("pull refuses it against the lock, names remote and key; the run recomputes; the lock is unchanged", async () => {
    const { a, remote, lock } = await pushed();
    const plus = lock.stages.plus!;
    const src = lock.stages.src!;
    await tamper(
      remote,
      plus.key,
      (m) => ((m.objects as Record<string, unknown>).table = src.outputs.table),
      true,
    );
    const b = withLockOf(a);
    const pull = await b.quiver("pull", "p.yaml", "--remote", remote);
    assert.equal(pull.code, 1);
    assert.match(
      pull.stderr,
      new RegExp(
        `QV_REMOTE_CORRUPT: ${remote.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: manifest ${plus.key} does not hold what the lock records: table is ${src.outputs.table!.hash} on the remote, ${plus.outputs.table!.hash} in the lock`,
      ),
    );
    const run = await b.quiver("run", "p.yaml");
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.ran, ["plus"], "only the refused result is computed");
    assert.equal(b.read("p.lock"), a.read("p.lock"), "the lock keeps the true hash");
  });

  test("run --remote refuses it too and computes the stage; the lock is unchanged", async () => {
    const { a, remote, lock } = await pushed();
    await tamper(
      remote,
      lock.stages.plus!.key,
      (m) => ((m.objects as Record<string, unknown>).table = lock.stages.src!.outputs.table),
      true,
    );
    const c = withLockOf(a);
    const run = await c.quiver("run", "p.yaml", "--remote", remote);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /QV_REMOTE_CORRUPT: .*does not hold what the lock records/);
    assert.deepEqual(run.ran, ["plus"]);
    assert.equal(c.read("p.lock"), a.read("p.lock"));
    assert.deepEqual(storeObjects(c.cacheDir), storeObjects(a.cacheDir));
  });
});

describe("a manifest that does not prove its key", () => {
  for (const [what, edit] of [
    ["its fingerprint removed", (m: Record<string, unknown>) => delete m.fingerprint],
    [
      "one bit flipped in the name of its fingerprint field",
      (m: Record<string, unknown>) => {
        m.fingerprinu = m.fingerprint; // "t" is 0x74, "u" is 0x75
        delete m.fingerprint;
      },
    ],
    [
      "a field renamed inside its fingerprint",
      (m: Record<string, unknown>) => {
        const fp = m.fingerprint as Record<string, unknown>;
        fp.paramr = fp.params;
        delete fp.params;
      },
    ],
  ] as const) {
    test(`${what} (checksum recomputed): refused, also without a lock`, async () => {
      const { remote, lock } = await pushed();
      await tamper(remote, lock.stages.total!.key, edit, true);
      const b = rig();
      const pull = await b.quiver("pull", "p.yaml", "--remote", remote);
      assert.equal(pull.code, 1);
      assert.match(
        pull.stderr,
        new RegExp(
          `manifest ${lock.stages.total!.key} (names no document for its key|holds the fingerprint of another key)`,
        ),
      );
      const run = await b.quiver("run", "p.yaml");
      assert.deepEqual(run.ran, ["total"]);
    });
  }

  test("sub-results carry their key's document: a k-fold result travels and is accepted", async () => {
    const make = () =>
      Rig.create({
        "p.yaml": `quiver: 1
name: folds
seed: 2
stages:
  events: { type: generate, with: { signal: 120, background: 120 } }
  kf: { type: kfold, inputs: { table: events }, with: { k: 2, features: [lep1_pt, m_ll], model: { kind: gbt, num_trees: 3 } } }
`,
      });
    const { a, remote } = await pushed(make);
    const b = rig(make);
    b.write("p.lock", a.read("p.lock"));
    const pull = await b.quiver("pull", "p.yaml", "--remote", remote);
    assert.equal(pull.code, 0, pull.stderr);
    // --json (the rig's): text goes to standard error, standard output is JSON only.
    assert.match(pull.stderr, /pulled [3-9] result\(s\)/, "the stage and its folds");
    assert.deepEqual((await b.quiver("run", "p.yaml")).ran, []);
  });
});

describe("a summary altered on the remote", () => {
  test("caught by the checksum it was pushed with; show never prints the altered value", async () => {
    const make = () =>
      Rig.create({
        "p.yaml": `quiver: 1
name: summary
seed: 3
stages:
  events: { type: generate, with: { signal: 60, background: 60 } }
`,
      });
    const { a, remote, lock } = await pushed(make);
    const key = lock.stages.events!.key;
    const text = fs.readFileSync(manifestFile(remote, key), "utf8");
    assert.match(text, /"rows": 120/);
    assert.match(text, /"integrity": "[0-9a-f]{16}"/, "manifests travel with their checksum");
    fs.writeFileSync(manifestFile(remote, key), text.replace('"rows": 120', '"rows": 130'));
    const b = rig(make);
    b.write("p.lock", a.read("p.lock"));
    const pull = await b.quiver("pull", "p.yaml", "--remote", remote);
    assert.equal(pull.code, 1);
    assert.match(pull.stderr, new RegExp(`manifest ${key} does not match its checksum`));
    const lines: string[] = [];
    const io = { out: (s: string) => lines.push(s), err: (s: string) => lines.push(s), color: false };
    await main(["show", b.path("p.yaml"), "events.table", "--rows", "0"], io, testRegistry);
    assert.doesNotMatch(lines.join("\n"), /\b130\b/);
  });
});
