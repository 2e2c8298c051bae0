/**
 * The presentation of `ks`, the overtraining check: the KS p-value of each score and class with
 * its verdict (headline figures and a table in the summary), and the classifier response on the
 * training events (filled) against the test events (points with √Σw² errors), per class.
 */
import type { JsonValue } from "../../../core/json.js";
import type { Block, Cell, Figure, Presentation, Series, Tone } from "../../../core/present.js";
import { formatNumber } from "../../../core/present.js";
import type { PresentContext } from "../../../core/stage.js";
import { numericValues } from "../../../core/table.js";
import { binaryLabels } from "../columns.js";
import { centres, fillBySlot, quantileRange, uniformEdges } from "./hist.js";
import { metricsOf, num, obj, str, tableOf } from "./read.js";

export interface KsParams {
  readonly scores: readonly string[];
  readonly label: string;
  readonly weight?: string | undefined;
  readonly weighted: boolean;
  readonly threshold: number;
}

const CLASSES = [
  ["signal", 1],
  ["background", 0],
] as const;

function tone(verdict: string | undefined): Tone {
  return verdict === "compatible" ? "good" : verdict === "overtrained?" ? "warn" : "neutral";
}

export async function presentKs(ctx: PresentContext<KsParams>): Promise<Presentation> {
  const pr = ctx.params;
  const m = metricsOf(await ctx.output("metrics"));
  const scores = obj(m, "scores") ?? {};
  const figures: Figure[] = [];
  const rows: Cell[][] = [];
  for (const name of pr.scores)
    for (const [cls] of CLASSES) {
      const r: JsonValue | undefined = obj(scores, name, cls);
      const verdict = str(r, "verdict");
      const p = num(r, "p_value");
      figures.push({
        name: "KS p-value",
        subject: `${name} · ${cls}`,
        value: p ?? null,
        digits: 3,
        ...(verdict ? { verdict: { text: verdict, tone: tone(verdict) } } : {}),
        detail: `train vs test response, D = ${formatNumber(num(r, "statistic") ?? NaN, 3)}, ${str(r, "method") ?? "?"}; overtraining suspected below p = ${pr.threshold}`,
      });
      rows.push([
        name,
        cls,
        num(r, "statistic") ?? null,
        p ?? null,
        str(r, "method") ?? null,
        num(r, "n_train") ?? null,
        num(r, "n_test") ?? null,
        verdict ? { text: verdict, tone: tone(verdict) } : null,
      ]);
    }
  if (ctx.detail === "figures") return { figures, blocks: [] };
  const blocks: Block[] = [
    {
      kind: "table",
      id: "verdicts",
      port: "metrics",
      title: "overtraining check (Kolmogorov–Smirnov, train vs test)",
      columns: [
        { name: "score" },
        { name: "class" },
        { name: "D" },
        { name: "p-value" },
        { name: "method" },
        { name: "train events" },
        { name: "test events" },
        { name: "verdict" },
      ],
      rows,
      rowHeaders: true,
      note: `Verdict "overtrained?" when p < ${pr.threshold}.`,
      summary: { rank: 30 },
    },
  ];
  const notes: string[] = [];
  const train = tableOf(await ctx.input("train"));
  const test = tableOf(await ctx.input("test"));
  if (!train || !test)
    notes.push("the scored train/test tables are no longer in the store, so no response histograms");
  else {
    const wName = pr.weighted ? pr.weight : undefined;
    for (const name of pr.scores) {
      const a = train.columns.get(name);
      const b = test.columns.get(name);
      if (!a || !b || a.type === "dict" || b.type === "dict") continue;
      let la: Uint8Array;
      let lb: Uint8Array;
      try {
        la = binaryLabels(train, pr.label, { what: "train table" });
        lb = binaryLabels(test, pr.label, { what: "test table" });
      } catch (e) {
        notes.push(`no response histograms: ${e instanceof Error ? e.message : String(e)}`);
        break;
      }
      const xa = numericValues(a);
      const xb = numericValues(b);
      const [lo0, hi0] = quantileRange(
        Float64Array.from([...quantileRange(xa, 0), ...quantileRange(xb, 0)]),
        0,
      );
      const inUnit = lo0 >= 0 && hi0 <= 1;
      const edges = uniformEdges(inUnit ? 0 : lo0, inUnit ? 1 : hi0, 40);
      const wa = wName && train.columns.get(wName) ? numericValues(train.columns.get(wName)!) : undefined;
      const wb = wName && test.columns.get(wName) ? numericValues(test.columns.get(wName)!) : undefined;
      const htr = fillBySlot(xa, edges, la, 2, { w: wa, normalise: true });
      const hte = fillBySlot(xb, edges, lb, 2, { w: wb, normalise: true });
      const mid = centres(edges);
      const series: Series[] = [];
      for (const [cls, flag] of CLASSES) {
        const p = num(scores, name, cls, "p_value");
        const pv = p === undefined ? "" : ` (KS p = ${p < 1e-3 ? p.toExponential(1) : p.toFixed(3)})`;
        const colour = cls === "signal" ? ("signal" as const) : ("background" as const);
        series.push(
          {
            kind: "step",
            name: `${cls} train`,
            edges,
            values: htr[flag]!.values,
            colour,
            fill: true,
            hatch: flag === 0,
          },
          {
            kind: "points",
            name: `${cls} test${pv}`,
            x: mid,
            y: hte[flag]!.values,
            yerr: hte[flag]!.errors,
            colour,
          },
        );
      }
      blocks.push({
        kind: "plot",
        id: `response:${name}`,
        title: `${name} response, train vs test`,
        x: { label: `classifier response (${name})` },
        y: { label: "1/N dN/d(response)" },
        series,
        legend: "top-left",
        size: "wide",
        note: `Each class normalised to unit area${wName ? `, weighted by ${wName}` : ""}; train filled, test as points with √Σw² errors.`,
      });
    }
  }
  return { figures, blocks, notes };
}
