/**
 * The presentation of `importance`: the permutation importance of each feature as bars with the
 * spread over shuffles, the model kind's own importance beside it (as a share of the total), and
 * both in one ranking table.
 */
import type { Block, Cell, Presentation } from "../../../core/present.js";
import type { PresentContext } from "../../../core/stage.js";
import { at, metricsOf, num, obj, str } from "./read.js";

const METRIC_NAMES: Record<string, string> = {
  auc: "AUC",
  accuracy: "accuracy",
  neg_log_loss: "−log-loss",
};

function share(v: unknown, total: number): string | null {
  return total > 0 && typeof v === "number" ? `${((100 * v) / total).toFixed(1)} %` : null;
}

export async function presentImportance(ctx: PresentContext<unknown>): Promise<Presentation> {
  if (ctx.detail === "figures") return { figures: [], blocks: [] };
  const m = metricsOf(await ctx.output("metrics"));
  const perm = obj(m, "permutation");
  if (!m || !perm) return { figures: [], blocks: [], notes: ["the importance metrics are not in the store"] };
  const metric = METRIC_NAMES[str(m, "metric") ?? ""] ?? str(m, "metric") ?? "metric";
  const repeats = num(m, "repeats");
  const features = Object.keys(perm).sort(
    (a, b) => (num(perm, b, "mean") ?? 0) - (num(perm, a, "mean") ?? 0),
  );
  const own = obj(m, "kind");
  const values = obj(own, "values") ?? {};
  const total = Object.values(values).reduce<number>((a, v) => a + (typeof v === "number" ? v : 0), 0);
  const blocks: Block[] = [
    {
      kind: "bars",
      id: "permutation",
      port: "metrics",
      title: `permutation importance (${metric})`,
      axis: { label: `decrease of ${metric} when the feature is shuffled` },
      bars: features.map((f) => ({
        label: f,
        value: num(perm, f, "mean") ?? NaN,
        ...(num(perm, f, "std") !== undefined ? { error: num(perm, f, "std")! } : {}),
      })),
      note: `Baseline ${metric} ${num(m, "baseline")?.toFixed(4) ?? "?"} on ${num(m, "rows") ?? "?"} rows; bars: the mean decrease over ${repeats ?? "?"} shuffles, error bars: their standard deviation.`,
    },
  ];
  if (own && total > 0)
    blocks.push({
      kind: "bars",
      id: "kind",
      port: "metrics",
      title: "model's own importance",
      axis: { label: "share of the total" },
      bars: Object.entries(values)
        .map(([label, v]) => ({ label, value: typeof v === "number" ? v / total : NaN }))
        .sort((a, b) => b.value - a.value),
      note: `${str(own, "method") ?? ""}`,
    });
  const rows: Cell[][] = features.map((f, i) => [
    f,
    i + 1,
    {
      value: num(perm, f, "mean") ?? null,
      ...(num(perm, f, "std") !== undefined ? { error: num(perm, f, "std")! } : {}),
    },
    ...(own ? [share(at(values, f), total)] : []),
  ]);
  blocks.push({
    kind: "table",
    id: "ranking",
    port: "metrics",
    title: "feature ranking",
    columns: [
      { name: "feature" },
      { name: "rank" },
      { name: `Δ${metric} (mean ± std)` },
      ...(own ? [{ name: "own importance" }] : []),
    ],
    rows,
    rowHeaders: true,
  });
  return { figures: [], blocks };
}
