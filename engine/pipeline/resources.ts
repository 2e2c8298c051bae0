/**
 * What a stage asks of the machine it runs on: `resources: { cpus, memory, time, partition, local, pack }`
 * on a stage, with defaults for every stage at the top of the pipeline, and below those the site's
 * (engine/runners/site.ts). Resources say where and how a stage runs, never what it computes: they
 * are not part of any cache key, so moving a stage to a bigger node reruns nothing.
 *
 *   memory: 4G, 512M, 2048 (a number is MiB, as Slurm's --mem)
 *   time:   90s, 30m, 2h, 1d, 1:30:00, 2-12:00:00, 45 (a number is minutes, as Slurm's --time)
 */
import { didYouMean, type Diagnostic, type SourceLocation } from "../../core/diagnostics.js";

export interface Resources {
  /** Cores (threads) for the stage: a batch job's --cpus-per-task, the stage's `jobs`. */
  readonly cpus?: number;
  /** Memory in MiB. */
  readonly memory?: number;
  /** Wall-time limit in seconds. */
  readonly time?: number;
  /** Batch partition (queue); comma-separated for several. */
  readonly partition?: string;
  /**
   * Run in the head process even when a batch system runs the other stages (a quick stage is not
   * worth a node: Snakemake's `localrules`). Results are the same wherever a stage runs.
   */
  readonly local?: boolean;
  /**
   * On a batch system: up to this many stages that become ready together, with the same request,
   * run one after another in one batch job (Snakemake's group components). Each job waits in the
   * queue once for all of them: fewer, longer jobs when stages are short next to the queue's wait.
   * The job's time limit is `time` times the number of stages it holds.
   */
  readonly pack?: number;
}

export const RESOURCE_FIELDS = ["cpus", "memory", "time", "partition", "local", "pack"] as const;
export type ResourceField = (typeof RESOURCE_FIELDS)[number];

/** Parses a `resources:` mapping; `at(field)` locates a field (or the mapping, without one). */
export function parseResources(
  raw: unknown,
  at: (field?: string, atKey?: boolean) => SourceLocation,
  what: string,
): { resources: Resources; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const err = (location: SourceLocation, message: string, hint?: string) =>
    diagnostics.push({
      severity: "error",
      code: "QV_RESOURCES",
      message: `${what}: ${message}`,
      location,
      ...(hint ? { hint } : {}),
    });
  if (raw === undefined || raw === null) return { resources: {}, diagnostics };
  if (typeof raw !== "object" || Array.isArray(raw)) {
    err(at(), "`resources` must be a mapping", "e.g. resources: { cpus: 4, memory: 8G, time: 2h }");
    return { resources: {}, diagnostics };
  }
  const out: { -readonly [K in keyof Resources]: Resources[K] } = {};
  for (const [field, value] of Object.entries(raw as Record<string, unknown>)) {
    switch (field as ResourceField) {
      case "cpus":
        if (typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= 4096)
          out.cpus = value;
        else err(at(field), `cpus must be a whole number from 1 to 4096, got ${show(value)}`);
        break;
      case "memory": {
        const mb = parseMemory(value);
        if (mb === undefined)
          err(at(field), `memory must be a size such as 4G or 512M, got ${show(value)}`, SIZE_HINT);
        else out.memory = mb;
        break;
      }
      case "time": {
        const s = parseDuration(value);
        if (s === undefined)
          err(
            at(field),
            `time must be a duration such as 30m, 2h or 1-12:00:00, got ${show(value)}`,
            TIME_HINT,
          );
        else out.time = s;
        break;
      }
      case "partition":
        if (typeof value === "string" && /^[A-Za-z0-9_.,-]+$/.test(value)) out.partition = value;
        else
          err(
            at(field),
            `partition must be a partition name (or several, comma-separated), got ${show(value)}`,
          );
        break;
      case "local":
        if (typeof value === "boolean") out.local = value;
        else err(at(field), `local must be true or false, got ${show(value)}`);
        break;
      case "pack":
        if (typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= MAX_PACK)
          out.pack = value;
        else
          err(
            at(field),
            `pack must be a whole number from 1 to ${MAX_PACK} (stages per batch job), got ${show(value)}`,
            "e.g. pack: 10 runs up to ten ready stages one after another in one batch job",
          );
        break;
      default: {
        const near = didYouMean(field, RESOURCE_FIELDS);
        err(
          at(field, true),
          `unknown resource "${field}"`,
          near ? `did you mean "${near}"?` : `resources: ${RESOURCE_FIELDS.join(", ")}`,
        );
      }
    }
  }
  return { resources: out, diagnostics };
}

/** Most stages one batch job runs (`pack`). */
export const MAX_PACK = 1000;

const SIZE_HINT = "a number with K, M, G or T (binary units, as Slurm); a plain number is MiB";
const TIME_HINT = "s, m, h or d after a number, or Slurm's [D-]HH:MM:SS; a plain number is minutes";

function show(v: unknown): string {
  return JSON.stringify(v) ?? String(v);
}

const UNIT_MB: Readonly<Record<string, number>> = { K: 1 / 1024, M: 1, G: 1024, T: 1024 * 1024 };

/** `4G` → 4096 (MiB); a number is MiB. */
export function parseMemory(v: unknown): number | undefined {
  if (typeof v === "number") return Number.isFinite(v) && v >= 1 ? Math.ceil(v) : undefined;
  if (typeof v !== "string") return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT])(?:i?B)?\s*$/i.exec(v);
  if (!m) return /^\s*\d+\s*$/.test(v) ? parseMemory(Number(v)) : undefined;
  const mb = Math.ceil(Number(m[1]) * UNIT_MB[m[2]!.toUpperCase()]!);
  return mb >= 1 ? mb : undefined;
}

const UNIT_S: Readonly<Record<string, number>> = { s: 1, sec: 1, m: 60, min: 60, h: 3600, d: 86400 };

/** `30m` → 1800 (seconds); Slurm's `[D-]HH:MM:SS`, `MM:SS`, `D-HH[:MM]`; a number is minutes. */
export function parseDuration(v: unknown): number | undefined {
  if (typeof v === "number") return Number.isFinite(v) && v > 0 ? Math.round(v * 60) : undefined;
  if (typeof v !== "string") return undefined;
  const text = v.trim();
  const unit = /^(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|d)$/i.exec(text);
  if (unit) {
    const s = Math.round(Number(unit[1]) * UNIT_S[unit[2]!.toLowerCase()]!);
    return s > 0 ? s : undefined;
  }
  if (/^\d+$/.test(text)) return parseDuration(Number(text));
  const slurm = /^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$/.exec(text);
  if (!slurm) return undefined;
  const [, days, a, b, c] = slurm;
  let s: number;
  if (days !== undefined) s = Number(days) * 86400 + Number(a) * 3600 + Number(b ?? 0) * 60 + Number(c ?? 0);
  else if (c !== undefined) s = Number(a) * 3600 + Number(b) * 60 + Number(c);
  else s = Number(a) * 60 + Number(b ?? 0);
  return s > 0 ? s : undefined;
}

/** Seconds as Slurm's `D-HH:MM:SS`, rounded up to whole minutes (its granularity). */
export function slurmTime(seconds: number): string {
  const minutes = Math.max(1, Math.ceil(seconds / 60));
  const d = Math.floor(minutes / 1440);
  const h = Math.floor((minutes % 1440) / 60);
  const m = minutes % 60;
  const two = (n: number) => String(n).padStart(2, "0");
  return `${d}-${two(h)}:${two(m)}:00`;
}

/** `4096` → `4G`, for messages. */
export function fmtMemory(mb: number): string {
  return mb % 1024 === 0 ? `${mb / 1024}G` : `${mb}M`;
}

/** `5400` → `1h30m`, for messages. */
export function fmtDuration(s: number): string {
  const parts: string[] = [];
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d) parts.push(`${d}d`);
  if (h) parts.push(`${h}h`);
  if (m) parts.push(`${m}m`);
  if (sec || !parts.length) parts.push(`${sec}s`);
  return parts.join("");
}

/** `over` field by field on top of `base`. */
export function mergeResources(base: Resources, over: Resources): Resources {
  return { ...base, ...over };
}
