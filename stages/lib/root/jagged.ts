/**
 * Turns branches as read (flat, jagged, text) into a flat Quiver table. Flat branches become one
 * column (a fixed-size array one column per element, `x_0 … x_{n-1}`); text becomes a dictionary
 * column; a jagged branch (one list of numbers per event) needs a rule:
 *
 * - `pad`: the first N values as `x_0 … x_{N-1}`, missing ones filled with `fill` (NaN by default);
 * - `reduce`: per-event count, sum, min, max, mean, first, last as `x_count`, `x_sum`, …
 *   (an event with no values has count 0, sum 0 and NaN for the others);
 * - `explode`: one row per value, with the event's other columns repeated and an event index.
 *   Every exploded branch of a load must have the same number of values in each event; events with
 *   none produce no row.
 */
import { StageError } from "../../../core/stage.js";
import type { Column } from "../../../core/table.js";
import { fitsInt32 } from "./objects.js";
import type { JaggedRule, Reducer } from "./rules.js";
import type { RawColumn } from "./ttree.js";

export interface NamedColumn {
  /** The output name (after `rename:`). */
  readonly name: string;
  /** The branch it came from. */
  readonly branch: string;
  readonly raw: RawColumn;
  readonly rule: JaggedRule | undefined;
}

export interface Flattened {
  readonly columns: [string, Column][];
  readonly rows: number;
  /** Per padded branch, how many events had more values than kept. */
  readonly truncated: Record<string, number>;
}

/**
 * Flattens `columns` of a table with `events` entries. `firstEvent` is the event index of this
 * file's first entry within the whole load (so exploded rows of several files stay distinct).
 */
export function flatten(
  columns: readonly NamedColumn[],
  events: number,
  opts: { readonly file: string; readonly firstEvent: number; readonly indexName: string },
): Flattened {
  const exploded = columns.filter((c) => c.rule?.kind === "explode" && c.raw.kind === "jagged");
  let offsets: Int32Array | undefined;
  if (exploded.length) {
    const first = exploded[0]!;
    offsets = (first.raw as Extract<RawColumn, { kind: "jagged" }>).offsets;
    for (const c of exploded.slice(1)) {
      const o = (c.raw as Extract<RawColumn, { kind: "jagged" }>).offsets;
      const at = firstDifference(offsets, o);
      if (at >= 0)
        throw new StageError(
          "QV_LOAD_EXPLODE_MISMATCH",
          `${opts.file}: cannot explode "${first.branch}" and "${c.branch}" together: event ${at} has ` +
            `${offsets[at + 1]! - offsets[at]!} and ${o[at + 1]! - o[at]!} values`,
          {
            param: ["jagged"],
            hint: "explode only branches of the same objects (e.g. Muon_*), and pad or reduce the others",
            data: { file: opts.file, row: at, column: c.branch },
          },
        );
    }
  }
  const rows = offsets ? offsets[events]! : events;
  // Row r of the exploded table belongs to event eventOf[r].
  const eventOf = offsets ? eventIndex(offsets, events) : undefined;
  const out: [string, Column][] = [];
  const truncated: Record<string, number> = {};
  if (eventOf) {
    const idx = fitsIndex(opts.firstEvent + events) ? new Int32Array(rows) : new Float64Array(rows);
    for (let r = 0; r < rows; r++) idx[r] = opts.firstEvent + eventOf[r]!;
    out.push([opts.indexName, idx instanceof Int32Array ? intColumn(idx) : floatColumn(idx)]);
  }
  const perEvent = (c: Column): Column => (eventOf ? repeat(c, eventOf) : c);
  for (const c of columns) {
    const raw = c.raw;
    switch (raw.kind) {
      case "flat": {
        const intType = fitsInt32(raw.type);
        for (let j = 0; j < raw.width; j++) {
          const name = raw.width === 1 ? c.name : `${c.name}_${j}`;
          const col = raw.width === 1 ? raw.values : strided(raw.values, raw.width, j);
          out.push([name, perEvent(intType ? intColumnOf(col) : floatColumnOf(col))]);
        }
        break;
      }
      case "strings":
        out.push([c.name, perEvent(dictionary(raw.values))]);
        break;
      case "jagged": {
        const rule = c.rule;
        if (!rule) throw new Error(`jagged branch ${c.branch} reached flatten without a rule`);
        switch (rule.kind) {
          case "explode":
            // Exploded values are already one per row, in row order.
            out.push([c.name, fitsInt32(raw.type) ? intColumnOf(raw.values) : floatColumnOf(raw.values)]);
            break;
          case "pad": {
            const keepInt =
              fitsInt32(raw.type) && Number.isInteger(rule.fill) && fitsIndex(Math.abs(rule.fill));
            let over = 0;
            const cols = Array.from({ length: rule.length }, () =>
              keepInt ? new Int32Array(events) : new Float64Array(events),
            );
            for (let e = 0; e < events; e++) {
              const start = raw.offsets[e]!;
              const n = raw.offsets[e + 1]! - start;
              if (n > rule.length) over++;
              for (let j = 0; j < rule.length; j++) cols[j]![e] = j < n ? raw.values[start + j]! : rule.fill;
            }
            cols.forEach((v, j) =>
              out.push([`${c.name}_${j}`, perEvent(v instanceof Int32Array ? intColumn(v) : floatColumn(v))]),
            );
            if (over) truncated[c.branch] = over;
            break;
          }
          case "reduce":
            for (const r of rule.reducers) out.push([`${c.name}_${r}`, perEvent(reduce(raw, events, r))]);
            break;
        }
        break;
      }
    }
  }
  return { columns: out, rows, truncated };
}

function reduce(raw: Extract<RawColumn, { kind: "jagged" }>, events: number, r: Reducer): Column {
  const { offsets, values } = raw;
  if (r === "count") {
    const v = new Int32Array(events);
    for (let e = 0; e < events; e++) v[e] = offsets[e + 1]! - offsets[e]!;
    return { type: "int32", values: v };
  }
  const v = new Float64Array(events);
  for (let e = 0; e < events; e++) {
    const a = offsets[e]!;
    const b = offsets[e + 1]!;
    if (a === b) {
      v[e] = r === "sum" ? 0 : NaN;
      continue;
    }
    switch (r) {
      case "first":
        v[e] = values[a]!;
        break;
      case "last":
        v[e] = values[b - 1]!;
        break;
      case "sum":
      case "mean": {
        let s = 0;
        for (let i = a; i < b; i++) s += values[i]!;
        v[e] = r === "sum" ? s : s / (b - a);
        break;
      }
      case "min": {
        let m = Infinity;
        for (let i = a; i < b; i++) if (values[i]! < m || Number.isNaN(values[i]!)) m = values[i]!;
        v[e] = m;
        break;
      }
      case "max": {
        let m = -Infinity;
        for (let i = a; i < b; i++) if (values[i]! > m || Number.isNaN(values[i]!)) m = values[i]!;
        v[e] = m;
        break;
      }
    }
  }
  return { type: "float64", values: v };
}

function firstDifference(a: Int32Array, b: Int32Array): number {
  for (let e = 0; e + 1 < a.length; e++) if (a[e + 1]! - a[e]! !== b[e + 1]! - b[e]!) return e;
  return -1;
}

function eventIndex(offsets: Int32Array, events: number): Int32Array {
  const out = new Int32Array(offsets[events]!);
  for (let e = 0; e < events; e++) out.fill(e, offsets[e], offsets[e + 1]);
  return out;
}

function repeat(c: Column, eventOf: Int32Array): Column {
  switch (c.type) {
    case "float64": {
      const v = new Float64Array(eventOf.length);
      for (let r = 0; r < v.length; r++) v[r] = c.values[eventOf[r]!]!;
      return { type: "float64", values: v };
    }
    case "int32": {
      const v = new Int32Array(eventOf.length);
      for (let r = 0; r < v.length; r++) v[r] = c.values[eventOf[r]!]!;
      return { type: "int32", values: v };
    }
    case "dict": {
      const v = new Int32Array(eventOf.length);
      for (let r = 0; r < v.length; r++) v[r] = c.codes[eventOf[r]!]!;
      return { type: "dict", codes: v, dictionary: c.dictionary };
    }
  }
}

function strided(values: Float64Array | Int32Array, width: number, j: number): Float64Array | Int32Array {
  const n = values.length / width;
  const out = values instanceof Int32Array ? new Int32Array(n) : new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = values[i * width + j]!;
  return out;
}

function dictionary(values: readonly string[]): Column {
  const codes = new Int32Array(values.length);
  const seen = new Map<string, number>();
  const dict: string[] = [];
  values.forEach((s, i) => {
    let code = seen.get(s);
    if (code === undefined) {
      code = dict.length;
      seen.set(s, code);
      dict.push(s);
    }
    codes[i] = code;
  });
  return { type: "dict", codes, dictionary: dict };
}

const fitsIndex = (n: number) => n <= 2147483647;
const intColumn = (v: Int32Array): Column => ({ type: "int32", values: v });
const floatColumn = (v: Float64Array): Column => ({ type: "float64", values: v });
function intColumnOf(v: Float64Array | Int32Array): Column {
  return v instanceof Int32Array ? intColumn(v) : intColumn(Int32Array.from(v));
}
function floatColumnOf(v: Float64Array | Int32Array): Column {
  return v instanceof Float64Array ? floatColumn(v) : floatColumn(Float64Array.from(v));
}
