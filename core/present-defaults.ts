/**
 * The default view of an output port by its kind, for ports whose stage says nothing special
 * about them: a table's size, columns and first rows; a metrics object as grouped name/value
 * tables (arrays of records as tables of their own); a model's stored parts. Model kinds describe
 * their own models through the stages that train them (stages/lib/present/model.ts).
 */
import { isJsonObject, type JsonObject, type JsonValue } from "./json.js";
import type { Block, Cell, KeyValueGroup, Quantity, TableBlock } from "./present.js";
import type { ArtifactValue, ModelArtifact, PortSpec } from "./stage.js";
import { cellValue, type Table } from "./table.js";
import type { TableSummary } from "./arrow-codec.js";

export interface DefaultOptions {
  /** Rows of a table shown (default 5). */
  readonly rows?: number;
  /** Units of columns, for the preview's headers. */
  readonly unit?: (column: string) => string | undefined;
}

export function defaultBlocks(
  port: string,
  spec: PortSpec | undefined,
  value: ArtifactValue,
  opts: DefaultOptions = {},
): Block[] {
  switch (value.kind) {
    case "table":
      return [tableBlock(port, spec, value.table, opts)];
    case "metrics":
      return metricsBlocks(port, value.metrics);
    case "model":
      return [modelBlock(port, value.model)];
  }
}

/** A table known by its rows and columns only (too large to read for a preview). */
export function summaryBlock(
  port: string,
  spec: PortSpec | undefined,
  t: TableSummary,
  bytes: number,
  opts: DefaultOptions = {},
): TableBlock {
  const types = t.columns.map((c) => `${c.name}: ${c.type}`).join(", ");
  const empty = t.numRows === 0 && spec?.description ? ` It is empty; it holds ${spec.description}.` : "";
  return {
    kind: "table",
    id: `output:${port}`,
    port,
    title: `${port} · ${t.numRows.toLocaleString("en-US")} rows × ${t.columns.length} columns`,
    note: `Columns ${types}.${empty} ${(bytes / 1e6).toFixed(0)} MB: its rows are not read for this view (quiver show prints them).`,
    columns: t.columns.map((c) => ({ name: c.name, unit: opts.unit?.(c.name) })),
    rows: [],
    totalRows: t.numRows,
    folded: true,
  };
}

function tableBlock(port: string, spec: PortSpec | undefined, t: Table, opts: DefaultOptions): TableBlock {
  const names = [...t.columns.keys()];
  const n = Math.min(opts.rows ?? 5, t.numRows);
  const rows: Cell[][] = [];
  for (let i = 0; i < n; i++) rows.push(names.map((name) => cellValue(t.columns.get(name)!, i)));
  const types = names.map((name) => `${name}: ${t.columns.get(name)!.type}`).join(", ");
  const empty = t.numRows === 0 && spec?.description ? ` It is empty; it holds ${spec.description}.` : "";
  return {
    kind: "table",
    id: `output:${port}`,
    port,
    title: `${port} · ${t.numRows.toLocaleString("en-US")} rows × ${names.length} columns`,
    note: `Columns ${types}.${empty}`,
    columns: names.map((name) => ({ name, unit: opts.unit?.(name) })),
    rows,
    totalRows: t.numRows,
    folded: true,
  };
}

/** A `{value, error}` or `{mean, std}` pair reads as one quantity. */
function quantityOf(v: JsonObject): Quantity | undefined {
  const keys = Object.keys(v);
  if (keys.length !== 2) return undefined;
  const num = (x: JsonValue | undefined) => (typeof x === "number" ? x : x === null ? null : undefined);
  const [value, error] =
    "value" in v && "error" in v
      ? [num(v.value), num(v.error)]
      : "mean" in v && "std" in v
        ? [num(v.mean), num(v.std)]
        : [];
  if (value === undefined || error === undefined) return undefined;
  return { value, ...(error !== null ? { error } : {}) };
}

/** Record keys that name a row, put in the first column. */
const NAMING = ["name", "fold", "feature", "column", "score"];

/** An array of flat records: a table. */
function isRecordList(v: JsonValue): v is JsonObject[] {
  return (
    Array.isArray(v) &&
    v.length > 0 &&
    v.every((x) => isJsonObject(x) && Object.values(x).every((y) => !isJsonObject(y) || quantityOf(y)))
  );
}

function scalarCell(v: JsonValue): Cell {
  if (v === null || typeof v === "string" || typeof v === "number") return v;
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (Array.isArray(v)) {
    const shown = v
      .slice(0, 8)
      .map((x) => (typeof x === "number" ? String(Number(x.toPrecision(4))) : JSON.stringify(x)));
    return `[${shown.join(", ")}${v.length > 8 ? `, … ${v.length} values` : ""}]`;
  }
  const q = quantityOf(v);
  return q ?? JSON.stringify(v);
}

/**
 * A metrics object as groups of leaves: the leaves of each object (scalars, short lists, value ±
 * error pairs) form one group named by the object's path; lists of records become tables.
 */
export function metricsBlocks(port: string, m: JsonObject): Block[] {
  const groups: KeyValueGroup[] = [];
  const tables: Block[] = [];
  const walk = (o: JsonObject, at: string) => {
    const entries: [string, Cell][] = [];
    const nested: [string, JsonObject][] = [];
    for (const [k, v] of Object.entries(o)) {
      if (isRecordList(v)) {
        // Keys that name the row first (stored metrics have their keys sorted).
        const keys = [...new Set(v.flatMap((r) => Object.keys(r)))].sort(
          (a, b) => Number(NAMING.includes(b)) - Number(NAMING.includes(a)),
        );
        tables.push({
          kind: "table",
          id: `output:${port}:${at ? `${at}.` : ""}${k}`,
          port,
          title: `${port}: ${at ? `${at}.` : ""}${k}`,
          columns: keys.map((name) => ({ name })),
          rows: v.map((r) =>
            keys.map((key) => {
              const v = r[key];
              return v === undefined ? null : scalarCell(v);
            }),
          ),
        });
      } else if (isJsonObject(v) && !quantityOf(v)) nested.push([k, v]);
      else if (Array.isArray(v) && v.some((x) => isJsonObject(x) || Array.isArray(x)))
        v.forEach((x, i) =>
          isJsonObject(x) ? nested.push([`${k}[${i}]`, x]) : entries.push([`${k}[${i}]`, scalarCell(x)]),
        );
      else entries.push([k, scalarCell(v)]);
    }
    if (entries.length) groups.push({ ...(at ? { title: at } : {}), entries });
    for (const [k, v] of nested) walk(v, at ? `${at}.${k}` : k);
  };
  walk(m, "");
  const count = groups.reduce((a, g) => a + g.entries.length, 0);
  return [
    {
      kind: "keyvalue",
      id: `output:${port}`,
      port,
      title: `${port} · ${count} value${count === 1 ? "" : "s"}`,
      groups,
      folded: count > 24,
    },
    ...tables,
  ];
}

function modelBlock(port: string, model: ModelArtifact): Block {
  const entries: [string, Cell][] = [];
  for (const [k, v] of Object.entries(model.meta))
    if (v === null || typeof v !== "object" || (Array.isArray(v) && v.every((x) => typeof x !== "object")))
      entries.push([k, scalarCell(v)]);
  const blobs = Object.entries(model.blobs);
  entries.push([
    "stored",
    `${blobs.reduce((a, [, b]) => a + b.length, 0).toLocaleString("en-US")} bytes in ${blobs.length} blob${blobs.length === 1 ? "" : "s"}`,
  ]);
  return { kind: "keyvalue", id: `output:${port}`, port, title: `${port} · model`, groups: [{ entries }] };
}
