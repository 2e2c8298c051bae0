/**
 * `significance`: scans a cut on a score column and reports, for each threshold, the weighted
 * signal S and background B above it and the significance Z; then the best cut. Corrections for
 * oversampled signal and for evaluating on a fraction of the events are applied to S and B before
 * Z. The best cut (and the no-cut point) also carry S and B with their statistical uncertainties
 * (√Σw², corrected like S and B) and Z by every formula. Numerics: stages/lib/eval/significance.ts.
 */
import { defineStage, metrics, StageError, table, type ParamProblem } from "../core/stage.js";
import type { JsonObject } from "../core/json.js";
import { p } from "../core/schema.js";
import { float64Column, makeTable } from "../core/table.js";
import { binaryLabels, scoreValues, weightValues } from "./lib/columns.js";
import { linspaceThresholds, scanSums, significance } from "./lib/eval/significance.js";
import { allFormulas, yieldsAbove } from "./lib/eval/cut-yields.js";
import { finite } from "./lib/finite.js";

const params = p.object({
  score: p.column({ description: "score column to cut on (events with score > threshold pass)" }),
  label: p.withDefault(p.column({ description: "0/1 label column (1 = signal)" }), "label"),
  weight: p.optional(p.column({ description: "event weight column (default: unit weights)" })),
  formula: p.withDefault(
    p.enum(["s_over_sqrt_b", "s_over_sqrt_s_plus_b", "asimov", "ams"] as const, {
      description: "Z = S/√B, S/√(S+B), Asimov Z_A (optionally with sigma_b), or HiggsML AMS",
    }),
    "asimov",
  ),
  sigma_b: p.withDefault(
    p.number({ min: 0, description: "relative background uncertainty (asimov only)" }),
    0,
  ),
  b_reg: p.withDefault(p.number({ min: 0, description: "AMS regularisation term" }), 10),
  epsilon_b: p.withDefault(p.number({ min: 0, description: "added to B inside Z (e.g. 0.001)" }), 0),
  points: p.withDefault(
    p.integer({ min: 1, description: "evenly spaced thresholds from min to max score" }),
    1000,
  ),
  start: p.optional(
    p.number({
      description:
        "first threshold of the evenly spaced scan (default: the minimum score); the dark-matter notebook scans from 0",
    }),
  ),
  thresholds: p.optional(
    p.union([
      p.enum(["unique"] as const, { description: "every distinct score value" }),
      p.array(p.number(), { minItems: 1, description: "explicit thresholds" }),
    ]),
  ),
  min_background: p.withDefault(
    p.number({ min: 0, description: "cuts with B below this (after corrections) cannot be the best cut" }),
    0,
  ),
  signal_scale: p.withDefault(p.number({ exclusiveMin: 0, description: "multiplies S (e.g. 0.2 = 1/5)" }), 1),
  evaluated_fraction: p.withDefault(
    p.number({
      exclusiveMin: 0,
      max: 1,
      description: "fraction of all events in the input; S and B are divided by it",
    }),
    1,
  ),
});

export const significanceStage = defineStage({
  type: "significance",
  // 2: the best cut and the no-cut point report s_error, b_error and z_by_formula.
  version: 2,
  description: "Scan a score cut: weighted S and B above each threshold, Z, and the best cut",
  inputs: {
    table: { kind: "table", description: "events with score, label and (optional) weight columns" },
    oversampling: {
      kind: "metrics",
      optional: true,
      description:
        "metrics with a `factor` field: the signal multiplicity from oversampling; S is divided by it",
    },
  },
  outputs: {
    scan: { kind: "table", description: "threshold, s, b, z, n_signal, n_background (corrected yields)" },
    metrics: { kind: "metrics", description: "best cut (threshold, s, b, z), the formula and corrections" },
  },
  params,
  check(pr) {
    const problems: ParamProblem[] = [];
    if (pr.sigma_b > 0 && pr.formula !== "asimov")
      problems.push({
        path: ["sigma_b"],
        code: "QV_PARAM_UNUSED",
        message: "sigma_b is used only by formula: asimov",
        severity: "warning",
      });
    return problems;
  },
  run(ctx) {
    const pr = ctx.params;
    const consumed = ctx.inputs.consume("table");
    const t = consumed.table;
    const what = 'input "table"';
    const score = scoreValues(t, pr.score, { what, param: ["score"] });
    const label = binaryLabels(t, pr.label, { what, param: ["label"] });
    const weight =
      pr.weight === undefined ? undefined : weightValues(t, pr.weight, { what, param: ["weight"] });
    // Only these arrays are read from here on: the table's other columns can go during the scan.
    consumed.releaseAll();
    if (score.length === 0)
      throw new StageError("QV_EVAL_EMPTY", "significance: the input table has no events");
    let factor = 1;
    if (ctx.inputs.has("oversampling")) {
      const m = ctx.inputs.metrics("oversampling");
      const f = m.factor;
      if (typeof f !== "number" || !(f > 0))
        throw new StageError(
          "QV_EVAL_OVERSAMPLING",
          "the oversampling input needs a positive number `factor`",
          {
            hint: `got ${JSON.stringify(f) ?? "nothing"}`,
          },
        );
      factor = f;
    }
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < score.length; i++) {
      if (score[i]! < lo) lo = score[i]!;
      if (score[i]! > hi) hi = score[i]!;
    }
    let thresholds: Float64Array;
    let uniform = false;
    if (pr.thresholds === "unique") {
      const s = score.slice().sort();
      let m = 0;
      for (let i = 0; i < s.length; i++) if (i === 0 || s[i] !== s[i - 1]) s[m++] = s[i]!;
      thresholds = s.slice(0, m);
    } else if (Array.isArray(pr.thresholds)) thresholds = Float64Array.from(pr.thresholds).sort();
    else {
      const start = pr.start ?? lo;
      if (start > hi)
        throw new StageError(
          "QV_EVAL_SCAN_RANGE",
          `significance: start ${start} is above the highest score ${hi}; the scan would be empty`,
          { param: ["start"], hint: "lower `start`, or leave it out to scan from the minimum score" },
        );
      thresholds = linspaceThresholds(start, hi, pr.points);
      uniform = true;
    }
    const sums = scanSums(score, label, weight, thresholds, uniform);
    const sScale = pr.signal_scale / factor / pr.evaluated_fraction;
    const bScale = 1 / pr.evaluated_fraction;
    const k = thresholds.length;
    const S = new Float64Array(k);
    const B = new Float64Array(k);
    const Z = new Float64Array(k);
    const opts = { epsilonB: pr.epsilon_b, sigmaB: pr.sigma_b, bReg: pr.b_reg };
    let best = -1;
    for (let j = 0; j < k; j++) {
      S[j] = sums.s[j]! * sScale;
      B[j] = sums.b[j]! * bScale;
      Z[j] = significance(pr.formula, S[j]!, B[j]!, opts);
      if (B[j]! >= pr.min_background && Number.isFinite(Z[j]!) && (best < 0 || Z[j]! > Z[best]!)) best = j;
    }
    if (best < 0)
      ctx.note(
        `no threshold has B ≥ ${pr.min_background} and a finite Z (formula ${pr.formula}); best cut is undefined`,
      );
    const scan = makeTable([
      ["threshold", float64Column(thresholds)],
      ["s", float64Column(S)],
      ["b", float64Column(B)],
      ["z", float64Column(Z)],
      ["n_signal", float64Column(sums.ns)],
      ["n_background", float64Column(sums.nb)],
    ]);
    // Yields with uncertainties, and Z by every formula, at a cut (−∞: no cut). At the best cut S
    // and B are the scan's own sums, so `best` and the scan table agree to the last bit.
    const atCut = (threshold: number, scanned?: { s: number; b: number }): JsonObject => {
      const y = yieldsAbove(score, label, weight, threshold);
      const sv = scanned?.s ?? y.s * sScale;
      const bv = scanned?.b ?? y.b * bScale;
      return {
        s: sv,
        b: bv,
        s_error: Math.sqrt(y.s2) * sScale,
        b_error: Math.sqrt(y.b2) * bScale,
        z: finite(significance(pr.formula, sv, bv, opts)),
        z_by_formula: allFormulas(sv, bv, opts),
      };
    };
    const bestJson: JsonObject | null =
      best < 0
        ? null
        : {
            threshold: thresholds[best]!,
            ...atCut(thresholds[best]!, { s: S[best]!, b: B[best]! }),
            n_signal: sums.ns[best]!,
            n_background: sums.nb[best]!,
          };
    const m: JsonObject = {
      formula: pr.formula,
      best: bestJson,
      no_cut: atCut(-Infinity),
      corrections: {
        signal_scale: pr.signal_scale,
        oversampling_factor: factor,
        evaluated_fraction: pr.evaluated_fraction,
        epsilon_b: pr.epsilon_b,
        sigma_b: pr.sigma_b,
        b_reg: pr.b_reg,
        min_background: pr.min_background,
      },
      uncertainties:
        factor === 1
          ? "s_error, b_error: √Σw² of the selected events, corrected as S and B"
          : "s_error, b_error: √Σw² of the selected events, corrected as S and B; copies made by oversampling count as independent events here, so s_error understates the signal's statistical uncertainty",
      thresholds: k,
    };
    return Promise.resolve({
      outputs: { scan: table(scan), metrics: metrics(m) },
      summary: bestJson ?? {},
    });
  },
  async present(ctx) {
    return (await import("./lib/present/significance.js")).presentSignificance(ctx);
  },
});
