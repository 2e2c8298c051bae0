/**
 * The presentation of `significance`: Z at the best cut with its formula, S and B as a headline
 * figure; the scan of Z against the cut with the points that cannot be the best cut (too little
 * background, or no finite Z) drawn as excluded, not as part of the curve; S and B against the cut
 * beside it; the best cut and the no-cut point with their uncertainties and Z by every formula.
 */
import type { JsonObject } from "../../../core/json.js";
import type { Block, Cell, Figure, Presentation, Series } from "../../../core/present.js";
import { formatNumber, formatQuantity } from "../../../core/present.js";
import type { PresentContext } from "../../../core/stage.js";
import { numericValues } from "../../../core/table.js";
import { metricsOf, num, obj, str, tableOf } from "./read.js";

export interface SignificanceParams {
  readonly score: string;
  readonly formula: string;
  readonly epsilon_b: number;
  readonly sigma_b: number;
  readonly b_reg: number;
  readonly min_background: number;
}

/** The formula as physicists write it, with this stage's constants. */
export function formulaText(
  formula: string,
  p: { epsilon_b: number; sigma_b: number; b_reg: number },
): string {
  const b = p.epsilon_b > 0 ? `B + ${formatNumber(p.epsilon_b)}` : "B";
  switch (formula) {
    case "s_over_sqrt_b":
      return p.epsilon_b > 0 ? `Z = S/√(${b})` : "Z = S/√B";
    case "s_over_sqrt_s_plus_b":
      return `Z = S/√(S + ${b})`;
    case "asimov":
      return p.sigma_b > 0
        ? `Asimov Z_A with σ_B = ${formatNumber(p.sigma_b)}·B`
        : `Z_A = √(2((S + ${b})·ln(1 + S/${p.epsilon_b > 0 ? `(${b})` : "B"}) − S))`;
    case "ams":
      return `AMS = √(2((S + B + ${formatNumber(p.b_reg)})·ln(1 + S/(B + ${formatNumber(p.b_reg)})) − S))`;
    default:
      return formula;
  }
}

function yieldsText(best: JsonObject): string {
  const q = (v: string, e: string) =>
    formatQuantity({
      value: num(best, v) ?? null,
      ...(num(best, e) !== undefined ? { error: num(best, e)! } : {}),
    });
  return `S = ${q("s", "s_error")}, B = ${q("b", "b_error")}`;
}

export async function presentSignificance(ctx: PresentContext<SignificanceParams>): Promise<Presentation> {
  const pr = ctx.params;
  const m = metricsOf(await ctx.output("metrics"));
  const best = obj(m, "best");
  const formula = formulaText(str(m, "formula") ?? pr.formula, pr);
  const figures: Figure[] = [
    {
      name: "Z at best cut",
      subject: pr.score,
      value: num(best, "z") ?? null,
      digits: 3,
      formula,
      detail: best
        ? `cut ${pr.score} > ${formatNumber(num(best, "threshold") ?? NaN)}: ${yieldsText(best)}`
        : `no cut has B ≥ ${formatNumber(pr.min_background)} and a finite Z`,
    },
  ];
  if (ctx.detail === "figures") return { figures, blocks: [] };

  const blocks: Block[] = [];
  const notes: string[] = [];
  const t = tableOf(await ctx.output("scan"));
  const cols = ["threshold", "s", "b", "z"].map((c) => t?.columns.get(c));
  if (!t || cols.some((c) => !c)) notes.push("the scan table is not in the store");
  else {
    const [thr, s, b, z] = cols.map((c) => numericValues(c!)) as [
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
    ];
    const valid = new Float64Array(t.numRows);
    const exX: number[] = [];
    const exY: number[] = [];
    for (let i = 0; i < t.numRows; i++) {
      const ok = b[i]! >= pr.min_background && Number.isFinite(z[i]!);
      valid[i] = ok ? z[i]! : NaN;
      if (!ok && Number.isFinite(z[i]!)) {
        exX.push(thr[i]!);
        exY.push(z[i]!);
      }
    }
    const bestThr = num(best, "threshold");
    const bestLine: Series[] =
      bestThr !== undefined
        ? [
            {
              kind: "vline",
              name: `best cut: ${pr.score} > ${formatNumber(bestThr)}`,
              x: bestThr,
              colour: "marker",
              dash: true,
            },
          ]
        : [];
    const excluded = `excluded: B < ${formatNumber(pr.min_background)}`;
    // The formula is in the note and the headline: a legend entry that long would span the frame
    // and cross the best-cut line in every corner.
    const zSeries: Series[] = [{ kind: "line", name: "Z", x: thr, y: valid, colour: 0 }];
    if (exX.length)
      zSeries.push({
        kind: "points",
        name: excluded,
        x: exX,
        y: exY,
        colour: "muted",
        excluded: new Float64Array(exX.length).fill(1),
        excludedName: excluded,
      });
    const annotations = best
      ? [`Z = ${formatNumber(num(best, "z") ?? NaN, 3)}`, yieldsText(best)]
      : ["no valid best cut"];
    blocks.push(
      {
        kind: "plot",
        id: "scan",
        port: "scan",
        title: `significance scan, ${pr.score}`,
        x: { label: `cut on ${pr.score}` },
        y: { label: "expected significance Z" },
        series: [...zSeries, ...bestLine],
        annotations,
        note:
          `Z for events with ${pr.score} above the cut (${formula}), S and B after the stage's corrections.` +
          (exX.length
            ? ` ${exX.length} cut(s) with B below ${formatNumber(pr.min_background)} cannot be the best cut and are drawn apart, not joined to the curve.`
            : ""),
        summary: { rank: 20 },
      },
      {
        kind: "plot",
        id: "yields",
        port: "scan",
        title: `S and B above the cut, ${pr.score}`,
        x: { label: `cut on ${pr.score}` },
        y: { label: "events above the cut", log: true },
        series: [
          { kind: "line", name: "signal S", x: thr, y: s, colour: "signal" },
          { kind: "line", name: "background B", x: thr, y: b, colour: "background" },
          ...bestLine,
        ],
        note: "Weighted yields above each cut, corrected as for Z (oversampling, evaluated fraction, signal scale).",
        summary: { rank: 21 },
      },
    );
  }
  const rows: Cell[][] = [];
  const formulas = Object.keys(obj(best ?? obj(m, "no_cut"), "z_by_formula") ?? {});
  for (const [name, point] of [
    ["best cut", best],
    ["no cut", obj(m, "no_cut")],
  ] as const) {
    if (!point) continue;
    rows.push([
      name,
      name === "no cut" ? "—" : (num(point, "threshold") ?? null),
      {
        value: num(point, "s") ?? null,
        ...(num(point, "s_error") !== undefined ? { error: num(point, "s_error")! } : {}),
      },
      {
        value: num(point, "b") ?? null,
        ...(num(point, "b_error") !== undefined ? { error: num(point, "b_error")! } : {}),
      },
      ...formulas.map((f) => num(point, "z_by_formula", f) ?? null),
    ]);
  }
  if (rows.length)
    blocks.push({
      kind: "table",
      id: "best-cut",
      port: "metrics",
      title: "best cut and no cut",
      columns: [
        { name: "" },
        { name: `cut: ${pr.score} >` },
        { name: "S" },
        { name: "B" },
        ...formulas.map((f) => ({ name: `Z ${f}` })),
      ],
      rows,
      rowHeaders: true,
      note: `Best cut by ${formula}. Errors: √Σw² of the selected events, corrected as S and B. ${str(m, "uncertainties")?.includes("oversampling") ? "Copies made by oversampling count as independent events, so the signal error is understated." : ""}`.trim(),
    });
  return { figures, blocks, notes };
}
