/**
 * The presentation of `metrics`: the accuracy of each score as a headline figure, the threshold
 * metrics as a table, and each score's confusion matrix as a 2×2 table (true class by predicted
 * class, with the fraction of each true class).
 */
import type { Block, Figure, Presentation } from "../../../core/present.js";
import { formatNumber } from "../../../core/present.js";
import type { PresentContext } from "../../../core/stage.js";
import { at, metricsOf, num, obj } from "./read.js";

export interface ClassificationParams {
  readonly scores: readonly string[];
  readonly threshold: number;
  readonly weight?: string | undefined;
}

export async function presentClassification(
  ctx: PresentContext<ClassificationParams>,
): Promise<Presentation> {
  const pr = ctx.params;
  const m = metricsOf(await ctx.output("metrics"));
  const scores = obj(m, "scores") ?? {};
  const how = `predicted signal when the score ≥ ${formatNumber(pr.threshold)}${pr.weight ? `, weighted by ${pr.weight}` : ""}`;
  const figures: Figure[] = pr.scores.map((name) => ({
    name: "accuracy",
    subject: name,
    value: num(scores, name, "accuracy") ?? null,
    digits: 4,
    detail: how,
  }));
  if (ctx.detail === "figures") return { figures, blocks: [] };
  const blocks: Block[] = [
    {
      kind: "table",
      id: "classification",
      port: "metrics",
      title: "classification at the threshold",
      columns: [
        { name: "score" },
        { name: "accuracy" },
        { name: "precision" },
        { name: "recall" },
        { name: "F1" },
        { name: "binary cross-entropy" },
      ],
      rows: pr.scores.map((name) => [
        name,
        ...["accuracy", "precision", "recall", "f1", "binary_cross_entropy"].map(
          (k) => num(scores, name, k) ?? null,
        ),
      ]),
      rowHeaders: true,
      note: `${how[0]!.toUpperCase()}${how.slice(1)}.`,
    },
  ];
  for (const name of pr.scores) {
    const c = obj(scores, name, "confusion");
    if (!c) continue;
    const tn = num(c, "tn") ?? NaN;
    const fp = num(c, "fp") ?? NaN;
    const fn = num(c, "fn") ?? NaN;
    const tp = num(c, "tp") ?? NaN;
    const share = (v: number, total: number) => (total > 0 ? ` (${((100 * v) / total).toFixed(1)} %)` : "");
    blocks.push({
      kind: "table",
      id: `confusion:${name}`,
      port: "metrics",
      title: `confusion matrix, ${name}`,
      columns: [{ name: "true \\ predicted" }, { name: "background" }, { name: "signal" }],
      rows: [
        [
          "background",
          `${formatNumber(tn)}${share(tn, tn + fp)}`,
          `${formatNumber(fp)}${share(fp, tn + fp)}`,
        ],
        ["signal", `${formatNumber(fn)}${share(fn, fn + tp)}`, `${formatNumber(tp)}${share(tp, fn + tp)}`],
      ],
      rowHeaders: true,
      note: `${at(m, "weighted") === true ? "Σw" : "Events"} by true class (rows) and predicted class (columns), ${how}; in brackets the share of the true class.`,
    });
  }
  return { figures, blocks };
}
