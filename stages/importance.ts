/**
 * `importance`: how much a trained model relies on each of its features, measured on a table
 * (usually the test split). Permutation importance for any model — the drop of a metric (AUC by
 * default) when one feature's values are shuffled across rows, over `repeats` shuffles, with its
 * mean and spread, as scikit-learn's `permutation_importance` — and, for model kinds that have
 * their own measure (boosted trees: the total split gain), that one too. Numerics:
 * stages/lib/eval/importance.ts and the kind's `importance` hook.
 */
import { defineStage, metrics, StageError } from "../core/stage.js";
import type { JsonObject } from "../core/json.js";
import { p } from "../core/schema.js";
import { float64Column, lineageOf, makeTable, takeRows, withLineage, type Table } from "../core/table.js";
import { BACKEND_CHOICES } from "./lib/nn/backend.js";
import { defaultModelKinds, kindNamed, type ModelKinds } from "./lib/models/index.js";
import { labeledData } from "./lib/labeled.js";
import { Rng } from "./lib/random.js";

/** "stage.port" → "stage". */
function producingStage(inputFrom: string | undefined): string | undefined {
  if (inputFrom === undefined) return undefined;
  const dot = inputFrom.indexOf(".");
  return dot < 0 ? inputFrom : inputFrom.slice(0, dot);
}

export function makeImportanceStage(kinds: ModelKinds) {
  const params = p.object({
    label: p.optional(p.column({ description: "0/1 label column (default: the model's own label)" })),
    weight: p.optional(p.column({ description: "event weight column for the metric (default: unweighted)" })),
    metric: p.withDefault(
      p.enum(["auc", "accuracy", "neg_log_loss"] as const, {
        description: "the score whose drop measures importance (higher is better; neg_log_loss = −log-loss)",
      }),
      "auc",
    ),
    repeats: p.withDefault(p.integer({ min: 1, max: 100, description: "shuffles per feature" }), 5),
    max_rows: p.withDefault(
      p.integer({ min: 10, description: "at most this many rows (a seeded sample of the table)" }),
      20000,
    ),
    backend: p.withDefault(
      p.enum(BACKEND_CHOICES, { description: "tfjs backend for networks trained by tfjs (see train)" }),
      "auto",
    ),
  });
  return defineStage({
    type: "importance",
    version: 1,
    description:
      "Feature importance of a trained model: permutation importance, and the kind's own (tree gain)",
    inputs: {
      model: { kind: "model", description: "a model from train or kfold" },
      table: {
        kind: "table",
        description: "labelled rows holding the model's features (e.g. the test split)",
      },
    },
    outputs: {
      metrics: {
        kind: "metrics",
        description:
          "per feature: the metric's drop (mean, std, each shuffle's) and the kind's own importance",
      },
    },
    params,
    random: true,
    // What scoring depends on beyond the model, as for predict (the model's kind is not known yet).
    environment(pr) {
      const env: JsonObject = {};
      for (const k of kinds.values()) Object.assign(env, k.scoringEnvironment?.({ backend: pr.backend }));
      return Promise.resolve(env);
    },
    async run(ctx) {
      const pr = ctx.params;
      const m = ctx.inputs.model("model");
      let t: Table = ctx.inputs.table("table");
      const { foldModels, readModel, scoreModel } = await import("./lib/models/envelope.js");
      const { permutationImportance } = await import("./lib/eval/importance.js");
      const stored = foldModels(m).map(readModel);
      const first = stored[0]!;
      const kind = kindNamed(kinds, first.kind);
      const rng = new Rng(ctx.seed);
      const rowsIn = t.numRows;
      if (t.numRows > pr.max_rows) {
        // A seeded sample without replacement, in table order.
        const pick = new Uint8Array(t.numRows);
        let left = pr.max_rows;
        for (let i = 0; i < t.numRows && left > 0; i++)
          if (rng.uniform() * (t.numRows - i) < left) {
            pick[i] = 1;
            left--;
          }
        const rows = new Int32Array(pr.max_rows);
        for (let i = 0, k = 0; i < t.numRows; i++) if (pick[i]) rows[k++] = i;
        t = takeRows(t, rows);
      }
      const label = pr.label ?? first.label;
      const data = labeledData(
        t,
        { features: first.features, label, weight: pr.weight },
        "table",
        kind.acceptsMissing ? "allow" : "refuse",
      );
      let signal = 0;
      for (let i = 0; i < data.n; i++) signal += data.labels[i]!;
      if (signal === 0 || signal === data.n)
        throw new StageError(
          "QV_EVAL_ONE_CLASS",
          `importance needs both classes in the table; it has only ${signal ? "signal" : "background"}`,
          {
            param: ["label"],
          },
        );
      const opts = { backend: pr.backend, threads: Math.max(1, Math.min(ctx.jobs, 64)) };
      // Shuffled columns keep the table's lineage: the model refuses a table prepared unlike its
      // training table (QV_FEATURE_LINEAGE) here as in predict. The names are read only for the
      // error message (a read puts them in the result's key).
      const lineages = first.features.map((f) => lineageOf(t.columns.get(f)!));
      const names = () => ({
        model: producingStage(ctx.inputFrom.model) ?? "the model",
        table: `from ${ctx.inputFrom.table ?? "the table input"}`,
      });
      const score = (cols: readonly Float64Array[]) =>
        scoreModel(
          kinds,
          m,
          makeTable(
            first.features.map((f, i) => [f, withLineage(float64Column(cols[i]!), lineages[i]!)] as const),
          ),
          opts,
          names,
        );
      const r = await permutationImportance(
        score,
        data.features,
        data.labels,
        data.weights,
        pr.metric,
        pr.repeats,
        rng.nextUint32(),
        (f) => ctx.progress(f, "permutations"),
      );
      const permutation: JsonObject = {};
      first.features.forEach((f, i) => {
        permutation[f] = { mean: r.mean[i]!, std: r.std[i]!, decreases: Array.from(r.decreases[i]!) };
      });
      const out: JsonObject = {
        metric: pr.metric,
        baseline: r.baseline,
        repeats: pr.repeats,
        rows: data.n,
        rows_in: rowsIn,
        weighted: pr.weight !== undefined,
        std: "population (ddof 0, as scikit-learn's importances_std)",
        permutation,
        ranking: [...first.features].sort(
          (a, b) => r.mean[first.features.indexOf(b)]! - r.mean[first.features.indexOf(a)]!,
        ),
      };
      // The kind's own measure, averaged over the folds of a kfold model.
      if (stored.every((s) => kindNamed(kinds, s.kind).importance !== undefined)) {
        const sums = new Map<string, number>();
        let method = "";
        for (const s of stored) {
          const own = await kindNamed(kinds, s.kind).importance!(s, data);
          method = own.method;
          for (const [f, v] of Object.entries(own.values))
            sums.set(f, (sums.get(f) ?? 0) + v / stored.length);
        }
        out.kind = { method, values: Object.fromEntries(sums) };
      }
      return {
        outputs: { metrics: metrics(out) },
        summary: { metric: pr.metric, baseline: r.baseline, rows: data.n, top: out.ranking as string[] },
      };
    },
    async present(ctx) {
      return (await import("./lib/present/importance.js")).presentImportance(ctx);
    },
  });
}

export const importanceStage = makeImportanceStage(defaultModelKinds);
