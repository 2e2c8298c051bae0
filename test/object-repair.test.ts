/**
 * A stored object with a bit flipped (same size) is replaced when the same bytes are written again
 * (issue #19, defect 4): by `verify` (which then reads back what it compares) and by `run --force`.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { Store, type StoreProblem } from "../cache/store.js";
import { main } from "../cli/main.js";
import { auditStore } from "./support/chaos.js";
import { Rig } from "./support/rig.js";
import { testRegistry } from "./support/test-stages.js";

const PIPELINE = `quiver: 1
name: flip
stages:
  src:   { type: source, with: { values: [1, 2, 3, 4, 5, 6] } }
  plus:  { type: add, inputs: { table: src }, with: { amount: 1 } }
  total: { type: sum, inputs: { table: plus } }
`;

const cleanup: (() => void)[] = [];
after(() => cleanup.forEach((c) => c()));

async function cli(...args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const io = { out: (s: string) => lines.push(s), err: (s: string) => lines.push(s), color: false };
  return { code: await main(args, io, testRegistry), out: lines.join("\n") };
}

/** Flips one bit in the middle of the object `plus` produced; returns its path. */
function flipPlusOutput(r: Rig): string {
  const lock = JSON.parse(r.read("p.lock")) as { stages: { plus: { outputs: { table: { hash: string } } } } };
  const hash = lock.stages.plus.outputs.table.hash;
  const file = path.join(r.cacheDir, "objects", hash.slice(0, 2), hash);
  const bytes = fs.readFileSync(file);
  const at = bytes.length >> 1;
  bytes[at] = bytes[at]! ^ 0x10;
  fs.writeFileSync(file, bytes);
  return file;
}

describe("a damaged object is replaced when it is written again", () => {
  test("verify reruns the stage, replaces the flipped copy and reads back what it compares", async () => {
    const r = Rig.create({ "p.yaml": PIPELINE });
    cleanup.push(() => r.remove());
    assert.equal((await cli("run", r.path("p.yaml"))).code, 0);
    flipPlusOutput(r);
    assert.notDeepEqual(await auditStore(r.cacheDir), [], "the flip is there");
    const v = await cli("verify", r.path("p.yaml"));
    assert.equal(v.code, 0, v.out);
    assert.match(v.out, /3 bit-identical/);
    assert.deepEqual(await auditStore(r.cacheDir), [], "verify's rerun replaced the damaged copy");
  });

  test("run --force replaces it too", async () => {
    const r = Rig.create({ "p.yaml": PIPELINE });
    cleanup.push(() => r.remove());
    assert.equal((await cli("run", r.path("p.yaml"))).code, 0);
    flipPlusOutput(r);
    const res = await cli("run", r.path("p.yaml"), "--force", "plus");
    assert.equal(res.code, 0, res.out);
    assert.match(res.out, /QV_CACHE_CORRUPT_OBJECT: .*differs from the bytes being written; replaced/);
    assert.deepEqual(await auditStore(r.cacheDir), []);
  });

  test("putObject: an intact copy is kept, a same-size damaged one replaced and reported", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-put-"));
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const problems: StoreProblem[] = [];
    const store = await Store.open(path.join(dir, "store"), (p) => problems.push(p));
    const bytes = Buffer.from("the same bytes, written twice");
    const ref = await store.putObject(bytes);
    const file = path.join(dir, "store", "objects", ref.hash.slice(0, 2), ref.hash);
    const ino = fs.statSync(file).ino;
    await store.putObject(bytes);
    assert.equal(fs.statSync(file).ino, ino, "an intact copy is not rewritten");
    assert.equal(problems.length, 0);
    fs.writeFileSync(file, Buffer.from("THE same bytes, written twice"));
    await store.putObject(bytes);
    assert.ok(fs.readFileSync(file).equals(bytes), "the damaged copy was replaced");
    assert.deepEqual(
      problems.map((p) => p.kind),
      ["corrupt-object"],
    );
  });
});
