/**
 * Which plots a stage gets, chosen by its type and the kinds of its outputs:
 *   train/kfold  → loss and val_loss per epoch (one line per fold when the history has a fold
 *                  column), and the input-variable distributions of its training table;
 *   roc          → ROC curves of all scores, and the background rejection 1/ε_B vs ε_S (log);
 *   ks           → classifier response, train (filled) vs test (points), KS p-values in the legend;
 *   significance → the significance scan with the best cut marked.
 */
import { own } from "../core/dict.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../core/json.js";
import type { ArtifactValue } from "../core/stage.js";
import { numericValues, type Column, type Table } from "../core/table.js";
import type { ReportData, StageInfo } from "./collect.js";
import { histogram, integerEdges, quantileRange, uniformEdges } from "./hist.js";
import { BACKGROUND, PALETTE, SIGNAL, type Plot, type Series } from "./svg.js";

export interface StagePlots {
  readonly plots: Plot[];
  /** Why an expected plot is missing, said in the report rather than silently dropped. */
  readonly notes: string[];
}

const str = (v: JsonValue | undefined): string | undefined => (typeof v === "string" ? v : undefined);
const param = (info: StageInfo, k: string): JsonValue | undefined =>
  isJsonObject(info.params) ? info.params[k] : undefined;
const strings = (v: JsonValue | undefined): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];

function tableOf(v: ArtifactValue | undefined): Table | undefined {
  return v?.kind === "table" ? v.table : undefined;
}
function metricsOf(v: ArtifactValue | undefined): JsonObject | undefined {
  return v?.kind === "metrics" ? v.metrics : undefined;
}

/** Row mask of signal (1) rows: numeric labels equal to 1, or text labels "1"/"signal"/"true". */
function signalMask(c: Column): Uint8Array {
  if (c.type === "dict") {
    const yes = c.dictionary.map((d) => ["1", "signal", "true", "sig"].includes(d.toLowerCase()));
    return Uint8Array.from(c.codes, (k) => (k >= 0 && yes[k] ? 1 : 0));
  }
  const v = c.values;
  return Uint8Array.from(v, (x) => (x === 1 ? 1 : 0));
}

export async function plotsFor(data: ReportData, info: StageInfo): Promise<StagePlots> {
  const out: StagePlots = { plots: [], notes: [] };
  if (!info.manifest) return out;
  switch (info.spec.def.type) {
    case "train":
    case "kfold":
      await lossPlots(data, info, out);
      await inputPlots(data, info, out);
      break;
    case "roc":
      await rocPlots(data, info, out);
      break;
    case "ks":
      await responsePlots(data, info, out);
      break;
    case "significance":
      await significancePlot(data, info, out);
      break;
    default:
      // Any other stage with a history table (a future trainer) still gets its loss curve.
      if ("history" in info.spec.def.outputs) await lossPlots(data, info, out);
  }
  return out;
}

async function lossPlots(data: ReportData, info: StageInfo, out: StagePlots): Promise<void> {
  if (!("history" in info.spec.def.outputs)) return;
  const t = tableOf(await data.artifact(info.id, "history"));
  if (!t || t.numRows === 0) {
    out.notes.push("the training history is empty or missing");
    return;
  }
  const xName = t.columns.has("epoch") ? "epoch" : t.columns.has("tree") ? "tree" : undefined;
  const xCol = xName ? t.columns.get(xName) : undefined;
  if (!xCol) return;
  const x = numericValues(xCol);
  const fold = t.columns.get("fold");
  const folds = fold ? [...new Set(numericValues(fold))].sort((a, b) => a - b) : [undefined];
  const series: Series[] = [];
  for (const [fi, f] of folds.entries()) {
    const rows: number[] = [];
    const fv = fold ? numericValues(fold) : undefined;
    for (let i = 0; i < t.numRows; i++) if (!fv || fv[i] === f) rows.push(i);
    const pick = (c: Column) => {
      const v = numericValues(c);
      return Float64Array.from(rows, (i) => v[i]!);
    };
    const xs = Float64Array.from(rows, (i) => x[i]!);
    const color = PALETTE[fi % PALETTE.length]!;
    const suffix = f === undefined ? "" : ` (fold ${f})`;
    const loss = t.columns.get("loss");
    const vloss = t.columns.get("val_loss");
    if (loss) series.push({ kind: "line", name: `loss${suffix}`, x: xs, y: pick(loss), color });
    if (vloss) {
      const vy = pick(vloss);
      if (vy.some(Number.isFinite))
        series.push({
          kind: "line",
          name: `val_loss${suffix}`,
          x: xs,
          y: vy,
          color: fold ? color : PALETTE[1]!,
          dash: true,
        });
    }
  }
  if (!series.length) return;
  out.plots.push({
    id: `loss:${info.id}`,
    title: `${info.id}: training loss`,
    x: { label: xName === "tree" ? "boosting iteration (trees)" : "epoch", integer: true },
    y: { label: "loss (binary cross-entropy)" },
    series,
  });
}

async function inputPlots(data: ReportData, info: StageInfo, out: StagePlots): Promise<void> {
  const port = info.spec.def.type === "kfold" ? "table" : "train";
  const t = tableOf(await data.input(info.id, port));
  const features = strings(param(info, "features"));
  if (!t) {
    out.notes.push(`the training table (${port}) is no longer in the store, so no input distributions`);
    return;
  }
  const label = t.columns.get(str(param(info, "label")) ?? "label");
  if (!label) return;
  const sig = signalMask(label);
  const wName = str(param(info, "weight"));
  const wCol = wName ? t.columns.get(wName) : undefined;
  const w = wCol ? numericValues(wCol) : undefined;
  // Values that came through a scale stage are no longer in the column's unit.
  const from = info.spec.inputs[port]?.stage;
  const scaled = from !== undefined && data.spec.stages.get(from)?.def.type === "scale";
  for (const f of features) {
    const c = t.columns.get(f);
    if (!c || c.type === "dict") continue;
    const unit = scaled ? undefined : own(data.spec.units, f);
    const x = numericValues(c);
    const edges = integerEdges(x, 30) ?? uniformEdges(...quantileRange(x, 0.005), 40);
    const hs = histogram(x, edges, { ...(w ? { w } : {}), select: (i) => sig[i] === 1, normalise: true });
    const hb = histogram(x, edges, { ...(w ? { w } : {}), select: (i) => sig[i] === 0, normalise: true });
    out.plots.push({
      id: `input:${info.id}:${f}`,
      title: `${f}${wName ? ` (weighted by ${wName})` : ""}`,
      x: { label: scaled ? `${f} (scaled)` : withUnit(f, unit) },
      y: { label: withUnit(`1/N dN/d(${f})`, unit ? `1/${unit}` : undefined) },
      width: 300,
      height: 220,
      series: [
        { kind: "step", name: "signal", edges, values: hs.values, color: SIGNAL, fill: true },
        {
          kind: "step",
          name: "background",
          edges,
          values: hb.values,
          color: BACKGROUND,
          fill: true,
          hatch: true,
        },
      ],
    });
  }
}

async function rocPlots(data: ReportData, info: StageInfo, out: StagePlots): Promise<void> {
  const t = tableOf(await data.artifact(info.id, "curve"));
  const m = metricsOf(await data.artifact(info.id, "metrics"));
  const score = t?.columns.get("score");
  const fprC = t?.columns.get("fpr");
  const tprC = t?.columns.get("tpr");
  if (!t || !score || score.type !== "dict" || !fprC || !tprC) return;
  const fpr = numericValues(fprC);
  const tpr = numericValues(tprC);
  const scores = isJsonObject(m?.scores ?? null) ? (m!.scores as JsonObject) : {};
  const roc: Series[] = [];
  const rej: Series[] = [];
  score.dictionary.forEach((name, k) => {
    const rows: number[] = [];
    for (let i = 0; i < t.numRows; i++) if (score.codes[i] === k) rows.push(i);
    const xs = Float64Array.from(rows, (i) => fpr[i]!);
    const ys = Float64Array.from(rows, (i) => tpr[i]!);
    const s = own(scores, name);
    const auc = isJsonObject(s ?? null) ? (s as JsonObject).auc : undefined;
    const color = PALETTE[k % PALETTE.length]!;
    roc.push({
      kind: "line",
      name: typeof auc === "number" ? `${name} (AUC = ${auc.toFixed(3)})` : name,
      x: xs,
      y: ys,
      color,
    });
    rej.push({ kind: "line", name, x: ys, y: Float64Array.from(xs, (v) => (v > 0 ? 1 / v : NaN)), color });
  });
  roc.push({ kind: "line", name: "random", x: [0, 1], y: [0, 1], color: "#888888", dash: true });
  out.plots.push({
    id: `roc:${info.id}`,
    title: `${info.id}: ROC curves`,
    x: { label: "background efficiency ε_B", min: 0, max: 1 },
    y: { label: "signal efficiency ε_S", min: 0, max: 1.05 },
    series: roc,
    legend: "bottom-right",
  });
  out.plots.push({
    id: `rejection:${info.id}`,
    title: `${info.id}: background rejection`,
    x: { label: "signal efficiency ε_S", min: 0, max: 1 },
    y: { label: "background rejection 1/ε_B", log: true },
    series: rej,
  });
}

async function responsePlots(data: ReportData, info: StageInfo, out: StagePlots): Promise<void> {
  const train = tableOf(await data.input(info.id, "train"));
  const test = tableOf(await data.input(info.id, "test"));
  const m = metricsOf(await data.artifact(info.id, "metrics"));
  if (!train || !test) {
    out.notes.push("the scored train/test tables are no longer in the store, so no response histograms");
    return;
  }
  const labelName = str(param(info, "label")) ?? "label";
  const wName = param(info, "weighted") === true ? str(param(info, "weight")) : undefined;
  const scores = isJsonObject(m?.scores ?? null) ? (m!.scores as JsonObject) : {};
  for (const name of strings(param(info, "scores"))) {
    const a = train.columns.get(name);
    const b = test.columns.get(name);
    const la = train.columns.get(labelName);
    const lb = test.columns.get(labelName);
    if (!a || !b || !la || !lb || a.type === "dict" || b.type === "dict") continue;
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
    const sa = signalMask(la);
    const sb = signalMask(lb);
    const pv = (cls: "signal" | "background") => {
      const s = own(scores, name);
      const c = isJsonObject(s ?? null) ? (s as JsonObject)[cls] : undefined;
      const p = isJsonObject(c ?? null) ? (c as JsonObject).p_value : undefined;
      return typeof p === "number" ? ` (KS p = ${p < 1e-3 ? p.toExponential(1) : p.toFixed(3)})` : "";
    };
    const series: Series[] = [];
    const centres = Float64Array.from(
      { length: edges.length - 1 },
      (_, i) => (edges[i]! + edges[i + 1]!) / 2,
    );
    for (const [cls, flag, color] of [
      ["signal", 1, SIGNAL],
      ["background", 0, BACKGROUND],
    ] as const) {
      const htr = histogram(xa, edges, {
        ...(wa ? { w: wa } : {}),
        select: (i) => sa[i] === flag,
        normalise: true,
      });
      const hte = histogram(xb, edges, {
        ...(wb ? { w: wb } : {}),
        select: (i) => sb[i] === flag,
        normalise: true,
      });
      series.push(
        {
          kind: "step",
          name: `${cls} train`,
          edges,
          values: htr.values,
          color,
          fill: true,
          hatch: flag === 0,
        },
        { kind: "points", name: `${cls} test${pv(cls)}`, x: centres, y: hte.values, yerr: hte.errors, color },
      );
    }
    out.plots.push({
      id: `response:${info.id}:${name}`,
      title: `${info.id}: ${name} response, train vs test${wName ? ` (weighted by ${wName})` : ""}`,
      x: { label: `classifier response (${name})` },
      y: { label: "1/N dN/d(response)" },
      series,
      legend: "top-left",
      width: 480,
    });
  }
}

async function significancePlot(data: ReportData, info: StageInfo, out: StagePlots): Promise<void> {
  const t = tableOf(await data.artifact(info.id, "scan"));
  const m = metricsOf(await data.artifact(info.id, "metrics"));
  const thr = t?.columns.get("threshold");
  const z = t?.columns.get("z");
  if (!t || !thr || !z) return;
  const best = isJsonObject(m?.best ?? null) ? (m!.best as JsonObject) : undefined;
  const formula = typeof m?.formula === "string" ? m.formula : "";
  const score = str(param(info, "score")) ?? "score";
  const series: Series[] = [
    {
      kind: "line",
      name: `Z${formula ? ` (${formula})` : ""}`,
      x: numericValues(thr),
      y: numericValues(z),
      color: PALETTE[0]!,
    },
  ];
  if (best && typeof best.threshold === "number" && typeof best.z === "number")
    series.push({
      kind: "vline",
      name: `best cut: ${score} > ${fmt(best.threshold)}, Z = ${best.z.toFixed(2)}`,
      x: best.threshold,
      color: PALETTE[1]!,
    });
  out.plots.push({
    id: `significance:${info.id}`,
    title: `${info.id}: significance scan`,
    x: { label: `cut on ${score}` },
    y: { label: "expected significance Z" },
    series,
    width: 480,
  });
}

export function fmt(v: number): string {
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(3) : String(Number(v.toPrecision(4)));
}

/** An axis title with its unit in brackets, as physics plots write it: `lep1_pt [GeV]`. */
function withUnit(label: string, unit: string | undefined): string {
  return unit ? `${label} [${unit}]` : label;
}
