/**
 * `roc`: weighted ROC curves of one or more score columns on the same events, with
 * scikit-learn's semantics, the AUC, and the working points physicists quote (ε_S at fixed ε_B,
 * background rejection at fixed ε_S) with binomial uncertainties. Numerics: stages/lib/eval/roc.ts.
 */
import { setOwn } from "../core/dict.js";
import { defineStage, metrics, StageError, table } from "../core/stage.js";
import type { JsonObject } from "../core/json.js";
import { p } from "../core/schema.js";
import { float64Column, makeTable, type Column } from "../core/table.js";
import { binaryLabels, scoreValues, weightValues } from "./lib/columns.js";
import {
  atBackgroundEfficiency,
  atSignalEfficiency,
  rocAuc,
  rocCurve,
  thinCurve,
  type WorkingPoint,
} from "./lib/eval/roc.js";
import { finite } from "./lib/finite.js";

const params = p.object({
  scores: p.array(p.column({ description: "score column (higher = more signal-like)" }), {
    minItems: 1,
    description: "score columns to compare on the same events",
  }),
  label: p.withDefault(p.column({ description: "0/1 label column (1 = signal)" }), "label"),
  weight: p.optional(p.column({ description: "event weight column (default: unit weights)" })),
  negative_weights: p.withDefault(
    p.enum(["keep", "abs", "zero"] as const, {
      description:
        "keep (sklearn semantics, unbiased efficiencies), abs (use |w|), zero (drop negative-weight events)",
    }),
    "keep",
  ),
  working_points: p.withDefault(
    p.object({
      background_efficiency: p.withDefault(p.array(p.number({ min: 0, max: 1 })), [0.01, 0.1, 0.3]),
      signal_efficiency: p.withDefault(p.array(p.number({ min: 0, max: 1 })), [0.97, 0.5]),
    }),
    { background_efficiency: [0.01, 0.1, 0.3], signal_efficiency: [0.97, 0.5] },
  ),
  max_points: p.withDefault(
    p.integer({ min: 3, description: "at most this many points per score in the curve table" }),
    200,
  ),
});

function applyPolicy(w: Float64Array | undefined, policy: "keep" | "abs" | "zero"): Float64Array | undefined {
  if (!w || policy === "keep") return w;
  return w.map((x) => (x >= 0 ? x : policy === "abs" ? -x : 0));
}

function wpJson(wp: WorkingPoint): JsonObject {
  const e = (v: { value: number; error: number }) => ({ value: finite(v.value), error: finite(v.error) });
  return {
    threshold: finite(wp.threshold),
    signal_efficiency: e(wp.signal_efficiency),
    background_efficiency: e(wp.background_efficiency),
    rejection: e(wp.rejection),
  };
}

/** JSON has no Infinity/NaN: those become null. */

export const rocStage = defineStage({
  type: "roc",
  version: 1,
  description: "Weighted ROC curves, AUC and working points of one or more score columns",
  inputs: { table: { kind: "table", description: "events with score, label and (optional) weight columns" } },
  outputs: {
    curve: {
      kind: "table",
      description: "columns score (which score column), threshold, fpr, tpr, rejection",
    },
    metrics: {
      kind: "metrics",
      description: "per score column: auc, working points, events and Σw per class",
    },
  },
  params,
  run(ctx) {
    const pr = ctx.params;
    const consumed = ctx.inputs.consume("table");
    const t = consumed.table;
    const what = 'input "table"';
    const label = binaryLabels(t, pr.label, { what, param: ["label"] });
    const weight = applyPolicy(
      pr.weight === undefined ? undefined : weightValues(t, pr.weight, { what, param: ["weight"] }),
      pr.negative_weights,
    );
    const scores = pr.scores.map((name, si) => scoreValues(t, name, { what, param: ["scores", si] }));
    // Only these arrays are read from here on: the table's other columns can go while roc sorts.
    consumed.releaseAll();
    const out: JsonObject = {};
    const parts: { name: string; idx: number[]; c: ReturnType<typeof rocCurve> }[] = [];
    for (const [si, name] of pr.scores.entries()) {
      const score = scores[si]!;
      const c = rocCurve(score, label, weight);
      for (const [cls, tot] of [
        ["signal", c.signal],
        ["background", c.background],
      ] as const) {
        if (tot.n === 0 || tot.sumw === 0)
          throw new StageError(
            "QV_EVAL_ONE_CLASS",
            `roc needs both classes: the ${cls} (label ${cls === "signal" ? 1 : 0}) has ` +
              (tot.n === 0 ? "no events with non-zero weight" : "a total weight of 0"),
            { param: ["label"], hint: "check the label column and any selection upstream" },
          );
      }
      const auc = rocAuc(c);
      const bkgWp: JsonObject = {};
      for (const e of pr.working_points.background_efficiency)
        bkgWp[String(e)] = wpJson(atBackgroundEfficiency(c, e));
      const sigWp: JsonObject = {};
      for (const e of pr.working_points.signal_efficiency)
        sigWp[String(e)] = wpJson(atSignalEfficiency(c, e));
      let monotone = true;
      for (let k = 1; k < c.fpr.length && monotone; k++)
        monotone = c.fpr[k]! >= c.fpr[k - 1]! && c.tpr[k]! >= c.tpr[k - 1]!;
      if (!monotone)
        ctx.note(
          `${name}: negative weights make the ROC curve non-monotonic; working points use the first crossing`,
        );
      setOwn(out, name, {
        auc,
        at_background_efficiency: bkgWp,
        at_signal_efficiency: sigWp,
        points: c.fpr.length,
        monotone,
        signal: { n: c.signal.n, sumw: c.signal.sumw },
        background: { n: c.background.n, sumw: c.background.sumw },
      });
      parts.push({ name, idx: thinCurve(c, pr.max_points), c });
      ctx.progress((si + 1) / pr.scores.length, name);
    }
    const total = parts.reduce((a, x) => a + x.idx.length, 0);
    const codes = new Int32Array(total);
    const thr = new Float64Array(total);
    const fpr = new Float64Array(total);
    const tpr = new Float64Array(total);
    const rej = new Float64Array(total);
    let r = 0;
    for (const [pi, part] of parts.entries()) {
      for (const k of part.idx) {
        codes[r] = pi;
        thr[r] = part.c.threshold[k]!;
        fpr[r] = part.c.fpr[k]!;
        tpr[r] = part.c.tpr[k]!;
        // Rejection is missing (NaN) where no background passes.
        rej[r] = part.c.fpr[k]! > 0 ? 1 / part.c.fpr[k]! : NaN;
        r++;
      }
    }
    const scoreCol: Column = { type: "dict", codes, dictionary: parts.map((x) => x.name) };
    const curve = makeTable([
      ["score", scoreCol],
      ["threshold", float64Column(thr)],
      ["fpr", float64Column(fpr)],
      ["tpr", float64Column(tpr)],
      ["rejection", float64Column(rej)],
    ]);
    return Promise.resolve({
      outputs: {
        curve: table(curve),
        metrics: metrics({ negative_weights: pr.negative_weights, scores: out }),
      },
      summary: Object.fromEntries(parts.map((x) => [x.name, { auc: (out[x.name] as { auc: number }).auc }])),
    });
  },
  async present(ctx) {
    return (await import("./lib/present/roc.js")).presentRoc(ctx);
  },
});
