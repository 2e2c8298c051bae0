/**
 * `show`, `export` and `dag`: looking at a pipeline and its stored results. What `show` and
 * `export` give is the result of the pipeline file as it is now — the stage's current cache key,
 * planned exactly as a run would — never "the latest run of a pipeline of that name", which may be
 * another checkout's (two checkouts sharing one store) or an older version of this file.
 */
import crypto from "node:crypto";
import { own, setOwn } from "../core/dict.js";
import fs from "node:fs";
import path from "node:path";
import { writeFileAtomic } from "../cache/atomic.js";
import { writeTableArrow } from "../core/arrow-codec.js";
import type { Store } from "../cache/store.js";
import type { JsonObject } from "../core/json.js";
import { StageError, type ArtifactValue, type PortKind } from "../core/stage.js";
import { cellValue, type Table } from "../core/table.js";
import { getArtifact } from "../engine/artifacts-store.js";
import type { EngineEvent, EventSink } from "../engine/events.js";
import { describeReasons } from "../engine/explain.js";
import { readLastRun } from "../engine/history.js";
import { runPipeline } from "../engine/scheduler.js";
import type { CacheKey } from "../core/hash.js";
import type { LastRun, StageResultManifest } from "../engine/records.js";
import { readStageResult } from "../engine/results.js";
import type { PipelineSpec } from "../engine/pipeline/spec.js";
import { OpError, UsageError } from "./errors.js";
import type { Pipeline } from "./load.js";
import { openStore, storeDir } from "./store.js";

export interface ResultOptions {
  readonly cacheDir?: string;
  /** Extra folders data files may be read from (to hash the inputs as a run would). */
  readonly dataRoots?: readonly string[];
  readonly onEvent?: EventSink;
}

export interface StoredOutput {
  readonly stage: string;
  readonly port: string;
  readonly kind: PortKind;
  readonly value: ArtifactValue;
  readonly manifest: StageResultManifest;
  /** The cache key the result is stored under: the stage's key in the pipeline as it is now. */
  readonly key: CacheKey;
}

/** One output (`STAGE` or `STAGE.PORT`) of the pipeline as it is now, decoded from the store. */
export async function show(pipeline: Pipeline, ref: string, opts: ResultOptions = {}): Promise<StoredOutput> {
  const { spec } = pipeline;
  const [stage, portArg] = ref.split(".", 2) as [string, string | undefined];
  const s = spec.stages.get(stage);
  if (!s) throw new UsageError(`no stage "${stage}" in ${spec.file}; stages: ${spec.order.join(", ")}`);
  const ports = Object.keys(s.def.outputs);
  const port = portArg ?? (ports.length === 1 ? ports[0]! : undefined);
  if (!port)
    throw new UsageError(
      `stage "${stage}" has several outputs; name one: ${ports.map((p) => `${stage}.${p}`).join(", ")}`,
    );
  const out = s.def.outputs[port];
  if (!out) throw new UsageError(`stage "${stage}" has no output "${port}"; outputs: ${ports.join(", ")}`);
  const { store, keys, events } = await currentResults(pipeline, stage, opts);
  const key = own(keys, stage);
  const manifest = key ? await readStageResult(store, key) : undefined;
  const objRef = manifest?.objects[port];
  if (!key || !manifest || !objRef) throw notStored(pipeline, stage, events);
  const value = await getArtifact(store, out.kind, objRef);
  if (!value)
    throw OpError.of(
      "QV_CACHE_DAMAGED",
      `the stored output ${stage}.${port} is damaged or missing`,
      `rerun: quiver run ${spec.file} --until ${stage}`,
    );
  return { stage, port, kind: out.kind, value, manifest, key };
}

/**
 * The stored results of `stage` and every stage it needs, for the pipeline file as it is now:
 * planned exactly as a run would (a dry run), so the keys are the ones a run would look up.
 * Stages without a stored result are absent; `events` says why (for `notStored`).
 */
export async function currentResults(
  pipeline: Pipeline,
  stage: string,
  opts: ResultOptions = {},
): Promise<{
  readonly store: Store;
  readonly keys: Readonly<Record<string, CacheKey>>;
  readonly events: readonly EngineEvent[];
}> {
  const { spec } = pipeline;
  const { store, memo } = await openStore(storeDir(spec.file, opts.cacheDir), opts.onEvent);
  const events: EngineEvent[] = [];
  const plan = await runPipeline({
    spec,
    store,
    jobs: 1,
    emit: (e) => {
      events.push(e);
      if (e.type === "warning") opts.onEvent?.(e);
    },
    fileMemo: memo,
    dryRun: true,
    until: [stage],
    ...(opts.dataRoots ? { dataRoots: opts.dataRoots } : {}),
    runner: () => Promise.reject(new Error("show runs nothing")),
  });
  const keys: Record<string, CacheKey> = {};
  for (const [id, o] of plan.outcomes) if (o.status === "cached" && o.key) setOwn(keys, id, o.key);
  return { store, keys, events };
}

/** Why `stage` has no stored result for the pipeline as it is now: its failure, or what would run. */
export function notStored(pipeline: Pipeline, stage: string, events: readonly EngineEvent[]): OpError {
  const { spec } = pipeline;
  const failed = events.flatMap((e) => (e.type === "failed" ? e.diagnostics : []));
  if (failed.length) return new OpError(failed, pipeline.sources);
  const planned = events.find((e) => e.type === "planned" && e.stage === stage);
  const why =
    planned?.type === "planned" && planned.decision === "run"
      ? describeReasons(planned.reasons)
      : "a stage it depends on has no stored result either";
  return OpError.of(
    "QV_NOT_RUN",
    `stage "${stage}" has no stored result for ${spec.file} as it is now (${why})`,
    `run it first: quiver run ${spec.file} --until ${stage}`,
  );
}

export interface ExportOptions extends ResultOptions {
  /**
   * The file to write; its extension picks the format (.arrow/.feather/.ipc, .parquet, .csv,
   * .json; a model also .onnx, and .json is then the whole model, through its stage's exporter).
   */
  readonly to: string;
  /** Units of columns (column → unit) for a Parquet file's metadata, over the pipeline's `units:`. */
  readonly units?: Readonly<Record<string, string>>;
  /** Numeric options for the stage's exporter, e.g. {opset: 13} for ONNX. */
  readonly formatOptions?: Readonly<Record<string, number>>;
}

/** This Quiver's version (dist/ops/inspect.js → ../../package.json), written into exported files. */
function quiverVersion(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version?: unknown;
    };
    return typeof pkg.version === "string" ? pkg.version : "unknown";
  } catch {
    return "unknown";
  }
}

/** Writes one output of the latest run to a file in a format other tools read. */
export async function exportResult(
  pipeline: Pipeline,
  ref: string,
  opts: ExportOptions,
): Promise<{ readonly file: string; readonly output: StoredOutput }> {
  const out = await show(pipeline, ref, opts);
  const target = opts.to;
  const ext = target.toLowerCase().split(".").pop() ?? "";
  const v = out.value;
  let bytes: Uint8Array | string | undefined;
  const exporter = pipeline.spec.stages.get(out.stage)?.def.exporters?.[out.port];
  if (exporter?.formats.includes(ext)) {
    bytes = await exporter
      .write(v, {
        format: ext,
        provenance: {
          pipeline: pipeline.spec.name,
          stage: out.stage,
          port: out.port,
          cacheKey: out.key,
          quiverVersion: quiverVersion(),
        },
        options: opts.formatOptions ?? {},
      })
      .catch((e: unknown) => {
        if (e instanceof StageError) throw OpError.of(e.code, `${ref}: ${e.message}`, e.hint);
        throw e;
      });
  } else if (exporter) {
    throw new UsageError(
      `${ref} exports as ${exporter.formats.map((f) => `.${f}`).join(" or ")}, not ".${ext}"`,
    );
  } else if (v.kind === "metrics" || v.kind === "model") {
    if (ext !== "json") throw new UsageError(`${ref} is a ${v.kind}; export it as .json`);
    bytes = JSON.stringify(v.kind === "metrics" ? v.metrics : v.model.meta, null, 2) + "\n";
  } else if (ext === "arrow" || ext === "feather" || ext === "ipc") {
    // Written piece by piece (a table of any size) to a temp file renamed over the target.
    const table = v.table;
    await writeFileStreamed(target, (sink) => writeTableArrow(table, sink));
    return { file: target, output: out };
  } else if (ext === "parquet") {
    const unknown = Object.keys(opts.units ?? {}).filter((c) => !v.table.columns.has(c));
    if (unknown.length)
      throw new UsageError(
        `units: ${ref} has no column ${unknown.map((c) => `"${c}"`).join(", ")}; its columns: ${[...v.table.columns.keys()].join(", ")}`,
      );
    const { writeParquetFile } = await import("../core/parquet-write.js");
    // Units: the pipeline's `units:` for the table's columns, then those given here.
    const units: Record<string, string> = {};
    for (const [c, u] of Object.entries(pipeline.spec.units)) if (v.table.columns.has(c)) setOwn(units, c, u);
    for (const [c, u] of Object.entries(opts.units ?? {})) setOwn(units, c, u);
    await writeParquetFile(target, v.table, { metadata: parquetMetadata(pipeline, out, units) });
    bytes = undefined; // written by writeParquetFile through its own temp file and rename
  } else if (ext === "csv") {
    const table = v.table;
    await writeFileStreamed(target, (sink) => writeCsv(table, sink));
    return { file: target, output: out };
  } else throw new UsageError(`cannot export a table as ".${ext}"; use .arrow, .parquet or .csv`);
  // A temp file beside the target, then a rename: an existing file is replaced whole or not at
  // all (a full disk used to leave it truncated with part of the new export).
  if (bytes !== undefined)
    await writeFileAtomic(path.resolve(target), bytes, path.dirname(path.resolve(target)));
  return { file: target, output: out };
}

/**
 * The footer metadata of an exported Parquet file: where the table came from (pipeline, stage,
 * output, the result's cache key, when it was made) and the columns' units, if any. Values
 * are JSON documents, which pyarrow (`schema.metadata`) and DuckDB (`parquet_kv_metadata`) show.
 */
function parquetMetadata(
  pipeline: Pipeline,
  out: StoredOutput,
  units: Readonly<Record<string, string>> | undefined,
): Record<string, string> {
  const provenance = {
    pipeline: pipeline.spec.name,
    file: pipeline.spec.file,
    stage: out.stage,
    stageType: out.manifest.stage.type,
    port: out.port,
    key: out.key,
    createdAt: out.manifest.createdAt,
  };
  const meta: Record<string, string> = { "quiver.provenance": JSON.stringify(provenance) };
  if (units && Object.keys(units).length) meta["quiver.units"] = JSON.stringify(units);
  return meta;
}

/**
 * Writes a file piece by piece (a table of any size, in bounded memory) to a temp file beside
 * `target`, renamed over it when complete: on failure the previous file is untouched.
 */
async function writeFileStreamed(
  target: string,
  write: (sink: (chunk: Uint8Array) => Promise<void>) => Promise<unknown>,
): Promise<void> {
  const tmp = path.join(
    path.dirname(target),
    `.${path.basename(target)}.${process.pid}.${crypto.randomBytes(6).toString("hex")}.tmp`,
  );
  const fh = await fs.promises.open(tmp, "w");
  try {
    await write(async (chunk) => {
      let done = 0;
      while (done < chunk.byteLength)
        done += (await fh.write(chunk, done, chunk.byteLength - done)).bytesWritten;
    });
    await fh.close();
    await fs.promises.rename(tmp, target);
  } catch (err) {
    await fh.close().catch(() => {});
    await fs.promises.rm(tmp, { force: true }).catch(() => {});
    if (typeof err === "object" && err !== null && !("path" in err)) Object.assign(err, { path: target });
    throw err;
  }
}

/** CSV, written in blocks of rows (one string of the whole table would hit V8's string limit). */
async function writeCsv(t: Table, sink: (chunk: Uint8Array) => Promise<void>): Promise<void> {
  const names = [...t.columns.keys()];
  const esc = (s: string) => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  let parts: string[] = [names.map(esc).join(",")];
  const cols = names.map((n) => t.columns.get(n)!);
  for (let i = 0; i < t.numRows; i++) {
    if (parts.length >= 65536) {
      await sink(Buffer.from(parts.join("\n") + "\n", "utf8"));
      parts = [];
    }
    parts.push(
      cols
        .map((c) => {
          const v = cellValue(c, i);
          return v === null ? "" : typeof v === "number" ? String(v) : esc(v);
        })
        .join(","),
    );
  }
  if (parts.length) await sink(Buffer.from(parts.join("\n") + "\n", "utf8"));
}

export type DagFormat = "text" | "mermaid" | "dot";

/** The stage graph as text, Mermaid or Graphviz dot, coloured by the latest run when known. */
export async function dag(pipeline: Pipeline, format: DagFormat, opts: ResultOptions = {}): Promise<string> {
  const { store } = await openStore(storeDir(pipeline.spec.file, opts.cacheDir), opts.onEvent);
  return renderDag(pipeline.spec, format, await readLastRun(store, pipeline.spec.name));
}

/** The stage graph as data: stages with their type, latest status and inputs, and the edges. */
export async function dagJson(pipeline: Pipeline, opts: ResultOptions = {}): Promise<JsonObject> {
  const { spec } = pipeline;
  const { store } = await openStore(storeDir(spec.file, opts.cacheDir), opts.onEvent);
  const last = await readLastRun(store, spec.name);
  return {
    pipeline: spec.name,
    file: spec.file,
    stages: spec.order.map((id) => {
      const s = spec.stages.get(id)!;
      return {
        id,
        type: s.def.type,
        status: own(last?.stages, id)?.status ?? null,
        key: own(last?.stages, id)?.key ?? null,
        inputs: Object.fromEntries(
          Object.entries(s.inputs).map(([port, r]) => [port, `${r.stage}.${r.port}`]),
        ),
      };
    }),
    edges: spec.graph.edges.map((e) => ({ from: e.from, to: e.to, label: e.label })),
  };
}

function renderDag(spec: PipelineSpec, format: DagFormat, last?: LastRun): string {
  const status = (id: string) => own(last?.stages, id)?.status;
  switch (format) {
    case "text": {
      const lines = [`${spec.name} (${spec.order.length} stages)`];
      const width = Math.max(...spec.order.map((id) => id.length));
      for (const id of spec.order) {
        const s = spec.stages.get(id)!;
        const ins = Object.entries(s.inputs).map(([port, r]) => `${port} ← ${r.stage}.${r.port}`);
        const st = status(id);
        lines.push(
          `  ${id.padEnd(width)}  [${s.def.type}]${st ? ` (${st})` : ""}${ins.length ? "  " + ins.join(", ") : ""}`,
        );
      }
      return lines.join("\n");
    }
    case "mermaid": {
      const lines = ["flowchart TD"];
      for (const id of spec.order)
        lines.push(`  ${safe(id)}["${id}<br/><small>${spec.stages.get(id)!.def.type}</small>"]`);
      for (const e of spec.graph.edges) {
        const label = e.label.split(" → ");
        lines.push(
          `  ${safe(e.from)} -->|${label[0]?.split(".")[1] ?? ""}→${label[1]?.split(".")[1] ?? ""}| ${safe(e.to)}`,
        );
      }
      for (const id of spec.order) {
        const st = status(id);
        if (st) lines.push(`  class ${safe(id)} ${st}`);
      }
      lines.push(
        "  classDef ran fill:#cfe8ff,stroke:#3b82f6",
        "  classDef cached fill:#dcfce7,stroke:#16a34a",
      );
      return lines.join("\n");
    }
    case "dot": {
      const colour: Record<string, string> = { ran: "#cfe8ff", cached: "#dcfce7" };
      const lines = [
        `digraph "${spec.name.replace(/"/g, '\\"')}" {`,
        "  rankdir=TB;",
        '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica"];',
      ];
      for (const id of spec.order) {
        const st = status(id);
        lines.push(
          `  "${id}" [label="${id}\\n${spec.stages.get(id)!.def.type}"${st && colour[st] ? `, fillcolor="${colour[st]}"` : ""}];`,
        );
      }
      for (const e of spec.graph.edges) {
        const [a, b] = e.label.split(" → ");
        lines.push(
          `  "${e.from}" -> "${e.to}" [label="${a?.split(".")[1] ?? ""} → ${b?.split(".")[1] ?? ""}", fontsize=10];`,
        );
      }
      lines.push("}");
      return lines.join("\n");
    }
  }
}

function safe(id: string): string {
  return id.replace(/[^A-Za-z0-9_]/g, "_");
}
