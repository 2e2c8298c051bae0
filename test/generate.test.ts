import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { generateStage } from "../stages/generate.js";
import type { Table } from "../core/table.js";
import { runStage } from "./support/stage-harness.js";

async function generate(params: Record<string, unknown>, seed = 42): Promise<Table> {
  const r = await runStage(generateStage, { params, seed });
  const a = r.outputs.table;
  assert.ok(a?.kind === "table");
  return a.table;
}
function f64(t: Table, name: string): Float64Array {
  const c = t.columns.get(name);
  assert.ok(c?.type === "float64", `${name} is float64`);
  return c.values;
}
function i32(t: Table, name: string): Int32Array {
  const c = t.columns.get(name);
  assert.ok(c?.type === "int32", `${name} is int32`);
  return c.values;
}
function classMeans(t: Table, name: string): [number, number] {
  const label = i32(t, "label");
  const c = t.columns.get(name)!;
  const v = c.type === "dict" ? c.codes : c.values;
  const s = [0, 0];
  const n = [0, 0];
  for (let i = 0; i < t.numRows; i++) {
    s[label[i]!]! += v[i]!;
    n[label[i]!]!++;
  }
  return [s[0]! / n[0]!, s[1]! / n[1]!];
}

void describe("generate", () => {
  void test("columns, types and exact class counts", async () => {
    const t = await generate({ signal: 3000, background: 17000 });
    assert.equal(t.numRows, 20000);
    assert.deepEqual(
      [...t.columns.keys()],
      [
        "lep1_pt",
        "lep1_eta",
        "lep2_pt",
        "lep2_eta",
        "dphi_ll",
        "m_ll",
        "met",
        "n_jets",
        "ht",
        "met_sig",
        "label",
        "weight",
      ],
    );
    assert.equal(t.columns.get("n_jets")?.type, "int32");
    const label = i32(t, "label");
    assert.equal(
      label.reduce((a, b) => a + b, 0),
      3000,
    );
    // Shuffled: signal is spread over the table, not a block at the start.
    assert.ok(label.subarray(0, 3000).reduce((a, b) => a + b, 0) < 1000);
  });

  void test("each class's weights sum to its yield", async () => {
    const t = await generate({ signal: 2000, background: 8000, yields: { signal: 9.7, background: 390.61 } });
    const [w, label] = [f64(t, "weight"), i32(t, "label")];
    const sum = [0, 0];
    w.forEach((x, i) => (sum[label[i]!]! += x));
    assert.ok(Math.abs(sum[1]! - 9.7) < 1e-9 && Math.abs(sum[0]! - 390.61) < 1e-9, JSON.stringify(sum));
    assert.ok(w.every((x) => x > 0));
  });

  void test("negative_weight_fraction gives that share of negative weights, yields kept", async () => {
    const t = await generate({ signal: 10000, background: 10000, negative_weight_fraction: 0.2 });
    const w = f64(t, "weight");
    const neg = w.filter((x) => x < 0).length / w.length;
    assert.ok(Math.abs(neg - 0.2) < 0.015, `negative share ${neg}`);
    const label = i32(t, "label");
    let s = 0;
    w.forEach((x, i) => (s += label[i] ? x : 0));
    assert.ok(Math.abs(s - 10) < 1e-9);
  });

  void test("deterministic in the seed", async () => {
    const a = await generate({ signal: 500, background: 500 }, 1);
    const b = await generate({ signal: 500, background: 500 }, 1);
    const c = await generate({ signal: 500, background: 500 }, 2);
    for (const name of a.columns.keys()) {
      const va = a.columns.get(name)!;
      const vb = b.columns.get(name)!;
      assert.ok(va.type !== "dict" && vb.type !== "dict");
      assert.deepEqual(va.values, vb.values, name);
    }
    assert.notDeepEqual(f64(a, "m_ll"), f64(c, "m_ll"));
  });

  void test("a feature subset keeps the values of the full table", async () => {
    const full = await generate({ signal: 200, background: 300 }, 5);
    const sub = await generate({ signal: 200, background: 300, features: ["met", "m_ll"] }, 5);
    assert.deepEqual([...sub.columns.keys()], ["met", "m_ll", "label", "weight"]);
    assert.deepEqual(f64(sub, "met"), f64(full, "met"));
  });

  void test("physics-like shapes: acceptance, ordering, and signal/background differences", async () => {
    const t = await generate({ signal: 20000, background: 20000 });
    const [pt1, pt2, eta1, dphi, nj] = [
      f64(t, "lep1_pt"),
      f64(t, "lep2_pt"),
      f64(t, "lep1_eta"),
      f64(t, "dphi_ll"),
      i32(t, "n_jets"),
    ];
    for (let i = 0; i < t.numRows; i++) {
      assert.ok(pt1[i]! >= pt2[i]! && pt2[i]! >= 15);
      assert.ok(Math.abs(eta1[i]!) < 2.5);
      assert.ok(dphi[i]! >= 0 && dphi[i]! <= Math.PI);
      assert.ok(nj[i]! >= 0 && nj[i]! <= 15);
    }
    const [mBkg, mSig] = classMeans(t, "m_ll");
    assert.ok(Math.abs(mSig - 125) < 0.5, `signal m_ll mean ${mSig}`);
    assert.ok(Math.abs(mBkg - 115) < 1.5, `background m_ll mean ${mBkg}`);
    const [jBkg, jSig] = classMeans(t, "n_jets");
    assert.ok(Math.abs(jSig - 2.6) < 0.05 && Math.abs(jBkg - 1.4) < 0.05, `${jSig} ${jBkg}`);
    const [metBkg, metSig] = classMeans(t, "met");
    assert.ok(Math.abs(metSig - 55) < 1.5 && Math.abs(metBkg - 30) < 1, `${metSig} ${metBkg}`);
  });

  void test("errors", async () => {
    await assert.rejects(generate({ features: ["mll"] }), /no feature "mll"/);
    const problems = generateStage.check!({
      signal: 1,
      background: 1,
      yields: { signal: 1, background: 1 },
      negative_weight_fraction: 0,
      features: ["mll"],
      label: "label",
      weight: "weight",
    });
    assert.deepEqual(
      problems.map((p) => [p.path, p.hint]),
      [[["features", 0], 'did you mean "m_ll"?']],
    );
    await assert.rejects(generate({ label: "w", weight: "w" }), /both named "w"/);
    await assert.rejects(generate({ features: ["met", "met"] }), /"met" is listed twice/);
    await assert.rejects(generate({ label: "met" }), /already a feature column/);
    await assert.rejects(generate({ signal: 0, background: 0 }), /at least one event/);
    await assert.rejects(generate({ signal: -1 }), /at least 0/);
    // Seed 1 draws the one signal event's weight negative (seeds 0 and 2 do not).
    await assert.rejects(
      generate({ signal: 1, background: 0, negative_weight_fraction: 0.45 }, 1),
      /the signal weights sum to -[0-9.]+ with this many negative weights/,
    );
  });
});
