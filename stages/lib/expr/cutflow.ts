/**
 * Cut-flow bookkeeping for `select`: rows and sum of weights per class after each step, and the
 * efficiencies (raw and weighted) relative to the previous step and to the input, in the layout
 * TMVA prints. Counting is columnar: one pass over a block's survivors per step.
 */
import type { JsonObject } from "../../../core/json.js";
import type { Column } from "../../../core/table.js";

/** Per-row class slot: 0..K-1 for the K classes, K for rows whose label is missing. */
export interface ClassIndex {
  readonly names: readonly string[];
  /** The label value of each class, to match `limit_per_class` keys. */
  readonly values: readonly (number | string)[];
  /** Slot per row, or undefined when there is no label column (every row in slot 0 = K). */
  readonly slot: Int32Array | undefined;
}

export const MAX_CLASSES = 1000;

/** Classes of a label column: numeric labels in ascending order, strings in dictionary order. */
export function classIndex(col: Column | undefined, numRows: number): ClassIndex | { tooMany: number } {
  if (col === undefined) return { names: [], values: [], slot: undefined };
  const slot = new Int32Array(numRows);
  if (col.type === "dict") {
    const used = new Uint8Array(col.dictionary.length);
    for (let i = 0; i < numRows; i++) {
      const c = col.codes[i]!;
      if (c >= 0) used[c] = 1;
    }
    const remap = new Int32Array(col.dictionary.length);
    const values: string[] = [];
    for (let c = 0; c < used.length; c++) if (used[c]) remap[c] = values.push(col.dictionary[c]!) - 1;
    if (values.length > MAX_CLASSES) return { tooMany: values.length };
    const k = values.length;
    for (let i = 0; i < numRows; i++) {
      const c = col.codes[i]!;
      slot[i] = c < 0 ? k : remap[c]!;
    }
    return { names: values, values, slot };
  }
  const distinct = new Set<number>();
  for (let i = 0; i < numRows; i++) {
    const v = col.values[i]!;
    if (v === v) {
      distinct.add(v);
      if (distinct.size > MAX_CLASSES) return { tooMany: distinct.size };
    }
  }
  const values = [...distinct].sort((a, b) => a - b);
  const index = new Map(values.map((v, i) => [v, i]));
  const k = values.length;
  for (let i = 0; i < numRows; i++) {
    const v = col.values[i]!;
    slot[i] = v === v ? index.get(v)! : k;
  }
  return { names: values.map(String), values, slot };
}

/** Rows and Σw per slot (K classes + 1 slot for a missing label). */
export class Tally {
  readonly rows: Float64Array;
  readonly weight: Float64Array;
  constructor(slots: number) {
    this.rows = new Float64Array(slots);
    this.weight = new Float64Array(slots);
  }

  /** Adds rows start+i where alive[i] is set. NaN weights count as 0 (reported by the stage). */
  add(
    alive: Uint8Array,
    start: number,
    n: number,
    slot: Int32Array | undefined,
    w: Float64Array | undefined,
  ): void {
    const fallback = this.rows.length - 1;
    for (let i = 0; i < n; i++) {
      if (alive[i] === 0) continue;
      const r = start + i;
      const s = slot === undefined ? fallback : slot[r]!;
      this.rows[s]! += 1;
      const wi = w === undefined ? 1 : w[r]!;
      if (wi === wi) this.weight[s]! += wi;
    }
  }

  get totalRows(): number {
    return this.rows.reduce((a, b) => a + b, 0);
  }
  get totalWeight(): number {
    return this.weight.reduce((a, b) => a + b, 0);
  }
}

export interface CutflowStep {
  readonly name: string;
  readonly kind: "cut" | "limit_per_class" | "head";
  /** Canonical text of the cut expression. */
  readonly expression?: string;
  readonly after: Tally;
}

const ratio = (a: number, b: number): number | null => (b === 0 ? null : a / b);

function counts(t: Tally, names: readonly string[]): JsonObject {
  const classes: JsonObject = {};
  names.forEach((name, i) => (classes[name] = { rows: t.rows[i]!, weight: t.weight[i]! }));
  const missing = t.rows[names.length]!;
  if (names.length > 0 && missing > 0)
    classes["(missing)"] = { rows: missing, weight: t.weight[names.length]! };
  return { rows: t.totalRows, weight: t.totalWeight, classes };
}

function efficiency(after: Tally, before: Tally, names: readonly string[]): JsonObject {
  const classes: JsonObject = {};
  names.forEach(
    (name, i) =>
      (classes[name] = {
        rows: ratio(after.rows[i]!, before.rows[i]!),
        weight: ratio(after.weight[i]!, before.weight[i]!),
      }),
  );
  return {
    rows: ratio(after.totalRows, before.totalRows),
    weight: ratio(after.totalWeight, before.totalWeight),
    classes,
  };
}

/** The cutflow metrics document (see docs/stages/select.md for its layout). */
export function cutflowMetrics(
  input: Tally,
  steps: readonly CutflowStep[],
  names: readonly string[],
  label: string | undefined,
  weight: string | undefined,
): JsonObject {
  let before = input;
  const out: JsonObject[] = [];
  for (const s of steps) {
    out.push({
      name: s.name,
      kind: s.kind,
      ...(s.expression !== undefined ? { expression: s.expression } : {}),
      before: counts(before, names),
      after: counts(s.after, names),
      efficiency: efficiency(s.after, before, names),
      cumulative: efficiency(s.after, input, names),
    });
    before = s.after;
  }
  return {
    label: label ?? null,
    weight: weight ?? null,
    classes: [...names],
    input: counts(input, names),
    steps: out,
    output: counts(before, names),
  };
}

const text = (v: unknown): string => (typeof v === "string" ? v : JSON.stringify(v ?? null));
const fmtRows = (v: number) => String(v);
const fmtWeight = (v: number) => String(Number(v.toPrecision(6)));
const fmtEff = (v: number | null) => (v === null ? "-" : v.toFixed(4));

/**
 * The cut flow as text lines, TMVA style: one block per step, one line per class.
 * Works from the metrics document alone, so `quiver show` can print a cached result.
 */
export function formatCutflow(m: JsonObject): string[] {
  const steps = Array.isArray(m.steps) ? (m.steps as JsonObject[]) : [];
  const classes = Array.isArray(m.classes) ? (m.classes as string[]) : [];
  const header = [
    "step",
    "class",
    "rows before",
    "rows after",
    "eff",
    "cum eff",
    "Σw before",
    "Σw after",
    "eff(w)",
    "cum eff(w)",
  ];
  const table: string[][] = [header];
  const num = (o: unknown, k: string): number => {
    const v = (o as Record<string, unknown> | undefined)?.[k];
    return typeof v === "number" ? v : 0;
  };
  const eff = (o: unknown, k: string): number | null => {
    const v = (o as Record<string, unknown> | undefined)?.[k];
    return typeof v === "number" ? v : null;
  };
  const pick = (o: unknown, cls: string | undefined): unknown =>
    cls === undefined ? o : ((o as Record<string, Record<string, unknown>>).classes ?? {})[cls];
  for (const s of steps) {
    const rows = classes.length > 0 ? [undefined, ...classes] : [undefined];
    rows.forEach((cls, i) => {
      const b = pick(s.before, cls);
      const a = pick(s.after, cls);
      const e = pick(s.efficiency, cls);
      const c = pick(s.cumulative, cls);
      table.push([
        i === 0 ? text(s.name) : "",
        cls ?? "all",
        fmtRows(num(b, "rows")),
        fmtRows(num(a, "rows")),
        fmtEff(eff(e, "rows")),
        fmtEff(eff(c, "rows")),
        fmtWeight(num(b, "weight")),
        fmtWeight(num(a, "weight")),
        fmtEff(eff(e, "weight")),
        fmtEff(eff(c, "weight")),
      ]);
    });
  }
  const widths = header.map((_, j) => Math.max(...table.map((r) => r[j]!.length)));
  const lines = table.map((r) =>
    r
      .map((cell, j) => (j < 2 ? cell.padEnd(widths[j]!) : cell.padStart(widths[j]!)))
      .join("  ")
      .trimEnd(),
  );
  const title = `cut flow (label: ${m.label === null ? "none" : text(m.label)}, weight: ${m.weight === null ? "none, Σw counts rows" : text(m.weight)})`;
  const exprs = steps
    .filter((s) => typeof s.expression === "string" && s.expression !== s.name)
    .map((s) => `  ${text(s.name)}: ${text(s.expression)}`);
  return [title, ...lines, ...(exprs.length ? ["where", ...exprs] : [])];
}
