/**
 * Export of trained models to ONNX, run in ONNX Runtime for Node (CPU): networks (every
 * activation, batch norm folded, dropout dropped, logistic regression), boosted trees (every
 * branch exactly, including values that sit at thresholds), kfold models, models that carry their
 * scaler; the metadata; the opset; ONNX's own checker when Debian's python3-onnx is installed.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import fc from "fast-check";
import ort from "onnxruntime-node";
import { table as tableValue, type ArtifactValue, type ModelArtifact } from "../core/stage.js";
import { lineageOf, makeTable, withLineage, type Table } from "../core/table.js";
import { scaleStage } from "../stages/scale.js";
import { trainStage } from "../stages/train.js";
import { kfoldStage } from "../stages/kfold.js";
import { defaultModelKinds } from "../stages/lib/models/index.js";
import { foldModels, readModel, scoreModel } from "../stages/lib/models/envelope.js";
import { exportOnnx } from "../stages/lib/models/onnx-export.js";
import { decodeModel } from "../stages/lib/gbt/index.js";
import { float32Split } from "../stages/lib/onnx/trees.js";
import { featureTransform } from "../stages/lib/onnx/scaler.js";
import { runStage } from "./support/stage-harness.js";
import { modelOf, noisyTable } from "./fixtures/nn/helpers.js";
import { repoRoot, Rig } from "./support/rig.js";
import {
  checkTreeBranches,
  float32Rows,
  hasPythonOnnx,
  maxAbsDiff,
  onnxChecker,
  runOnnx,
} from "./support/onnx-check.js";

const NETWORK_TOLERANCE = 1e-6;
const opts = { backend: "auto", threads: 1 } as const;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-onnx-"));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

let files = 0;
/** Exports `m`, runs ONNX's checker on the file when it can, returns the path. */
async function exported(m: ModelArtifact, opset?: number): Promise<string> {
  const file = path.join(dir, `model${files++}.onnx`);
  fs.writeFileSync(file, await exportOnnx(defaultModelKinds, m, opset !== undefined ? { opset } : {}));
  if (hasPythonOnnx()) onnxChecker(file);
  return file;
}

/** ONNX Runtime's probabilities vs Quiver's predict on the same (float32-representable) rows. */
async function compare(m: ModelArtifact, t: Table, features: readonly string[]) {
  const rows = float32Rows(t, features);
  // Quiver scores the float32 values too, so both read the same numbers.
  const t32 = makeTable(
    features.map((f, j) => [
      f,
      withLineage(
        {
          type: "float64",
          values: Float64Array.from({ length: t.numRows }, (_, i) => rows[i * features.length + j]!),
        },
        lineageOf(t.columns.get(f)!),
      ),
    ]),
  );
  const want = await scoreModel(defaultModelKinds, m, t32, opts);
  const got = await runOnnx(await exported(m), rows, features.length);
  return { rows, ...maxAbsDiff(got, want) };
}

const model = (v: ArtifactValue | undefined): ModelArtifact => {
  assert.ok(v?.kind === "model");
  return v.model;
};

const FEATURES = ["x0", "x1", "x2"];

void describe("float32 thresholds", () => {
  const nextUp = (v: number) => {
    const f = new Float32Array([v]);
    const i = new Int32Array(f.buffer);
    i[0] = v >= 0 ? i[0]! + 1 : i[0]! - 1;
    return f[0]!;
  };
  void test("every float32 value takes the branch Quiver's float64 threshold gives it", () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true }), fc.float({ noNaN: true }), (t, v) => {
        const s = float32Split(t);
        const onnx = s.mode === "BRANCH_LEQ" ? v <= s.value : v < s.value;
        return onnx === v <= t;
      }),
      { numRuns: 20000 },
    );
  });
  void test("rounds down, never to nearest: a threshold just above a float32 keeps the float32 above it right", () => {
    const below = Math.fround(0.1);
    const t = below + 1e-12; // between fround(0.1) and the next float32, nearer the lower one
    const s = float32Split(t);
    assert.deepEqual(s, { mode: "BRANCH_LEQ", value: below });
    assert.ok(!(nextUp(below) <= t));
    // A threshold just below a float32 (that float32 is right of it) rounds to the one below.
    const up = Math.fround(0.3);
    const s2 = float32Split(up - 1e-12);
    assert.ok(s2.value < up && nextUp(s2.value) === up);
    assert.deepEqual(float32Split(Infinity), { mode: "BRANCH_LEQ", value: Infinity });
    assert.deepEqual(float32Split(-Infinity), { mode: "BRANCH_LEQ", value: -Infinity });
    // Only −∞ is ≤ −1e300 among the float32 values.
    assert.deepEqual(float32Split(-1e300), { mode: "BRANCH_LEQ", value: -Infinity });
    // No float32 value goes left when even −∞ maps above the threshold (a clipping scaler).
    assert.deepEqual(
      float32Split(-2, (x) => Math.max(-1, x)),
      { mode: "BRANCH_LT", value: -Infinity },
    );
  });
  void test("through a carried scaler: exact on every float32 input", () => {
    const chain = [
      {
        method: "standard" as const,
        columns: [{ name: "x", mean: 103.7, var: 1, scale: 41.3, n_samples_seen: 1 }],
      },
      {
        method: "minmax" as const,
        lo: -1,
        hi: 1,
        clip: true,
        columns: [{ name: "x", data_min: -2, data_max: 3, scale: 0.4, min: -0.2 }],
      },
    ];
    const f = featureTransform(chain, "x");
    fc.assert(
      fc.property(fc.double({ min: -2, max: 2, noNaN: true }), fc.float({ noNaN: true }), (t, v) => {
        const s = float32Split(t, f);
        const onnx = s.mode === "BRANCH_LEQ" ? v <= s.value : v < s.value;
        return onnx === f(v) <= t;
      }),
      { numRuns: 5000 },
    );
  });
});

void describe("networks", () => {
  const t = noisyTable(600, 11);
  const train = (
    spec: object,
    trainer: "auto" | "tfjs" = "auto",
    extra: Record<string, ArtifactValue> = {},
  ) =>
    runStage(trainStage, {
      params: { features: FEATURES, model: { epochs: 3, batch_size: 64, ...spec, kind: "nn" }, trainer },
      inputs: { train: tableValue(t), ...extra },
    });

  void test("relu / tanh / sigmoid / linear with the network's own normalisation: within 1e-6 of predict", async () => {
    const r = await train({
      normalization: true,
      layers: [
        { dense: 16, activation: "relu" },
        { dense: 8, activation: "tanh" },
        { dense: 8, activation: "sigmoid" },
        { dense: 4, activation: "linear" },
      ],
    });
    const { max } = await compare(modelOf(r), t, FEATURES);
    assert.ok(max <= NETWORK_TOLERANCE, `max |ONNX − Quiver| = ${max}`);
  });

  void test("logistic regression (no hidden layer)", async () => {
    const r = await train({ layers: [] });
    const { max } = await compare(modelOf(r), t, FEATURES);
    assert.ok(max <= NETWORK_TOLERANCE, `max |ONNX − Quiver| = ${max}`);
  });

  void test("batch norm folded (after a linear layer, after a relu, first), dropout dropped [tfjs]", async () => {
    const r = await train(
      {
        layers: [
          { batchnorm: {} },
          { dense: 12, activation: "linear" },
          { batchnorm: {} },
          { dense: 12, activation: "relu" },
          { dropout: 0.3 },
          { batchnorm: {} },
          { dense: 6, activation: "relu" },
        ],
        epochs: 4,
      },
      "tfjs",
    );
    const m = modelOf(r);
    const { max } = await compare(m, t, FEATURES);
    assert.ok(max <= NETWORK_TOLERANCE, `max |ONNX − Quiver| = ${max}`);
    const bytes = fs.readFileSync(path.join(dir, `model${files - 1}.onnx`));
    const text = bytes.toString("latin1");
    assert.ok(!text.includes("BatchNormalization") && !text.includes("Dropout"), "inference graph only");
  });

  void test("the other activations (elu, selu, softplus, swish, gelu) [tfjs]", async () => {
    const r = await train(
      {
        layers: ["elu", "selu", "softplus", "swish", "gelu"].map((a) => ({ dense: 6, activation: a })),
      },
      "tfjs",
    );
    const { max } = await compare(modelOf(r), t, FEATURES);
    assert.ok(max <= NETWORK_TOLERANCE, `max |ONNX − Quiver| = ${max}`);
  });

  void test("a network that carries a chain of scalers takes raw features", async () => {
    const s1 = await runStage(scaleStage, { params: { columns: FEATURES }, inputs: { fit: tableValue(t) } });
    const scaled = s1.outputs.table as { table: Table };
    const s2 = await runStage(scaleStage, {
      params: { method: "minmax", columns: ["x2"], range: [-1, 1], clip: true },
      inputs: { fit: tableValue(scaled.table) },
    });
    const chain = {
      method: "chain",
      steps: [
        (s1.outputs.scaler as { metrics: object }).metrics,
        (s2.outputs.scaler as { metrics: object }).metrics,
      ],
    };
    const r = await train({ layers: [{ dense: 8, activation: "relu" }] }, "auto", {
      preprocess: { kind: "metrics", metrics: chain as never },
    });
    const { max } = await compare(modelOf(r), t, FEATURES);
    assert.ok(max <= NETWORK_TOLERANCE, `max |ONNX − Quiver| = ${max}`);
  });
});

void describe("boosted trees", () => {
  // Missing values in one feature, so splits route NaN.
  const base = noisyTable(800, 5);
  const x2 = (base.columns.get("x2") as { values: Float64Array }).values.slice();
  for (let i = 0; i < x2.length; i += 7) x2[i] = NaN;
  const t = makeTable(
    [...base.columns].map(([n, c]) => [n, n === "x2" ? { type: "float64", values: x2 } : c]),
  );
  let gbt: ModelArtifact;
  before(async () => {
    gbt = modelOf(
      await runStage(trainStage, {
        params: { features: FEATURES, model: { kind: "gbt", num_trees: 40, max_depth: 4 } },
        inputs: { train: tableValue(t) },
      }),
    );
  });

  void test("every tree reaches the same leaf as Quiver on every row; the probability within float32 rounding", async () => {
    const { rows, max } = await compare(gbt, t, FEATURES);
    assert.ok(max <= 1e-6, `max |ONNX − Quiver| = ${max}`);
    const compared = await checkTreeBranches(gbt, rows, FEATURES.length);
    assert.equal(compared, t.numRows * 40);
  });

  void test("values sitting at the thresholds: the exported float32 threshold, its neighbours, the rounded float64 one", async () => {
    const stored = readModel(gbt);
    const { forest } = decodeModel({ meta: stored.meta, blobs: stored.blobs });
    const d = FEATURES.length;
    const probes: number[][] = [];
    for (let k = 0; k < forest.feature.length; k++) {
      const f = forest.feature[k]!;
      if (f < 0) continue;
      const th = forest.threshold[k]!;
      const s = float32Split(th);
      const f32 = new Float32Array([s.value]);
      const i32 = new Int32Array(f32.buffer);
      const around = [s.value, Math.fround(th), -0, 0];
      for (const step of [-1, 1]) {
        i32[0] = new Int32Array(new Float32Array([s.value]).buffer)[0]! + step * (s.value >= 0 ? 1 : -1);
        around.push(f32[0]!);
      }
      for (const v of around) {
        const row = [0.1, -0.2, 0.3];
        row[f] = v;
        probes.push(row);
      }
    }
    const rows = Float32Array.from(probes.flat());
    assert.ok(probes.length > 100);
    const compared = await checkTreeBranches(gbt, rows, d);
    assert.equal(compared, probes.length * 40);
  });

  void test("trees that carry a scaler: thresholds folded, still exact", async () => {
    const s = await runStage(scaleStage, { params: { columns: FEATURES }, inputs: { fit: tableValue(t) } });
    const m = modelOf(
      await runStage(trainStage, {
        params: { features: FEATURES, model: { kind: "gbt", num_trees: 20, max_depth: 3 } },
        inputs: { train: tableValue(t), preprocess: s.outputs.scaler! },
      }),
    );
    const { rows, max } = await compare(m, t, FEATURES);
    assert.ok(max <= 1e-6, `max |ONNX − Quiver| = ${max}`);
    await checkTreeBranches(m, rows, FEATURES.length);
    const text = fs.readFileSync(path.join(dir, `model${files - 1}.onnx`)).toString("latin1");
    assert.ok(!text.includes("Sub") || text.includes("TreeEnsembleRegressor"));
  });
});

void describe("kfold models", () => {
  const t = noisyTable(500, 3);
  for (const spec of [
    { kind: "gbt", num_trees: 15, max_depth: 3 },
    { kind: "nn", layers: [{ dense: 6, activation: "relu" }], epochs: 2, batch_size: 64 },
  ]) {
    void test(`${spec.kind}: one graph averaging the folds equals predict with the kfold models`, async () => {
      const r = await runStage(kfoldStage, {
        params: { features: FEATURES, k: 3, model: spec },
        inputs: { table: tableValue(t) },
      });
      const m = model(r.outputs.models);
      assert.equal(foldModels(m).length, 3);
      const { rows, max } = await compare(m, t, FEATURES);
      assert.ok(max <= NETWORK_TOLERANCE, `max |ONNX − Quiver| = ${max}`);
      if (spec.kind === "gbt") assert.equal(await checkTreeBranches(m, rows, 3), 500 * 15 * 3);
    });
  }
});

void describe("the exported file", () => {
  void test("opsets 13 to 17 load in ONNX Runtime; others are refused", async () => {
    const r = await runStage(trainStage, {
      params: { features: FEATURES, model: { kind: "gbt", num_trees: 3, max_depth: 2 } },
      inputs: { train: tableValue(noisyTable(100, 1)) },
    });
    for (const opset of [13, 15, 17]) {
      const file = await exported(modelOf(r), opset);
      await ort.InferenceSession.create(file);
    }
    await assert.rejects(exportOnnx(defaultModelKinds, modelOf(r), { opset: 12 }), /opset 12/);
    await assert.rejects(exportOnnx(defaultModelKinds, modelOf(r), { opset: 18 }), /opset 18/);
  });

  void test("the demo: quiver export writes ONNX with the documented input, output and metadata, equal to predict", async () => {
    const yaml = fs
      .readFileSync(path.join(repoRoot, "pipelines", "demo.yaml"), "utf8")
      .replace("events: 20000", "events: 4000");
    const rig = Rig.create({ "demo.yaml": yaml });
    try {
      const run = await rig.quiver("run", "demo.yaml");
      assert.equal(run.code, 0, run.stderr);
      const keyOf = (stage: string) =>
        (run.events.find((e) => e.type === "finished" && e.stage === stage) as unknown as { key: string })
          .key;
      const scores = rig.path("scores.arrow");
      assert.equal((await rig.quiver("export", "demo.yaml", "scores", "--to", scores)).code, 0);
      const { tableFromArrowIPC } = await import("../core/arrow-codec.js");
      const t = await tableFromArrowIPC(fs.readFileSync(scores));
      const features = ["lep1_pt", "lep2_pt", "m_ll", "met", "dphi_ll", "ht", "met_sig"];
      const rows = float32Rows(t, features);
      for (const stage of ["nn", "bdt"]) {
        const file = rig.path(`${stage}.onnx`);
        const e = await rig.quiver("export", "demo.yaml", `${stage}.model`, "--to", file);
        assert.equal(e.code, 0, e.stderr);
        if (hasPythonOnnx()) onnxChecker(file);
        const session = await ort.InferenceSession.create(file);
        assert.deepEqual(session.inputNames, ["features"]);
        assert.deepEqual(session.outputNames, ["probability"]);
        const got = await runOnnx(file, rows, features.length);
        const want = (t.columns.get(stage) as { values: Float64Array }).values;
        const { max } = maxAbsDiff(got, want);
        assert.ok(max <= 1e-6, `${stage}: max |ONNX − Quiver| = ${max}`);
        const meta = await onnxMetadata(file);
        assert.equal(meta["quiver.pipeline"], "demo");
        assert.equal(meta["quiver.stage"], `${stage}.model`);
        assert.equal(meta["quiver.cache_key"], keyOf(stage));
        assert.deepEqual(JSON.parse(meta["quiver.features"]!), features);
        const lineage = JSON.parse(meta["quiver.lineage"]!) as Record<string, string[]>;
        assert.deepEqual(lineage.lep1_pt, [], "trained on raw columns");
        const data = JSON.parse(meta["quiver.training_data"]!) as { rows: number; hash: string }[];
        assert.match(data[0]!.hash, /^[0-9a-f]{16}$/);
        assert.ok(data[0]!.rows > 1000);
        assert.match(meta["quiver.version"]!, /^\d+\.\d+\.\d+/);
        assert.equal(JSON.parse(meta["quiver.preprocess"]!) === null, stage === "bdt");
      }
      await docNodeSnippet(rig);
      const bad = await rig.quiver(
        "export",
        "demo.yaml",
        "nn.model",
        "--to",
        rig.path("nn.onnx"),
        "--opset",
        "9",
      );
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /QV_MODEL_EXPORT/);
      const json = rig.path("nn.json");
      assert.equal((await rig.quiver("export", "demo.yaml", "nn.model", "--to", json)).code, 0);
      const doc = JSON.parse(fs.readFileSync(json, "utf8")) as Record<string, unknown>;
      assert.equal(doc.format, "quiver-portable-model");
      assert.equal(doc.version, 2);
      assert.equal((doc.preprocess as { method: string }).method, "standard");
      assert.ok(Array.isArray((doc.model as { layers: unknown[] }).layers));
      assert.equal((doc.provenance as { cacheKey: string }).cacheKey, keyOf("nn"));
    } finally {
      rig.remove();
    }
  });
});

/**
 * docs/models.md's Node snippet, extracted and run as its reader would (cwd holding tagger.onnx,
 * the demo's exported network): it prints what Quiver's predict gives for its two events.
 */
async function docNodeSnippet(rig: Rig): Promise<void> {
  const doc = fs.readFileSync(path.join(repoRoot, "docs", "models.md"), "utf8");
  const at = doc.indexOf("<!-- node-snippet");
  assert.ok(at >= 0, "docs/models.md marks its Node snippet");
  const block = /```js\n([\s\S]*?)```/.exec(doc.slice(at));
  assert.ok(block, "a js block follows the marker");
  // Inside the repository, so that `import "onnxruntime-node"` resolves as in a user's project.
  const work = fs.mkdtempSync(path.join(repoRoot, "dist", "test", "snippet-"));
  try {
    fs.writeFileSync(path.join(work, "snippet.mjs"), block[1]!);
    fs.copyFileSync(rig.path("nn.onnx"), path.join(work, "tagger.onnx"));
    const { execFileSync } = await import("node:child_process");
    const printed = execFileSync(process.execPath, ["snippet.mjs"], { cwd: work, encoding: "utf8" });
    const got = JSON.parse(printed.trim()) as number[];
    const events = /const events = (\[[\s\S]*?\]);/.exec(block[1]!);
    assert.ok(events);
    const rows = JSON.parse(events[1]!.replace(/,\s*\]/g, "]")) as number[][];
    const features = ["lep1_pt", "lep2_pt", "m_ll", "met", "dphi_ll", "ht", "met_sig"];
    const t = makeTable(
      features.map((f, j) => [
        f,
        { type: "float64", values: Float64Array.from(rows, (r) => Math.fround(r[j]!)) },
      ]),
    );
    const { loadPipeline, show } = await import("../api.js");
    const m = await show(loadPipeline(rig.path("demo.yaml")), "nn.model", { cacheDir: rig.cacheDir });
    assert.ok(m.value.kind === "model");
    const want = await scoreModel(defaultModelKinds, m.value.model, t, opts);
    assert.equal(got.length, 2);
    assert.ok(
      maxAbsDiff(got, want).max <= NETWORK_TOLERANCE,
      `snippet ${JSON.stringify(got)} vs predict ${Array.from(want).join(", ")}`,
    );
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** metadata_props of an ONNX file, read back with ONNX's own schema. */
async function onnxMetadata(file: string): Promise<Record<string, string>> {
  const { default: proto } = await import("onnx-proto");
  const m = proto.onnx.ModelProto.decode(fs.readFileSync(file));
  return Object.fromEntries(m.metadataProps.map((p): [string, string] => [p.key ?? "", p.value ?? ""]));
}

void test("a stored model's features come back in order", () => {
  // Guards the assumption of compare(): readModel keeps the envelope's feature order.
  const m = {
    meta: { format: "quiver-model", version: 2, kind: "gbt", features: ["b", "a"], gbt: {} },
    blobs: {},
  } as ModelArtifact;
  assert.deepEqual(readModel(m).features, ["b", "a"]);
});

void describe("installing onnxruntime-node downloads nothing beyond the npm registry", () => {
  // Its install script fetches CUDA libraries from NuGet on Linux x64 unless told to skip; the
  // repository's .npmrc tells it, and npm hands project config to install scripts as npm_config_*.
  void test(".npmrc sets the switch, npm reads it, and the install script honours it", (t) => {
    const npm = spawnSync("npm", ["config", "get", "onnxruntime-node-install"], {
      cwd: repoRoot,
      encoding: "utf8",
    });
    if (npm.error) return t.skip(`npm is not on PATH (${npm.error.message})`);
    assert.equal(npm.status, 0, npm.stderr);
    assert.equal(npm.stdout.trim(), "skip", "npm reads the switch from the repository's .npmrc");

    const pkgDir = path.dirname(createRequire(import.meta.url).resolve("onnxruntime-node/package.json"));
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
    // As npm runs it during `npm ci`; a proxy that refuses connections makes any download fail.
    Object.assign(env, {
      npm_config_onnxruntime_node_install: npm.stdout.trim(),
      HTTPS_PROXY: "http://127.0.0.1:9",
      GLOBAL_AGENT_HTTPS_PROXY: "http://127.0.0.1:9",
    });
    const binDir = path.join(pkgDir, "bin", "napi-v6", `${process.platform}`, process.arch);
    const before = fs.existsSync(binDir) ? fs.readdirSync(binDir).sort() : [];
    const install = spawnSync(process.execPath, [path.join(pkgDir, "script", "install.js")], {
      cwd: pkgDir,
      env,
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.equal(install.status, 0, install.stderr);
    assert.equal(install.stdout + install.stderr, "", "it exits at once, saying and fetching nothing");
    assert.deepEqual(fs.existsSync(binDir) ? fs.readdirSync(binDir).sort() : [], before);
    // The CPU runtime it ships in the npm package is what the tests above run.
    assert.ok(before.some((f) => f.startsWith("libonnxruntime")) || process.platform !== "linux");
  });
});
