import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { selectStage } from "../stages/select.js";
import { runStage } from "./support/stage-harness.js";
import { StageError, table as tableArtifact, type ArtifactValue } from "../core/stage.js";
import { validate } from "../core/schema.js";
import { canonicalJson, type JsonObject } from "../core/json.js";
import { makeTable, type Column, type Table } from "../core/table.js";
import { Rng } from "../stages/lib/random.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const dmDir = path.resolve(repoRoot, "..", "shared", "data", "atlas_dm_ml_notebook");

type Params = Parameters<NonNullable<typeof selectStage.check>>[0];
function validated(raw: Record<string, unknown>): Params {
  const { value, issues } = validate(selectStage.params.spec, raw);
  assert.deepEqual(issues, []);
  return value as Params;
}

function generated(n: number, seed = 7): Table {
  const rng = new Rng(seed);
  const pt = new Float64Array(n);
  const eta = new Float64Array(n);
  const label = new Int32Array(n);
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    label[i] = rng.uniform() < 0.3 ? 1 : 0;
    pt[i] = rng.uniform() < 0.01 ? NaN : Math.abs(rng.normal()) * (label[i] ? 40 : 20);
    eta[i] = rng.normal() * 1.5;
    w[i] = rng.uniform() < 0.1 ? -rng.uniform() : rng.uniform() * 2;
  }
  return makeTable([
    ["pt", { type: "float64", values: pt }],
    ["eta", { type: "float64", values: eta }],
    ["label", { type: "int32", values: label }],
    ["w", { type: "float64", values: w }],
  ]);
}

async function select(t: Table, params: Record<string, unknown>) {
  const r = await runStage(selectStage, { params, inputs: { table: tableArtifact(t) } });
  const out = r.outputs.table as Extract<ArtifactValue, { kind: "table" }>;
  const flow = r.outputs.cutflow as Extract<ArtifactValue, { kind: "metrics" }>;
  return { table: out.table, flow: flow.metrics, summary: r.summary!, notes: r.notes };
}

async function stageError(f: () => Promise<unknown>): Promise<StageError> {
  try {
    await f();
  } catch (err) {
    if (err instanceof StageError) return err;
    throw err;
  }
  assert.fail("expected a StageError");
}

const num = (o: unknown, ...keys: string[]): number => {
  let v: unknown = o;
  for (const k of keys) v = (v as Record<string, unknown>)[k];
  assert.equal(typeof v, "number", keys.join("."));
  return v as number;
};

void describe("select", () => {
  void test("the cut flow matches an independent count, per class, raw and weighted", async () => {
    const t = generated(30_000);
    const {
      flow,
      table: out,
      summary,
    } = await select(t, {
      cuts: [
        { name: "pt", where: "pt > 10" },
        { name: "central", where: "abs(eta) < 1.3" },
        "pt < 60 || eta > 0",
      ],
      weight: "w",
    });
    const pt = (t.columns.get("pt") as { values: Float64Array }).values;
    const eta = (t.columns.get("eta") as { values: Float64Array }).values;
    const label = (t.columns.get("label") as { values: Int32Array }).values;
    const w = (t.columns.get("w") as { values: Float64Array }).values;
    const tests = [
      (i: number) => pt[i]! > 10,
      (i: number) => Math.abs(eta[i]!) < 1.3,
      (i: number) => pt[i]! < 60 || eta[i]! > 0,
    ];
    const steps = flow.steps as JsonObject[];
    assert.deepEqual(
      steps.map((s) => s.name),
      ["pt", "central", "pt < 60 || eta > 0"],
    );
    for (let k = 0; k < 3; k++) {
      for (const cls of [0, 1]) {
        let before = 0;
        let after = 0;
        let wb = 0;
        let wa = 0;
        for (let i = 0; i < t.numRows; i++) {
          if (label[i] !== cls || !tests.slice(0, k).every((f) => f(i))) continue;
          before++;
          wb += w[i]!;
          if (tests[k]!(i)) {
            after++;
            wa += w[i]!;
          }
        }
        const s = steps[k]!;
        const c = String(cls);
        assert.equal(num(s, "before", "classes", c, "rows"), before);
        assert.equal(num(s, "after", "classes", c, "rows"), after);
        assert.ok(Math.abs(num(s, "before", "classes", c, "weight") - wb) < 1e-9 * Math.max(1, Math.abs(wb)));
        assert.ok(Math.abs(num(s, "after", "classes", c, "weight") - wa) < 1e-9 * Math.max(1, Math.abs(wa)));
        assert.ok(Math.abs(num(s, "efficiency", "classes", c, "rows") - after / before) < 1e-12);
        assert.ok(Math.abs(num(s, "efficiency", "classes", c, "weight") - wa / wb) < 1e-9);
      }
    }
    const passing = [...Array(t.numRows).keys()].filter((i) => tests.every((f) => f(i)));
    assert.equal(out.numRows, passing.length);
    assert.equal(num(flow, "output", "rows"), passing.length);
    const outPt = (out.columns.get("pt") as { values: Float64Array }).values;
    passing.forEach((row, j) => assert.equal(outPt[j], pt[row]));
    const last = steps[2]!;
    assert.ok(Math.abs(num(last, "cumulative", "rows") - passing.length / t.numRows) < 1e-12);
    assert.equal(summary.rows_out, passing.length);
    const lines = summary.cutflow as string[];
    assert.match(lines[0]!, /label: label, weight: w/);
    assert.ok(lines.some((l) => l.startsWith("central")));
  });

  void test("equivalent spellings share one fingerprint; where equals a one-cut list", () => {
    const fp = (raw: Record<string, unknown>) =>
      canonicalJson(selectStage.fingerprintParams!(validated(raw)));
    assert.equal(fp({ where: "pt>20" }), fp({ where: "(pt > 20)" }));
    assert.equal(fp({ where: "pt>20" }), fp({ cuts: ["pt  >  2e1"] }));
    assert.notEqual(fp({ where: "pt > 20" }), fp({ where: "pt >= 20" }));
    assert.notEqual(
      fp({ cuts: [{ name: "a", where: "pt > 20" }] }),
      fp({ cuts: [{ name: "b", where: "pt > 20" }] }),
    );
  });

  void test("check reports syntax errors with their position in the param", () => {
    const problems = selectStage.check!(
      validated({
        cuts: [
          { name: "ok", where: "pt > 1" },
          { name: "bad", where: "pt >> 3" },
          "x = 1",
          { name: "ok", where: "y" },
        ],
      }),
    );
    assert.deepEqual(
      problems.map((p) => [p.path, p.code, p.offset, p.length]),
      [
        [["cuts", 1, "where"], "QV_EXPR_SYNTAX", 4, 1],
        [["cuts", 2], "QV_EXPR_SYNTAX", 2, 1],
        [["cuts", 3, "name"], "QV_SELECT_DUPLICATE_CUT", undefined, undefined],
      ],
    );
    assert.deepEqual(
      selectStage.check!(validated({ where: "a", cuts: ["b"] })).map((p) => p.code),
      ["QV_SELECT_WHERE_AND_CUTS"],
    );
    assert.deepEqual(
      selectStage.check!(validated({})).map((p) => [p.code, p.severity]),
      [["QV_SELECT_NOTHING", "warning"]],
    );
  });

  void test("unknown columns and non-conditions fail at run time with the param path and offset", async () => {
    const t = generated(10);
    const e = await stageError(() =>
      select(t, { cuts: ["pt > 1", { name: "c", where: "pt > 1 && abs(etaa) < 2" }] }),
    );
    assert.deepEqual(
      [e.code, e.param, e.offset, e.length],
      ["QV_EXPR_UNKNOWN_COLUMN", ["cuts", 1, "where"], 14, 4],
    );
    assert.equal(e.hint, 'did you mean "eta"?');
    const n = await stageError(() => select(t, { where: "pt * 2" }));
    assert.deepEqual([n.code, n.param], ["QV_EXPR_TYPE", ["where"]]);
    const l = await stageError(() => select(t, { where: "pt > 1", label: "lable" }));
    assert.deepEqual([l.code, l.param, l.hint], ["QV_UNKNOWN_COLUMN", ["label"], 'did you mean "label"?']);
  });

  void test("head and limit_per_class keep the first rows, in input order", async () => {
    const label = Int32Array.from([0, 1, 0, 0, 1, 1, 0, 1, 0, 1, 2]);
    const idx = Float64Array.from(label, (_, i) => i);
    const t = makeTable([
      ["label", { type: "int32", values: label }],
      ["i", { type: "float64", values: idx }],
    ]);
    const ids = (x: Table) => [...(x.columns.get("i") as { values: Float64Array }).values];
    assert.deepEqual(ids((await select(t, { head: 4 })).table), [0, 1, 2, 3]);
    assert.deepEqual(ids((await select(t, { where: "i >= 2", head: 3 })).table), [2, 3, 4]);
    const lim = await select(t, { limit_per_class: { "0": 2, "1": 1 } });
    // Class 2 is not listed, so all its rows stay.
    assert.deepEqual(ids(lim.table), [0, 1, 2, 10]);
    const steps = lim.flow.steps as JsonObject[];
    assert.equal(steps[0]!.kind, "limit_per_class");
    assert.equal(num(steps[0], "after", "classes", "0", "rows"), 2);
    assert.equal(num(steps[0], "before", "classes", "0", "rows"), 5);
    const both = await select(t, { where: "i > 0", limit_per_class: { "0": 1, "1": 2 }, head: 2 });
    assert.deepEqual(ids(both.table), [1, 2]);
    const bad = await stageError(() => select(t, { limit_per_class: { signal: 2 } }));
    assert.deepEqual([bad.code, bad.param], ["QV_SELECT_CLASS_KEY", ["limit_per_class", "signal"]]);
    const absent = await select(t, { limit_per_class: { "7": 1 } });
    assert.equal(absent.table.numRows, t.numRows);
    assert.match(absent.notes.join("\n"), /class 7 does not occur/);
    const unlabeled = makeTable([["i", { type: "float64", values: idx }]]);
    assert.equal(
      (await stageError(() => select(unlabeled, { limit_per_class: { "0": 1 } }))).code,
      "QV_SELECT_NO_LABEL",
    );
  });

  void test("string labels and string cuts", async () => {
    const sample: Column = {
      type: "dict",
      codes: Int32Array.from([0, 1, 2, 1, 0, -1]),
      dictionary: ["DM_300", "ZZ", "WZ"],
    };
    const t = makeTable([
      ["sample", sample],
      ["x", { type: "float64", values: Float64Array.from([1, 2, 3, 4, 5, 6]) }],
    ]);
    const r = await select(t, {
      where: 'sample in ["ZZ", "WZ"] || x > 5',
      label: "sample",
      limit_per_class: { ZZ: 1 },
    });
    assert.deepEqual([...(r.table.columns.get("x") as { values: Float64Array }).values], [2, 3]);
    assert.deepEqual(r.flow.classes, ["DM_300", "ZZ", "WZ"]);
    const cut = (r.flow.steps as JsonObject[])[0]!;
    // The row with a missing sample fails the cut under nan: drop, though x > 5.
    assert.equal(num(cut, "before", "classes", "(missing)", "rows"), 1);
    assert.equal(num(cut, "after", "rows"), 3);
  });

  void test("missing values: drop (default), error with the row, keep as written", async () => {
    const t = makeTable([["x", { type: "float64", values: Float64Array.from([1, NaN, 3, NaN]) }]]);
    const xs = (x: Table) => [...(x.columns.get("x") as { values: Float64Array }).values];
    assert.deepEqual(xs((await select(t, { where: "x != 3" })).table), [1]);
    assert.deepEqual(xs((await select(t, { where: "x != 3", nan: "keep" })).table), [1, NaN, NaN]);
    assert.deepEqual(xs((await select(t, { where: "isnan(x)", nan: "keep" })).table), [NaN, NaN]);
    const e = await stageError(() =>
      select(t, { cuts: ["x > 2", { name: "ne", where: "x != 0" }], nan: "error" }),
    );
    // Row 1 fails the first cut's NaN check first; the error names the column and row.
    assert.deepEqual([e.code, e.data?.row, e.data?.column, e.param], ["QV_SELECT_NAN", 1, "x", ["cuts", 0]]);
  });

  void test("an implicit label column with too many values gives totals only; an explicit one is an error", async () => {
    const t = makeTable([
      ["label", { type: "float64", values: Float64Array.from({ length: 2000 }, (_, i) => i / 7) }],
    ]);
    const r = await select(t, { where: "label > 1" });
    assert.deepEqual(r.flow.classes, []);
    assert.equal(r.flow.label, null);
    assert.match(r.notes.join("\n"), /totals only/);
    const e = await stageError(() => select(t, { where: "label > 1", label: "label" }));
    assert.deepEqual([e.code, e.param], ["QV_SELECT_TOO_MANY_CLASSES", ["label"]]);
  });

  void test("with no label column, only totals; every row passing passes the input's columns on, uncopied", async () => {
    const t = makeTable([["x", { type: "float64", values: Float64Array.from([1, 2, 3]) }]]);
    const r = await select(t, { where: "x > 0" });
    assert.equal(r.table.columns.get("x"), t.columns.get("x"));
    assert.deepEqual([...r.table.columns.keys()], ["x"]);
    assert.deepEqual(r.flow.classes, []);
    assert.equal(num(r.flow, "output", "weight"), 3);
  });

  void test("the dark-matter notebook CSVs: ETmiss > 90 against an independent count", async (t) => {
    if (!fs.existsSync(dmDir)) {
      t.skip("shared/data/atlas_dm_ml_notebook is not present");
      return;
    }
    const files = ["ZZ", "WZ", "Z+jets", "Non-resonant_ll", "DM_300"];
    const parts = files.map((f) => readNumericCsv(path.join(dmDir, `${f}.csv`)));
    const names = parts[0]!.names;
    const rows = parts.reduce((a, p) => a + p.rows.length, 0);
    const cols = names.map(() => new Float64Array(rows));
    const sample = new Int32Array(rows);
    let r = 0;
    parts.forEach((p, s) => {
      for (const row of p.rows) {
        row.forEach((v, j) => (cols[j]![r] = v));
        sample[r++] = s;
      }
    });
    assert.equal(rows, 23530);
    const tab = makeTable([
      ...names.map((n, j): [string, Column] => [n, { type: "float64", values: cols[j]! }]),
      ["sample", { type: "dict", codes: sample, dictionary: files }],
    ]);
    const res = await select(tab, {
      cuts: [
        { name: "met", where: "ETmiss > 90" },
        { name: "zwindow", where: "abs(mll - 91.1876) < 15" },
      ],
      label: "sample",
      weight: "totalWeight",
    });
    const met = cols[names.indexOf("ETmiss")]!;
    const mll = cols[names.indexOf("mll")]!;
    const w = cols[names.indexOf("totalWeight")]!;
    const steps = res.flow.steps as JsonObject[];
    files.forEach((f, s) => {
      let n1 = 0;
      let n2 = 0;
      let w0 = 0;
      for (let i = 0; i < rows; i++) {
        if (sample[i] !== s) continue;
        w0 += w[i]!;
        if (met[i]! > 90) {
          n1++;
          if (Math.abs(mll[i]! - 91.1876) < 15) n2++;
        }
      }
      assert.equal(num(steps[0], "before", "classes", f, "rows"), parts[s]!.rows.length, f);
      assert.equal(num(steps[0], "after", "classes", f, "rows"), n1, f);
      assert.equal(num(steps[1], "after", "classes", f, "rows"), n2, f);
      assert.ok(Math.abs(num(steps[0], "before", "classes", f, "weight") - w0) < 1e-9);
    });
    // Σ totalWeight per sample as listed in the data set's SOURCE.md.
    assert.ok(Math.abs(num(steps[0], "before", "classes", "ZZ", "weight") - 83.8905) < 1e-4);
    assert.ok(Math.abs(num(steps[0], "before", "classes", "DM_300", "weight") - 31.1061) < 1e-4);
  });
});

/** A minimal reader for the all-numeric data CSVs (no quoting in these files). */
function readNumericCsv(file: string): { names: string[]; rows: number[][] } {
  const lines = fs
    .readFileSync(file, "utf8")
    .split(/\r?\n/)
    .filter((l) => l.length > 0);
  const names = lines[0]!.split(",");
  return { names, rows: lines.slice(1).map((l) => l.split(",").map(Number)) };
}
