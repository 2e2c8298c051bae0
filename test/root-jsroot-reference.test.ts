/**
 * Quiver's basket reader against jsroot's own TTree reader (`treeProcess`, entry by entry, with
 * jsroot's JavaScript decompression and decoders): a second, independent reading of every
 * readable branch of every test file must give the same values, entry by entry.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { TSelector, treeProcess } from "jsroot/tree";
import { decodeTree, type BranchLayout } from "../stages/lib/root/objects.js";
import { RootSource } from "../stages/lib/root/source.js";
import { newStats, readBranch, type RawColumn } from "../stages/lib/root/ttree.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const dir = path.resolve(repoRoot, "..", "shared", "data", "root-testdata");

const FILES: [string, string][] = [
  ["uproot-Zmumu.root", "events"],
  ["uproot-Zmumu-lz4.root", "events"],
  ["uproot-Zmumu-zstd.root", "events"],
  ["uproot-Zmumu-lzma.root", "events"],
  ["uproot-Zmumu-uncompressed.root", "events"],
  ["uproot-HZZ-zlib.root", "events"],
  ["uproot-HZZ-lz4.root", "events"],
  ["uproot-sample-6.20.04-zlib.root", "sample"],
  ["uproot-small-flat-tree.root", "tree"],
  ["uproot-stl_containers.root", "tree"],
  ["nanoAOD_2015_CMS_Open_Data_ttbar.root", "Events"],
];

/** Entry e of a column as read by Quiver, as a list of numbers or a string. */
function entryOf(raw: RawColumn, e: number): number[] | string {
  switch (raw.kind) {
    case "flat":
      return Array.from(raw.values.subarray(e * raw.width, (e + 1) * raw.width));
    case "jagged":
      return Array.from(raw.values.subarray(raw.offsets[e], raw.offsets[e + 1]));
    case "strings":
      return raw.values[e]!;
  }
}

function jsrootEntry(v: unknown, layout: BranchLayout, mine: number[] | string): number[] | string {
  // jsroot reads a char[n] array as a C string: the bytes up to the first zero. uproot and Quiver
  // read all n signed bytes, so the reference is jsroot's bytes, then a zero, then ours.
  if (typeof v === "string") {
    if (layout.kind !== "fixed") return v;
    const bytes = Array.from(v, (c) => (c.charCodeAt(0) << 24) >> 24);
    if (bytes.length < layout.width && typeof mine !== "string")
      return [...bytes, 0, ...mine.slice(bytes.length + 1)];
    return bytes;
  }
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return [Number(v)];
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return Array.from(v as ArrayLike<unknown>, (x) => Number(x));
  throw new Error(`unexpected jsroot value ${String(v)}`);
}

for (const [file, treeName] of FILES) {
  test(`${file}: every readable branch equals jsroot's own reading`, async (t) => {
    const abs = path.join(dir, file);
    if (!existsSync(abs)) return t.skip(`data not present: ${path.relative(repoRoot, abs)}`);
    const source = await RootSource.open(abs, file);
    const jsfile = await source.jsroot();
    try {
      const object = await jsfile.readObject(treeName);
      const tree = decodeTree(object, treeName, file);
      // NanoAOD has ~1000 branches; a sample of every kind keeps the test quick.
      const readable = tree.branches.filter((b) => !b.nested && b.layout.kind !== "unsupported");
      const branches = readable.length > 60 ? readable.filter((_, i) => i % 15 === 0) : readable;
      assert.ok(branches.length > 0);
      const ours = new Map<string, RawColumn>();
      for (const b of branches)
        ours.set(b.name, await readBranch(source, jsfile, b, tree.entries, newStats()));
      for (const b of branches) {
        const selector = new TSelector();
        selector.addBranch(b.name, "v");
        const raw = ours.get(b.name)!;
        const seen: (number[] | string)[] = [];
        selector.Process = function (this: TSelector) {
          seen.push(jsrootEntry(this.tgtobj.v, b.layout, entryOf(raw, seen.length)));
        };
        await treeProcess(object, selector);
        assert.equal(seen.length, tree.entries, b.name);
        for (let e = 0; e < tree.entries; e++) {
          const mine = entryOf(raw, e);
          const theirs = seen[e]!;
          assert.deepEqual(mine, theirs, `${b.name} entry ${e}`);
        }
      }
    } finally {
      jsfile.delete();
      await source.close();
    }
  });
}
