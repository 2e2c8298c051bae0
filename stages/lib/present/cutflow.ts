/**
 * The presentation of `select`: its cut flow as the table physicists read — one row per step (the
 * input first), the events (and Σw) left after it, per class the yield and, for a few classes,
 * the cumulative efficiency — in the results summary.
 */
import type { JsonObject, JsonValue } from "../../../core/json.js";
import type { Cell, Presentation, TableColumn } from "../../../core/present.js";
import { isJsonObject } from "../../../core/json.js";
import type { PresentContext } from "../../../core/stage.js";
import { metricsOf, num, str } from "./read.js";

/** Per-class efficiency columns are shown for at most this many classes. */
const EFFICIENCY_CLASSES = 4;

export async function presentCutflow(ctx: PresentContext<unknown>): Promise<Presentation> {
  if (ctx.detail === "figures") return { figures: [], blocks: [] };
  const m = metricsOf(await ctx.output("cutflow"));
  const steps = Array.isArray(m?.steps) ? m.steps.filter(isJsonObject) : [];
  if (!m || !steps.length) return { figures: [], blocks: [] };
  const classes = Array.isArray(m.classes) ? m.classes.map(String) : [];
  const label = str(m, "label") ?? "class";
  const weight = str(m, "weight");
  const yieldOf = (o: JsonValue | undefined, ...path: string[]) =>
    num(o, ...path, weight ? "weight" : "rows") ?? null;
  const pct = (v: number | undefined): Cell => (v === undefined ? null : `${(100 * v).toFixed(1)} %`);
  const effs = classes.length <= EFFICIENCY_CLASSES;
  const columns: TableColumn[] = [
    { name: "step" },
    { name: "selection", align: "left" },
    { name: "events" },
    ...(weight ? [{ name: `Σ${weight}` }] : []),
    { name: "cumulative eff." },
    ...classes.flatMap((c) => [
      { name: `${label} = ${c}${weight ? " Σw" : ""}` },
      ...(effs ? [{ name: `${label} = ${c} eff.` }] : []),
    ]),
  ];
  const row = (
    name: string,
    expr: string,
    after: JsonValue | undefined,
    cum: JsonObject | undefined,
  ): Cell[] => [
    name,
    expr,
    num(after, "rows") ?? null,
    ...(weight ? [num(after, "weight") ?? null] : []),
    cum ? pct(num(cum, weight ? "weight" : "rows")) : "",
    ...classes.flatMap((c) => [
      yieldOf(after, "classes", c),
      ...(effs ? [cum ? pct(num(cum, "classes", c, weight ? "weight" : "rows")) : ""] : []),
    ]),
  ];
  const rows: Cell[][] = [row("input", "", m.input, undefined)];
  for (const s of steps) {
    const cum = isJsonObject(s.cumulative ?? null) ? (s.cumulative as JsonObject) : undefined;
    rows.push(row(str(s, "name") ?? "step", str(s, "expression") ?? str(s, "kind") ?? "", s.after, cum));
  }
  return {
    figures: [],
    blocks: [
      {
        kind: "table",
        id: "cutflow",
        port: "cutflow",
        title: "cut flow",
        columns,
        rows,
        rowHeaders: true,
        note: `Events left after each step${weight ? ` and their sum of weights Σ${weight}` : ""}; efficiencies are cumulative (relative to the input)${weight ? ", weighted" : ""}.`,
        summary: { rank: 40 },
      },
    ],
  };
}
