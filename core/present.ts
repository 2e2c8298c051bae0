/**
 * Presentation data: what the report and `show` draw and print for a stage's outputs, as plain
 * data. A stage's `present` hook (core/stage.ts) returns a `Presentation`; report/ renders it to
 * HTML and SVG and the command line to aligned text. The renderers know no stage names, no physics
 * words and no label rules: every title, unit, scale, band, marker, verdict and number format is
 * decided by the producer, here as data.
 *
 * What this module does not do: compute anything from tables (stages/lib/present/ helps stages
 * with that) or decide where things go on a page (the renderers do, from `summary` ranks).
 */
import type { JsonObject, JsonValue } from "./json.js";
import type { Table } from "./table.js";

/** How a value reads: good (compatible, passes), warn (look at it), bad (fails), neutral. */
export type Tone = "good" | "warn" | "bad" | "neutral";

export interface Verdict {
  readonly text: string;
  readonly tone: Tone;
}

/** A number as a physicist quotes it: value ± error [unit], to a few significant digits. */
export interface Quantity {
  /** null: not defined (NaN, no events, not computed). */
  readonly value: number | null;
  /** One standard deviation, or the spread the producer names in a note. */
  readonly error?: number | undefined;
  readonly unit?: string | undefined;
  /** Significant digits of the value (default 4); the error gets two. */
  readonly digits?: number | undefined;
}

/** A headline figure: a number a stage wants quoted at the end of a run and atop the report. */
export interface Figure extends Quantity {
  /** What it is: "AUC", "Z at best cut", "KS p-value", "accuracy", "val_loss". */
  readonly name: string;
  /** What it is of: a score column, a model, "nn · signal". */
  readonly subject?: string | undefined;
  /** How it is computed, in the notation physicists write: "Z = S/√(B + ε_B)". */
  readonly formula?: string | undefined;
  readonly verdict?: Verdict | undefined;
  /** One line of context: "cut nn > 0.83: S = 12.1 ± 0.4, B = 40 ± 3". */
  readonly detail?: string | undefined;
}

/** A table cell: text, a plain number, a quantity (value ± error unit) or a verdict. */
export type Cell = null | string | number | Quantity | Verdict;

export function isVerdict(c: Cell): c is Verdict {
  return typeof c === "object" && c !== null && "tone" in c && "text" in c;
}

export function isQuantity(c: Cell): c is Quantity {
  return typeof c === "object" && c !== null && "value" in c;
}

export interface TableColumn {
  readonly name: string;
  readonly unit?: string | undefined;
  /** Numbers align right by default, text left. */
  readonly align?: "left" | "right" | undefined;
}

/** Where a block goes and how it is shared; common to every block. */
export interface BlockBase {
  /** Stable within the stage (the report writes `data-block="<stage>:<id>"`). */
  readonly id: string;
  readonly title: string;
  /** A caption: what is drawn and how (normalisation, folded overflow, which weights). */
  readonly note?: string | undefined;
  /**
   * In the results summary at the top of the report, ordered by `rank` (lower first). Plots with
   * the same `merge` key from several stages are drawn as one (series of each stage named after
   * it). Without `summary` the block is in the stage's details.
   */
  readonly summary?: { readonly rank: number; readonly merge?: string | undefined } | undefined;
  /**
   * Blocks with the same key, from any stage, are drawn once, where first met; later stages point
   * to it (e.g. the input variables of a table several models train on).
   */
  readonly shared?: string | undefined;
  /** Shown folded: details a reader opens. */
  readonly folded?: boolean | undefined;
  /** The output port the block shows; that port's default block is then folded. */
  readonly port?: string | undefined;
}

export interface TableBlock extends BlockBase {
  readonly kind: "table";
  readonly columns: readonly TableColumn[];
  readonly rows: readonly (readonly Cell[])[];
  /** The first cell of each row names the row. */
  readonly rowHeaders?: boolean | undefined;
  /** Rows of the whole data when `rows` is a preview. */
  readonly totalRows?: number | undefined;
}

export interface KeyValueGroup {
  readonly title?: string | undefined;
  readonly entries: readonly (readonly [string, Cell])[];
}

/** Named values in groups (a metrics object, a model's facts). */
export interface KeyValueBlock extends BlockBase {
  readonly kind: "keyvalue";
  readonly groups: readonly KeyValueGroup[];
}

export interface TextBlock extends BlockBase {
  readonly kind: "text";
  readonly text: string;
  readonly tone?: Tone | undefined;
}

/** Horizontal bars with error bars, largest first as given (feature importance). */
export interface BarsBlock extends BlockBase {
  readonly kind: "bars";
  /** The value axis. */
  readonly axis: Axis;
  readonly bars: readonly {
    readonly label: string;
    readonly value: number;
    readonly error?: number | undefined;
  }[];
}

/** A square matrix drawn as coloured cells with their values (correlations). */
export interface MatrixBlock extends BlockBase {
  readonly kind: "matrix";
  readonly labels: readonly string[];
  /** Row-major, labels.length² values; NaN is drawn as an empty cell. */
  readonly values: ArrayLike<number>;
  /** Colour scale: diverging (blue − 0 + red) over [-range, range], or sequential over [0, range]. */
  readonly scale: "diverging" | "sequential";
  readonly range: number;
  readonly digits?: number | undefined;
}

export interface Axis {
  readonly label: string;
  /** Written after the label in brackets, as physics plots do: `m_ll [GeV]`. */
  readonly unit?: string | undefined;
  readonly log?: boolean | undefined;
  readonly min?: number | undefined;
  readonly max?: number | undefined;
  /** Ticks only at integers (epochs, counts). */
  readonly integer?: boolean | undefined;
}

/** A palette index, or a role the renderer maps to its colours. */
export type Colour = number | "signal" | "background" | "muted" | "marker";

export type Series =
  | {
      readonly kind: "line";
      readonly name: string;
      readonly x: ArrayLike<number>;
      readonly y: ArrayLike<number>;
      readonly colour: Colour;
      readonly dash?: boolean | undefined;
      /** The same in every plot merged with this one: kept once and not renamed. */
      readonly common?: boolean | undefined;
    }
  /** A histogram: `edges` has one more entry than `values`. */
  | {
      readonly kind: "step";
      readonly name: string;
      readonly edges: ArrayLike<number>;
      readonly values: ArrayLike<number>;
      readonly colour: Colour;
      readonly fill?: boolean | undefined;
      readonly hatch?: boolean | undefined;
    }
  /** Histograms drawn stacked, the first at the bottom (yields by sample). */
  | {
      readonly kind: "stack";
      readonly edges: ArrayLike<number>;
      readonly layers: readonly {
        readonly name: string;
        readonly values: ArrayLike<number>;
        readonly colour: Colour;
      }[];
    }
  /**
   * Points with error bars. Points flagged in `excluded` (1) are drawn hollow and grey, apart
   * from the valid ones, and named `excludedName` in the legend.
   */
  | {
      readonly kind: "points";
      readonly name: string;
      readonly x: ArrayLike<number>;
      readonly y: ArrayLike<number>;
      readonly yerr?: ArrayLike<number> | undefined;
      readonly colour: Colour;
      readonly excluded?: ArrayLike<number> | undefined;
      readonly excludedName?: string | undefined;
    }
  /** A shaded band between `lo` and `hi` (a spread over folds, an uncertainty). */
  | {
      readonly kind: "band";
      readonly name: string;
      readonly x: ArrayLike<number>;
      readonly lo: ArrayLike<number>;
      readonly hi: ArrayLike<number>;
      readonly colour: Colour;
    }
  /** A vertical marker line (a best cut, a best epoch). */
  | {
      readonly kind: "vline";
      readonly name: string;
      readonly x: number;
      readonly colour: Colour;
      readonly dash?: boolean | undefined;
    }
  /** Labelled markers at points (working points on a curve). */
  | {
      readonly kind: "markers";
      readonly name: string;
      readonly x: ArrayLike<number>;
      readonly y: ArrayLike<number>;
      readonly labels?: readonly string[] | undefined;
      readonly colour: Colour;
    };

export type LegendPlace = "top-right" | "top-left" | "bottom-right" | "bottom-left";

export interface PlotBlock extends BlockBase {
  readonly kind: "plot";
  readonly x: Axis;
  readonly y: Axis;
  readonly series: readonly Series[];
  /** Default: the renderer picks the corner where the legend covers the least data. */
  readonly legend?: LegendPlace | undefined;
  /** Short lines drawn inside the frame under the experiment label ("signal: label = 1"). */
  readonly annotations?: readonly string[] | undefined;
  readonly size?: "small" | "medium" | "wide" | undefined;
}

export type Block = TableBlock | KeyValueBlock | TextBlock | BarsBlock | MatrixBlock | PlotBlock;

export interface Presentation {
  readonly figures: readonly Figure[];
  readonly blocks: readonly Block[];
  /** Why something expected is missing, said rather than silently dropped. */
  readonly notes?: readonly string[] | undefined;
}

export const emptyPresentation: Presentation = { figures: [], blocks: [] };

/** An input table with its columns in the values physicists read (before any rescaling upstream). */
export interface PhysicalTable {
  readonly table: Table;
  /** Columns whose values were taken from upstream, before a rescaling. */
  readonly restored: readonly string[];
  /** Columns known to be rescaled whose values before it are no longer in the store. */
  readonly scaled: readonly string[];
  /** Identity of the rows and values drawn: equal ids draw equal plots (used in `shared` keys). */
  readonly id: string;
  /** Where the values come from (`stage.port`). */
  readonly from: string;
}

// ---- number formatting shared by every renderer (so text and HTML print the same digits) ----

/** A number to `digits` significant digits, exponent form for very small or large magnitudes. */
export function formatNumber(v: number, digits = 4): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? "NaN" : v > 0 ? "∞" : "−∞";
  if (Number.isInteger(v) && Math.abs(v) < 1e9) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e7)) return v.toExponential(Math.max(0, digits - 1)).replace("e+", "e");
  return String(Number(v.toPrecision(digits)));
}

/** value ± error unit, the error to two significant digits and the value to the same decimals. */
export function formatQuantity(q: Quantity): string {
  if (q.value === null) return "—";
  const unit = q.unit ? ` ${q.unit}` : "";
  if (q.error === undefined || !Number.isFinite(q.error) || q.error <= 0) {
    // Asked-for digits are kept, trailing zeros included (0.9500, not 0.95), as tables quote them.
    const a = Math.abs(q.value);
    if (
      q.digits !== undefined &&
      Number.isFinite(q.value) &&
      !Number.isInteger(q.value) &&
      a >= 1e-3 &&
      a < 1e7
    )
      return `${q.value.toPrecision(q.digits)}${unit}`;
    return `${formatNumber(q.value, q.digits ?? 4)}${unit}`;
  }
  const e = q.error;
  const a = Math.max(Math.abs(q.value), e);
  if (a !== 0 && (a < 1e-3 || a >= 1e7))
    return `${formatNumber(q.value, q.digits ?? 4)} ± ${formatNumber(e, 2)}${unit}`;
  const decimals = Math.min(12, Math.max(0, 1 - Math.floor(Math.log10(e))));
  return `${q.value.toFixed(decimals)} ± ${e.toFixed(decimals)}${unit}`;
}

export function formatCell(c: Cell): string {
  if (c === null) return "·";
  if (typeof c === "string") return c;
  if (typeof c === "number") return formatNumber(c);
  if (isVerdict(c)) return c.text;
  return formatQuantity(c);
}

/** An axis title with its unit in brackets, as physics plots write it: `lep1_pt [GeV]`. */
export function axisTitle(a: Axis): string {
  return a.unit ? `${a.label} [${a.unit}]` : a.label;
}

// ---- JSON form (show --json, results --json) ----

/** The presentation as JSON: typed arrays become arrays, non-finite numbers null. */
export function presentationJson(p: Presentation): JsonObject {
  return toJson(p) as JsonObject;
}

function toJson(v: unknown): JsonValue {
  if (v === null || v === undefined) return null;
  if (typeof v === "number") return Number.isFinite(v) ? v : null;
  if (typeof v === "string" || typeof v === "boolean") return v;
  if (ArrayBuffer.isView(v) && !(v instanceof DataView))
    return Array.from(v as unknown as ArrayLike<number>, (x) => (Number.isFinite(x) ? x : null));
  if (Array.isArray(v)) return v.map(toJson);
  if (typeof v === "object") {
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>))
      if (x !== undefined) out[k] = toJson(x);
    return out;
  }
  return null;
}
