/**
 * The model-kind and table-reader registries grow in one place: a kind or a format is one new
 * definition added to a registry value. Here a throwaway kind (nearest centroid) and a throwaway
 * format ("kv": `name=value` lines) are defined in this file, added with `withModelKinds` /
 * `withReaders`, and run through a real pipeline (load → train → predict → metrics, and kfold)
 * without touching Quiver's source files: their params are validated and located like Quiver's
 * own, the JSON Schema lists them, and a rerun is cached.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { main } from "../cli/main.js";
import { pipelineJsonSchema } from "../engine/schema-gen.js";
import type { JsonObject } from "../core/json.js";
import { p } from "../core/schema.js";
import { StageError, type ParamProblem } from "../core/stage.js";
import { float64Column, int32Column, makeTable, type Column } from "../core/table.js";
import { makeStageRegistry, registry as defaultStageRegistry } from "../stages/index.js";
import { defaultModelKinds, modelKindRegistry, withModelKinds } from "../stages/lib/models/index.js";
import { defineModelKind, type AnyModelKind } from "../stages/lib/models/kind.js";
import { defaultReaders, chooseReader, readerRegistry, withReaders } from "../stages/lib/readers/index.js";
import { defineReader, readEach, type AnyTableReader } from "../stages/lib/readers/reader.js";
import { openSource } from "../stages/lib/readers/source.js";
import { Rig } from "./support/rig.js";

// ---- a throwaway model kind: the nearest class centroid ----

const centroidSpec = p.object({
  kind: p.enum(["centroid"] as const),
  sharpness: p.withDefault(p.number({ exclusiveMin: 0, description: "scale of the distance difference" }), 1),
});

function means(features: readonly Float64Array[], labels: Uint8Array, cls: number): number[] {
  return features.map((f) => {
    let s = 0;
    let n = 0;
    for (let i = 0; i < f.length; i++)
      if (labels[i] === cls) {
        s += f[i]!;
        n++;
      }
    return s / n;
  });
}

/** p(signal) = σ(sharpness · (|x − m₀|² − |x − m₁|²)). */
function centroidScores(
  features: readonly Float64Array[],
  n: number,
  m0: readonly number[],
  m1: readonly number[],
  sharpness: number,
): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let d0 = 0;
    let d1 = 0;
    features.forEach((f, j) => {
      d0 += (f[i]! - m0[j]!) ** 2;
      d1 += (f[i]! - m1[j]!) ** 2;
    });
    out[i] = 1 / (1 + Math.exp(-sharpness * (d0 - d1)));
  }
  return out;
}

function numbers(v: unknown): number[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === "number")) throw new Error("not numbers");
  return v;
}

const centroidKind = defineModelKind({
  name: "centroid",
  description: "nearest class centroid",
  synopsis: "{kind: centroid, sharpness: ...}",
  spec: centroidSpec,
  historyColumns: "step, loss",
  acceptsMissing: false,
  environment: () => ({ trainer: "centroid/1" }),
  // Asks for worker threads, which know Quiver's own kinds only: kfold must run it in-process.
  foldExecution: () => Promise.resolve({ mode: "workers" }),
  train(req) {
    const { train, spec } = req;
    const m0 = means(train.features, train.labels, 0);
    const m1 = means(train.features, train.labels, 1);
    if (![...m0, ...m1].every(Number.isFinite))
      throw new StageError("QV_ONE_CLASS", `the ${req.what} lacks a class`, { param: ["label"] });
    const s = centroidScores(train.features, train.n, m0, m1, spec.sharpness);
    let loss = 0;
    for (let i = 0; i < train.n; i++) loss -= Math.log(train.labels[i] === 1 ? s[i]! : 1 - s[i]!);
    loss /= train.n;
    return Promise.resolve({
      meta: { centroid_0: m0, centroid_1: m1, sharpness: spec.sharpness },
      blobs: {},
      history: makeTable([
        ["step", int32Column(Int32Array.from([1]))],
        ["loss", float64Column(Float64Array.from([loss]))],
      ]),
      metrics: { trainer: "centroid/1", loss, centroid_0: m0, centroid_1: m1 },
      run: { trainer: "centroid/1" },
    });
  },
  score(model, features, n) {
    const sharpness = model.meta.sharpness;
    if (typeof sharpness !== "number") throw new Error("no sharpness");
    return Promise.resolve(
      centroidScores(features, n, numbers(model.meta.centroid_0), numbers(model.meta.centroid_1), sharpness),
    );
  },
  describe: (model) =>
    Promise.resolve({
      kind: model.kind,
      summary: `2 centroids in ${model.features.length} features`,
      trainer: "centroid/1",
      parts: [],
      parameters: 2 * model.features.length,
      facts: {},
    }),
});

// ---- a throwaway reader: "%kv" files of `name=value` lines ----

const kvReader = defineReader({
  name: "kv",
  title: "key-value",
  extensions: [".kv"],
  sniff: (head) => Buffer.from(head.subarray(0, 4)).toString("latin1") === "%kv\n",
  params: p.object({
    kv_comment: p.withDefault(p.string({ description: "lines starting with this are comments" }), "#"),
  }),
  perFile: ["kv_comment"],
  check(prm): ParamProblem[] {
    return prm.kv_comment.length === 1
      ? []
      : [{ path: ["kv_comment"], code: "QV_KV_COMMENT", message: "kv_comment must be one character" }];
  },
  read(files, prm) {
    return readEach(files, async (f) => {
      const lines = (await f.bytes()).toString("utf8").split("\n").slice(1);
      const cols = new Map<string, number[]>();
      let rows = 0;
      for (const line of lines) {
        if (line.trim() === "" || line.startsWith(prm.kv_comment)) continue;
        for (const pair of line.trim().split(/\s+/)) {
          const [k, v] = pair.split("=");
          if (!cols.has(k!)) cols.set(k!, []);
          cols.get(k!)!.push(Number(v));
        }
        rows++;
      }
      const columns = new Map<string, Column>(
        [...cols].map(([k, v]) => [k, { type: "float64", values: Float64Array.from(v) }]),
      );
      return { table: { numRows: rows, columns }, details: { comment: prm.kv_comment } };
    });
  },
});

// ---- the pipeline ----

const SIGNAL = [
  [2, 2.5],
  [1.5, 2],
  [3, 1],
  [0.5, 0.2],
];
const BACKGROUND = [
  [0, 0],
  [-0.5, 0.4],
  [0.3, -0.2],
  [2.2, 1.9],
];
const kv = (rows: number[][], comment: string) =>
  `%kv\n${comment} made for the registry test\n` + rows.map(([x, y]) => `x=${x} y=${y}`).join("\n") + "\n";

const PIPELINE = `quiver: 1
name: registries
seed: 3
stages:
  events:
    type: load
    with:
      files:
        - { path: signal.kv, add: { label: 1 } }
        - { path: background.data, add: { label: 0 }, kv_comment: ";" }
  model:
    type: train
    inputs: { train: events }
    with:
      features: [x, y]
      model: { kind: centroid, sharpness: 0.5 }
  scored:
    type: predict
    inputs: { model: model.model, table: events }
  quality:
    type: metrics
    inputs: { table: scored }
    with: { scores: [model] }
  cv:
    type: kfold
    inputs: { table: events }
    with: { features: [x, y], k: 2, stratify: true, model: { kind: centroid } }
`;

const extended = makeStageRegistry({
  models: withModelKinds(defaultModelKinds, [centroidKind]),
  readers: withReaders(defaultReaders, [kvReader]),
});

async function quiver(args: string[], stages = extended) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (s) => out.push(s), err: (s) => err.push(s), color: false }, stages);
  const events = out
    .join("\n")
    .split("\n")
    .filter((l) => args[0] === "run" && l.startsWith("{"))
    .map((l) => JSON.parse(l) as { type: string; stage?: string; summary?: JsonObject });
  const of = (type: string) => events.filter((e) => e.type === type).map((e) => e.stage);
  return { code, out, err: err.join("\n"), events, ran: of("finished"), cached: of("cached") };
}

async function showJson(rig: Rig, ref: string): Promise<JsonObject> {
  const r = await quiver(["show", rig.path("p.yaml"), ref, "--json"]);
  assert.equal(r.code, 0, r.err);
  const doc = JSON.parse(r.out.join("\n")) as { value: JsonObject };
  return doc.value;
}

void describe("a model kind and a reader added to the registries, through a pipeline", () => {
  void test("load reads the new format, train/predict/kfold use the new kind, a rerun is cached", async () => {
    const rig = Rig.create({
      "p.yaml": PIPELINE,
      "signal.kv": kv(SIGNAL, "#"),
      // No .kv extension: recognised by its magic bytes; its comments use the per-file kv_comment.
      "background.data": kv(BACKGROUND, ";"),
    });
    try {
      const first = await quiver(["run", rig.path("p.yaml"), "--json", "--jobs", "2"]);
      assert.equal(first.code, 0, first.err);
      assert.deepEqual([...first.ran].sort(), ["cv", "events", "model", "quality", "scored"]);

      // The numbers, computed here from the data by hand.
      const f = [Float64Array.from([...SIGNAL, ...BACKGROUND].map((r) => r[0]!))];
      f.push(Float64Array.from([...SIGNAL, ...BACKGROUND].map((r) => r[1]!)));
      const labels = Uint8Array.from([1, 1, 1, 1, 0, 0, 0, 0]);
      const m0 = means(f, labels, 0);
      const m1 = means(f, labels, 1);
      const trained = await showJson(rig, "model.metrics");
      assert.deepEqual([trained.kind, trained.centroid_0, trained.centroid_1], ["centroid", m0, m1]);
      const s = centroidScores(f, 8, m0, m1, 0.5);
      const right = [...s].filter((v, i) => (v >= 0.5 ? 1 : 0) === labels[i]).length;
      const quality = await showJson(rig, "quality.metrics");
      assert.deepEqual((quality.scores as JsonObject).model, {
        ...((quality.scores as JsonObject).model as JsonObject),
        accuracy: right / 8,
      });

      const summaries = new Map(first.events.filter((e) => e.summary).map((e) => [e.stage, e.summary!]));
      const files = summaries.get("events")!.files as JsonObject[];
      assert.deepEqual(
        files.map((x) => [x.path, x.format, x.rows, x.comment]),
        [
          ["signal.kv", "kv", 4, "#"],
          ["background.data", "kv", 4, ";"],
        ],
      );
      assert.equal(summaries.get("model")!.model, "2 centroids in 2 features");
      assert.equal(summaries.get("scored")!.scorer, "centroid/1");
      // Worker threads know Quiver's own kinds only: this kind's folds ran here, one at a time.
      assert.equal(summaries.get("cv")!.threads, 1);
      const cv = await showJson(rig, "cv.metrics");
      assert.equal((cv.folds as JsonObject[]).length, 2);

      const again = await quiver(["run", rig.path("p.yaml"), "--json"]);
      assert.equal(again.code, 0, again.err);
      assert.deepEqual(again.ran, []);
      assert.deepEqual([...again.cached].sort(), ["cv", "events", "model", "quality", "scored"]);
    } finally {
      rig.remove();
    }
  });

  void test("their params are validated with the stages' own, at their YAML positions", async () => {
    const bad = PIPELINE.replace("sharpness: 0.5", "sharpnes: 0.5").replace(
      'kv_comment: ";"',
      'kv_comment: ";;"',
    );
    const rig = Rig.create({ "p.yaml": bad });
    try {
      const r = await quiver(["run", rig.path("p.yaml")]);
      assert.notEqual(r.code, 0);
      const lines = bad.split("\n");
      const at = (needle: string) => {
        const line = lines.findIndex((l) => l.includes(needle));
        return `p.yaml:${line + 1}:${lines[line]!.indexOf(needle) + 1}`;
      };
      assert.match(r.err, new RegExp(`${at("sharpnes")}.*unknown parameter "sharpnes"`));
      assert.match(r.err, /did you mean "sharpness"\?/);
      assert.match(r.err, /QV_KV_COMMENT|kv_comment must be one character/);
    } finally {
      rig.remove();
    }
  });

  void test("the JSON Schema lists the new kind and format; Quiver's own registry is unchanged", async () => {
    const schema = pipelineJsonSchema(extended) as {
      definitions: Record<string, { properties: Record<string, JsonObject> }>;
    };
    const model = schema.definitions["with-train"]!.properties.model!;
    const kinds = (model.anyOf as JsonObject[]).map((o) => {
      const kind = (o.properties as Record<string, { anyOf: { enum: string[] }[] }>).kind!;
      return kind.anyOf[0]!.enum[0];
    });
    assert.deepEqual(kinds, ["nn", "gbt", "centroid"]);
    const load = schema.definitions["with-load"]!.properties;
    assert.ok(JSON.stringify(load.format).includes('"kv"'));
    assert.ok("kv_comment" in load);

    const rig = Rig.create({ "p.yaml": PIPELINE });
    try {
      const r = await quiver(["run", rig.path("p.yaml")], defaultStageRegistry);
      assert.notEqual(r.code, 0);
      assert.match(r.err, /unknown parameter "kv_comment"/);
    } finally {
      rig.remove();
    }
  });
});

void describe("registry values", () => {
  void test("a name or a reader param used twice, or a bad kind spec, is refused when the registry is built", () => {
    assert.throws(() => withModelKinds(defaultModelKinds, [centroidKind, centroidKind]), /registered twice/);
    const misnamed: AnyModelKind = { ...centroidKind, name: "other" };
    assert.throws(() => modelKindRegistry([misnamed]), /kind is the enum \["other"\]/);
    assert.throws(() => withReaders(defaultReaders, [kvReader, kvReader]), /registered twice/);
    const clash: AnyTableReader = { ...kvReader, name: "kv2", params: p.object({ header: p.boolean() }) };
    assert.throws(() => withReaders(defaultReaders, [clash]), /both declare the param "header"/);
    const required: AnyTableReader = { ...kvReader, name: "kv3", params: p.object({ kv3: p.string() }) };
    assert.throws(() => withReaders(defaultReaders, [required]), /must be optional or have a default/);
    assert.throws(() => readerRegistry([kvReader]), /exactly one fallback/);
  });

  void test("format: names a reader; auto tries magic bytes, then the extension, then the fallback", async () => {
    const readers = withReaders(defaultReaders, [kvReader]);
    const rig = Rig.create({
      "a.kv": "x=1\n", // extension
      "b.csv": "%kv\nx=1\n", // magic beats the extension
      "c.weird": "x\n1\n", // nothing matches: CSV
      "d.parquet": "%kv\nx=1\n",
    });
    try {
      const pick = async (file: string, format = "auto") =>
        (await chooseReader(readers, format, await openSource(rig.path(file), file))).name;
      assert.deepEqual(
        [await pick("a.kv"), await pick("b.csv"), await pick("c.weird"), await pick("d.parquet", "csv")],
        ["kv", "kv", "csv", "csv"],
      );
    } finally {
      rig.remove();
    }
  });

  void test("a reader reads several files into one table (as a glob will hand it)", async () => {
    const rig = Rig.create({ "1.kv": kv(SIGNAL, "#"), "2.kv": kv(BACKGROUND, "#") });
    try {
      const files = [await openSource(rig.path("1.kv"), "1.kv"), await openSource(rig.path("2.kv"), "2.kv")];
      const r = await kvReader.read(files, { kv_comment: "#" }, {});
      assert.equal(r.table.numRows, 8);
      assert.deepEqual(
        r.files.map((f) => [f.file, f.rows]),
        [
          ["1.kv", 4],
          ["2.kv", 4],
        ],
      );
      const y = r.table.columns.get("y");
      assert.ok(y?.type === "float64");
      assert.deepEqual(
        [...y.values],
        [...SIGNAL, ...BACKGROUND].map((row) => row[1]),
      );
    } finally {
      rig.remove();
    }
  });
});
