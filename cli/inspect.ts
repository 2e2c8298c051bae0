/** `quiver dag`, `quiver show`, `quiver export`: arguments and printing. */
import { setOwn } from "../core/dict.js";
import { isJsonObject, type JsonValue } from "../core/json.js";
import { presentationJson } from "../core/present.js";
import type { EngineEvent } from "../engine/events.js";
import type { Registry } from "../engine/pipeline/validate.js";
import { cellValue, type Table } from "../core/table.js";
import { dag, dagJson, exportResult, type StoredOutput } from "../ops/inspect.js";
import { parse, pipelineOpts, UsageError } from "./args.js";
import { printWarning } from "./console.js";
import { dataRootsOf, emitJson, loadPipeline, type Io } from "./load.js";
import { blockText, figuresText } from "./text.js";

export async function cmdDag(argv: string[], registry: Registry, io: Io): Promise<number> {
  const { values, positionals } = parse(argv, { ...pipelineOpts, format: { type: "string", short: "f" } });
  const file = positionals[0];
  if (!file) throw new UsageError("usage: quiver dag PIPELINE.yaml [--format text|mermaid|dot]");
  const format = values.format ?? "text";
  if (format !== "text" && format !== "mermaid" && format !== "dot")
    throw new UsageError(`--format must be text, mermaid or dot, got "${format}"`);
  const pipeline = loadPipeline(
    file,
    registry,
    { set: values.set, "allow-data-roots": values["allow-data-roots"] },
    io,
  );
  const opts = {
    ...(values["cache-dir"] !== undefined ? { cacheDir: values["cache-dir"] } : {}),
    onEvent: (e: EngineEvent) => printWarning(io, e),
  };
  if (values.json) {
    emitJson(io, { type: "dag", ...(await dagJson(pipeline, opts)) });
    return 0;
  }
  io.out(await dag(pipeline, format, opts));
  return 0;
}

export async function cmdShow(argv: string[], registry: Registry, io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...pipelineOpts,
    rows: { type: "string", short: "n" },
    all: { type: "boolean" },
  });
  const [file, ref] = positionals;
  if (!file || !ref || positionals.length > 2)
    throw new UsageError("usage: quiver show PIPELINE.yaml STAGE[.PORT] [--rows N] [--all] [--json]");
  const rows = values.rows === undefined ? 10 : Number(values.rows);
  if (!Number.isInteger(rows) || rows < 0)
    throw new UsageError(`--rows expects a number ≥ 0, got "${values.rows}"`);
  const pipeline = loadPipeline(file, registry, values, io);
  const { presentResult } = await import("../ops/present.js");
  const r = await presentResult(pipeline, ref, {
    ...(values["cache-dir"] !== undefined ? { cacheDir: values["cache-dir"] } : {}),
    dataRoots: dataRootsOf(values),
    all: values.all === true || values.json === true,
    onEvent: (e) => printWarning(io, e, pipeline.sources),
  });
  const out = r.output;
  if (values.json) {
    emitJson(io, {
      type: "show",
      stage: r.stage,
      ...(out
        ? {
            port: out.port,
            kind: out.kind,
            object: out.manifest.objects[out.port]?.hash ?? null,
            value: valueJson(out, rows),
          }
        : {}),
      ...presentationJson({ figures: r.figures, blocks: r.blocks }),
      notes: [...r.notes],
      summary: out?.manifest.summary ?? {},
    });
    return 0;
  }
  io.out(
    out
      ? `${out.stage}.${out.port} (${out.kind}) · object ${out.manifest.objects[out.port]?.hash ?? "?"}`
      : `${r.stage}`,
  );
  if (r.figures.length) io.out("\n" + figuresText([{ stage: r.stage, figures: r.figures }], io.color));
  if (out?.value.kind === "table") io.out("\n" + renderTable(out.value.table, rows));
  for (const b of r.blocks) {
    // A table output is printed above with --rows; its default block would repeat it.
    if (out?.value.kind === "table" && b.kind === "table" && b.id === `output:${out.port}`) continue;
    io.out("\n" + blockText(b, io.color));
  }
  for (const n of r.notes) io.out(`note: ${n}`);
  if (out && Object.keys(out.manifest.summary).length)
    io.out("\nrun summary\n" + renderMetrics(out.manifest.summary));
  return 0;
}

/** The output itself as JSON: metrics as they are, a model's description document, a table's schema and first rows. */
function valueJson(out: StoredOutput, rows: number): JsonValue {
  const v = out.value;
  switch (v.kind) {
    case "metrics":
      return v.metrics;
    case "model":
      return {
        meta: v.model.meta,
        blobs: Object.fromEntries(Object.entries(v.model.blobs).map(([k, b]) => [k, b.length])),
      };
    case "table": {
      const names = [...v.table.columns.keys()];
      const n = Math.min(rows, v.table.numRows);
      return {
        rows: v.table.numRows,
        columns: names.map((name) => ({ name, type: v.table.columns.get(name)!.type })),
        head: Array.from({ length: n }, (_, i) =>
          Object.fromEntries(
            names.map((name) => {
              const x = cellValue(v.table.columns.get(name)!, i);
              return [name, typeof x === "number" && !Number.isFinite(x) ? null : x];
            }),
          ),
        ),
      };
    }
  }
}

function renderTable(t: Table, rows: number): string {
  const names = [...t.columns.keys()];
  const lines = [`${t.numRows} rows × ${names.length} columns`];
  lines.push(...names.map((n) => `  ${n}: ${t.columns.get(n)!.type}`));
  const n = Math.min(rows, t.numRows);
  if (n === 0) return lines.join("\n");
  const cells = names.map((name) => {
    const c = t.columns.get(name)!;
    const col = [name];
    for (let i = 0; i < n; i++) {
      const v = cellValue(c, i);
      col.push(v === null ? "·" : typeof v === "number" ? fmtNum(v) : v);
    }
    return col;
  });
  const widths = cells.map((c) => Math.max(...c.map((s) => s.length)));
  lines.push("");
  for (let r = 0; r <= n; r++) lines.push(cells.map((c, j) => c[r]!.padStart(widths[j]!)).join("  "));
  if (t.numRows > n) lines.push(`… ${t.numRows - n} more rows`);
  return lines.join("\n");
}

function fmtNum(v: number): string {
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(4) : String(Number(v.toPrecision(6)));
}

/** A run summary as an aligned two-column list of dotted paths; arrays of numbers stay on one line. */
function renderMetrics(m: JsonValue): string {
  const rows: [string, string][] = [];
  const walk = (v: JsonValue, p: string) => {
    if (isJsonObject(v)) for (const [k, x] of Object.entries(v)) walk(x, p ? `${p}.${k}` : k);
    else if (Array.isArray(v) && v.some((x) => typeof x === "object" && x !== null))
      v.forEach((x, i) => walk(x, `${p}[${i}]`));
    else if (Array.isArray(v) && v.length > 1 && v.every((x) => typeof x === "string"))
      // Lines of preformatted text (a cut flow): one per line, under the name.
      rows.push([p, "\n" + v.map((x) => `    ${String(x)}`).join("\n")]);
    else
      rows.push([
        p,
        typeof v === "number"
          ? fmtNum(v)
          : Array.isArray(v)
            ? `[${v.map((x) => (typeof x === "number" ? fmtNum(x) : JSON.stringify(x))).join(", ")}]`
            : String(v),
      ]);
  };
  walk(m, "");
  const w = Math.max(0, ...rows.map((r) => r[0].length));
  return rows.map(([k, v]) => `  ${k.padEnd(w)}  ${v}`).join("\n");
}

export async function cmdExport(argv: string[], registry: Registry, io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...pipelineOpts,
    to: { type: "string", short: "o" },
    opset: { type: "string" },
    unit: { type: "string", multiple: true },
  });
  const [file, ref] = positionals;
  if (!file || !ref || !values.to)
    throw new UsageError(
      "usage: quiver export PIPELINE.yaml STAGE.PORT --to FILE.(arrow|parquet|csv|json|onnx) [--opset N] [--unit COLUMN=UNIT ...]",
    );
  let opset: number | undefined;
  if (values.opset !== undefined) {
    opset = Number(values.opset);
    if (!Number.isInteger(opset)) throw new UsageError(`--opset must be an integer, got "${values.opset}"`);
    if (!values.to.toLowerCase().endsWith(".onnx"))
      throw new UsageError("--opset applies to .onnx exports only");
  }
  const units: Record<string, string> = {};
  for (const u of values.unit ?? []) {
    const eq = u.indexOf("=");
    if (eq <= 0 || eq === u.length - 1) throw new UsageError(`--unit takes COLUMN=UNIT, got "${u}"`);
    setOwn(units, u.slice(0, eq), u.slice(eq + 1));
  }
  const pipeline = loadPipeline(file, registry, values, io);
  const r = await exportResult(pipeline, ref, {
    to: values.to,
    units,
    ...(opset !== undefined ? { formatOptions: { opset } } : {}),
    ...(values["cache-dir"] !== undefined ? { cacheDir: values["cache-dir"] } : {}),
    dataRoots: dataRootsOf(values),
    onEvent: (e) => printWarning(io, e, pipeline.sources),
  });
  if (values.json)
    emitJson(io, {
      type: "export",
      stage: r.output.stage,
      port: r.output.port,
      kind: r.output.kind,
      file: r.file,
    });
  else io.out(`wrote ${r.file}`);
  return 0;
}
