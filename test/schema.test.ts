/**
 * The editor JSON Schema (schema/quiver-pipeline.json): generated from the stage registry, it
 * accepts every pipeline in pipelines/ and rejects wrong ones at the right place. Checked with a
 * small validator for the draft-07 subset the generator emits (no network, no extra dependency).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { isJsonObject, type JsonObject, type JsonValue } from "../core/json.js";
import { pipelineJsonSchema } from "../engine/schema-gen.js";
import { registry } from "../stages/index.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

interface Issue {
  path: string;
  message: string;
}

/** Validates `v` against `s` (draft-07 subset: the keywords the generator emits). */
function check(root: JsonObject, s: JsonValue | undefined, v: unknown, at: string, out: Issue[]): void {
  if (s === true || s === undefined) return;
  if (s === false) {
    out.push({ path: at, message: "not allowed" });
    return;
  }
  if (!isJsonObject(s)) throw new Error(`bad schema at ${at}`);
  const bad = (message: string): void => {
    out.push({ path: at, message });
  };
  if (typeof s.$ref === "string") {
    const target = s.$ref
      .replace(/^#\//, "")
      .split("/")
      .reduce<JsonValue | undefined>(
        (o, k) => (isJsonObject(o ?? null) ? (o as JsonObject)[k] : undefined),
        root,
      );
    if (target === undefined) throw new Error(`unresolved $ref ${s.$ref}`);
    check(root, target, v, at, out);
  }
  const isObj = typeof v === "object" && v !== null && !Array.isArray(v);
  if (typeof s.type === "string") {
    const ok =
      s.type === "object"
        ? isObj
        : s.type === "array"
          ? Array.isArray(v)
          : s.type === "integer"
            ? Number.isInteger(v)
            : s.type === "number"
              ? typeof v === "number"
              : s.type === "null"
                ? v === null
                : typeof v === s.type;
    if (!ok) return bad(`expected ${s.type}`);
  }
  if ("const" in s && JSON.stringify(s.const) !== JSON.stringify(v))
    bad(`expected ${JSON.stringify(s.const)}`);
  if (Array.isArray(s.enum) && !s.enum.some((e) => JSON.stringify(e) === JSON.stringify(v)))
    bad("not in enum");
  if (typeof v === "string") {
    if (typeof s.pattern === "string" && !new RegExp(s.pattern, "u").test(v))
      bad(`does not match ${s.pattern}`);
    if (typeof s.minLength === "number" && v.length < s.minLength) bad("too short");
  }
  if (typeof v === "number") {
    if (typeof s.minimum === "number" && v < s.minimum) bad(`below ${s.minimum}`);
    if (typeof s.maximum === "number" && v > s.maximum) bad(`above ${s.maximum}`);
    if (typeof s.exclusiveMinimum === "number" && v <= s.exclusiveMinimum)
      bad(`not above ${s.exclusiveMinimum}`);
  }
  if (Array.isArray(v)) {
    if (typeof s.minItems === "number" && v.length < s.minItems) bad("too few items");
    if (typeof s.maxItems === "number" && v.length > s.maxItems) bad("too many items");
    if (s.items !== undefined) v.forEach((x, i) => check(root, s.items, x, `${at}/${i}`, out));
  }
  if (isObj) {
    const o = v as Record<string, unknown>;
    const props = isJsonObject(s.properties ?? null) ? (s.properties as JsonObject) : {};
    for (const r of Array.isArray(s.required) ? s.required : [])
      if (typeof r === "string" && !(r in o)) bad(`missing required "${r}"`);
    if (typeof s.minProperties === "number" && Object.keys(o).length < s.minProperties)
      bad("too few properties");
    for (const [k, x] of Object.entries(o)) {
      if (s.propertyNames !== undefined) check(root, s.propertyNames, k, `${at}/${k}`, out);
      if (k in props) check(root, props[k], x, `${at}/${k}`, out);
      else if (s.additionalProperties !== undefined)
        check(root, s.additionalProperties, x, `${at}/${k}`, out);
    }
  }
  if (Array.isArray(s.anyOf)) {
    const ok = s.anyOf.some((sub) => {
      const o: Issue[] = [];
      check(root, sub, v, at, o);
      return o.length === 0;
    });
    if (!ok) bad("matches none of anyOf");
  }
  for (const sub of Array.isArray(s.allOf) ? s.allOf : []) check(root, sub, v, at, out);
  if (s.if !== undefined) {
    const o: Issue[] = [];
    check(root, s.if, v, at, o);
    if (o.length === 0 && s.then !== undefined) check(root, s.then, v, at, out);
  }
}

const schema = pipelineJsonSchema(registry);
const validate = (doc: unknown): Issue[] => {
  const out: Issue[] = [];
  check(schema, schema, doc, "", out);
  return out;
};

const base = {
  quiver: 1,
  name: "t",
  params: { n: 100, feats: ["a", "b"] },
  stages: {
    events: { type: "generate", with: { signal: 100, background: "${n}" } },
    split: { type: "split", inputs: { table: "events" }, with: { test: 0.3 } },
    fit: {
      type: "train",
      inputs: { train: "split.train" },
      with: { features: "${feats}", model: { kind: "gbt" } },
    },
  },
};

describe("pipeline JSON schema", () => {
  test("the committed schema/quiver-pipeline.json is the generated one", () => {
    const file = path.join(repoRoot, "schema", "quiver-pipeline.json");
    const committed = JSON.parse(fs.readFileSync(file, "utf8")) as unknown;
    assert.deepEqual(committed, schema, "regenerate it: npm run build (node dist/cli/write-schema.js)");
  });

  test("every stage type has its with/inputs schemas", () => {
    const defs = schema.definitions as JsonObject;
    for (const type of registry.keys()) {
      assert.ok(defs[`with-${type}`], type);
      assert.ok(defs[`inputs-${type}`], type);
    }
  });

  test("accepts every pipeline in pipelines/", () => {
    const dir = path.join(repoRoot, "pipelines");
    const files = fs.readdirSync(dir).filter((f) => f.endsWith(".yaml") || f.endsWith(".yml"));
    assert.ok(files.includes("demo.yaml"));
    for (const f of files) {
      const doc = parseYaml(fs.readFileSync(path.join(dir, f), "utf8")) as unknown;
      assert.deepEqual(validate(doc), [], f);
    }
  });

  test("accepts a small pipeline with ${param} references for numbers and lists", () => {
    assert.deepEqual(validate(base), []);
  });

  const wrong: [string, (d: typeof base) => unknown, string][] = [
    ["unknown top-level field", (d) => ({ ...d, stagez: {} }), "/stagez"],
    ["missing stages", ({ stages: _s, ...d }) => d, ""],
    ["format version 2", (d) => ({ ...d, quiver: 2 }), "/quiver"],
    [
      "unknown stage type",
      (d) => ({ ...d, stages: { ...d.stages, x: { type: "trian" } } }),
      "/stages/x/type",
    ],
    [
      "unknown stage field",
      (d) => ({ ...d, stages: { ...d.stages, x: { type: "generate", wiht: {} } } }),
      "/stages/x/wiht",
    ],
    [
      "bad stage id",
      (d) => ({
        ...d,
        stages: { ...d.stages, "9x": { type: "generate", with: { signal: 1, background: 1 } } },
      }),
      "/stages/9x",
    ],
    [
      "unknown param of a stage",
      (d) => ({ ...d, stages: { ...d.stages, split: { ...d.stages.split, with: { test: 0.3, tset: 1 } } } }),
      "/stages/split/with/tset",
    ],
    [
      "wrong type of a param",
      (d) => ({ ...d, stages: { ...d.stages, split: { ...d.stages.split, with: { test: "a third" } } } }),
      "/stages/split/with/test",
    ],
    [
      "a param that is not a reference",
      (d) => ({
        ...d,
        stages: { ...d.stages, events: { type: "generate", with: { signal: 100, background: "$n" } } },
      }),
      "/stages/events/with/background",
    ],
    [
      "unknown input port",
      (d) => ({ ...d, stages: { ...d.stages, split: { ...d.stages.split, inputs: { tabel: "events" } } } }),
      "/stages/split/inputs/tabel",
    ],
    [
      "missing required input",
      (d) => ({ ...d, stages: { ...d.stages, split: { type: "split", with: { test: 0.3 } } } }),
      "/stages/split",
    ],
    [
      "enum value misspelt",
      (d) => ({
        ...d,
        stages: {
          ...d.stages,
          fit: { ...d.stages.fit, with: { ...d.stages.fit.with, model: { kind: "bdt" } } },
        },
      }),
      "/stages/fit/with/model",
    ],
  ];
  for (const [name, mutate, where] of wrong)
    test(`rejects: ${name}`, () => {
      const issues = validate(mutate(structuredClone(base)));
      assert.ok(issues.length > 0, "expected a schema error");
      assert.ok(
        issues.some((i) => i.path === where),
        `expected an error at "${where}", got ${JSON.stringify(issues)}`,
      );
    });
});
