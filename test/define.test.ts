import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { defineColumnsStage, definitionOrder } from "../stages/define.js";
import { runStage } from "./support/stage-harness.js";
import { StageError, table as tableArtifact, type ArtifactValue } from "../core/stage.js";
import { validate } from "../core/schema.js";
import { canonicalJson } from "../core/json.js";
import { makeTable, type Column, type Table } from "../core/table.js";

type Params = Parameters<NonNullable<typeof defineColumnsStage.check>>[0];
function validated(raw: Record<string, unknown>): Params {
  const { value, issues } = validate(defineColumnsStage.params.spec, raw);
  assert.deepEqual(issues, []);
  return value as Params;
}

const input = makeTable([
  ["totalWeight", { type: "float64", values: Float64Array.from([-0.5, 1, 2, NaN]) }],
  ["energy", { type: "float64", values: Float64Array.from([10, 20, 0, 5]) }],
  ["e2x2", { type: "float64", values: Float64Array.from([5, 10, 1, 2]) }],
  ["n", { type: "int32", values: Int32Array.from([1, 2, 3, 4]) }],
  ["sample", { type: "dict", codes: Int32Array.from([0, 1, 0, -1]), dictionary: ["DM_300", "ZZ"] }],
]);

async function define(params: Record<string, unknown>, t: Table = input): Promise<Table> {
  const r = await runStage(defineColumnsStage, { params, inputs: { table: tableArtifact(t) } });
  return (r.outputs.table as Extract<ArtifactValue, { kind: "table" }>).table;
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
const values = (t: Table, name: string): number[] => {
  const c = t.columns.get(name);
  assert.ok(c !== undefined, name);
  assert.ok(c.type !== "dict");
  return [...c.values];
};

void describe("define", () => {
  void test("the issue's examples: abs weight, a ratio, a label from a sample name", async () => {
    const out = await define({
      columns: { weight: "abs(totalWeight)", e2x2: "e2x2 / energy", label: 'sample == "DM_300"' },
    });
    assert.deepEqual(values(out, "weight"), [0.5, 1, 2, NaN]);
    // e2x2 replaces the input column in place (its position is kept) and reads the old values.
    assert.deepEqual(values(out, "e2x2"), [0.5, 0.5, Infinity, 0.4]);
    assert.equal(out.columns.get("label")!.type, "int32");
    assert.deepEqual(values(out, "label"), [1, 0, 1, 0]);
    assert.deepEqual(
      [...out.columns.keys()],
      ["totalWeight", "energy", "e2x2", "n", "sample", "weight", "label"],
    );
    assert.equal(
      out.columns.get("energy"),
      input.columns.get("energy"),
      "untouched columns are shared, not copied",
    );
  });

  void test("definitions are evaluated in dependency order, whatever the YAML order", async () => {
    const out = await define({ columns: { c: "b * 2", b: "a + 1", a: "n * 10" } });
    assert.deepEqual(values(out, "a"), [10, 20, 30, 40]);
    assert.deepEqual(values(out, "c"), [22, 42, 62, 82]);
    assert.deepEqual([...out.columns.keys()].slice(-3), ["c", "b", "a"]);
    assert.deepEqual(
      definitionOrder(
        new Map([
          ["x", ["y"]],
          ["y", ["z"]],
          ["z", []],
        ]),
      ),
      { order: ["z", "y", "x"] },
    );
  });

  void test("cycles are found statically", () => {
    const problems = defineColumnsStage.check!(
      validated({ columns: { a: "b + 1", b: "c + 1", c: "a + 1", d: "d * 2" } }),
    );
    assert.deepEqual(
      problems.map((p) => [p.code, p.path]),
      [["QV_DEFINE_CYCLE", ["columns", "a"]]],
    );
    assert.match(problems[0]!.message, /a -> b -> c -> a/);
  });

  void test("a bare column copies it with its type; constants fill the column", async () => {
    const out = await define({ columns: { n2: "n", s: "sample", one: "1", yes: "true", k: "'x'" } });
    assert.equal(out.columns.get("n2"), input.columns.get("n"));
    assert.equal(out.columns.get("s"), input.columns.get("sample"));
    assert.deepEqual(values(out, "one"), [1, 1, 1, 1]);
    assert.deepEqual(values(out, "yes"), [1, 1, 1, 1]);
    const k = out.columns.get("k") as Extract<Column, { type: "dict" }>;
    assert.deepEqual([k.dictionary, [...k.codes]], [["x"], [0, 0, 0, 0]]);
  });

  void test("drop, rename (all at once, so swaps work) and keep", async () => {
    const out = await define({
      columns: { w: "abs(totalWeight)" },
      drop: ["totalWeight"],
      rename: { energy: "e2x2", e2x2: "energy" },
      keep: ["w", "energy", "e2x2"],
    });
    assert.deepEqual([...out.columns.keys()], ["w", "energy", "e2x2"]);
    assert.deepEqual(values(out, "energy"), [5, 10, 1, 2]);
    assert.deepEqual(values(out, "e2x2"), [10, 20, 0, 5]);
  });

  void test("errors name the param and offer a did-you-mean", async () => {
    const e1 = await stageError(() => define({ columns: { r: "e2x2 / enrgy" } }));
    assert.deepEqual(
      [e1.code, e1.param, e1.offset, e1.length, e1.hint],
      ["QV_EXPR_UNKNOWN_COLUMN", ["columns", "r"], 7, 5, 'did you mean "energy"?'],
    );
    const e2 = await stageError(() => define({ drop: ["n", "enrgy"] }));
    assert.deepEqual(
      [e2.code, e2.param, e2.hint],
      ["QV_DEFINE_UNKNOWN_COLUMN", ["drop", 1], 'did you mean "energy"?'],
    );
    const e3 = await stageError(() => define({ rename: { nn: "m" } }));
    assert.deepEqual([e3.code, e3.param], ["QV_DEFINE_UNKNOWN_COLUMN", ["rename", "nn"]]);
    const e4 = await stageError(() => define({ rename: { n: "energy" } }));
    assert.deepEqual([e4.code, e4.param], ["QV_DEFINE_RENAME_COLLISION", ["rename", "n"]]);
    const e5 = await stageError(() => define({ keep: ["n", "x"] }));
    assert.deepEqual([e5.code, e5.param], ["QV_DEFINE_UNKNOWN_COLUMN", ["keep", 1]]);
    const e6 = await stageError(() => define({ columns: { bad: "sample * 2" } }));
    assert.deepEqual([e6.code, e6.param, e6.offset], ["QV_EXPR_TYPE", ["columns", "bad"], 0]);
  });

  void test("check: syntax errors with offsets, rename collisions, drop-and-rename", () => {
    const problems = defineColumnsStage.check!(
      validated({
        columns: { a: "abs(x", b: "x +* 2" },
        drop: ["y"],
        rename: { p: "q", r: "q", y: "z" },
        keep: ["q", "q"],
      }),
    );
    assert.deepEqual(
      problems.map((p) => [p.code, p.path, p.offset]),
      [
        ["QV_EXPR_SYNTAX", ["columns", "a"], 5],
        ["QV_EXPR_SYNTAX", ["columns", "b"], 3],
        ["QV_DEFINE_RENAME_COLLISION", ["rename", "r"], undefined],
        ["QV_DEFINE_DROP_RENAMED", ["rename", "y"], undefined],
        ["QV_DEFINE_DUPLICATE", ["keep", 1], undefined],
      ],
    );
  });

  void test("the fingerprint uses canonical expressions and keeps the column order", () => {
    const fp = (raw: Record<string, unknown>) =>
      canonicalJson(defineColumnsStage.fingerprintParams!(validated(raw)));
    assert.equal(fp({ columns: { a: "x+1", b: "y*2" } }), fp({ columns: { a: "(x + 1)", b: "y * 2.0" } }));
    assert.notEqual(fp({ columns: { a: "x+1", b: "y*2" } }), fp({ columns: { b: "y*2", a: "x+1" } }));
  });

  void test("results across many blocks match a plain loop", async () => {
    const n = 20_000;
    const x = Float64Array.from({ length: n }, (_, i) => Math.sin(i) * 100);
    const t = makeTable([["x", { type: "float64", values: x }]]);
    const out = await define(
      { columns: { y: "where(x > 0, sqrt(x), -log(1 + abs(x)))", z: "y > 5 && x < 90" } },
      t,
    );
    const y = values(out, "y");
    const z = values(out, "z");
    for (let i = 0; i < n; i++) {
      const want = x[i]! > 0 ? Math.sqrt(x[i]!) : -Math.log(1 + Math.abs(x[i]!));
      assert.equal(y[i], want);
      assert.equal(z[i], want > 5 && x[i]! < 90 ? 1 : 0);
    }
  });
});
