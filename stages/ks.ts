/**
 * `ks`: the overtraining check. For each score column and each class, a two-sample
 * Kolmogorov–Smirnov test of the classifier response on the training events against the test
 * events: scipy.stats.ks_2samp (unweighted), a weighted variant, or the binned variant of TMVA.
 * Numerics: stages/lib/eval/ks.ts.
 */
import { defineStage, metrics, StageError, table } from "../core/stage.js";
import type { JsonObject } from "../core/json.js";
import { p } from "../core/schema.js";
import { float64Column, int32Column, makeTable, type Table } from "../core/table.js";
import { binaryLabels, scoreValues, weightValues } from "./lib/columns.js";
import { binnedKs, ks2samp, linspace, weightedKs } from "./lib/eval/ks.js";
import { sortWithPayload } from "./lib/eval/sort.js";
import { finite } from "./lib/finite.js";

const params = p.object({
  scores: p.array(p.column({ description: "score column, present in both train and test" }), { minItems: 1 }),
  label: p.withDefault(p.column({ description: "0/1 label column (1 = signal)" }), "label"),
  weight: p.optional(p.column({ description: "event weight column (used only when weighted or binned)" })),
  method: p.withDefault(
    p.enum(["auto", "exact", "asymp"] as const, {
      description: "p-value of the unweighted test, as scipy's ks_2samp (auto: exact up to 10000 events)",
    }),
    "auto",
  ),
  weighted: p.withDefault(p.boolean({ description: "weighted ECDFs and Kish effective sizes" }), false),
  binned: p.optional(
    p.object(
      { bins: p.withDefault(p.integer({ min: 2, description: "number of equal-width bins" }), 40) },
      { description: "histogram-based test (ROOT/TMVA) instead of the unbinned one" },
    ),
  ),
  threshold: p.withDefault(
    p.number({ min: 0, max: 1, description: "p-value below which the verdict is overtraining" }),
    0.05,
  ),
});

interface Sample {
  x: Float64Array;
  w: Float64Array | undefined;
}

function split(t: Table, port: string, score: string, si: number, label: string, weight: string | undefined) {
  const what = `input "${port}"`;
  const x = scoreValues(t, score, { what, param: ["scores", si] });
  const y = binaryLabels(t, label, { what, param: ["label"] });
  const w = weight === undefined ? undefined : weightValues(t, weight, { what, param: ["weight"] });
  const bycls: Sample[] = [];
  for (const cls of [0, 1]) {
    let n = 0;
    for (let i = 0; i < y.length; i++) if (y[i] === cls) n++;
    const xs = new Float64Array(n);
    const ws = w ? new Float64Array(n) : undefined;
    for (let i = 0, j = 0; i < y.length; i++)
      if (y[i] === cls) {
        xs[j] = x[i]!;
        if (ws) ws[j] = w![i]!;
        j++;
      }
    bycls.push({ x: xs, w: ws });
  }
  return bycls;
}

function sortSample(s: Sample): Sample {
  // Radix sort of copies, weights carried along: about twice as fast as TypedArray#sort on 5M scores.
  const x = s.x.slice();
  const w = s.w?.slice();
  sortWithPayload(x, w);
  return { x, w };
}

export const ksStage = defineStage({
  type: "ks",
  version: 1,
  description: "Kolmogorov–Smirnov overtraining check: train vs test classifier response, per class",
  inputs: {
    train: { kind: "table", description: "training events, scored" },
    test: { kind: "table", description: "test events, scored with the same model" },
  },
  outputs: {
    metrics: { kind: "metrics", description: "per score and class: D, p_value, sizes, method, verdict" },
    histograms: {
      kind: "table",
      description: "binned variant only (empty otherwise): score, class, sample, bin_low, bin_high, content",
    },
  },
  params,
  run(ctx) {
    const pr = ctx.params;
    if (pr.weighted && pr.weight === undefined)
      throw new StageError("QV_EVAL_NO_WEIGHT", "weighted: true needs a weight column", {
        param: ["weighted"],
      });
    const train = ctx.inputs.table("train");
    const test = ctx.inputs.table("test");
    const useW = pr.weighted ? pr.weight : undefined;
    const out: JsonObject = {};
    const hist = {
      score: [] as number[],
      cls: [] as number[],
      sample: [] as number[],
      lo: [] as number[],
      hi: [] as number[],
      c: [] as number[],
    };
    for (const [si, name] of pr.scores.entries()) {
      const a = split(train, "train", name, si, pr.label, useW);
      const b = split(test, "test", name, si, pr.label, useW);
      const perClass: JsonObject = {};
      for (const cls of [0, 1]) {
        const key = cls === 1 ? "signal" : "background";
        const sa = a[cls]!;
        const sb = b[cls]!;
        if (sa.x.length === 0 || sb.x.length === 0) {
          throw new StageError(
            "QV_EVAL_EMPTY_CLASS",
            `ks: the ${key} class (label ${cls}) has no events in ${sa.x.length === 0 ? "train" : "test"} for "${name}"`,
            { param: ["label"] },
          );
        }
        const r: JsonObject = { n_train: sa.x.length, n_test: sb.x.length };
        let pvalue: number;
        if (pr.binned) {
          let lo = Infinity;
          let hi = -Infinity;
          for (const v of [sa.x, sb.x])
            for (let i = 0; i < v.length; i++) {
              if (v[i]! < lo) lo = v[i]!;
              if (v[i]! > hi) hi = v[i]!;
            }
          if (lo === hi) hi = lo + 1;
          const bk = binnedKs(sa.x, sa.w, sb.x, sb.w, linspace(lo, hi, pr.binned.bins + 1));
          pvalue = bk.pvalue;
          Object.assign(r, {
            statistic: bk.statistic,
            p_value: finite(pvalue),
            method: "binned",
            bins: pr.binned.bins,
          });
          for (const [smp, counts] of [bk.countsA, bk.countsB].entries())
            for (let k = 0; k < counts.length; k++) {
              hist.score.push(si);
              hist.cls.push(cls);
              hist.sample.push(smp);
              hist.lo.push(bk.edges[k]!);
              hist.hi.push(bk.edges[k + 1]!);
              hist.c.push(counts[k]!);
            }
        } else if (pr.weighted) {
          const wa = sortSample(sa);
          const wb = sortSample(sb);
          const wr = weightedKs(wa.x, wa.w!, wb.x, wb.w!);
          pvalue = wr.pvalue;
          Object.assign(r, {
            statistic: wr.statistic,
            p_value: finite(pvalue),
            method: "weighted",
            n_eff_train: wr.nEffA,
            n_eff_test: wr.nEffB,
          });
        } else {
          const kr = ks2samp(sortSample(sa).x, sortSample(sb).x, pr.method);
          pvalue = kr.pvalue;
          Object.assign(r, { statistic: kr.statistic, p_value: finite(pvalue), method: kr.method });
        }
        r.verdict = Number.isNaN(pvalue)
          ? "undefined"
          : pvalue < pr.threshold
            ? "overtrained?"
            : "compatible";
        perClass[key] = r;
      }
      out[name] = perClass;
      ctx.progress((si + 1) / pr.scores.length, name);
    }
    const histograms = makeTable([
      ["score", { type: "dict", codes: Int32Array.from(hist.score), dictionary: [...pr.scores] }],
      ["class", int32Column(Int32Array.from(hist.cls))],
      ["sample", { type: "dict", codes: Int32Array.from(hist.sample), dictionary: ["train", "test"] }],
      ["bin_low", float64Column(Float64Array.from(hist.lo))],
      ["bin_high", float64Column(Float64Array.from(hist.hi))],
      ["content", float64Column(Float64Array.from(hist.c))],
    ]);
    return Promise.resolve({
      outputs: { metrics: metrics({ threshold: pr.threshold, scores: out }), histograms: table(histograms) },
    });
  },
});
