/**
 * `kind: gbt` — gradient-boosted decision trees for binary classification (the library in
 * stages/lib/gbt; algorithm and conventions in docs/gbt.md). Trees route missing values, so the
 * features may hold NaN; event weights must be ≥ 0.
 */
import type { JsonObject } from "../../../core/json.js";
import { p, type Infer } from "../../../core/schema.js";
import { StageError, type ParamProblem } from "../../../core/stage.js";
import { float64Column, int32Column, makeTable } from "../../../core/table.js";
import { finite } from "../finite.js";
import type { LabeledData } from "../labeled.js";
import { checkBothClasses } from "../training-checks.js";
import type { GbtMemoryError } from "../gbt/index.js";
import { classifierFigures } from "./figures.js";
import { defineModelKind, type ModelPart, type StoredModel } from "./kind.js";

/** TF-DF's GradientBoostedTreesModel defaults, so a spec that sets nothing trains what TF-DF would. */
const gbtSpecSchema = p.object({
  kind: p.enum(["gbt"] as const),
  num_trees: p.withDefault(p.integer({ min: 1 }), 300),
  max_depth: p.withDefault(p.integer({ min: 1, max: 30 }), 6),
  min_examples: p.withDefault(p.integer({ min: 1 }), 5),
  subsample: p.withDefault(p.number({ exclusiveMin: 0, max: 1 }), 1),
  shrinkage: p.withDefault(p.number({ exclusiveMin: 0, max: 1 }), 0.1),
  max_bins: p.withDefault(p.integer({ min: 2, max: 255 }), 255),
  l2: p.withDefault(p.number({ min: 0 }), 0),
});
type GbtSpec = Infer<typeof gbtSpecSchema>;

/**
 * The tree library's own limits (stages/lib/gbt/train.ts checks them again), kept here so that
 * planning never loads the library: depth-wise growth keeps up to 2^(depth-1) leaves.
 */
const GBT_MAX_DEPTH = 16;
const GBT_MAX_TREES = 100_000;

const TRAINER = "quiver-gbt";

/** Turns the trainer's refusals (data too large, module not built) into the stage errors they are. */
function withGbtErrors<T>(memoryError: typeof GbtMemoryError, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof memoryError)
      throw new StageError("QV_GBT_MEMORY", e.message, {
        hint: "train on fewer rows (a select or split stage upstream) or fewer features",
      });
    if (e instanceof Error && /not built/.test(e.message))
      throw new StageError("QV_GBT_TRAINER", e.message, { hint: "build Quiver: npm run build" });
    throw e;
  }
}

function bad(message: string): StageError {
  return new StageError("QV_MODEL_FORMAT", message, {
    hint: "connect the `model` output of a train or kfold stage",
  });
}

/** Gradient-boosted trees need weights ≥ 0; `row` numbers index the given data. */
function checkWeights(data: LabeledData, column: string | undefined, what: string): void {
  const weights = data.weights;
  if (!weights) return;
  for (let i = 0; i < weights.length; i++)
    if (weights[i]! < 0)
      throw new StageError(
        "QV_GBT_WEIGHT",
        `weight "${column ?? "weight"}" is ${weights[i]} in row ${i} of the ${what}; gradient-boosted trees need weights ≥ 0`,
        {
          ...(column !== undefined ? { data: { row: i, column } } : {}),
          hint: "use abs() of the weight in a define stage, or drop rows with negative weights",
        },
      );
}

/** The forest of a stored model, decoded and checked by the library. */
async function forestOf(model: StoredModel) {
  const { decodeModel } = await import("../gbt/index.js");
  try {
    return decodeModel({ meta: model.meta, blobs: model.blobs });
  } catch (e) {
    throw bad(`the trees in this model are malformed: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** A split threshold as JSON: the number, or "Infinity" / "-Infinity". */
function jsonThreshold(t: number): number | string {
  return Number.isFinite(t) ? t : String(t);
}

export const gbtKind = defineModelKind<GbtSpec>({
  name: "gbt",
  description: "gradient-boosted trees",
  synopsis: "{kind: gbt, num_trees: ...}",
  spec: gbtSpecSchema,
  historyColumns: "per tree: tree, loss",
  acceptsMissing: true,
  check(spec, ctx): ParamProblem[] {
    const problems: ParamProblem[] = [];
    if (spec.max_depth > GBT_MAX_DEPTH)
      problems.push({
        path: ["model", "max_depth"],
        code: "QV_GBT_OPTION",
        message: `max_depth ${spec.max_depth} is above the limit of ${GBT_MAX_DEPTH}`,
      });
    if (spec.num_trees > GBT_MAX_TREES)
      problems.push({
        path: ["model", "num_trees"],
        code: "QV_GBT_OPTION",
        message: `num_trees ${spec.num_trees} is above the limit of ${GBT_MAX_TREES}`,
      });
    if (ctx.trainer !== "auto")
      problems.push({
        path: ["trainer"],
        code: "QV_TRAINER_UNUSED",
        message: `trainer: ${ctx.trainer} applies to networks; gbt models have their own trainer`,
        severity: "warning",
      });
    return problems;
  },
  environment: () => ({ trainer: TRAINER }),
  // Folds in parallel worker threads, one thread each: k folds keep the jobs busy without the
  // synchronisation a tree's jobs need (train uses the jobs as the trainer's threads instead).
  foldExecution: () => Promise.resolve({ mode: "workers" }),
  checkData: (data, columns, what) => checkWeights(data, columns.weight, what),
  async train(req) {
    const { spec, train, validation } = req;
    checkWeights(train, req.columns.weight, req.what);
    checkBothClasses(train, req.what);
    const { trainGbt, predictGbt, GbtMemoryError } = await import("../gbt/index.js");
    const t0 = performance.now();
    req.progress?.(0, `gbt: ${spec.num_trees} trees, depth ${spec.max_depth}, ${train.n} rows`);
    const r = withGbtErrors(GbtMemoryError, () =>
      trainGbt(
        {
          features: train.features,
          featureNames: req.columns.features,
          labels: train.labels,
          ...(train.weights ? { weights: train.weights } : {}),
        },
        {
          numTrees: spec.num_trees,
          maxDepth: spec.max_depth,
          minExamples: spec.min_examples,
          subsample: spec.subsample,
          shrinkage: spec.shrinkage,
          maxBins: spec.max_bins,
          l2: spec.l2,
        },
        req.seed,
        { threads: req.options.threads },
      ),
    );
    const seconds = (performance.now() - t0) / 1000;
    const trainFig = classifierFigures(predictGbt(r.model, train.features), train);
    const metrics: JsonObject = {
      trainer: TRAINER,
      loss: trainFig.loss,
      accuracy: trainFig.accuracy,
      num_trees: r.trainLoss.length,
      train_rows: train.n,
    };
    if (validation) {
      const v = classifierFigures(predictGbt(r.model, validation.features), validation);
      Object.assign(metrics, {
        val_loss: v.loss,
        val_accuracy: v.accuracy,
        val_auc: finite(v.auc),
        validation_rows: validation.n,
      });
    }
    req.progress?.(1, `gbt: ${r.trainLoss.length} trees in ${seconds.toFixed(1)} s`);
    const tree = new Int32Array(r.trainLoss.length);
    for (let i = 0; i < tree.length; i++) tree[i] = i + 1;
    return {
      meta: r.model.meta,
      blobs: r.model.blobs,
      history: makeTable([
        ["tree", int32Column(tree)],
        ["loss", float64Column(Float64Array.from(r.trainLoss))],
      ]),
      metrics,
      run: { trainer: TRAINER, threads: r.threads, training_seconds: Math.round(seconds * 1000) / 1000 },
    };
  },
  async score(model, features) {
    const { predictGbt } = await import("../gbt/index.js");
    return predictGbt({ meta: model.meta, blobs: model.blobs }, features);
  },
  async describe(model) {
    const { forest } = await forestOf(model);
    const trees = forest.treeStart.length - 1;
    const splits = new Map(model.features.map((f) => [f, 0]));
    let leaves = 0;
    let deepest = 0;
    for (let t = 0; t < trees; t++) {
      const start = forest.treeStart[t]!;
      // Children come after their parent (the library checks it), so one pass finds every depth.
      const depth = new Int32Array(forest.treeStart[t + 1]! - start);
      for (let i = 0; i < depth.length; i++) {
        const f = forest.feature[start + i]!;
        if (f < 0) {
          leaves++;
          deepest = Math.max(deepest, depth[i]!);
          continue;
        }
        const name = model.features[f] ?? `feature ${f}`;
        splits.set(name, (splits.get(name) ?? 0) + 1);
        depth[forest.left[start + i]!] = depth[i]! + 1;
        depth[forest.right[start + i]!] = depth[i]! + 1;
      }
    }
    const nodes = forest.feature.length;
    const parts: ModelPart[] = [
      {
        name: "trees",
        type: "forest",
        detail: `${trees} trees, depth ≤ ${deepest}, ${leaves} leaves`,
        parameters: nodes,
      },
    ];
    return {
      kind: model.kind,
      summary: `${trees} boosted trees, depth ≤ ${deepest}, ${leaves} leaves`,
      trainer: TRAINER,
      parts,
      parameters: nodes,
      facts: { trees, leaves, max_depth: deepest, base_score: forest.baseScore },
      importance: {
        method: "splits: how many nodes split on the feature (XGBoost's importance_type 'weight')",
        values: Object.fromEntries(splits),
      },
    };
  },
  async importance(model, data) {
    const { replayGain } = await import("../gbt/gain.js");
    const gain = replayGain(await forestOf(model), data.features, data.labels, data.weights);
    return {
      method:
        "total gain: the loss reduction of every split on the feature, summed over the trees (XGBoost's total_gain), replayed over these rows",
      values: Object.fromEntries(model.features.map((f, i) => [f, gain[i]!])),
    };
  },
  /**
   * Every tree as a node list: a split {feature (index into `features`), threshold, left, right,
   * missing: "left" | "right"} sends a row left when its value ≤ threshold, a missing value to the
   * `missing` side; a leaf is {leaf: value}. A split that separates missing values from every
   * present one has the threshold +∞, written "Infinity" (JSON has no infinite numbers). Child indices count within the tree, the root is 0.
   * The probability of class 1 is sigmoid(base_score + the sum of one leaf per tree).
   */
  async export(model) {
    const { forest } = await forestOf(model);
    const trees: JsonObject[] = [];
    for (let t = 0; t + 1 < forest.treeStart.length; t++) {
      const start = forest.treeStart[t]!;
      const nodes: JsonObject[] = [];
      for (let k = start; k < forest.treeStart[t + 1]!; k++) {
        const f = forest.feature[k]!;
        nodes.push(
          f < 0
            ? { leaf: forest.value[k]! }
            : {
                feature: f,
                threshold: jsonThreshold(forest.threshold[k]!),
                left: forest.left[k]!,
                right: forest.right[k]!,
                missing: forest.missingLeft[k] === 1 ? "left" : "right",
              },
        );
      }
      trees.push({ nodes });
    }
    return { objective: "binary:logistic", base_score: forest.baseScore, trees };
  },
  // TreeEnsembleRegressor + Sigmoid; the scaler the model carries is folded into the thresholds
  // (stages/lib/onnx/trees.ts), so every branch matches Quiver's on float32 inputs.
  async onnx(model, g, input) {
    const { forest } = await forestOf(model);
    const { forestNodes } = await import("../onnx/trees.js");
    return forestNodes(g, input.name, forest, model.features, input.preprocess);
  },
});
