/** `quiver dag`, `quiver show`, `quiver export`: looking at a pipeline and its results. */
import fs from "node:fs";
import { tableToArrowIPC } from "../core/arrow-codec.js";
import { decodeArtifact } from "../engine/artifacts.js";
import { readLastRun } from "../engine/history.js";
import type { RunManifest } from "../engine/job.js";
import { isJsonObject, type JsonValue } from "../core/json.js";
import type { PipelineSpec } from "../engine/pipeline/spec.js";
import type { Registry } from "../engine/pipeline/validate.js";
import type { ArtifactValue, PortKind } from "../core/stage.js";
import { cellValue, type Table } from "../core/table.js";
import { common, intOpt, parse, pipelineOpts, UsageError } from "./args.js";
import { loadPipeline, openStore, storeDir, type Io } from "./load.js";
import { renderDag } from "./dag.js";

export async function cmdDag(argv: string[], registry: Registry, io: Io): Promise<number> {
  const { values, positionals } = parse(argv, { ...pipelineOpts, format: { type: "string", short: "f" } });
  const file = positionals[0];
  if (!file) throw new UsageError("usage: quiver dag PIPELINE.yaml [--format text|mermaid|dot]");
  const format = values.format ?? "text";
  if (format !== "text" && format !== "mermaid" && format !== "dot")
    throw new UsageError(`--format must be text, mermaid or dot, got "${format}"`);
  const loaded = loadPipeline(file, registry, values.set ? { set: values.set } : {}, io);
  if (!loaded) return 2;
  const { store } = await openStore(storeDir(file, values["cache-dir"]), io);
  const last = await readLastRun(store, loaded.spec.name);
  io.out(renderDag(loaded.spec, format, last));
  return 0;
}

async function readOutput(
  file: string,
  ref: string,
  registry: Registry,
  cacheDir: string | undefined,
  io: Io,
): Promise<
  | {
      spec: PipelineSpec;
      stage: string;
      port: string;
      kind: PortKind;
      value: ArtifactValue;
      manifest: RunManifest;
    }
  | undefined
> {
  const loaded = loadPipeline(file, registry, {}, io);
  if (!loaded) return undefined;
  const [stage, portArg] = ref.split(".", 2) as [string, string | undefined];
  const s = loaded.spec.stages.get(stage);
  if (!s) throw new UsageError(`no stage "${stage}" in ${file}; stages: ${loaded.spec.order.join(", ")}`);
  const ports = Object.keys(s.def.outputs);
  const port = portArg ?? (ports.length === 1 ? ports[0]! : undefined);
  if (!port)
    throw new UsageError(
      `stage "${stage}" has several outputs; name one: ${ports.map((p) => `${stage}.${p}`).join(", ")}`,
    );
  if (!s.def.outputs[port])
    throw new UsageError(`stage "${stage}" has no output "${port}"; outputs: ${ports.join(", ")}`);
  const { store } = await openStore(storeDir(file, cacheDir), io);
  const last = await readLastRun(store, loaded.spec.name);
  const key = last?.stages[stage]?.key;
  const manifest = key ? ((await store.readManifest(key)) as RunManifest | undefined) : undefined;
  const objRef = manifest?.objects[port];
  if (!manifest || !objRef) {
    io.err(
      `error QV_NOT_RUN: stage "${stage}" has no stored result yet\n  hint: run it first: quiver run ${file} --until ${stage}`,
    );
    return undefined;
  }
  const bytes = await store.getObject(objRef);
  if (!bytes) {
    io.err(
      `error QV_CACHE_DAMAGED: the stored output ${stage}.${port} is damaged or missing\n  hint: rerun: quiver run ${file} --until ${stage}`,
    );
    return undefined;
  }
  const kind = s.def.outputs[port].kind;
  return { spec: loaded.spec, stage, port, kind, value: await decodeArtifact(kind, bytes), manifest };
}

export async function cmdShow(argv: string[], registry: Registry, io: Io): Promise<number> {
  const { values, positionals } = parse(argv, { ...common, rows: { type: "string", short: "n" } });
  const [file, ref] = positionals;
  if (!file || !ref) throw new UsageError("usage: quiver show PIPELINE.yaml STAGE[.PORT] [--rows N]");
  const out = await readOutput(file, ref, registry, values["cache-dir"], io);
  if (!out) return 1;
  const rows = values.rows === undefined ? 10 : Number(values.rows);
  if (!Number.isInteger(rows) || rows < 0)
    throw new UsageError(`--rows expects a number ≥ 0, got "${values.rows}"`);
  const v = out.value;
  io.out(`${out.stage}.${out.port} (${out.kind}) · object ${out.manifest.objects[out.port]?.hash ?? "?"}`);
  switch (v.kind) {
    case "table":
      io.out(renderTable(v.table, rows));
      break;
    case "metrics":
      io.out(values.json ? JSON.stringify(v.metrics, null, 2) : renderMetrics(v.metrics));
      break;
    case "model":
      io.out(
        renderMetrics({
          ...v.model.meta,
          blobs: Object.fromEntries(Object.entries(v.model.blobs).map(([k, b]) => [k, `${b.length} bytes`])),
        }),
      );
      break;
  }
  if (Object.keys(out.manifest.summary ?? {}).length)
    io.out("\nsummary\n" + renderMetrics(out.manifest.summary));
  return 0;
}

export function renderTable(t: Table, rows: number): string {
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

/** Metrics as an aligned two-column table of dotted paths; arrays of numbers stay on one line. */
export function renderMetrics(m: JsonValue): string {
  const rows: [string, string][] = [];
  const walk = (v: JsonValue, p: string) => {
    if (isJsonObject(v)) for (const [k, x] of Object.entries(v)) walk(x, p ? `${p}.${k}` : k);
    else if (Array.isArray(v) && v.some((x) => typeof x === "object" && x !== null))
      v.forEach((x, i) => walk(x, `${p}[${i}]`));
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
  const { values, positionals } = parse(argv, { ...common, to: { type: "string", short: "o" } });
  const [file, ref] = positionals;
  if (!file || !ref || !values.to)
    throw new UsageError("usage: quiver export PIPELINE.yaml STAGE.PORT --to FILE.(arrow|parquet|csv|json)");
  const out = await readOutput(file, ref, registry, values["cache-dir"], io);
  if (!out) return 1;
  const target = values.to;
  const ext = target.toLowerCase().split(".").pop();
  const v = out.value;
  if (v.kind === "metrics" || v.kind === "model") {
    if (ext !== "json") throw new UsageError(`${ref} is a ${v.kind}; export it as .json`);
    fs.writeFileSync(target, JSON.stringify(v.kind === "metrics" ? v.metrics : v.model.meta, null, 2) + "\n");
  } else if (ext === "arrow" || ext === "feather" || ext === "ipc") {
    fs.writeFileSync(target, await tableToArrowIPC(v.table));
  } else if (ext === "parquet") {
    const pq = await import("parquet-wasm/node");
    const wasmTable = pq.Table.fromIPCStream(await tableToArrowIPC(v.table, "stream"));
    fs.writeFileSync(target, pq.writeParquet(wasmTable));
  } else if (ext === "csv") {
    fs.writeFileSync(target, tableToCsv(v.table));
  } else throw new UsageError(`cannot export a table as ".${ext}"; use .arrow, .parquet or .csv`);
  io.out(`wrote ${target}`);
  return 0;
}

function tableToCsv(t: Table): string {
  const names = [...t.columns.keys()];
  const esc = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const parts: string[] = [names.map(esc).join(",")];
  const cols = names.map((n) => t.columns.get(n)!);
  for (let i = 0; i < t.numRows; i++) {
    parts.push(
      cols
        .map((c) => {
          const v = cellValue(c, i);
          return v === null ? "" : typeof v === "number" ? String(v) : esc(v);
        })
        .join(","),
    );
  }
  return parts.join("\n") + "\n";
}

export { intOpt };
