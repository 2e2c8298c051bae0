/**
 * The input variables of a model as physicists look at them: one histogram per feature in its
 * physical units (values before any rescaling upstream), signal against background normalised to
 * unit area — or, where the table has a sample column, weighted yields stacked by sample —, a
 * log y axis when the contents span orders of magnitude, under- and overflow folded into the edge
 * bins; and the correlation matrices of the features for signal and for background. Shared by
 * every stage that reads the same table with the same features, so they are drawn once.
 */
import type { Block, MatrixBlock, PhysicalTable, PlotBlock, Series } from "../../../core/present.js";
import { formatNumber } from "../../../core/present.js";
import type { PresentContext } from "../../../core/stage.js";
import { numericValues, type Column, type Table } from "../../../core/table.js";
import { binaryLabels } from "../columns.js";
import { fillBySlot, foldedNote, variableEdges, wantsLogY, type Histogram } from "./hist.js";

export interface InputColumns {
  readonly features: readonly string[];
  readonly label: string;
  readonly weight?: string | undefined;
}

/** At most this many samples are stacked; more are drawn as signal vs background. */
const MAX_SAMPLES = 12;

interface Samples {
  readonly column: string;
  readonly slot: Int32Array;
  readonly names: readonly string[];
  /** Per sample: 1 when most of its rows are signal. */
  readonly signal: Uint8Array;
}

/** The sample of each row, from the first of `candidates` the table has as a text or small integer column. */
function samplesOf(t: Table, candidates: readonly string[], labels: Uint8Array): Samples | undefined {
  for (const column of candidates) {
    const c: Column | undefined = t.columns.get(column);
    if (!c) continue;
    let slot: Int32Array;
    let names: string[];
    if (c.type === "dict") {
      slot = c.codes;
      names = [...c.dictionary];
    } else {
      const v = numericValues(c);
      const distinct = new Map<number, number>();
      slot = new Int32Array(v.length);
      for (let i = 0; i < v.length; i++) {
        const x = v[i]!;
        if (!Number.isInteger(x)) return undefined;
        let k = distinct.get(x);
        if (k === undefined) {
          if (distinct.size >= MAX_SAMPLES) return undefined;
          distinct.set(x, (k = distinct.size));
        }
        slot[i] = k;
      }
      names = [...distinct.keys()].map((x) => `${column} ${x}`);
    }
    if (names.length < 2 || names.length > MAX_SAMPLES) return undefined;
    const sig = new Float64Array(names.length);
    const all = new Float64Array(names.length);
    for (let i = 0; i < slot.length; i++) {
      const s = slot[i]!;
      if (s < 0) continue;
      all[s]!++;
      sig[s]! += labels[i]!;
    }
    const signal = Uint8Array.from(names, (_, s) => (sig[s]! * 2 > all[s]! ? 1 : 0));
    return { column, slot, names, signal };
  }
  return undefined;
}

function finiteWeights(t: Table, name: string | undefined): Float64Array | undefined {
  const c = name === undefined ? undefined : t.columns.get(name);
  return c ? numericValues(c) : undefined;
}

/** Input-variable plots and correlation matrices of an input table (usually the training table). */
export async function inputBlocks(
  ctx: PresentContext<unknown>,
  port: string,
  cols: InputColumns,
): Promise<{ blocks: Block[]; notes: string[] }> {
  const phys = await ctx.physicalInput(port);
  if (!phys)
    return { blocks: [], notes: [`the ${port} table is no longer in the store, so no input distributions`] };
  // Several models reading one table share these plots: computed once per report.
  return ctx.once(`inputs:${phys.id}:${cols.label}:${cols.features.join(",")}`, () =>
    Promise.resolve(tableBlocks(ctx, phys, port, cols)),
  );
}

function tableBlocks(
  ctx: PresentContext<unknown>,
  phys: PhysicalTable,
  port: string,
  cols: InputColumns,
): { blocks: Block[]; notes: string[] } {
  const t = phys.table;
  let labels: Uint8Array;
  try {
    labels = binaryLabels(t, cols.label, { what: `${port} table` });
  } catch (e) {
    return { blocks: [], notes: [`no input distributions: ${e instanceof Error ? e.message : String(e)}`] };
  }
  const w = finiteWeights(t, cols.weight);
  const samples = samplesOf(t, ctx.sampleColumns, labels);
  const features = cols.features.filter((f) => {
    const c = t.columns.get(f);
    return c !== undefined && c.type !== "dict";
  });
  const blocks: Block[] = [];
  // Once per table: every model reading it shares the plots (drawn with the first one's weights).
  const key = `${phys.id}:${cols.label}`;
  for (const f of features) blocks.push(featurePlot(ctx, phys, f, labels, w, samples, cols, key));
  if (features.length >= 2) blocks.push(...correlationBlocks(phys, features, labels, w, key));
  return { blocks, notes: [] };
}

function featurePlot(
  ctx: PresentContext<unknown>,
  phys: PhysicalTable,
  f: string,
  labels: Uint8Array,
  w: Float64Array | undefined,
  samples: Samples | undefined,
  cols: InputColumns,
  key: string,
): PlotBlock {
  const t = phys.table;
  const x = numericValues(t.columns.get(f)!);
  const { edges, integer } = variableEdges(x);
  const scaled = phys.scaled.includes(f);
  const unit = scaled ? undefined : ctx.unit(f);
  const width = edges[1]! - edges[0]!;
  const weighted = cols.weight !== undefined && w !== undefined;
  const restored = phys.restored.includes(f) ? ` Values before rescaling, from ${phys.from}.` : "";
  let series: Series[];
  let hists: Histogram[];
  let yLabel: string;
  let yUnit: string | undefined;
  let what: string;
  if (samples) {
    hists = fillBySlot(x, edges, samples.slot, samples.names.length, { w });
    const order = samples.names
      .map((name, s) => ({ name, s, sumw: hists[s]!.sumw, signal: samples.signal[s]! }))
      .filter((o) => o.sumw !== 0);
    // Backgrounds at the bottom, the largest first; signal samples stacked on top, in blues.
    order.sort((a, b) => a.signal - b.signal || b.sumw - a.sumw);
    // One colour per sample while the palette lasts: blues for signal, the others for backgrounds.
    const free = new Set([0, 1, 2, 3, 4, 5, 6, 7]);
    const take = (preferred: readonly number[], k: number): number => {
      const c = preferred.find((x) => free.has(x)) ?? [...free][0] ?? k;
      free.delete(c);
      return c;
    };
    series = [
      {
        kind: "stack",
        edges,
        layers: order.map((o) => ({
          name: `${o.name}${o.signal ? " (signal)" : ""}`,
          values: hists[o.s]!.values,
          colour: take(o.signal ? [0, 5, 6] : [1, 2, 3, 4, 7], o.s),
        })),
      },
    ];
    yLabel = `${weighted ? "weighted events" : "events"} / ${formatNumber(width, 3)}${unit ? ` ${unit}` : ""}`;
    yUnit = undefined;
    what = `stacked by ${samples.column}${weighted ? `, weighted by ${cols.weight}` : ""}`;
  } else {
    const slot = Int32Array.from(labels);
    hists = fillBySlot(x, edges, slot, 2, { w, normalise: true });
    series = [
      { kind: "step", name: "signal", edges, values: hists[1]!.values, colour: "signal", fill: true },
      {
        kind: "step",
        name: "background",
        edges,
        values: hists[0]!.values,
        colour: "background",
        fill: true,
        hatch: true,
      },
    ];
    yLabel = `1/N dN/d${f}`;
    yUnit = unit ? `1/${unit}` : undefined;
    what = `signal (${cols.label} = 1) and background, each normalised to unit area${weighted ? `, weighted by ${cols.weight}` : ""}`;
  }
  const log = wantsLogY(hists.map((h) => h.values));
  const folded = foldedNote(hists);
  return {
    kind: "plot",
    id: `input:${f}`,
    title: f,
    x: {
      label: scaled ? `${f} (rescaled)` : f,
      ...(unit ? { unit } : {}),
      ...(integer ? { integer: true } : {}),
    },
    y: { label: yLabel, ...(yUnit ? { unit: yUnit } : {}), ...(log ? { log: true } : {}) },
    series,
    size: samples ? "medium" : "small",
    note: `${f}: ${what}.${log ? " Log scale: the contents span three orders of magnitude or more." : ""}${folded ? ` ${folded}` : ""}${restored}`,
    shared: `input:${key}:${samples?.column ?? ""}:${f}`,
  };
}

/** Weighted Pearson correlations of the features, per class; rows with a missing value are left out. */
function correlation(
  xs: readonly Float64Array[],
  labels: Uint8Array,
  cls: number,
  w: Float64Array | undefined,
): Float64Array {
  const k = xs.length;
  const n = labels.length;
  const mean = new Float64Array(k);
  let sw = 0;
  const ok = (i: number) => {
    if (labels[i] !== cls) return false;
    for (let a = 0; a < k; a++) if (!Number.isFinite(xs[a]![i]!)) return false;
    return w === undefined || Number.isFinite(w[i]!);
  };
  const use = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (!ok(i)) continue;
    use[i] = 1;
    const wi = w ? w[i]! : 1;
    sw += wi;
    for (let a = 0; a < k; a++) mean[a] = mean[a]! + wi * xs[a]![i]!;
  }
  const out = new Float64Array(k * k).fill(NaN);
  if (!(sw > 0)) return out;
  for (let a = 0; a < k; a++) mean[a] = mean[a]! / sw;
  const cov = new Float64Array(k * k);
  const d = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    if (!use[i]) continue;
    const wi = w ? w[i]! : 1;
    for (let a = 0; a < k; a++) d[a] = xs[a]![i]! - mean[a]!;
    for (let a = 0; a < k; a++) {
      const da = wi * d[a]!;
      for (let b = a; b < k; b++) cov[a * k + b] = cov[a * k + b]! + da * d[b]!;
    }
  }
  for (let a = 0; a < k; a++)
    for (let b = a; b < k; b++) {
      const r = cov[a * k + b]! / Math.sqrt(cov[a * k + a]! * cov[b * k + b]!);
      out[a * k + b] = out[b * k + a] = Number.isFinite(r) ? r : NaN;
    }
  return out;
}

function correlationBlocks(
  phys: PhysicalTable,
  features: readonly string[],
  labels: Uint8Array,
  w: Float64Array | undefined,
  key: string,
): MatrixBlock[] {
  const xs = features.map((f) => numericValues(phys.table.columns.get(f)!));
  // Negative weights make a weighted correlation meaningless: count events then.
  const weights = w && w.every((x) => !(x < 0)) ? w : undefined;
  const how = weights ? "weighted Pearson correlation" : "Pearson correlation";
  return (
    [
      [1, "signal"],
      [0, "background"],
    ] as const
  ).map(([cls, name]) => ({
    kind: "matrix",
    id: `correlation:${name}`,
    title: `input correlations, ${name}`,
    labels: features,
    values: correlation(xs, labels, cls, weights),
    scale: "diverging",
    range: 1,
    digits: 2,
    note: `${how} of the inputs for ${name} events${w && !weights ? " (unweighted: some weights are negative)" : ""}; rows with a missing value are left out.`,
    shared: `correlation:${key}:${features.join(",")}:${name}`,
  }));
}
