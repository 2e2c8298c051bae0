/**
 * Bad ROOT input: a file that is not ROOT, a truncated or damaged one, a tree or branch that is not
 * there, rules that name nothing. Each is a StageError with its code, naming the file (and the
 * branch where there is one), never another exception and never a partial table. A fuzz pass flips
 * random bytes of real files and checks the same promise.
 */
import { after, before, describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { StageError } from "../core/stage.js";
import { loadStage } from "../stages/load.js";
import { decodeTree } from "../stages/lib/root/objects.js";
import { pickTree } from "../stages/lib/root/pick-tree.js";
import { RootSource } from "../stages/lib/root/source.js";
import { runStage } from "./support/stage-harness.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const dataDir = path.resolve(repoRoot, "..", "shared", "data", "root-testdata");
const zmumu = path.join(dataDir, "uproot-Zmumu-zlib.root");

let tmp = "";
before(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "quiver-root-bad-"));
});
after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function skipIfAbsent(t: TestContext): boolean {
  if (existsSync(zmumu)) return false;
  t.skip(`data not present: ${path.relative(repoRoot, dataDir)} (see its SOURCE.md)`);
  return true;
}

async function loadError(params: Record<string, unknown>, code: string, baseDir = tmp): Promise<StageError> {
  try {
    await runStage(loadStage, { params, baseDir });
  } catch (e) {
    assert.ok(e instanceof StageError, `expected StageError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected StageError ${code}`);
}

describe("files that are not (whole) ROOT files", () => {
  test("a text file named .root, and a CSV read with format: root", async () => {
    await writeFile(path.join(tmp, "notes.root"), "this is not a ROOT file\n");
    const e = await loadError({ files: ["notes.root"] }, "QV_LOAD_ROOT");
    assert.match(e.message, /^notes\.root: not a ROOT file \(it does not start with "root"\)/);
    assert.equal(e.data?.file, "notes.root");
    await writeFile(path.join(tmp, "x.csv"), "a,b\n1,2\n");
    await loadError({ files: ["x.csv"], format: "root" }, "QV_LOAD_ROOT");
  });

  test("truncated files: inside the header, and halfway through the data", async (t) => {
    if (skipIfAbsent(t)) return;
    const bytes = await readFile(zmumu);
    await writeFile(path.join(tmp, "head.root"), bytes.subarray(0, 30));
    const head = await loadError({ files: ["head.root"] }, "QV_LOAD_ROOT_TRUNCATED");
    assert.match(
      head.message,
      /the file is truncated: the file header ends at byte 53, but the file has only 30 bytes/,
    );
    await writeFile(path.join(tmp, "half.root"), bytes.subarray(0, bytes.length >> 1));
    const half = await loadError({ files: ["half.root"] }, "QV_LOAD_ROOT_TRUNCATED");
    assert.match(half.message, new RegExp(`but the file has only ${bytes.length >> 1} bytes`));
    assert.match(half.hint ?? "", /interrupted/);
  });

  test("a damaged basket names the branch, the basket and where it is", async (t) => {
    if (skipIfAbsent(t)) return;
    const bytes = Buffer.from(await readFile(zmumu));
    const seek = await basketSeek(zmumu, "px1");
    for (let i = 200; i < 240; i++) bytes[seek + i] = bytes[seek + i]! ^ 0x5a;
    await writeFile(path.join(tmp, "damaged.root"), bytes);
    const e = await loadError({ files: ["damaged.root"] }, "QV_LOAD_ROOT_CORRUPT");
    assert.match(
      e.message,
      new RegExp(
        `^damaged\\.root: the file is damaged: branch "px1": basket 0 \\(at byte ${seek}\\): zlib data is damaged`,
      ),
    );
    assert.equal(e.data?.column, "px1");
    // Other branches of the same file still load.
    await copyFile(path.join(tmp, "damaged.root"), path.join(tmp, "damaged2.root"));
    const ok = await runStage(loadStage, {
      params: { files: ["damaged2.root"], branches: ["px2", "M"] },
      baseDir: tmp,
    });
    assert.equal(ok.outputs.table?.kind === "table" && ok.outputs.table.table.numRows, 2304);
  });
});

describe("names that are not in the file", () => {
  test("a missing tree: did-you-mean from the file's own trees", async (t) => {
    if (skipIfAbsent(t)) return;
    const e = await loadError({ files: ["uproot-Zmumu.root"], tree: "event" }, "QV_LOAD_ROOT_TREE", dataDir);
    assert.equal(e.message, 'uproot-Zmumu.root has no TTree or RNTuple "event"');
    assert.equal(e.hint, 'did you mean "events"? it holds: "events" (TTree)');
    assert.deepEqual(e.param, ["tree"]);
    const far = await loadError(
      { files: ["uproot-Zmumu.root"], tree: "Delphes" },
      "QV_LOAD_ROOT_TREE",
      dataDir,
    );
    assert.equal(far.hint, 'it holds: "events" (TTree)');
  });

  test("a file with several trees needs tree:, and the error lists them (none of the test files has two)", () => {
    const trees = new Map([
      ["Events", "TTree"],
      ["Runs", "TTree"],
      ["meta/ntuple", "ROOT::RNTuple"],
    ]);
    const thrown = (wanted: string | undefined, list = trees): StageError => {
      try {
        pickTree(list, wanted, "nano.root");
      } catch (e) {
        assert.ok(e instanceof StageError && e.code === "QV_LOAD_ROOT_TREE", String(e));
        return e;
      }
      assert.fail("expected QV_LOAD_ROOT_TREE");
    };
    const several = thrown(undefined);
    assert.equal(
      several.message,
      'nano.root holds 3 trees: "Events" (TTree), "Runs" (TTree), "meta/ntuple" (RNTuple); say which',
    );
    assert.equal(several.hint, "add tree: Events (or another of them)");
    assert.deepEqual(several.param, ["tree"]);
    assert.equal(pickTree(trees, "Runs", "nano.root"), "Runs");
    assert.equal(pickTree(trees, "/meta/ntuple;1", "nano.root"), "meta/ntuple");
    assert.equal(pickTree(new Map([["t", "TNtuple"]]), undefined, "one.root"), "t");
    assert.match(thrown("Event").hint ?? "", /^did you mean "Events"\? it holds: "Events" \(TTree\), "Runs"/);
    const none = thrown(undefined, new Map());
    assert.equal(none.message, "nano.root: the file holds no TTree or RNTuple");
  });

  test("a missing branch: did-you-mean from the tree's branches; a glob that matches nothing", async (t) => {
    if (skipIfAbsent(t)) return;
    const e = await loadError(
      { files: ["uproot-Zmumu.root"], branches: ["M", "px"] },
      "QV_LOAD_UNKNOWN_BRANCH",
      dataDir,
    );
    assert.equal(e.message, 'uproot-Zmumu.root: TTree "events" has no branch "px"');
    assert.match(e.hint ?? "", /^did you mean "px1"\? its branches: Type, Run, Event, E1, px1, py1/);
    assert.deepEqual(e.param, ["branches", 1]);
    const g = await loadError(
      { files: ["uproot-Zmumu.root"], branches: ["Muon_*"] },
      "QV_LOAD_UNKNOWN_BRANCH",
      dataDir,
    );
    assert.match(g.message, /has no branch matching "Muon_\*"/);
    assert.match(g.hint ?? "", /its branches: Type, Run, Event, E1/);
  });

  test("rename: and jagged: must name selected branches", async (t) => {
    if (skipIfAbsent(t)) return;
    const r = await loadError(
      { files: ["uproot-Zmumu.root"], branches: ["M"], rename: { m: "mass" } },
      "QV_LOAD_UNKNOWN_BRANCH",
      dataDir,
    );
    assert.equal(r.hint, 'did you mean "M"?');
    const j = await loadError(
      { files: ["uproot-Zmumu.root"], branches: ["M"], jagged: { M: { pad: 2 } } },
      "QV_LOAD_JAGGED_UNUSED",
      dataDir,
    );
    assert.match(j.message, /names branch "M", which has a fixed number of values/);
    const u = await loadError(
      {
        files: ["uproot-HZZ.root"],
        branches: ["Muon_Px"],
        jagged: { Muon_Px: { pad: 1 }, "Jet_*": { pad: 1 } },
      },
      "QV_LOAD_JAGGED_UNUSED",
      dataDir,
    );
    assert.deepEqual(u.param, ["jagged", "Jet_*"]);
  });

  test("rename: gives new column names; a clash is an error", async (t) => {
    if (skipIfAbsent(t)) return;
    const r = await runStage(loadStage, {
      params: { files: ["uproot-Zmumu.root"], branches: ["M", "Run"], rename: { M: "mass" } },
      baseDir: dataDir,
    });
    assert.ok(r.outputs.table?.kind === "table");
    assert.deepEqual([...r.outputs.table.table.columns.keys()], ["mass", "Run"]);
    await loadError(
      { files: ["uproot-Zmumu.root"], branches: ["M", "Run"], rename: { M: "Run" } },
      "QV_LOAD_DUPLICATE_COLUMN",
      dataDir,
    );
  });

  test("ROOT params on a CSV file are an error, not silently ignored", async () => {
    await writeFile(path.join(tmp, "y.csv"), "a,b\n1,2\n");
    const e = await loadError({ files: ["y.csv"], branches: ["a"] }, "QV_LOAD_ROOT_PARAM");
    assert.match(e.hint ?? "", /columns:/);
    assert.deepEqual(e.param, ["branches"]);
    // The same rule for every reader's params, in a files: entry too.
    const h = await loadError({ files: [{ path: "y.csv", dataset: "/t" }] }, "QV_LOAD_HDF5_PARAM");
    assert.deepEqual(h.param, ["files", 0, "dataset"]);
    assert.equal(h.message, "y.csv is read as CSV; dataset: applies to HDF5 files only");
  });

  test("a stage's ROOT params with a CSV file beside a ROOT file apply to the ROOT file", async (t) => {
    if (skipIfAbsent(t)) return;
    await writeFile(path.join(tmp, "m.csv"), "M\n91.5\n");
    const r = await runStage(loadStage, {
      params: { files: ["m.csv", zmumu], branches: ["M"] },
      baseDir: tmp,
    });
    assert.ok(r.outputs.table?.kind === "table");
    assert.equal(r.outputs.table.table.numRows, 1 + 2304);
    assert.deepEqual([...r.outputs.table.table.columns.keys()], ["M"]);
  });

  test("an error about a file's own ROOT param points at its files: entry", async (t) => {
    if (skipIfAbsent(t)) return;
    const own = await loadError({ files: [{ path: zmumu, tree: "evnts" }] }, "QV_LOAD_ROOT_TREE");
    assert.deepEqual(own.param, ["files", 0, "tree"]);
    assert.equal(own.hint, 'did you mean "events"? it holds: "events" (TTree)');
    const stage = await loadError({ files: [zmumu], tree: "evnts" }, "QV_LOAD_ROOT_TREE");
    assert.deepEqual(stage.param, ["tree"]);
  });
});

describe("fuzz: damaged files never crash the reader", () => {
  test("random byte flips and cuts in real files: a table or a StageError, nothing else", async (t) => {
    if (skipIfAbsent(t)) return;
    let seed = 20240611;
    const rand = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const sources = ["uproot-Zmumu-zlib.root", "uproot-HZZ-lz4.root", "uproot-Zmumu-uncompressed.root"];
    const outcomes = { table: 0, error: new Map<string, number>() };
    const quiet = console.error;
    const warn = console.warn;
    const log = console.log;
    try {
      // jsroot reports some damage on the console as well; the test is about what load returns.
      console.error = console.warn = console.log = () => {};
      for (let k = 0; k < 240; k++) {
        const src = sources[k % sources.length]!;
        const bytes = Buffer.from(await readFile(path.join(dataDir, src)));
        let damaged: Buffer = bytes;
        if (k % 5 === 4) damaged = bytes.subarray(0, Math.floor(rand() * bytes.length));
        else {
          const flips = 1 + Math.floor(rand() * 16);
          for (let i = 0; i < flips; i++) {
            const at = Math.floor(rand() * bytes.length);
            bytes[at] = Math.floor(rand() * 256);
          }
        }
        const name = `fuzz-${k}.root`;
        await writeFile(path.join(tmp, name), damaged);
        try {
          const r = await runStage(loadStage, {
            params: {
              files: [name],
              ...(src.includes("HZZ") ? { jagged: { "*": { reduce: ["count"] } } } : {}),
            },
            baseDir: tmp,
          });
          assert.ok(r.outputs.table?.kind === "table");
          outcomes.table++;
        } catch (e) {
          if (!(e instanceof StageError)) {
            console.error = quiet;
            assert.fail(`${name} (from ${src}): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
          }
          outcomes.error.set(e.code, (outcomes.error.get(e.code) ?? 0) + 1);
        }
      }
    } finally {
      console.error = quiet;
      console.warn = warn;
      console.log = log;
    }
    assert.ok(outcomes.error.size > 0);
    t.diagnostic(`tables: ${outcomes.table}; errors: ${JSON.stringify(Object.fromEntries(outcomes.error))}`);
  });
});

async function basketSeek(abs: string, branch: string): Promise<number> {
  const source = await RootSource.open(abs, "x.root");
  const jsfile = await source.jsroot();
  try {
    const tree = decodeTree(await jsfile.readObject("events"), "events", "x.root");
    const b = tree.branches.find((x) => x.name === branch)!;
    const ref = b.baskets[0]!;
    assert.equal(ref.kind, "file");
    return ref.kind === "file" ? ref.seek : -1;
  } finally {
    jsfile.delete();
    await source.close();
  }
}
