/**
 * Every numeric leaf type ROOT writes (signed and unsigned 8/16/32/64-bit integers, float, double),
 * bool, and fixed-size arrays of each, read from uproot-sample-6.20.04 (TTree `sample`, 30 entries).
 * The file's values all derive from the entry number e: uproot's tests/test_0018 asserts
 * i4 = e − 15 and the counted arrays Ai8 (`[], [-15], [-15, -13], …`); the same pattern holds in
 * every type, so each type is checked in full against it rather than at a few points. The values
 * are also compared branch by branch with jsroot's own reader in root-jsroot-reference.test.ts.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Column, Table } from "../core/table.js";
import { loadStage } from "../stages/load.js";
import { runStage } from "./support/stage-harness.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const dir = path.resolve(repoRoot, "..", "shared", "data", "root-testdata");
const FILE = "uproot-sample-6.20.04-zlib.root";
const ENTRIES = 30;
const entries = Array.from({ length: ENTRIES }, (_, e) => e);

async function sample(): Promise<Table> {
  const r = await runStage(loadStage, {
    params: { files: [FILE], jagged: { "A*": { pad: 4, fill: -99 } } },
    baseDir: dir,
  });
  const out = r.outputs.table;
  assert.ok(out && out.kind === "table");
  return out.table;
}

function values(t: Table, name: string): { type: Column["type"]; v: number[] } {
  const c = t.columns.get(name);
  assert.ok(c, `column ${name}`);
  assert.notEqual(c.type, "dict", name);
  return { type: c.type, v: Array.from((c as { values: ArrayLike<number> }).values) };
}

test("signed and unsigned integers of every width, and their fixed arrays [3]", async (t) => {
  if (!existsSync(dir))
    return t.skip(`data not present: ${path.relative(repoRoot, dir)} (see its SOURCE.md)`);
  const table = await sample();
  assert.equal(table.numRows, ENTRIES);
  // Integers that fit int32 exactly stay int32; uint32 and 64-bit ones become float64 (exact to 2^53).
  const widths: [string, (e: number) => number, "int32" | "float64"][] = [
    ["i1", (e) => e - 15, "int32"],
    ["i2", (e) => e - 15, "int32"],
    ["i4", (e) => e - 15, "int32"],
    ["i8", (e) => e - 15, "float64"],
    ["u1", (e) => e, "int32"],
    ["u2", (e) => e, "int32"],
    ["u4", (e) => e, "float64"],
    ["u8", (e) => e, "float64"],
  ];
  for (const [name, base, type] of widths) {
    const scalar = values(table, name);
    assert.equal(scalar.type, type, name);
    assert.deepEqual(scalar.v, entries.map(base), name);
    for (let j = 0; j < 3; j++) {
      const item = values(table, `a${name}_${j}`);
      assert.equal(item.type, type, `a${name}_${j}`);
      assert.deepEqual(
        item.v,
        entries.map((e) => base(e) + j + 1),
        `a${name}[${j}]`,
      );
    }
    assert.ok(!table.columns.has(`a${name}_3`), `a${name} has 3 items`);
  }
});

test("float and double, and their fixed arrays: float values are exactly the float32 ones", async (t) => {
  if (!existsSync(dir))
    return t.skip(`data not present: ${path.relative(repoRoot, dir)} (see its SOURCE.md)`);
  const table = await sample();
  const f8 = (e: number) => e - 15 + 0.1;
  const f4 = values(table, "f4");
  assert.equal(f4.type, "float64");
  assert.deepEqual(
    f4.v,
    entries.map((e) => Math.fround(f8(e))),
  );
  const d = values(table, "f8").v;
  entries.forEach((e) => assert.ok(Math.abs(d[e]! - f8(e)) < 1e-12, `f8[${e}] = ${d[e]}`));
  for (let j = 0; j < 3; j++) {
    assert.deepEqual(
      values(table, `af4_${j}`).v,
      entries.map((e) => Math.fround(f8(e) + j + 1)),
    );
    const a = values(table, `af8_${j}`).v;
    entries.forEach((e) => assert.ok(Math.abs(a[e]! - (f8(e) + j + 1)) < 1e-12, `af8[${e}][${j}]`));
  }
});

test("bool and bool[3] as 0/1 integers; counted arrays of every type, padded with the stated fill", async (t) => {
  if (!existsSync(dir))
    return t.skip(`data not present: ${path.relative(repoRoot, dir)} (see its SOURCE.md)`);
  const table = await sample();
  const b = values(table, "b");
  assert.equal(b.type, "int32");
  assert.deepEqual(
    b.v,
    entries.map((e) => (e % 2 === 0 ? 1 : 0)),
  );
  for (let j = 0; j < 3; j++)
    assert.deepEqual(
      values(table, `ab_${j}`).v,
      entries.map((e) => (e + j) % 2),
    );
  // n = e mod 5 items per entry; item j of the integer arrays is base(e) − n + 2j (test_0018's Ai8).
  const n = values(table, "n").v;
  assert.deepEqual(
    n,
    entries.map((e) => e % 5),
  );
  const counted: [string, (e: number) => number][] = [
    ["Ai1", (e) => e - 15],
    ["Ai2", (e) => e - 15],
    ["Ai4", (e) => e - 15],
    ["Ai8", (e) => e - 15],
    ["Au1", (e) => e],
    ["Au2", (e) => e],
    ["Au4", (e) => e],
    ["Au8", (e) => e],
  ];
  for (const [name, base] of counted)
    for (let j = 0; j < 4; j++)
      assert.deepEqual(
        values(table, `${name}_${j}`).v,
        entries.map((e) => (j < e % 5 ? base(e) - (e % 5) + 2 * j : -99)),
        `${name}[${j}]`,
      );
  // A bool array pads with the fill too: items are 0/1, missing ones −99.
  const ab0 = values(table, "Ab_0").v;
  entries.forEach((e) =>
    assert.ok(e % 5 === 0 ? ab0[e] === -99 : ab0[e] === 0 || ab0[e] === 1, `Ab[${e}][0]`),
  );
});
