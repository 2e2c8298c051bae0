/**
 * `reweight`: training weights from event weights. The default is the Higgs-notebook recipe
 * (|w|, signal scaled so its sum equals the background's, then everything normalised to mean 1);
 * TMVA's NormMode conventions are available by name.
 */
import { defineStage, StageError, table, type ParamProblem } from "../core/stage.js";
import { p } from "../core/schema.js";
import { lineageOf, withColumn, withLineage } from "../core/table.js";
import { chainAfter, lineageStep, writtenSteps } from "./lib/lineage.js";
import { classCode, classLabels, weightValues } from "./lib/columns.js";

const REWEIGHT_MODES = ["equalize", "EqualNumEvents", "NumEvents", "None"] as const;
export type ReweightMode = (typeof REWEIGHT_MODES)[number];

const params = p.object({
  mode: p.withDefault(
    p.enum(REWEIGHT_MODES, {
      description:
        "equalize: Σ signal = Σ background, mean 1; EqualNumEvents: both sums = number of signal events; " +
        "NumEvents: each class sums to its number of events; None: no normalisation",
    }),
    "equalize",
  ),
  weight: p.withDefault(p.column({ description: "the event weight column" }), "weight"),
  label: p.withDefault(p.column({ description: "the class column" }), "label"),
  signal: p.withDefault(
    p.union([p.integer(), p.string()], {
      description: "the label value of signal; every other value is background",
    }),
    1,
  ),
  out: p.withDefault(p.string({ description: "name of the new training-weight column" }), "training_weight"),
  abs: p.withDefault(
    p.boolean({ description: "take |w| first (negative weights cannot train most models)" }),
    true,
  ),
});

export const reweightStage = defineStage({
  type: "reweight",
  // 2: the training-weight column carries a reweight lineage step
  version: 2,
  description:
    "Training weights: |w|, classes balanced (Higgs recipe or TMVA NormMode), written to a new column",
  inputs: { table: { kind: "table", description: "events with a label and a weight column" } },
  outputs: { table: { kind: "table", description: "the input with the training-weight column added" } },
  params,
  check(pr) {
    const problems: ParamProblem[] = [];
    if (pr.out === pr.label)
      problems.push({
        path: ["out"],
        code: "QV_DUPLICATE_COLUMN",
        message: `the training weight would overwrite the label column "${pr.label}"`,
      });
    return problems;
  },
  async run(ctx) {
    const pr = ctx.params;
    const t = ctx.inputs.table("table");
    const weights = weightValues(t, pr.weight, { what: "table", param: ["weight"] });
    const labels = classLabels(t, pr.label, { what: "table", param: ["label"] });
    const sig = classCode(t, pr.label, pr.signal, { what: "table", param: ["signal"] });
    const n = t.numRows;
    const w = new Float64Array(n);
    const before = { signal: 0, background: 0 };
    const count = { signal: 0, background: 0 };
    let negative = 0;
    for (let i = 0; i < n; i++) {
      const x = weights[i]!;
      if (x < 0) negative++;
      const cls = labels[i] === sig ? "signal" : "background";
      before[cls] += x;
      count[cls]++;
      w[i] = pr.abs && x < 0 ? -x : x;
    }
    if (negative > 0 && !pr.abs) ctx.note(`${negative} negative weights kept (abs: false)`);
    const factors = classFactors(pr.mode, w, labels, sig, count);
    for (let i = 0; i < n; i++) w[i]! *= labels[i] === sig ? factors.signal : factors.background;
    if (pr.mode === "equalize") {
      // Normalised to mean 1 over all events, after the signal was scaled to the background's sum.
      let total = 0;
      for (let i = 0; i < n; i++) total += w[i]!;
      const mean = total / n;
      for (let i = 0; i < n; i++) w[i]! /= mean;
    }
    const after = { signal: 0, background: 0 };
    for (let i = 0; i < n; i++) after[labels[i] === sig ? "signal" : "background"] += w[i]!;
    if (t.columns.has(pr.out) && pr.out !== pr.weight) ctx.note(`column "${pr.out}" was replaced`);
    // What determines the new values: the recipe, the factors it found, and the weights it read.
    const step = await lineageStep("reweight", {
      mode: pr.mode,
      abs: pr.abs,
      factors,
      weight: [...lineageOf(t.columns.get(pr.weight)!)],
      ...(pr.mode === "equalize" ? { mean: after.signal + after.background } : {}),
    });
    const column = withLineage({ type: "float64", values: w }, chainAfter(t, pr.out, step));
    const out = withColumn(t, pr.out, column);
    return {
      outputs: { table: table(out) },
      summary: {
        mode: pr.mode,
        column: pr.out,
        events: count,
        sum_before: before,
        sum_after: after,
        negative,
        lineage: writtenSteps([t], out),
      },
    };
  },
});

type Classes = { signal: number; background: number };

/** The factor each class's (|w|) weights are multiplied by. */
function classFactors(
  mode: ReweightMode,
  w: Float64Array,
  labels: Int32Array,
  sig: number,
  count: Classes,
): Classes {
  if (mode === "None") return { signal: 1, background: 1 };
  const sum = { signal: 0, background: 0 };
  for (let i = 0; i < w.length; i++) sum[labels[i] === sig ? "signal" : "background"] += w[i]!;
  const need = (cls: keyof Classes) => {
    if (count[cls] === 0)
      throw new StageError("QV_REWEIGHT_CLASS", `there are no ${cls} events to reweight`, {
        param: [cls === "signal" ? "signal" : "label"],
      });
    if (!(sum[cls] > 0))
      throw new StageError(
        "QV_REWEIGHT_CLASS",
        `the ${cls} weights sum to ${sum[cls]}, so they cannot be scaled to a positive total`,
        { param: ["weight"], hint: "negative weights with abs: false can do this; consider abs: true" },
      );
  };
  switch (mode) {
    case "equalize":
      need("signal");
      need("background");
      return { signal: sum.background / sum.signal, background: 1 };
    case "EqualNumEvents":
      need("signal");
      need("background");
      return { signal: count.signal / sum.signal, background: count.signal / sum.background };
    case "NumEvents": {
      // A class with no events keeps factor 1; it has nothing to scale.
      const factor = (cls: keyof Classes) => {
        if (count[cls] === 0) return 1;
        need(cls);
        return count[cls] / sum[cls];
      };
      return { signal: factor("signal"), background: factor("background") };
    }
  }
}
