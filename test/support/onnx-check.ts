/**
 * Checks of exported ONNX models against Quiver's own scoring, in ONNX Runtime for Node (CPU):
 * a model's probabilities on a table, every tree's leaf on every row (exactly), and ONNX's own
 * checker through Debian's python3-onnx when it is installed (skipped otherwise: the suite never
 * needs Python).
 */
import { parse as parseYaml } from "yaml";
import type { JsonValue } from "../../core/json.js";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import ort from "onnxruntime-node";
import type { JsonObject } from "../../core/json.js";
import type { ModelArtifact } from "../../core/stage.js";
import type { Table } from "../../core/table.js";
import { foldModels, readModel } from "../../stages/lib/models/envelope.js";
import { decodeModel } from "../../stages/lib/gbt/index.js";
import { encodeOnnxModel, OnnxGraph } from "../../stages/lib/onnx/graph.js";
import { featureTransform } from "../../stages/lib/onnx/scaler.js";
import { forestNodes } from "../../stages/lib/onnx/trees.js";

/** The features of `t` as one row-major float32 block (what an ONNX user passes). */
export function float32Rows(t: Table, features: readonly string[]): Float32Array {
  const d = features.length;
  const out = new Float32Array(t.numRows * d);
  features.forEach((f, j) => {
    const c = t.columns.get(f);
    assert.ok(c && c.type !== "dict", `feature ${f} is numeric`);
    for (let i = 0; i < t.numRows; i++) out[i * d + j] = c.values[i]!;
  });
  return out;
}

/** Runs an ONNX file on `rows` ([n, d] float32) and returns its only output's values. */
export async function runOnnx(
  file: string | Uint8Array,
  rows: Float32Array,
  d: number,
): Promise<Float32Array> {
  const session =
    typeof file === "string"
      ? await ort.InferenceSession.create(file)
      : await ort.InferenceSession.create(file);
  const out = await session.run({ features: new ort.Tensor("float32", rows, [rows.length / d, d]) });
  const first = Object.values(out)[0];
  assert.ok(first, "the model has an output");
  return first.data as Float32Array;
}

/** Largest |a − b| and where. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): { max: number; at: number } {
  assert.equal(a.length, b.length);
  let max = 0;
  let at = -1;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i]! - b[i]!);
    if (!(e <= max)) {
      max = e;
      at = i;
    }
  }
  return { max, at };
}

let pythonOnnx: boolean | undefined;
/** Whether Debian's python3 with the onnx package is there to check files. */
export function hasPythonOnnx(): boolean {
  if (pythonOnnx === undefined) {
    try {
      execFileSync("/usr/bin/python3", ["-c", "import onnx"], { stdio: "ignore" });
      pythonOnnx = true;
    } catch {
      pythonOnnx = false;
    }
  }
  return pythonOnnx;
}

/** ONNX's own checker (full_check: shapes and types inferred through the graph); throws on a problem. */
export function onnxChecker(file: string): void {
  execFileSync(
    "/usr/bin/python3",
    ["-c", "import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)", file],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
}

/** The leaf each tree of `forest` reaches for each row, by Quiver's rule (NaN → missing side). */
function quiverLeaves(
  forest: ReturnType<typeof decodeModel>["forest"],
  transforms: ((x: number) => number)[],
  rows: Float32Array | Float64Array,
  d: number,
): Int32Array {
  const trees = forest.treeStart.length - 1;
  const n = rows.length / d;
  const out = new Int32Array(n * trees);
  for (let r = 0; r < n; r++)
    for (let t = 0; t < trees; t++) {
      const s = forest.treeStart[t]!;
      let k = s;
      for (;;) {
        const f = forest.feature[k]!;
        if (f < 0) break;
        const x = transforms[f]!(rows[r * d + f]!);
        const goLeft = Number.isNaN(x) ? forest.missingLeft[k] === 1 : x <= forest.threshold[k]!;
        k = s + (goLeft ? forest.left[k]! : forest.right[k]!);
      }
      out[r * trees + t] = k - s;
    }
  return out;
}

/**
 * For every (fold) tree model in `m`: the leaf ONNX Runtime reaches in every tree on every row of
 * `rows` equals Quiver's, exactly. Returns how many (row, tree) pairs were compared.
 */
export async function checkTreeBranches(m: ModelArtifact, rows: Float32Array, d: number): Promise<number> {
  let compared = 0;
  for (const stored of foldModels(m).map(readModel)) {
    if (stored.kind !== "gbt") continue;
    const { forest } = decodeModel({ meta: stored.meta, blobs: stored.blobs });
    const g = new OnnxGraph();
    const input = g.reserve("features");
    const out = forestNodes(g, input, forest, stored.features, stored.preprocess, { leafIndices: true });
    g.renameOutput(out, "leaves");
    const trees = forest.treeStart.length - 1;
    const bytes = await encodeOnnxModel(g, {
      graphName: "leaves",
      input: { name: input, features: d },
      output: { name: "leaves", columns: trees },
      opset: 13,
      producerVersion: "test",
      docString: "",
      metadata: [],
    });
    const got = await runOnnx(bytes, rows, d);
    const want = quiverLeaves(
      forest,
      stored.features.map((f) => featureTransform(stored.preprocess, f)),
      rows,
      d,
    );
    assert.equal(got.length, want.length);
    for (let i = 0; i < want.length; i++)
      if (got[i] !== want[i])
        assert.fail(
          `row ${Math.floor(i / trees)}, tree ${i % trees}: ONNX reaches leaf ${got[i]}, Quiver leaf ${want[i]}`,
        );
    compared += want.length;
  }
  return compared;
}

/** Rows of `t` where some tree reaches another leaf from the float32-rounded features than from the float64 ones. */
function treeRowsChangedByRounding(m: ModelArtifact, t: Table, features: readonly string[]): Set<number> {
  const out = new Set<number>();
  const d = features.length;
  const rows64 = new Float64Array(t.numRows * d);
  features.forEach((f, j) => {
    const c = t.columns.get(f);
    assert.ok(c && c.type !== "dict");
    for (let i = 0; i < t.numRows; i++) rows64[i * d + j] = c.values[i]!;
  });
  const rows32 = Float32Array.from(rows64);
  for (const stored of foldModels(m).map(readModel)) {
    if (stored.kind !== "gbt") continue;
    const { forest } = decodeModel({ meta: stored.meta, blobs: stored.blobs });
    const tf = stored.features.map((f) => featureTransform(stored.preprocess, f));
    const a = quiverLeaves(forest, tf, rows64, d);
    const b = quiverLeaves(forest, tf, rows32, d);
    const trees = forest.treeStart.length - 1;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) out.add(Math.floor(i / trees));
  }
  return out;
}

/** A temp file path for an export under `dir`. */
export function exportPath(dir: string, name: string): string {
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, name);
}

export interface PipelineModelCheck {
  /** The model output, e.g. "nn.model" or "cv.models". */
  readonly model: string;
  /** A table output holding the model's features (the pipeline's test table). */
  readonly table: string;
  /** The table's score column written by predict with this model, when there is one. */
  readonly column?: string;
}

/**
 * Exports a model of a pipeline's latest run with `quiver export` (through the API) and checks
 * ONNX Runtime against Quiver on the pipeline's test table: the probability within 1e-6 of
 * Quiver's predict on the same float32 values (and of the pipeline's own score column when
 * given), every tree's leaf exactly, and ONNX's checker when python3-onnx is there.
 * Returns the largest difference seen.
 */
export async function checkOnnxOnPipeline(
  file: string,
  cacheDir: string,
  check: PipelineModelCheck,
  /** The run's `--set NAME=VALUE` arguments: show and export name the result of the pipeline as run. */
  setArgs: readonly string[] = [],
): Promise<{
  max: number;
  rows: number;
  leaves: number;
  /** Rows of the pipeline's score column that differ because rounding the input to float32 crossed a threshold. */
  rounded: number;
  floor?: { onnx: number; quiver: number };
}> {
  const { loadPipeline, show, exportResult } = await import("../../api.js");
  const params: Record<string, JsonValue> = {};
  for (let i = 0; i + 1 < setArgs.length; i += 2) {
    const assignment = setArgs[i + 1]!;
    const eq = assignment.indexOf("=");
    params[assignment.slice(0, eq)] = parseYaml(assignment.slice(eq + 1)) as JsonValue;
  }
  const pipeline = loadPipeline(file, { params });
  const m = await show(pipeline, check.model, { cacheDir });
  const t = await show(pipeline, check.table, { cacheDir });
  assert.ok(m.value.kind === "model" && t.value.kind === "table");
  const model = m.value.model;
  const table = t.value.table;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-onnx-check-"));
  const onnxFile = path.join(tmp, `${check.model.replace(/\W/g, "_")}.onnx`);
  try {
    await exportResult(pipeline, check.model, { cacheDir, to: onnxFile });
    return await compareOnPipeline(onnxFile, model, table, check);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

async function compareOnPipeline(
  onnxFile: string,
  model: ModelArtifact,
  table: Table,
  check: PipelineModelCheck,
): Promise<{
  max: number;
  rows: number;
  leaves: number;
  /** Rows of the pipeline's score column that differ because rounding the input to float32 crossed a threshold. */
  rounded: number;
  floor?: { onnx: number; quiver: number };
}> {
  const { scoreModel } = await import("../../stages/lib/models/envelope.js");
  const { defaultModelKinds } = await import("../../stages/lib/models/index.js");
  const { lineageOf, makeTable, withLineage } = await import("../../core/table.js");
  const features = readModel(foldModels(model)[0]!).features;
  if (hasPythonOnnx()) onnxChecker(onnxFile);
  const rows = float32Rows(table, features);
  const d = features.length;
  const got = await runOnnx(onnxFile, rows, d);
  const t32 = makeTable(
    features.map((f, j) => [
      f,
      withLineage(
        { type: "float64", values: Float64Array.from({ length: table.numRows }, (_, i) => rows[i * d + j]!) },
        lineageOf(table.columns.get(f)!),
      ),
    ]),
  );
  const want = await scoreModel(defaultModelKinds, model, t32, { backend: "auto", threads: 1 });
  let { max } = maxAbsDiff(got, want);
  // Trees first: every branch must match exactly, whatever the sums.
  const leaves = await checkTreeBranches(model, rows, d);
  let rounded = 0;
  if (check.column !== undefined) {
    const c = table.columns.get(check.column);
    assert.ok(c?.type === "float64", `score column ${check.column}`);
    if (leaves === 0) max = Math.max(max, maxAbsDiff(got, c.values).max);
    else {
      // The pipeline's own scores were computed on the float64 values; ONNX reads float32. A
      // tree's row may differ only where rounding the input to float32 crosses a threshold.
      const crossing = treeRowsChangedByRounding(model, table, features);
      for (let i = 0; i < got.length; i++) {
        if (Math.abs(got[i]! - c.values[i]!) <= 1e-6) continue;
        assert.ok(
          crossing.has(i),
          `${check.model}, row ${i}: ONNX ${got[i]} vs predict ${c.values[i]} with no threshold between a value and its float32 rounding`,
        );
        rounded++;
      }
    }
  }
  let floor: { onnx: number; quiver: number } | undefined;
  if (max > 1e-6 && leaves === 0) {
    // Past 1e-6 only at the float32 floor: both scorers then differ from the float64 value of the
    // same weights by about as much, and ONNX must be no further from it than Quiver's own scorer.
    const { exportModel } = await import("../../stages/lib/models/envelope.js");
    const exact = float64Scores(await exportModel(defaultModelKinds, model), rows, d);
    floor = { onnx: maxAbsDiff(got, exact).max, quiver: maxAbsDiff(want, exact).max };
    assert.ok(
      max <= 5e-6 && floor.onnx <= 1.25 * floor.quiver,
      `${check.model} on ${check.table}: max |ONNX − Quiver| = ${max}; from the float64 value: ONNX ${floor.onnx}, Quiver ${floor.quiver}`,
    );
  }
  assert.ok(leaves === 0 || max <= 1e-6, `${check.model} on ${check.table}: max |ONNX − Quiver| = ${max}`);
  return { max, rows: table.numRows, leaves, rounded, ...(floor ? { floor } : {}) };
}

/**
 * A network's probabilities in float64 from its portable document (kfold: the folds' mean), by
 * the document's rules: preprocess, normalise, then each layer (Keras definitions).
 */
export function float64Scores(doc: JsonObject, rows: Float32Array, d: number): Float64Array {
  const models = Array.isArray(doc.folds) ? (doc.folds as JsonObject[]) : [doc];
  const out = new Float64Array(rows.length / d);
  const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
  const act: Record<string, (z: number) => number> = {
    relu: (z) => Math.max(0, z),
    sigmoid,
    tanh: Math.tanh,
    linear: (z) => z,
  };
  const names = doc.features as string[];
  for (const m of models) {
    const net = m.model as JsonObject;
    assert.equal(m.kind, "nn", "float64 reference for networks only");
    for (let i = 0; i < out.length; i++) {
      let h = Array.from(rows.subarray(i * d, (i + 1) * d));
      const pre = m.preprocess as JsonObject | null;
      if (pre) {
        const steps = pre.method === "chain" ? (pre.steps as JsonObject[]) : [pre];
        for (const s of steps)
          for (const c of s.columns as JsonObject[]) {
            const j = names.indexOf(c.name as string);
            if (j < 0) continue;
            if (s.method === "standard") h[j] = (h[j]! - (c.mean as number)) / (c.scale as number);
            else {
              h[j] = h[j]! * (c.scale as number) + (c.min as number);
              if (s.clip === true) {
                const [lo, hi] = s.range as number[];
                h[j] = Math.min(hi ?? Infinity, Math.max(lo ?? -Infinity, h[j]));
              }
            }
          }
      }
      const norm = net.normalization as { mean: number[]; std: number[] } | null;
      if (norm) h = h.map((v, j) => (v - norm.mean[j]!) / norm.std[j]!);
      for (const l of net.layers as JsonObject[]) {
        if (l.type === "dense") {
          const kernel = l.kernel as number[][];
          const name = typeof l.activation === "string" ? l.activation : "";
          const f = act[name];
          assert.ok(f, `activation ${name}`);
          h = (l.bias as number[]).map((b, u) => f(b + h.reduce((s, v, k) => s + v * kernel[k]![u]!, 0)));
        } else if (l.type === "batchnorm") {
          const [g, b, mu, v] = [l.gamma, l.beta, l.moving_mean, l.moving_variance] as number[][];
          const eps = l.epsilon as number;
          h = h.map((x, j) => (g![j]! * (x - mu![j]!)) / Math.sqrt(v![j]! + eps) + b![j]!);
        }
      }
      out[i] = out[i]! + h[0]! / models.length;
    }
  }
  return out;
}
