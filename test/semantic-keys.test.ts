/**
 * Cache keys follow meaning, not accidents of representation: a table whose values are equal
 * hashes the same whatever the order of its string dictionary, and renaming a stage that uses no
 * randomness leaves its consumers cached.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { encodeArtifact } from "../engine/artifacts.js";
import { hashBytes, hasher } from "../core/hash.js";
import type { Table } from "../core/table.js";
import { Rig } from "./support/rig.js";
import type { EngineEvent } from "../engine/events.js";

const dictTable = (dictionary: string[], codes: number[]): Table => ({
  numRows: codes.length,
  columns: new Map([["sample", { type: "dict", codes: Int32Array.from(codes), dictionary }]]),
});

describe("semantic table hashing", () => {
  test("equal values with the dictionary in another order (or with unused entries) encode to the same bytes", async () => {
    await hasher();
    const hashOf = async (t: Table) => hashBytes(await encodeArtifact({ kind: "table", table: t }));
    const a = await hashOf(dictTable(["ttbar", "signal"], [1, 0, 0, -1, 1]));
    const b = await hashOf(dictTable(["signal", "ttbar"], [0, 1, 1, -1, 0]));
    const c = await hashOf(dictTable(["Zee", "signal", "ttbar"], [1, 2, 2, -1, 1]));
    assert.equal(a, b);
    assert.equal(a, c);
    const other = await hashOf(dictTable(["signal", "ttbar"], [1, 0, 0, -1, 1]));
    assert.notEqual(a, other, "different values still hash differently");
  });

  test("forcing a stage whose output differs only in dictionary order keeps its consumers cached", async () => {
    const r = Rig.create({
      "p.yaml": `quiver: 1
name: dict
stages:
  lab:   { type: labels, with: { values: [s, b, b, s, b] } }
  total: { type: sum, inputs: { table: lab } }
`,
    });
    const first = await r.quiver("run", "p.yaml");
    assert.equal(first.code, 0, first.stderr);
    const forced = await r.quiver("run", "p.yaml", "--force", "lab");
    assert.equal(forced.code, 0, forced.stderr);
    assert.deepEqual(forced.ran, ["lab"]);
    const fin = forced.events.find(
      (e): e is Extract<EngineEvent, { type: "finished" }> => e.type === "finished" && e.stage === "lab",
    );
    assert.equal(fin?.sameOutputs, true, "the forced stage's output is the same table");
    assert.deepEqual(forced.cached, ["total"]);
    r.remove();
  });
});

describe("stage names", () => {
  const pipeline = (name: string) => `quiver: 1
name: names
seed: 3
stages:
  src:     { type: source, with: { values: [1, 2, 3] } }
  ${name}: { type: add, inputs: { table: src }, with: { amount: 2 } }
  total:   { type: sum, inputs: { table: ${name} } }
`;

  test("renaming a stage that uses no randomness reruns nothing downstream", async () => {
    const r = Rig.create({ "p.yaml": pipeline("plus") });
    const first = await r.quiver("run", "p.yaml");
    assert.equal(first.code, 0, first.stderr);
    r.write("p.yaml", pipeline("shifted"));
    const renamed = await r.quiver("run", "p.yaml");
    assert.equal(renamed.code, 0, renamed.stderr);
    assert.deepEqual(renamed.ran, [], "same computation under another name: all cached");
    assert.deepEqual([...renamed.cached].sort(), ["shifted", "src", "total"]);
    r.remove();
  });

  test("a stage that reads its inputs' names reruns when they change, and only then", async () => {
    const tagged = (name: string) =>
      pipeline(name).replace(
        "  total:",
        "  tagged:  { type: tag, inputs: { table: " + name + " } }\n  total:",
      );
    const r = Rig.create({ "p.yaml": tagged("plus") });
    const first = await r.quiver("run", "p.yaml");
    assert.equal(first.code, 0, first.stderr);
    const again = await r.quiver("run", "p.yaml");
    assert.deepEqual(again.ran, [], "a second run finds it cached through its input-names index");
    r.write("p.yaml", tagged("shifted"));
    const renamed = await r.quiver("run", "p.yaml");
    assert.equal(renamed.code, 0, renamed.stderr);
    assert.deepEqual(renamed.ran, ["tagged"], "only the stage that reads the name reruns");
    const started = renamed.events.find(
      (e): e is Extract<EngineEvent, { type: "started" }> => e.type === "started" && e.stage === "tagged",
    );
    const reason = started?.reasons[0];
    assert.ok(reason?.kind === "changed", JSON.stringify(reason));
    assert.deepEqual(
      reason.changes.map((c) => [c.path, c.before, c.after]),
      [["inputNames.table", "plus.table", "shifted.table"]],
    );
    const status = await r.quiver("status", "p.yaml");
    assert.equal(status.code, 0, status.stderr);
    assert.ok(status.events.every((e) => e.type !== "planned" || e.decision === "cached"));
    r.write("p.yaml", tagged("plus"));
    const back = await r.quiver("run", "p.yaml");
    assert.deepEqual(back.ran, [], "the result under the old name is still in the store");
    r.remove();
  });
});
