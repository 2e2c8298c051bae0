/**
 * The file-hash memo (issue #19, defect 5): it trusts (size, mtime, ctime, inode) only for stamps
 * taken well after the file's last change ("racily clean" files are hashed again), so a data file
 * rewritten in place with its size and mtime restored (`cp -p`, `rsync -t --inplace`, `touch -r`)
 * is hashed again and its stage reruns; `--rehash` trusts no stamp at all.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { FileHashMemo, hasher, RACY_WINDOW_MS, stampHolds, type ContentHash } from "../core/hash.js";
import { main } from "../cli/main.js";
import { Rig } from "./support/rig.js";
import { testRegistry } from "./support/test-stages.js";

const PIPELINE = `quiver: 1
name: memo
stages:
  src:   { type: source, with: { file: data/numbers.txt } }
  total: { type: sum, inputs: { table: src } }
`;

const cleanup: (() => void)[] = [];
after(() => cleanup.forEach((c) => c()));

async function cli(...args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const io = { out: (s: string) => lines.push(s), err: (s: string) => lines.push(s), color: false };
  return { code: await main(args, io, testRegistry), out: lines.join("\n") };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A project whose data file was written long enough ago for its stamp to be trusted. */
async function settled(): Promise<Rig> {
  const r = Rig.create({ "p.yaml": PIPELINE, "data/numbers.txt": "1 2 3 4\n" });
  cleanup.push(() => r.remove());
  await sleep(RACY_WINDOW_MS + 200);
  return r;
}

describe("the racily-clean rule", () => {
  const stamp = {
    size: 8,
    mtimeMs: 1_000_000,
    ctimeMs: 1_000_000,
    ino: 7,
    hash: "0123456789abcdef" as ContentHash,
  };
  test("a stamp taken within the window of the file's last change is not trusted", () => {
    assert.equal(stampHolds({ ...stamp, hashedAt: 1_000_000 }, stamp), false, "same tick");
    assert.equal(stampHolds({ ...stamp, hashedAt: 1_000_000 + RACY_WINDOW_MS - 1 }, stamp), false);
    assert.equal(stampHolds({ ...stamp, hashedAt: 1_000_000 + RACY_WINDOW_MS + 1 }, stamp), true);
  });
  test("any difference in size, mtime, ctime or inode is a change", () => {
    const known = { ...stamp, hashedAt: 2_000_000 };
    assert.equal(stampHolds(known, { ...stamp, ctimeMs: stamp.ctimeMs + 1 }), false, "ctime");
    assert.equal(stampHolds(known, { ...stamp, mtimeMs: stamp.mtimeMs - 1 }), false, "mtime");
    assert.equal(stampHolds(known, { ...stamp, ino: 8 }), false, "inode");
    assert.equal(stampHolds(known, { ...stamp, size: 9 }), false, "size");
  });

  test("a file hashed right after it was written is hashed again; a settled one is not", async () => {
    await hasher();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-memo-"));
    cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, "a.txt");
    fs.writeFileSync(file, "first\n");
    const memo = new FileHashMemo();
    const h1 = await memo.hash(file);
    // The same size, written within the same moment: size, mtime and ctime may all be equal.
    fs.writeFileSync(file, "FIRST\n");
    const h2 = await memo.hash(file);
    assert.equal(memo.filesHashed, 2, "the racy stamp was not trusted");
    assert.notEqual(h1.hash, h2.hash);
    // Once settled, a stamp is trusted: an unchanged big input is not read again.
    const settledMemo = new FileHashMemo(
      new Map(
        Object.entries({
          [file]: { ...(memo.toJson()[file] ?? stamp), hashedAt: Date.now() + 10 * RACY_WINDOW_MS },
        }),
      ),
    );
    assert.equal((await settledMemo.hash(file)).hash, h2.hash);
    assert.equal(settledMemo.filesHashed, 0);
  });
});

describe("a data file rewritten in place", () => {
  test("same size, mtime restored (touch -r, cp -p): hashed again, the stage reruns", async () => {
    const r = await settled();
    const file = r.path("data/numbers.txt");
    assert.equal((await cli("run", r.path("p.yaml"))).code, 0);
    await sleep(RACY_WINDOW_MS + 200);
    assert.deepEqual((await r.quiver("run", "p.yaml")).ran, [], "nothing changed: all cached");
    const st = fs.statSync(file);
    // Keep the times, rewrite in place, put the times back: what `touch -r`, `cp -p` and
    // `rsync -t --inplace` leave behind.
    const ref = r.path("numbers.ref");
    execFileSync("touch", ["-r", file, ref]);
    fs.writeFileSync(file, "9 2 3 4\n");
    execFileSync("touch", ["-r", ref, file]);
    assert.equal(fs.statSync(file).size, st.size);
    assert.equal(fs.statSync(file).mtimeMs, st.mtimeMs, "the mtime looks untouched");
    const again = await r.quiver("run", "p.yaml");
    assert.deepEqual(again.ran.sort(), ["src", "total"]);
    const shown = await cli("show", r.path("p.yaml"), "total.metrics");
    assert.match(shown.out, /sum\s+18\b/, "the new data's result, not the old one's");
  });

  test("--rehash trusts no stamp: a memo that is wrong is corrected by status and run", async () => {
    const r = await settled();
    const file = r.path("data/numbers.txt");
    assert.equal((await cli("run", r.path("p.yaml"))).code, 0);
    const oldStamps = JSON.parse(
      fs.readFileSync(path.join(r.cacheDir, "records", "file-hashes.json"), "utf8"),
    ) as Record<string, { hash: string; hashedAt: number }>;
    // What remains possible: a file changed in a way its stamp cannot show (here: the memo itself
    // is made to lie, with the new file's stat and the old content's hash).
    fs.writeFileSync(file, "9 2 3 4\n");
    const st = fs.statSync(file);
    const real = fs.realpathSync(file);
    const entry = oldStamps[real]!;
    fs.writeFileSync(
      path.join(r.cacheDir, "records", "file-hashes.json"),
      JSON.stringify({
        [real]: {
          size: st.size,
          mtimeMs: st.mtimeMs,
          ctimeMs: st.ctimeMs,
          ino: st.ino,
          hashedAt: Date.now() + 60_000,
          hash: entry.hash,
        },
      }),
    );
    const trusted = await cli("status", r.path("p.yaml"));
    assert.match(trusted.out, /✓ src\s+cached/, "the memo is trusted without --rehash");
    const rehashed = await cli("status", r.path("p.yaml"), "--rehash");
    assert.match(rehashed.out, /▶ src\s+will run: file data\/numbers\.txt changed content/);
    const run = await r.quiver("run", "p.yaml", "--rehash");
    assert.deepEqual(run.ran.sort(), ["src", "total"]);
    assert.match((await cli("show", r.path("p.yaml"), "total.metrics")).out, /sum\s+18\b/);
  });
});
