/**
 * Parameter sweeps: the grid from `--grid name=v1,v2` / `--grid seed=420..424`, its points, and
 * the bookkeeping around running them on one store — which stages are the same work across
 * points (so they run once), and the metrics table with mean ± std over seeds.
 */
import { parse as parseYamlValue } from "yaml";
import { hashJson } from "../core/hash.js";
import { canonicalJson, isJsonObject, type JsonValue } from "../core/json.js";
import { stageContribution } from "./fingerprint.js";
import type { PipelineSpec } from "./pipeline/spec.js";

export class GridError extends Error {}

export interface GridAxis {
  readonly name: string;
  readonly values: readonly JsonValue[];
}

/** A bound on the grid size: a typo like `seed=1..100000` should not start 100k runs. */
const MAX_POINTS = 1000;

/** `lr=0.001,0.003` → [0.001, 0.003]; `seed=420..424` → 420…424 (inclusive). */
export function parseGridAxis(text: string): GridAxis {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new GridError(`--grid expects NAME=VALUES, got "${text}"`);
  const name = text.slice(0, eq).trim();
  const rhs = text.slice(eq + 1).trim();
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new GridError(`--grid: "${name}" is not a param name`);
  const range = /^(-?\d+)\s*\.\.\s*(-?\d+)$/.exec(rhs);
  if (range) {
    const a = Number(range[1]);
    const b = Number(range[2]);
    if (b < a) throw new GridError(`--grid ${name}: empty range ${rhs} (the end is below the start)`);
    if (b - a + 1 > MAX_POINTS)
      throw new GridError(`--grid ${name}: ${rhs} has more than ${MAX_POINTS} values`);
    return { name, values: Array.from({ length: b - a + 1 }, (_, i) => a + i) };
  }
  const parts = rhs.split(",").map((s) => s.trim());
  if (!rhs || parts.some((p) => p === ""))
    throw new GridError(`--grid ${name}: empty value in "${rhs}" (write values separated by commas)`);
  const values = parts.map((p) => parseYamlValue(p) as JsonValue);
  const seen = new Set<string>();
  for (const v of values) {
    const k = canonicalJson(v);
    if (seen.has(k)) throw new GridError(`--grid ${name}: value ${k} is listed twice`);
    seen.add(k);
  }
  return { name, values };
}

export function parseGrid(texts: readonly string[]): GridAxis[] {
  const axes = texts.map(parseGridAxis);
  const names = new Set<string>();
  for (const a of axes) {
    if (names.has(a.name))
      throw new GridError(`--grid ${a.name} is given twice; list all its values in one flag`);
    names.add(a.name);
  }
  const total = axes.reduce((n, a) => n * a.values.length, 1);
  if (total > MAX_POINTS) throw new GridError(`the grid has ${total} points; the limit is ${MAX_POINTS}`);
  return axes;
}

export type GridPoint = Readonly<Record<string, JsonValue>>;

/** Every combination, the first axis varying slowest. */
export function gridPoints(axes: readonly GridAxis[]): GridPoint[] {
  let points: Record<string, JsonValue>[] = [{}];
  for (const a of axes) points = points.flatMap((p) => a.values.map((v) => ({ ...p, [a.name]: v })));
  return points;
}

export function pointLabel(p: GridPoint, omit?: string): string {
  return (
    Object.entries(p)
      .filter(([k]) => k !== omit)
      .map(([k, v]) => `${k}=${typeof v === "string" ? v : canonicalJson(v)}`)
      .join(" ") || "(all)"
  );
}

/**
 * A signature per stage that is equal across points exactly when the stage would do the same
 * work: the same contribution to its key (type, version, fingerprint params, seed when random),
 * the same files, and the same signatures upstream. It lets the plan count shared stages before
 * anything has run (cache keys need upstream outputs). Files are compared by path, which is
 * enough within one sweep.
 */
export function stageSignatures(spec: PipelineSpec): Map<string, string> {
  const sig = new Map<string, string>();
  for (const id of spec.order) {
    const s = spec.stages.get(id)!;
    sig.set(
      id,
      hashJson({
        ...stageContribution(s),
        files: s.files.map((f) => f.file),
        inputs: Object.fromEntries(
          Object.entries(s.inputs).map(([port, r]) => [port, `${sig.get(r.stage)}.${r.port}`]),
        ),
      }),
    );
  }
  return sig;
}

export function formatParams(spec: PipelineSpec, omit: ReadonlySet<string> = new Set()): string {
  const names = Object.keys(spec.params)
    .filter((n) => !omit.has(n))
    .sort();
  if (!names.length) return "";
  const origin = { pipeline: "pipeline", cli: "--set", file: "--params" } as const;
  return `params: ${names
    .map((n) => {
      const p = spec.params[n]!;
      return `${n}=${typeof p.value === "string" ? p.value : canonicalJson(p.value)} (${origin[p.origin]})`;
    })
    .join(", ")}${omit.has("seed") ? "" : ` · seed ${spec.seed}`}`;
}

/** `stage.path.to.leaf` → the stage id and the path inside its metrics output. */
export function parseMetricRef(
  ref: string,
  spec: PipelineSpec,
): { stage: string; port: string; path: string[] } {
  const parts = ref.split(".");
  const stage = parts[0] ?? "";
  const s = spec.stages.get(stage);
  if (!s) throw new GridError(`--metric ${ref}: no stage "${stage}"; stages: ${spec.order.join(", ")}`);
  const metricPorts = Object.entries(s.def.outputs)
    .filter(([, o]) => o.kind === "metrics")
    .map(([p]) => p);
  if (!metricPorts.length) throw new GridError(`--metric ${ref}: stage ${stage} has no metrics output`);
  let port = metricPorts[0]!;
  let rest = parts.slice(1);
  if (rest[0] && metricPorts.includes(rest[0])) {
    port = rest[0];
    rest = rest.slice(1);
  } else if (metricPorts.length > 1)
    throw new GridError(`--metric ${ref}: say which output of ${stage}: ${metricPorts.join(", ")}`);
  if (!rest.length)
    throw new GridError(`--metric ${ref}: give a path inside ${stage}.${port}, e.g. ${stage}.auc`);
  return { stage, port, path: rest };
}

export function metricAt(v: JsonValue | undefined, path: readonly string[]): number | undefined {
  let cur: JsonValue | undefined = v;
  for (const p of path) cur = isJsonObject(cur ?? null) ? (cur as { [k: string]: JsonValue })[p] : undefined;
  return typeof cur === "number" ? cur : undefined;
}

/** `0.9624 ± 0.0031` with digits suited to the spread. */
export function fmtMeanStd(m: { mean: number; std: number; n: number }): string {
  if (m.n < 2) return fmtNum(m.mean);
  const digits = m.std > 0 ? Math.min(8, Math.max(1, 1 - Math.floor(Math.log10(m.std)))) : 4;
  return `${m.mean.toFixed(digits)} ± ${m.std.toFixed(digits)}`;
}

export function fmtNum(x: number): string {
  if (Number.isInteger(x)) return String(x);
  return Math.abs(x) >= 1e-3 && Math.abs(x) < 1e6
    ? x.toPrecision(6).replace(/\.?0+$/, "")
    : x.toExponential(4);
}
