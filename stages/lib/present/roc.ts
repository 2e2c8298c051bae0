/**
 * The presentation of `roc`: the AUC of each score as a headline figure; the ROC curves with the
 * working points marked (in the results summary, merged with every other roc stage into one
 * plot); the background rejection 1/ε_B against ε_S on a log axis; the working points as a table.
 */
import type { JsonObject } from "../../../core/json.js";
import type { Block, Figure, Presentation, Series, TableBlock } from "../../../core/present.js";
import { formatNumber } from "../../../core/present.js";
import type { PresentContext } from "../../../core/stage.js";
import { numericValues } from "../../../core/table.js";
import { metricsOf, num, obj, tableOf, valueError } from "./read.js";

export interface RocParams {
  readonly scores: readonly string[];
  readonly weight?: string | undefined;
}

export async function presentRoc(ctx: PresentContext<RocParams>): Promise<Presentation> {
  const m = metricsOf(await ctx.output("metrics"));
  const scores = obj(m, "scores") ?? {};
  const weighted = ctx.params.weight !== undefined ? `weighted by ${ctx.params.weight}` : "unweighted";
  const figures: Figure[] = ctx.params.scores.map((name) => ({
    name: "AUC",
    subject: name,
    value: num(scores, name, "auc") ?? null,
    digits: 4,
    detail: `${weighted}; ${formatNumber(num(scores, name, "signal", "n") ?? NaN)} signal and ${formatNumber(num(scores, name, "background", "n") ?? NaN)} background events`,
  }));
  if (ctx.detail === "figures") return { figures, blocks: [] };

  const blocks: Block[] = [];
  const notes: string[] = [];
  const t = tableOf(await ctx.output("curve"));
  const score = t?.columns.get("score");
  const fprC = t?.columns.get("fpr");
  const tprC = t?.columns.get("tpr");
  if (!t || score?.type !== "dict" || !fprC || !tprC) notes.push("the curve table is not in the store");
  else {
    const fpr = numericValues(fprC);
    const tpr = numericValues(tprC);
    const roc: Series[] = [];
    const rej: Series[] = [];
    score.dictionary.forEach((name, k) => {
      const rows: number[] = [];
      for (let i = 0; i < t.numRows; i++) if (score.codes[i] === k) rows.push(i);
      const xs = Float64Array.from(rows, (i) => fpr[i]!);
      const ys = Float64Array.from(rows, (i) => tpr[i]!);
      const auc = num(scores, name, "auc");
      roc.push({
        kind: "line",
        name: auc !== undefined ? `${name} (AUC = ${auc.toFixed(3)})` : name,
        x: xs,
        y: ys,
        colour: k,
      });
      const wps = workingPoints(obj(scores, name, "at_background_efficiency"));
      if (wps.length)
        roc.push({
          kind: "markers",
          name: "working points at fixed ε_B",
          x: wps.map((w) => w.eb),
          y: wps.map((w) => w.es),
          labels: wps.map((w) => `ε_B = ${formatNumber(w.eb, 2)}`),
          colour: k,
        });
      rej.push({
        kind: "line",
        name,
        x: ys,
        y: Float64Array.from(xs, (v) => (v > 0 ? 1 / v : NaN)),
        colour: k,
      });
      const sig = workingPoints(obj(scores, name, "at_signal_efficiency"));
      if (sig.length)
        rej.push({
          kind: "markers",
          name: "working points at fixed ε_S",
          x: sig.map((w) => w.es),
          y: sig.map((w) => (w.eb > 0 ? 1 / w.eb : NaN)),
          labels: sig.map((w) => `ε_S = ${formatNumber(w.es, 2)}`),
          colour: k,
        });
    });
    roc.push({
      kind: "line",
      name: "random guess",
      x: [0, 1],
      y: [0, 1],
      colour: "muted",
      dash: true,
      common: true,
    });
    blocks.push(
      {
        kind: "plot",
        id: "roc",
        port: "curve",
        title: "ROC curves",
        x: { label: "background efficiency ε_B", min: 0, max: 1 },
        y: { label: "signal efficiency ε_S", min: 0, max: 1.05 },
        series: roc,
        legend: "bottom-right",
        note: `ROC curves (${weighted}); markers: the working points at fixed ε_B.`,
        summary: { rank: 10, merge: "roc" },
      },
      {
        kind: "plot",
        id: "rejection",
        port: "curve",
        title: "background rejection",
        x: { label: "signal efficiency ε_S", min: 0, max: 1 },
        y: { label: "background rejection 1/ε_B", log: true },
        series: rej,
        note: "Markers: the working points at fixed ε_S.",
      },
    );
  }
  const table = workingPointTable(ctx.params.scores, scores);
  if (table) blocks.push(table);
  return { figures, blocks, notes };
}

interface WorkingPoint {
  readonly target: string;
  readonly es: number;
  readonly eb: number;
}

function workingPoints(o: JsonObject | undefined): WorkingPoint[] {
  const out: WorkingPoint[] = [];
  for (const [target, wp] of Object.entries(o ?? {})) {
    const es = num(wp, "signal_efficiency", "value");
    const eb = num(wp, "background_efficiency", "value");
    if (es !== undefined && eb !== undefined) out.push({ target, es, eb });
  }
  return out;
}

/** One row per score and working point: the fixed efficiency, the other with its error, rejection, threshold. */
function workingPointTable(names: readonly string[], scores: JsonObject): TableBlock | undefined {
  const rows: (string | number | null | { value: number | null; error?: number })[][] = [];
  for (const name of names) {
    for (const [fixed, key] of [
      ["ε_B", "at_background_efficiency"],
      ["ε_S", "at_signal_efficiency"],
    ] as const) {
      for (const [target, wp] of Object.entries(obj(scores, name, key) ?? {})) {
        rows.push([
          name,
          `${fixed} = ${target}`,
          valueError(obj(wp, "signal_efficiency")),
          valueError(obj(wp, "background_efficiency")),
          valueError(obj(wp, "rejection")),
          num(wp, "threshold") ?? null,
        ]);
      }
    }
  }
  if (!rows.length) return undefined;
  return {
    kind: "table",
    id: "working-points",
    port: "metrics",
    title: "working points",
    columns: [
      { name: "score" },
      { name: "fixed" },
      { name: "ε_S" },
      { name: "ε_B" },
      { name: "rejection 1/ε_B" },
      { name: "cut: score >" },
    ],
    rows,
    rowHeaders: true,
    note: "Errors are binomial (weighted: from Σw²); the cut is the score threshold that reaches the fixed efficiency.",
  };
}
