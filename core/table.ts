/**
 * The in-memory table every table-kind artifact becomes: named columns of typed arrays.
 *
 * Why not apache-arrow's Table directly: stages do arithmetic on whole columns, and a plain
 * `Float64Array` is what the hot loops want. Arrow is the on-disk format (see artifacts.ts).
 *
 * Missing values: float64 columns use NaN; int32 columns cannot hold a missing value, so a
 * loader promotes such a column to float64. Dictionary columns use code -1 for a missing string.
 */

export type Column = (
  | { readonly type: "float64"; readonly values: Float64Array }
  | { readonly type: "int32"; readonly values: Int32Array }
  | { readonly type: "dict"; readonly codes: Int32Array; readonly dictionary: readonly string[] }
) & {
  /**
   * What was done to the column's values since it was loaded or created, oldest first: a short
   * chain of transform identities such as "standard@1f0c9e2ab4d37a65" (stages/lib/lineage.ts owns
   * the vocabulary). Absent or empty: the values are as loaded. Written to Arrow field metadata,
   * so it is part of the table's bytes and its content hash; row operations keep it.
   */
  readonly lineage?: Lineage;
};

/** A column's transform chain, oldest first (see `Column.lineage`). */
export type Lineage = readonly string[];

/** The column's lineage, empty when it holds values as loaded. */
export function lineageOf(c: Column): Lineage {
  return c.lineage ?? [];
}

/** The same column with `lineage` (an empty chain is stored as none, so both encode alike). */
export function withLineage(c: Column, lineage: Lineage): Column {
  const { lineage: _old, ...rest } = c;
  return lineage.length > 0 ? { ...rest, lineage: [...lineage] } : rest;
}

export type ColumnType = Column["type"];

export interface Table {
  readonly numRows: number;
  /** Insertion order is the column order users see. */
  readonly columns: ReadonlyMap<string, Column>;
}

/**
 * A table a stage rewrites column by column, holding it privately: `release(name)` drops a column
 * the stage has finished with, so that (when nothing else holds it) its memory can go before the
 * output is complete. `table` is a private copy of the column map; the caller's table is unchanged.
 */
export interface ConsumedTable {
  readonly table: Table;
  readonly release: (column: string) => void;
  /** Lets every column go: for a stage that has taken the few arrays it reads. */
  readonly releaseAll: () => void;
}

export function consumeTable(t: Table): ConsumedTable {
  const columns = new Map(t.columns);
  return {
    table: { numRows: t.numRows, columns },
    release: (name) => void columns.delete(name),
    releaseAll: () => columns.clear(),
  };
}

export function columnLength(c: Column): number {
  return c.type === "dict" ? c.codes.length : c.values.length;
}

/** Builds a table, checking that every column has the same length. */
export function makeTable(columns: Iterable<readonly [string, Column]>): Table {
  const map = new Map<string, Column>();
  let numRows = -1;
  for (const [name, col] of columns) {
    const n = columnLength(col);
    if (numRows === -1) numRows = n;
    else if (n !== numRows) {
      throw new Error(`column "${name}" has ${n} rows, expected ${numRows}`);
    }
    map.set(name, col);
  }
  return { numRows: Math.max(numRows, 0), columns: map };
}

export function float64Column(values: Float64Array): Column {
  return { type: "float64", values };
}

export function int32Column(values: Int32Array): Column {
  return { type: "int32", values };
}

/**
 * A numeric view of any column as float64 (dictionary columns give their codes).
 * Returns the original array when it already is float64, so callers must not mutate it.
 */
export function numericValues(c: Column): Float64Array {
  switch (c.type) {
    case "float64":
      return c.values;
    case "int32":
      return Float64Array.from(c.values);
    case "dict":
      return Float64Array.from(c.codes);
  }
}

/**
 * Keeps the rows whose index is listed in `rows`, in that order (rows may repeat). `release` is
 * called with each column's name once its copy is made (a consumed input, see ConsumedTable).
 */
export function takeRows(
  table: Table,
  rows: Int32Array | Uint32Array,
  release?: (column: string) => void,
): Table {
  return takeRowsEach(table, [rows], release)[0]!;
}

/**
 * One table per list of row indices (the parts of a split), a column at a time: every part's
 * copy of a column is made before `release` lets the column go, so a consumed input is never
 * held beside all of its parts.
 */
export function takeRowsEach(
  table: Table,
  parts: readonly (Int32Array | Uint32Array)[],
  release?: (column: string) => void,
): Table[] {
  const outs = parts.map(() => new Map<string, Column>());
  // By name, not over a snapshot of the entries: that would hold every released column to the end.
  for (const name of [...table.columns.keys()]) {
    const c = table.columns.get(name)!;
    parts.forEach((rows, p) => outs[p]!.set(name, takeColumn(c, rows)));
    release?.(name);
  }
  return parts.map((rows, p) => ({ numRows: rows.length, columns: outs[p]! }));
}

function takeColumn(c: Column, rows: Int32Array | Uint32Array): Column {
  switch (c.type) {
    case "float64": {
      const v = new Float64Array(rows.length);
      for (let i = 0; i < rows.length; i++) v[i] = c.values[rows[i]!]!;
      return keepLineage(c, { type: "float64", values: v });
    }
    case "int32": {
      const v = new Int32Array(rows.length);
      for (let i = 0; i < rows.length; i++) v[i] = c.values[rows[i]!]!;
      return keepLineage(c, { type: "int32", values: v });
    }
    case "dict": {
      const v = new Int32Array(rows.length);
      for (let i = 0; i < rows.length; i++) v[i] = c.codes[rows[i]!]!;
      return keepLineage(c, { type: "dict", codes: v, dictionary: c.dictionary });
    }
  }
}

/** `to` with the lineage of `from`: row operations (take, filter, reorder) change no values. */
function keepLineage(from: Column, to: Column): Column {
  return from.lineage && from.lineage.length > 0 ? { ...to, lineage: from.lineage } : to;
}

/** Rows where mask[i] !== 0 (`release` as for takeRows). */
export function filterRows(table: Table, mask: Uint8Array, release?: (column: string) => void): Table {
  let n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) n++;
  const rows = new Int32Array(n);
  for (let i = 0, j = 0; i < mask.length; i++) if (mask[i]) rows[j++] = i;
  return takeRows(table, rows, release);
}

export function withColumn(table: Table, name: string, column: Column): Table {
  const n = columnLength(column);
  if (table.columns.size > 0 && n !== table.numRows) {
    throw new Error(`column "${name}" has ${n} rows, table has ${table.numRows}`);
  }
  const out = new Map(table.columns);
  out.set(name, column);
  return { numRows: table.columns.size > 0 ? table.numRows : n, columns: out };
}

/** Decodes the value of a cell for display; NaN and missing strings show as null. */
export function cellValue(c: Column, row: number): number | string | null {
  switch (c.type) {
    case "float64": {
      const v = c.values[row]!;
      return Number.isNaN(v) ? null : v;
    }
    case "int32":
      return c.values[row]!;
    case "dict": {
      const code = c.codes[row]!;
      return code < 0 ? null : (c.dictionary[code] ?? null);
    }
  }
}

/**
 * The same table with every string dictionary in canonical order: entries in the order their
 * values first appear in the rows, unused entries dropped. Two tables with equal values then have
 * equal columns, so they encode to the same bytes and hash the same (a reader that collects strings
 * in hash-map order must not change a cache key). Decoding from Arrow yields this order too, so a
 * consumer sees the same codes whether its input came from memory or from the store.
 * Returns the table itself when it already is canonical.
 */
export function canonicalDictionaries(t: Table): Table {
  let changed = false;
  const out = new Map<string, Column>();
  for (const [name, c] of t.columns) {
    const canon = c.type === "dict" ? canonicalDictionary(c) : c;
    if (canon !== c) changed = true;
    out.set(name, canon);
  }
  return changed ? { numRows: t.numRows, columns: out } : t;
}

function canonicalDictionary(c: Extract<Column, { type: "dict" }>): Column {
  const remap = new Int32Array(c.dictionary.length).fill(-1);
  const dictionary: string[] = [];
  let identity = true;
  for (let i = 0; i < c.codes.length; i++) {
    const code = c.codes[i]!;
    if (code < 0 || remap[code] !== -1) continue;
    remap[code] = dictionary.length;
    if (code !== dictionary.length) identity = false;
    dictionary.push(c.dictionary[code]!);
  }
  if (identity && dictionary.length === c.dictionary.length) return c;
  const codes = new Int32Array(c.codes.length);
  for (let i = 0; i < codes.length; i++) {
    const code = c.codes[i]!;
    codes[i] = code < 0 ? -1 : remap[code]!;
  }
  return keepLineage(c, { type: "dict", codes, dictionary });
}
