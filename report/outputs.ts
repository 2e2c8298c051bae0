/**
 * HTML fragments for what a stage produced: table schemas and row counts, cutflows, metrics as
 * compact tables (arrays of records become real tables: scaler params, folds), model summaries.
 */
import { isJsonObject, type JsonObject, type JsonValue } from "../core/json.js";
import type { ModelArtifact } from "../core/stage.js";
import type { Table } from "../core/table.js";
import { fmt } from "./plots.js";
import { esc } from "./svg.js";

function cell(v: JsonValue | undefined): string {
  if (v === undefined || v === null) return "·";
  if (typeof v === "number") return fmt(v);
  if (typeof v === "string" || typeof v === "boolean") return String(v);
  if (Array.isArray(v) && v.every((x) => typeof x !== "object" || x === null))
    return `[${v.map((x) => (typeof x === "number" ? fmt(x) : String(x))).join(", ")}]`;
  return JSON.stringify(v);
}

export function tableSchemaHtml(port: string, t: Table): string {
  const cols = [...t.columns.entries()];
  return (
    `<div class="output"><h4>${esc(port)} <span class="kind">table</span> <span class="dim">${t.numRows.toLocaleString("en-US")} rows × ${cols.length} columns</span></h4>` +
    `<p class="schema">${cols.map(([n, c]) => `<code>${esc(n)}</code><span class="dim">:${c.type}</span>`).join(" ")}</p></div>`
  );
}

/** An array of flat records, as a table with one column per key. */
function recordsTable(rows: readonly JsonObject[]): string {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const head = keys.map((k) => `<th>${esc(k)}</th>`).join("");
  const body = rows
    .map((r) => `<tr>${keys.map((k) => `<td>${esc(cell(r[k]))}</td>`).join("")}</tr>`)
    .join("");
  return `<table class="grid"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

function isFlatRecords(v: JsonValue): v is JsonObject[] {
  return (
    Array.isArray(v) &&
    v.length > 0 &&
    v.every(
      (x) =>
        isJsonObject(x) &&
        Object.values(x).every((y) => typeof y !== "object" || y === null || Array.isArray(y)),
    )
  );
}

/** Metrics as dotted-path rows; arrays of flat records become their own tables. */
export function metricsHtml(m: JsonObject): string {
  const rows: [string, string][] = [];
  const tables: string[] = [];
  const walk = (v: JsonValue, p: string) => {
    if (isFlatRecords(v)) tables.push(`<p class="dim">${esc(p)}</p>${recordsTable(v)}`);
    else if (isJsonObject(v)) for (const [k, x] of Object.entries(v)) walk(x, p ? `${p}.${k}` : k);
    else if (Array.isArray(v) && v.some((x) => typeof x === "object" && x !== null))
      v.forEach((x, i) => walk(x, `${p}[${i}]`));
    else rows.push([p, cell(v)]);
  };
  walk(m, "");
  const kv = rows.length
    ? `<table class="kv">${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join("")}</table>`
    : "";
  const body = kv + tables.join("");
  return rows.length > 24 ? `<details><summary>${rows.length} values</summary>${body}</details>` : body;
}

/** A select stage's cutflow: rows and Σw per class after each step, with step and cumulative efficiencies. */
export function cutflowHtml(m: JsonObject): string | undefined {
  const steps = m.steps;
  const input = m.input;
  const classes = Array.isArray(m.classes) ? m.classes.map(String) : [];
  if (!Array.isArray(steps) || !isJsonObject(input ?? null)) return undefined;
  const num = (o: JsonValue | undefined, ...path: string[]): number | undefined => {
    let v: JsonValue | undefined = o;
    for (const k of path) v = isJsonObject(v ?? null) ? (v as JsonObject)[k] : undefined;
    return typeof v === "number" ? v : undefined;
  };
  const weighted = m.weight !== null && m.weight !== undefined;
  const label = typeof m.label === "string" ? m.label : "class";
  const classHead = classes
    .map((c) => `<th>${esc(`${label}=${c}`)} rows</th>${weighted ? `<th>Σw</th>` : ""}<th>eff.</th>`)
    .join("");
  const row = (
    name: string,
    at: JsonValue | undefined,
    eff: JsonValue | undefined,
    cum: JsonValue | undefined,
  ) =>
    `<tr><th>${esc(name)}</th><td>${esc(cell(num(at, "rows")))}</td>${weighted ? `<td>${esc(cell(num(at, "weight")))}</td>` : ""}` +
    classes
      .map(
        (c) =>
          `<td>${esc(cell(num(at, "classes", c, "rows")))}</td>${weighted ? `<td>${esc(cell(num(at, "classes", c, "weight")))}</td>` : ""}` +
          `<td>${eff === undefined ? "" : esc(pct(num(eff, "classes", c, weighted ? "weight" : "rows")))}${cum === undefined ? "" : ` <span class="dim">(${esc(pct(num(cum, "classes", c, weighted ? "weight" : "rows")))})</span>`}</td>`,
      )
      .join("") +
    `</tr>`;
  const body = [row("input", input, undefined, undefined)];
  for (const s of steps) {
    if (!isJsonObject(s)) continue;
    const name = typeof s.name === "string" ? s.name : "step";
    const expr = typeof s.expression === "string" ? `: ${s.expression}` : "";
    body.push(row(name + expr, s.after, s.efficiency, s.cumulative));
  }
  return (
    `<table class="grid cutflow"><thead><tr><th>step</th><th>rows</th>${weighted ? "<th>Σw</th>" : ""}${classHead}</tr></thead>` +
    `<tbody>${body.join("")}</tbody></table><p class="dim">eff.: efficiency of the step${weighted ? " (weighted)" : ""}, cumulative in brackets</p>`
  );
}

function pct(v: number | undefined): string {
  return v === undefined ? "" : `${(100 * v).toFixed(1)}%`;
}

/** Layers, parameter count, backend and trainer of a model artifact (train or kfold). */
export function modelSummary(model: ModelArtifact, trainMetrics: JsonObject | undefined): JsonObject {
  const meta = model.meta;
  const out: JsonObject = {};
  const inner =
    Array.isArray(meta.folds) && isJsonObject(meta.folds[0] ?? null) ? (meta.folds[0] as JsonObject) : meta;
  const innerModel = isJsonObject(inner.model ?? null) ? (inner.model as JsonObject) : inner;
  if (Array.isArray(meta.folds)) out.folds = meta.folds.length;
  out.kind = innerModel.kind ?? meta.kind ?? null;
  const features = meta.features ?? innerModel.features;
  if (Array.isArray(features)) out.features = features;
  const nn = isJsonObject(innerModel.nn ?? null) ? (innerModel.nn as JsonObject) : undefined;
  if (nn) {
    const layers = findLayers(nn);
    if (layers.length) out.layers = layers;
    const params = countParams(nn);
    if (params !== undefined) out.parameters = params;
    if (typeof nn.backend === "string") out.backend = nn.backend;
    if (typeof nn.trainer === "string") out.trainer = nn.trainer;
  }
  const gbt = isJsonObject(innerModel.gbt ?? null) ? (innerModel.gbt as JsonObject) : undefined;
  if (gbt) {
    if (typeof gbt.numTrees === "number") out.trees = gbt.numTrees;
    if (typeof gbt.numNodes === "number") out.nodes = gbt.numNodes;
    const o = isJsonObject(gbt.options ?? null) ? (gbt.options as JsonObject) : {};
    if (typeof o.maxDepth === "number") out.max_depth = o.maxDepth;
  }
  for (const k of ["parameters", "backend", "trainer", "epochs_run", "training_seconds"]) {
    const v = trainMetrics?.[k];
    if (v !== undefined && v !== null) out[k] = v;
  }
  out.stored_bytes = Object.values(model.blobs).reduce((s, b) => s + b.length, 0);
  return out;
}

function findLayers(nn: JsonObject): string[] {
  // The wasm trainer's own layout: layers: [{kind: dense, units, activation} | {kind: dropout, rate} ...]
  if (Array.isArray(nn.layers))
    return nn.layers.filter(isJsonObject).map((l) => {
      const kind = typeof l.kind === "string" ? l.kind : "layer";
      const bits = [
        kind.charAt(0).toUpperCase() + kind.slice(1),
        typeof l.units === "number" ? String(l.units) : "",
        typeof l.rate === "number" ? `rate ${l.rate}` : "",
        typeof l.activation === "string" && l.activation !== "linear" ? l.activation : "",
      ];
      return bits.filter(Boolean).join(" ");
    });
  // tfjs-layers' Keras topology.
  const topo = isJsonObject(nn.modelTopology ?? null) ? (nn.modelTopology as JsonObject) : undefined;
  const config = isJsonObject(topo?.config ?? null) ? (topo!.config as JsonObject) : undefined;
  const layers = config?.layers;
  if (!Array.isArray(layers)) return [];
  return layers.filter(isJsonObject).map((l) => {
    const c = isJsonObject(l.config ?? null) ? (l.config as JsonObject) : {};
    const bits = [
      typeof l.class_name === "string" ? l.class_name : "layer",
      typeof c.units === "number" ? String(c.units) : "",
      typeof c.rate === "number" ? `rate ${c.rate}` : "",
      typeof c.activation === "string" && c.activation !== "linear" ? c.activation : "",
    ];
    return bits.filter(Boolean).join(" ");
  });
}

function countParams(nn: JsonObject): number | undefined {
  const specs = nn.weightSpecs;
  if (!Array.isArray(specs)) return undefined;
  let n = 0;
  for (const s of specs) {
    if (!isJsonObject(s) || !Array.isArray(s.shape)) return undefined;
    n += s.shape.reduce<number>((a, d) => a * (typeof d === "number" ? d : 1), 1);
  }
  return n;
}
