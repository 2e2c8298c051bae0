/**
 * Checks of exported ONNX models against Quiver's own scoring, in ONNX Runtime for Node (CPU):
 * a model's probabilities on a table, every tree's leaf on every row (exactly), and ONNX's own
 * checker through Debian's python3-onnx when it is installed (skipped otherwise: the suite never
 * needs Python).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import ort from "onnxruntime-node";
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
  rows: Float32Array,
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

/** A temp file path for an export under `dir`. */
export function exportPath(dir: string, name: string): string {
  fs.mkdirSync(dir, { recursive: true });
  return path.join(dir, name);
}
