/**
 * What a training stage shows: loss curves (per fold for k-fold) with the best epoch and the early
 * stop marked, the model as its kind describes it (structure, parameters, the kind's own feature
 * importance), and the figures of a k-fold (mean ± std over folds).
 */
import type { JsonObject } from "../../../core/json.js";
import type { Block, Figure, PlotBlock, Series } from "../../../core/present.js";
import { numericValues, type Column, type Table } from "../../../core/table.js";
import type { ModelArtifact } from "../../../core/stage.js";
import type { ModelKinds } from "../models/index.js";
import { at, num } from "./read.js";

/** Rows of each fold (one group without a fold column). */
function folds(t: Table): { fold: number | undefined; rows: number[] }[] {
  const fc = t.columns.get("fold");
  if (!fc) return [{ fold: undefined, rows: Array.from({ length: t.numRows }, (_, i) => i) }];
  const fv = numericValues(fc);
  const by = new Map<number, number[]>();
  for (let i = 0; i < t.numRows; i++) {
    const f = fv[i]!;
    let list = by.get(f);
    if (!list) by.set(f, (list = []));
    list.push(i);
  }
  return [...by.entries()].sort((a, b) => a[0] - b[0]).map(([fold, rows]) => ({ fold, rows }));
}

function pick(c: Column, rows: readonly number[]): Float64Array {
  const v = numericValues(c);
  return Float64Array.from(rows, (i) => v[i]!);
}

/** Best epoch and early stop of one model (train metrics) or of each fold (kfold metrics.folds). */
export interface StopInfo {
  readonly best?: number | undefined;
  readonly epochsRun?: number | undefined;
  readonly stoppedEarly?: boolean | undefined;
  readonly restored?: boolean | undefined;
}

export function stopInfo(m: JsonObject | undefined): StopInfo {
  const stopped = at(m, "stopped_early");
  const restored = at(m, "restored_best");
  return {
    best: num(m, "best_epoch"),
    epochsRun: num(m, "epochs_run"),
    ...(typeof stopped === "boolean" ? { stoppedEarly: stopped } : {}),
    ...(typeof restored === "boolean" ? { restored } : {}),
  };
}

/** Loss and validation loss per epoch (per tree for boosted trees), one pair of lines per fold. */
export function lossPlot(history: Table, stops: readonly StopInfo[]): PlotBlock | undefined {
  const xName = history.columns.has("epoch") ? "epoch" : history.columns.has("tree") ? "tree" : undefined;
  if (!xName || history.numRows === 0) return undefined;
  const xc = history.columns.get(xName)!;
  const loss = history.columns.get("loss");
  const vloss = history.columns.get("val_loss");
  const groups = folds(history);
  const series: Series[] = [];
  const bestX: number[] = [];
  const bestY: number[] = [];
  const notes: string[] = [];
  for (const [gi, g] of groups.entries()) {
    const xs = pick(xc, g.rows);
    const suffix = g.fold === undefined ? "" : ` (fold ${g.fold + 1})`;
    const single = groups.length === 1;
    if (loss)
      series.push({
        kind: "line",
        name: `loss${suffix}`,
        x: xs,
        y: pick(loss, g.rows),
        colour: single ? 0 : gi,
      });
    const vy = vloss ? pick(vloss, g.rows) : undefined;
    if (vy?.some(Number.isFinite))
      series.push({
        kind: "line",
        name: `val_loss${suffix}`,
        x: xs,
        y: vy,
        colour: single ? 1 : gi,
        dash: true,
      });
    const stop = stops[gi];
    if (stop?.best !== undefined && vy) {
      const k = xs.indexOf(stop.best);
      if (k >= 0) {
        bestX.push(stop.best);
        bestY.push(vy[k]!);
      }
    }
    if (stop?.best !== undefined || stop?.stoppedEarly)
      notes.push(
        `${g.fold === undefined ? "" : `fold ${g.fold + 1}: `}best epoch ${stop.best ?? "—"}` +
          (stop.stoppedEarly ? `, stopped early after epoch ${stop.epochsRun ?? xs[xs.length - 1]}` : "") +
          (stop.restored ? " (weights of the best epoch restored)" : ""),
      );
  }
  if (!series.length) return undefined;
  const single = groups.length === 1 ? stops[0] : undefined;
  if (single?.best !== undefined)
    series.push({
      kind: "vline",
      name: `best epoch ${single.best}${single.restored ? " (restored)" : ""}`,
      x: single.best,
      colour: "marker",
    });
  else if (bestX.length)
    series.push({ kind: "markers", name: "best epoch of each fold", x: bestX, y: bestY, colour: "marker" });
  if (single?.stoppedEarly && single.epochsRun !== undefined)
    series.push({
      kind: "vline",
      name: `early stop (epoch ${single.epochsRun})`,
      x: single.epochsRun,
      colour: "muted",
      dash: true,
    });
  return {
    kind: "plot",
    id: "loss",
    port: "history",
    title: "training loss",
    x: { label: xName === "tree" ? "boosting iteration (trees)" : "epoch", integer: true },
    y: { label: "loss (binary cross-entropy)" },
    series,
    ...(notes.length ? { note: notes.join("; ") + "." } : {}),
  };
}

/** The model as its kind describes it: a summary, its parts, and the kind's feature importance. */
export async function modelBlocks(kinds: ModelKinds, port: string, model: ModelArtifact): Promise<Block[]> {
  const { describeModel } = await import("../models/envelope.js");
  const d = await describeModel(kinds, model);
  const stored = Object.values(model.blobs).reduce((a, b) => a + b.length, 0);
  const blocks: Block[] = [
    {
      kind: "keyvalue",
      id: `model:${port}`,
      port,
      title: `${port} · ${d.kind} model`,
      groups: [
        {
          entries: [
            ["model", d.summary],
            ["trainer", d.trainer],
            ["parameters", d.parameters],
            ...Object.entries(d.facts).map(
              ([k, v]) => [k, typeof v === "boolean" ? (v ? "yes" : "no") : v] as const,
            ),
            ["stored", `${stored.toLocaleString("en-US")} bytes`],
          ],
        },
      ],
    },
  ];
  if (d.parts.length > 1)
    blocks.push({
      kind: "table",
      id: `model:${port}:parts`,
      title: `${port}: layers`,
      columns: [{ name: "part" }, { name: "type" }, { name: "detail" }, { name: "parameters" }],
      rows: d.parts.map((p) => [p.name, p.type, p.detail, p.parameters]),
      folded: true,
    });
  if (d.importance) {
    const bars = Object.entries(d.importance.values)
      .map(([label, value]) => ({ label, value }))
      .sort((a, b) => b.value - a.value);
    blocks.push({
      kind: "bars",
      id: `model:${port}:importance`,
      title: `feature importance (${d.kind})`,
      axis: { label: d.importance.method.split(":")[0] ?? "importance" },
      bars,
      note: `Importance as the ${d.kind} model kind measures it: ${d.importance.method}.`,
    });
  }
  return blocks;
}

/** mean ± std figures of a k-fold's metrics (`val_loss: {mean, std}` ...). */
export function foldFigures(m: JsonObject | undefined, subject: string): Figure[] {
  const out: Figure[] = [];
  const k = num(m, "k");
  for (const [key, name] of [
    ["val_auc", "val AUC"],
    ["val_accuracy", "val accuracy"],
    ["val_loss", "val loss"],
  ] as const) {
    const mean = num(m, key, "mean");
    const std = num(m, key, "std");
    if (mean === undefined) continue;
    out.push({
      name: `${name}, ${k ?? "k"}-fold mean ± std`,
      subject,
      value: mean,
      ...(std !== undefined ? { error: std } : {}),
    });
  }
  return out;
}
