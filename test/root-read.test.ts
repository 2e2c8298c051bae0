/**
 * ROOT files through `load`: every test file loads (or fails with its documented error), values
 * equal the ones uproot's public test suite and documentation assert for these same files
 * (scikit-hep/uproot5: tests/test_0099, test_0487, test_1321, test_0018, test_0023, test_0031,
 * test_0630, test_1630, and docs-sphinx/basic.rst), and every compression gives the same table.
 * The data are the scikit-hep-testdata files in ../shared/data/root-testdata (see its SOURCE.md);
 * without them these tests skip.
 */
import { describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { hashBytes, hasher } from "../core/hash.js";
import { StageError } from "../core/stage.js";
import type { Column, Table } from "../core/table.js";
import { encodeArtifact } from "../engine/artifacts.js";
import { loadStage } from "../stages/load.js";
import { runStage } from "./support/stage-harness.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const rootDataDir = path.resolve(repoRoot, "..", "shared", "data", "root-testdata");
const present = existsSync(rootDataDir);

function skipIfAbsent(t: TestContext): boolean {
  if (present) return false;
  t.skip(`data not present: ${path.relative(repoRoot, rootDataDir)} (see its SOURCE.md)`);
  return true;
}

async function load(params: Record<string, unknown>) {
  const r = await runStage(loadStage, { params, baseDir: rootDataDir });
  const out = r.outputs.table;
  assert.ok(out && out.kind === "table");
  return { table: out.table, summary: r.summary ?? {}, notes: r.notes };
}

async function loadError(params: Record<string, unknown>, code: string): Promise<StageError> {
  try {
    await load(params);
  } catch (e) {
    assert.ok(e instanceof StageError, `expected StageError ${code}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected StageError ${code}`);
}

function col(t: Table, name: string): Column {
  const c = t.columns.get(name);
  assert.ok(c, `column ${name} (have ${[...t.columns.keys()].join(", ")})`);
  return c;
}

function nums(t: Table, name: string): number[] {
  const c = col(t, name);
  assert.notEqual(c.type, "dict", name);
  return Array.from((c as { values: ArrayLike<number> }).values);
}

function strs(t: Table, name: string): string[] {
  const c = col(t, name);
  assert.equal(c.type, "dict", name);
  return Array.from(c.codes, (k) => c.dictionary[k]!);
}

const f32 = (x: number) => Math.fround(x);

async function tableHash(t: Table): Promise<string> {
  await hasher();
  return hashBytes(await encodeArtifact({ kind: "table", table: t }));
}

const ZMUMU = ["", "-zlib", "-lz4", "-zstd", "-lzma", "-uncompressed"].map((s) => `uproot-Zmumu${s}.root`);
const HZZ = ["", "-zlib", "-lz4", "-zstd", "-lzma", "-uncompressed"].map((s) => `uproot-HZZ${s}.root`);

describe("ROOT TTree: flat branches (Zmumu)", () => {
  test("values uproot's tests assert: px1, M, Run, and the Run > 148029 count", async (t) => {
    if (skipIfAbsent(t)) return;
    const { table, summary } = await load({ files: ["uproot-Zmumu.root"] });
    assert.equal(table.numRows, 2304);
    // tests/test_0099_read_from_file_object.py
    assert.deepEqual(
      nums(table, "px1").slice(0, 10),
      [
        -41.1952876442, 35.1180497674, 35.1180497674, 34.1444372454, 22.7835819537, -19.8623073126,
        -19.8623073126, -20.1773731496, 71.1437106445, 51.0504859191,
      ],
    );
    // tests/test_0487_implement_asdtypeinplace.py
    assert.deepEqual(
      nums(table, "M").slice(0, 5),
      [82.4626915551, 83.6262040052, 83.3084646667, 82.1493728809, 90.4691230355],
    );
    assert.deepEqual(nums(table, "Run").slice(0, 5), [148031, 148031, 148031, 148031, 148031]);
    // tests/test_1321_pandas_changed_api_again.py: cut="Run > 148029" keeps 1580 entries
    assert.equal(nums(table, "Run").filter((r) => r > 148029).length, 1580);
    // docs-sphinx/basic.rst, iterate(step_size=500): first Type and Run, last M of each batch
    const type = strs(table, "Type");
    const run = nums(table, "Run");
    const m = nums(table, "M");
    const batches = [
      ["GT", 148031, 87.7],
      ["GT", 148031, 72.5],
      ["TT", 148031, 92.9],
      ["GT", 148031, 94.6],
      ["TT", 148029, 96.7],
    ] as const;
    batches.forEach(([ty, r, lastM], i) => {
      assert.equal(type[i * 500], ty);
      assert.equal(run[i * 500], r);
      assert.equal(Math.round(m[Math.min(i * 500 + 499, 2303)]! * 10) / 10, lastM);
    });
    // Types: int32 leaves stay int32, doubles are float64, the C-string Type is text.
    assert.equal(col(table, "Run").type, "int32");
    assert.equal(col(table, "Q1").type, "int32");
    assert.equal(col(table, "E1").type, "float64");
    const files = summary.files as { format: string; tree: string; compression: string }[];
    assert.equal(files[0]!.format, "root");
    assert.equal(files[0]!.tree, "events");
  });

  test("every compression gives the same table content hash", async (t) => {
    if (skipIfAbsent(t)) return;
    const hashes = new Map<string, string>();
    const algorithms: string[] = [];
    for (const f of ZMUMU) {
      const { table, summary } = await load({ files: [f] });
      hashes.set(f, await tableHash(table));
      algorithms.push((summary.files as { compression: string }[])[0]!.compression);
    }
    assert.equal(new Set(hashes.values()).size, 1, JSON.stringify(Object.fromEntries(hashes)));
    // The files really are differently compressed (LZ4 keeps incompressible baskets raw).
    assert.deepEqual(algorithms.slice(1), ["zlib", "LZ4, none", "ZSTD", "LZMA", "none"]);
  });
});

describe("ROOT TTree: jagged branches (HZZ)", () => {
  const muons = ["NMuon", "Muon_Px", "Muon_Py", "Muon_Pz"];

  test("a jagged branch without a rule is an error that shows the options", async (t) => {
    if (skipIfAbsent(t)) return;
    const e = await loadError({ files: ["uproot-HZZ.root"], branches: muons }, "QV_LOAD_JAGGED");
    assert.match(e.message, /3 branches "Muon_Px" \(float\[NMuon\]\), "Muon_Py"/);
    assert.match(e.hint ?? "", /pad: 2/);
    assert.match(e.hint ?? "", /reduce: \[count, max\]/);
    assert.match(e.hint ?? "", /explode: true/);
    assert.match(e.hint ?? "", /jagged: \{ Muon_Px: \{ pad: 2 \} \}\s+# Muon_Px_0, Muon_Px_1/);
    assert.match(e.hint ?? "", /"Muon_\*": \{ explode: true \} \}\s+# one row per muon/);
    assert.deepEqual(e.param, ["branches"]);
  });

  test("pad: the first muons of the events uproot's documentation prints", async (t) => {
    if (skipIfAbsent(t)) return;
    const { table, notes } = await load({
      files: ["uproot-HZZ.root"],
      branches: muons,
      jagged: { "Muon_P*": { pad: 2 } },
    });
    assert.equal(table.numRows, 2421);
    // docs-sphinx/basic.rst: events 0, 1 and 2, and the last event
    assert.deepEqual(nums(table, "Muon_Px_0").slice(0, 3), [
      f32(-52.89945602416992),
      f32(-0.8164593577384949),
      f32(48.98783),
    ]);
    assert.deepEqual(nums(table, "Muon_Px_1").slice(0, 3), [f32(37.7377815246582), NaN, f32(0.8275667)]);
    assert.deepEqual(nums(table, "Muon_Py_0").slice(0, 2), [
      f32(-11.654671669006348),
      f32(-24.404258728027344),
    ]);
    assert.deepEqual(nums(table, "Muon_Pz_1").slice(0, 1), [f32(-11.307581901550293)]);
    assert.equal(nums(table, "Muon_Px_0")[2420], f32(23.913206));
    assert.equal(nums(table, "Muon_Py_0")[2420], f32(-35.665077));
    assert.deepEqual(nums(table, "NMuon").slice(0, 3), [2, 1, 2]);
    // Events with more than two muons are reported, not silently cut.
    const over = nums(table, "NMuon").filter((n) => n > 2).length;
    assert.ok(over > 0);
    assert.ok(
      notes.some((n) => n.includes(`${over} event(s) had more than 2 value(s) in Muon_Px, Muon_Py, Muon_Pz`)),
      notes.join("\n"),
    );
  });

  test("reduce: muon counts equal NMuon, leading-muon pT from the published first event", async (t) => {
    if (skipIfAbsent(t)) return;
    const { table } = await load({
      files: ["uproot-HZZ.root"],
      branches: ["NMuon", "Muon_Px", "Muon_Py"],
      jagged: { "Muon_P*": { reduce: ["count", "first", "last", "sum", "min", "max", "mean"] } },
    });
    assert.deepEqual(nums(table, "Muon_Px_count"), nums(table, "NMuon"));
    assert.equal(col(table, "Muon_Px_count").type, "int32");
    const px = f32(-52.89945602416992);
    const py = f32(-11.654671669006348);
    const first = nums(table, "Muon_Px_first");
    const firstY = nums(table, "Muon_Py_first");
    assert.equal(Math.hypot(first[0]!, firstY[0]!), Math.hypot(px, py));
    assert.ok(Math.abs(Math.hypot(px, py) - 54.168) < 1e-3);
    assert.equal(nums(table, "Muon_Px_last")[0], f32(37.7377815246582));
    assert.equal(nums(table, "Muon_Px_sum")[0], f32(-52.89945602416992) + f32(37.7377815246582));
    assert.equal(nums(table, "Muon_Px_min")[0], px);
    assert.equal(nums(table, "Muon_Px_max")[0], f32(37.7377815246582));
    assert.equal(nums(table, "Muon_Px_mean")[1], f32(-0.8164593577384949));
    // An event without muons: count 0, sum 0, the others NaN.
    const empty = nums(table, "NMuon").indexOf(0);
    assert.ok(empty >= 0);
    assert.equal(nums(table, "Muon_Px_sum")[empty], 0);
    assert.ok(Number.isNaN(nums(table, "Muon_Px_first")[empty]));
  });

  test("explode: one row per muon, an entry column, other columns repeated", async (t) => {
    if (skipIfAbsent(t)) return;
    const { table } = await load({
      files: ["uproot-HZZ.root"],
      branches: ["NMuon", "Muon_Px", "Muon_Py", "MET_px"],
      jagged: { "Muon_*": { explode: true } },
    });
    const counts = nums((await load({ files: ["uproot-HZZ.root"], branches: ["NMuon"] })).table, "NMuon");
    assert.equal(
      table.numRows,
      counts.reduce((a, b) => a + b, 0),
    );
    assert.deepEqual(nums(table, "entry").slice(0, 3), [0, 0, 1]);
    assert.deepEqual(nums(table, "Muon_Px").slice(0, 3), [
      f32(-52.89945602416992),
      f32(37.7377815246582),
      f32(-0.8164593577384949),
    ]);
    assert.deepEqual(nums(table, "NMuon").slice(0, 3), [2, 2, 1]);
    // MET_px of event 0 (published for the -objects copy of this file, test_0303)
    assert.deepEqual(nums(table, "MET_px").slice(0, 2), [f32(5.912771224975586), f32(5.912771224975586)]);
  });

  test("explode needs branches with equal counts per event", async (t) => {
    if (skipIfAbsent(t)) return;
    const e = await loadError(
      { files: ["uproot-HZZ.root"], branches: ["Muon_Px", "Jet_Px"], jagged: { "*_Px": { explode: true } } },
      "QV_LOAD_EXPLODE_MISMATCH",
    );
    assert.match(e.message, /event 0 has 2 and 0 values/);
  });

  test("every compression gives the same table (all branches, all rules)", async (t) => {
    if (skipIfAbsent(t)) return;
    const hashes: string[] = [];
    for (const f of HZZ) {
      const { table } = await load({
        files: [f],
        jagged: {
          "Jet_*": { reduce: ["count", "max"] },
          "Muon_*": { pad: 3, fill: -999 },
          "Electron_*": { pad: 1 },
          "Photon_*": { reduce: ["sum"] },
        },
      });
      hashes.push(await tableHash(table));
    }
    assert.equal(new Set(hashes).size, 1);
  });
});

describe("ROOT TTree: every leaf type, fixed and counted arrays, strings", () => {
  test("uproot-sample-6.20.04: published values and types", async (t) => {
    if (skipIfAbsent(t)) return;
    const { table } = await load({
      files: ["uproot-sample-6.20.04-zlib.root"],
      jagged: { "A*": { pad: 4 } },
    });
    assert.equal(table.numRows, 30);
    // tests/test_0017/0018: i4 is -15 … 14; f4 = i4 + 0.1 as float
    assert.deepEqual(
      nums(table, "i4"),
      Array.from({ length: 30 }, (_, i) => i - 15),
    );
    assert.deepEqual(nums(table, "f4").slice(0, 3), [f32(-14.9), f32(-13.9), f32(-12.9)]);
    // tests/test_0023: str is "hey-0" … "hey-29"
    assert.deepEqual(
      strs(table, "str"),
      Array.from({ length: 30 }, (_, i) => `hey-${i}`),
    );
    // tests/test_0018: abs(i4) + Ai8 per entry ([], [-1], [-2, 0], [-3, -1, 1], …)
    const i4 = nums(table, "i4");
    const published = [[], [-1], [-2, 0], [-3, -1, 1], [-4, -2, 0, 2], [], [-1], [-2, 0]];
    published.forEach((stuff, e) => {
      for (let j = 0; j < 4; j++) {
        const v = nums(table, `Ai8_${j}`)[e]!;
        if (j < stuff.length) assert.equal(Math.abs(i4[e]!) + v, stuff[j], `entry ${e} item ${j}`);
        else assert.ok(Number.isNaN(v));
      }
    });
    // Fixed-size arrays become one column per element.
    assert.ok(table.columns.has("af8_0") && table.columns.has("af8_2") && !table.columns.has("af8_3"));
    // Types: int32 for bool and small integers, float64 for unsigned 32-bit, 64-bit and floats.
    for (const c of ["b", "ab_0", "i1", "u1", "i2", "u2", "i4"]) assert.equal(col(table, c).type, "int32", c);
    // Padding with NaN (the default fill) needs float64 even for integers.
    for (const c of ["u4", "i8", "u8", "f4", "f8", "Af8_0", "Ab_0", "Ai4_0"])
      assert.equal(col(table, c).type, "float64", c);
    // Every numeric branch agrees with i4 (the file's values all derive from the entry number).
    const b = nums(table, "b");
    assert.deepEqual(b.slice(0, 4), [1, 0, 1, 0]);
  });

  test("uproot-small-flat-tree: 64-bit and unsigned integers, fixed arrays, counted slices", async (t) => {
    if (skipIfAbsent(t)) return;
    const { table } = await load({
      files: ["uproot-small-flat-tree.root"],
      jagged: { "Slice*": { reduce: ["count"] } },
    });
    assert.equal(table.numRows, 100);
    assert.deepEqual(nums(table, "SliceInt32_count"), nums(table, "N"));
    assert.equal(col(table, "Int64").type, "float64");
    assert.ok(table.columns.has("ArrayFloat64_9"));
  });

  test("uproot-stl_containers: std::string, TString and vector<int> load; published values", async (t) => {
    if (skipIfAbsent(t)) return;
    const { table } = await load({
      files: ["uproot-stl_containers.root"],
      branches: ["string", "tstring", "vector_int32"],
      jagged: { vector_int32: { pad: 5, fill: 0 } },
    });
    // tests/test_0031_test_stl_containers.py
    const words = ["one", "two", "three", "four", "five"];
    assert.deepEqual(strs(table, "string"), words);
    assert.deepEqual(strs(table, "tstring"), words);
    const rows = Array.from({ length: 5 }, (_, e) =>
      Array.from({ length: 5 }, (_, j) => nums(table, `vector_int32_${j}`)[e]),
    );
    assert.deepEqual(rows, [
      [1, 0, 0, 0, 0],
      [1, 2, 0, 0, 0],
      [1, 2, 3, 0, 0],
      [1, 2, 3, 4, 0],
      [1, 2, 3, 4, 5],
    ]);
    assert.equal(col(table, "vector_int32_0").type, "int32");
  });

  test("nested and object containers fail naming the branch, its type and what to do", async (t) => {
    if (skipIfAbsent(t)) return;
    const e = await loadError(
      { files: ["uproot-stl_containers.root"], branches: ["vector_vector_int32"] },
      "QV_LOAD_ROOT_UNSUPPORTED",
    );
    assert.match(
      e.message,
      /branch "vector_vector_int32" of type vector<vector<int> > cannot be loaded: it is a nested container/,
    );
    assert.match(e.hint ?? "", /leave it out of branches:/);
    assert.equal(e.data?.column, "vector_vector_int32");
    const all = await loadError({ files: ["uproot-stl_containers.root"] }, "QV_LOAD_ROOT_UNSUPPORTED");
    assert.match(all.message, /"vector_string" of type vector<string>.*and 22 more/);
    const map = await loadError(
      { files: ["uproot-stl_containers.root"], branches: ["map_int32_int16"] },
      "QV_LOAD_ROOT_UNSUPPORTED",
    );
    assert.match(map.message, /map<int,short>/);
  });

  test("NanoAOD: baskets stored inside the tree, counted branches, explode over several", async (t) => {
    if (skipIfAbsent(t)) return;
    const { table, summary } = await load({
      files: ["nanoAOD_2015_CMS_Open_Data_ttbar.root"],
      branches: ["event", "nMuon", "Muon_pt", "Muon_eta", "Muon_charge"],
      jagged: { "Muon_*": { explode: true } },
    });
    const events = (summary.files as { entries: string }[])[0]!.entries;
    assert.equal(events, "200");
    const counts = nums(
      (await load({ files: ["nanoAOD_2015_CMS_Open_Data_ttbar.root"], branches: ["nMuon"] })).table,
      "nMuon",
    );
    assert.equal(
      table.numRows,
      counts.reduce((a, b) => a + b, 0),
    );
    assert.ok(nums(table, "Muon_charge").every((q) => q === 1 || q === -1));
    assert.ok(nums(table, "Muon_pt").every((pt) => pt > 0));
  });
});

describe("RNTuple", () => {
  test("flat fields: uproot's published first values", async (t) => {
    if (skipIfAbsent(t)) return;
    const { table, summary } = await load({ files: ["test_int_float_rntuple_v1-0-0-0.root"] });
    // tests/test_0630_rntuple_basics.py
    assert.deepEqual(nums(table, "one_integers").slice(0, 3), [9, 8, 7]);
    assert.equal(col(table, "one_integers").type, "int32");
    assert.equal(col(table, "two_floats").type, "float64");
    assert.equal((summary.files as { rntuple: string }[])[0]!.rntuple, "ntuple");
  });

  test("ntpl001_staff (RNTuple v1.0.1.0): 3354 entries, numbers and strings", async (t) => {
    if (skipIfAbsent(t)) return;
    const { table } = await load({ files: ["ntpl001_staff_rntuple_v1-0-1-0.root"] });
    // tests/test_1630_rntuple_iterate_report.py: 3354 entries
    assert.equal(table.numRows, 3354);
    assert.deepEqual(
      [...table.columns.keys()],
      [
        "Category",
        "Flag",
        "Age",
        "Service",
        "Children",
        "Grade",
        "Step",
        "Hrweek",
        "Cost",
        "Division",
        "Nation",
      ],
    );
    assert.equal(col(table, "Nation").type, "dict");
  });

  test("jagged fields take the same rules", async (t) => {
    if (skipIfAbsent(t)) return;
    await loadError({ files: ["test_1jag_int_float_rntuple_v1-0-0-0.root"] }, "QV_LOAD_JAGGED");
    const { table } = await load({
      files: ["test_1jag_int_float_rntuple_v1-0-0-0.root"],
      jagged: { "*": { reduce: ["count", "first"] } },
    });
    assert.deepEqual(nums(table, "one_v_integers_count"), nums(table, "two_v_floats_count"));
    assert.deepEqual(nums(table, "one_v_integers_first").slice(0, 3), [NaN, 100, 100]);
  });
});
