/** Unit tests of the engine's pure pieces: canonical JSON, param schemas, diagnostics, the graph. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { didYouMean, editDistance, renderDiagnostic } from "../core/diagnostics.js";
import { ancestorsInclusive, findCycles, topologicalOrder } from "../engine/graph.js";
import { canonicalJson } from "../core/json.js";
import { collectFiles, p, toJsonSchema, validate } from "../core/schema.js";
import { unsplice } from "../engine/pipeline/params.js";

describe("canonical JSON", () => {
  test("sorts keys at every depth and normalises numbers", () => {
    assert.equal(
      canonicalJson({ b: 1e-3, a: { d: [2, -0], c: "x" } }),
      '{"a":{"c":"x","d":[2,0]},"b":0.001}',
    );
    assert.equal(canonicalJson({ x: 0.001 }), canonicalJson({ x: 1e-3 }));
  });
  test("keeps non-finite numbers distinct instead of turning them into null", () => {
    assert.equal(canonicalJson([NaN, Infinity, -Infinity, null]), '["NaN","Infinity","-Infinity",null]');
  });
  test("drops undefined fields, rejects functions", () => {
    assert.equal(canonicalJson({ a: undefined, b: 1 }), '{"b":1}');
    assert.throws(() => canonicalJson({ f: () => 1 }), TypeError);
  });
});

describe("param schemas", () => {
  const schema = p.object({
    n: p.withDefault(p.integer({ min: 1 }), 3),
    mode: p.enum(["fast", "exact"] as const),
    file: p.optional(p.file()),
    cols: p.optional(p.map(p.string())),
    either: p.optional(p.union([p.number(), p.array(p.number())])),
  });
  test("fills defaults and accepts valid values", () => {
    const r = validate(schema.spec, { mode: "fast", either: [1, 2] });
    assert.deepEqual(r.issues, []);
    assert.deepEqual(r.value, { n: 3, mode: "fast", either: [1, 2] });
  });
  test("reports every problem with its path and a stable code", () => {
    const r = validate(schema.spec, { n: 0.5, mode: "Fast", extra: 1, either: "x" });
    const got = r.issues.map((i) => [i.code, i.path.join(".")]).sort();
    assert.deepEqual(got, [
      ["QV_PARAM_ENUM", "mode"],
      ["QV_PARAM_TYPE", "either"],
      ["QV_PARAM_TYPE", "n"],
      ["QV_UNKNOWN_PARAM", "extra"],
    ]);
    assert.equal(r.issues.find((i) => i.code === "QV_PARAM_ENUM")?.hint, 'did you mean "fast"?');
  });
  test("a missing required field is reported on the object", () => {
    const r = validate(schema.spec, {});
    assert.deepEqual(
      r.issues.map((i) => i.code),
      ["QV_MISSING_PARAM"],
    );
  });
  test('a map key "__proto__" stays a key and does not replace the prototype', () => {
    const r = validate(schema.spec, JSON.parse('{"mode":"fast","cols":{"__proto__":"x"}}') as unknown);
    const cols = (r.value as { cols: Record<string, string> }).cols;
    assert.equal(Object.getPrototypeOf(cols), Object.prototype);
    assert.deepEqual(Object.keys(cols), ["__proto__"]);
  });
  test("file params are collected with their paths", () => {
    const s = p.object({ files: p.array(p.object({ path: p.file() })) });
    assert.deepEqual(collectFiles(s.spec, { files: [{ path: "a.csv" }, { path: "b.csv" }] }), [
      { path: ["files", 0, "path"], file: "a.csv" },
      { path: ["files", 1, "path"], file: "b.csv" },
    ]);
  });
  test("JSON Schema: closed objects, required fields, ${param} allowed for numbers", () => {
    const js = toJsonSchema(schema.spec) as {
      additionalProperties: boolean;
      required: string[];
      properties: { n: { anyOf: unknown[] } };
    };
    assert.equal(js.additionalProperties, false);
    assert.deepEqual(js.required, ["mode"]);
    assert.equal(js.properties.n.anyOf.length, 2);
  });
});

describe("diagnostics", () => {
  test("edit distance counts an adjacent swap as one edit", () => {
    assert.equal(editDistance("eat", "eta"), 1);
    assert.equal(editDistance("kitten", "sitting"), 3);
    assert.equal(editDistance("", "abc"), 3);
    assert.equal(didYouMean("trian", ["train", "predict"]), "train");
    assert.equal(didYouMean("zzzzzz", ["train", "predict"]), undefined);
  });
  test("rendering shows the line and marks the span", () => {
    const text = "a: 1\nbb: { type: trian }\n";
    const out = renderDiagnostic(
      {
        severity: "error",
        code: "QV_X",
        message: "bad",
        location: { file: "p.yaml", line: 2, col: 13, length: 5 },
        hint: "fix it",
      },
      () => text,
    );
    assert.equal(
      out,
      "p.yaml:2:13 error QV_X: bad\n  2 | bb: { type: trian }\n    |             ~~~~~\n  hint: fix it",
    );
  });
});

describe("graph", () => {
  const g = {
    nodes: ["a", "b", "c", "d"],
    edges: [
      { from: "a", to: "b", label: "a→b" },
      { from: "b", to: "c", label: "b→c" },
      { from: "a", to: "d", label: "a→d" },
    ],
  };
  test("topological order is stable in declaration order", () => {
    assert.deepEqual(topologicalOrder(g), ["a", "b", "c", "d"]);
    assert.deepEqual([...ancestorsInclusive(g, ["c"])].sort(), ["a", "b", "c"]);
  });
  test("cycles are found with each of their edges", () => {
    const cyc = {
      nodes: ["x", "y", "z"],
      edges: [...["x→y", "y→z", "z→x"].map((l) => ({ from: l[0]!, to: l[2]!, label: l }))],
    };
    assert.equal(topologicalOrder(cyc), undefined);
    const found = findCycles(cyc);
    assert.equal(found.length, 1);
    assert.deepEqual(
      found[0]!.map((e) => e.label),
      ["x→y", "y→z", "z→x"],
    );
    const self = { nodes: ["s"], edges: [{ from: "s", to: "s", label: "s→s" }] };
    assert.deepEqual(
      findCycles(self).map((c) => c.length),
      [1],
    );
  });
});

describe("${param} substitution offsets", () => {
  // Written: "pt > ${cut} && eat < 2"; substituted: "pt > 25.5 && eat < 2".
  const splices = [{ subStart: 5, subEnd: 9, origStart: 5, origEnd: 11 }];
  test("an offset after a substitution maps back to the written text", () => {
    assert.deepEqual(unsplice(splices, 13, 3), { offset: 15, length: 3 });
  });
  test("an offset before it is unchanged; inside it marks the whole reference", () => {
    assert.deepEqual(unsplice(splices, 0, 2), { offset: 0, length: 2 });
    assert.deepEqual(unsplice(splices, 6, 1), { offset: 5, length: 6 });
  });
});
