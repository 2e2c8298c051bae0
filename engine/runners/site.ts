/**
 * Per-site settings of a batch runner: what differs between clusters, not between analyses — the
 * account to charge, the default partition, extra submit flags, resource defaults, how often to ask
 * the queue. They live in a YAML file (`$QUIVER_SITE`, else `~/.config/quiver/site.yaml`), one
 * section per runner, and environment variables override them (`QUIVER_SLURM_ACCOUNT`, ...):
 *
 *   slurm:
 *     account: atlas-ml
 *     partition: short
 *     flags: ["--qos=normal", "--constraint=avx2"]
 *     resources: { cpus: 1, memory: 2G, time: 1h }   # below the pipeline's and the stage's
 *     poll: 5s                                        # how often the queue is asked
 *     max_array: 1000                                 # the site's MaxArraySize - 1
 *     pack_wait: 2s                                   # ready stages with resources.pack wait this long for siblings
 *     command: [/usr/bin/node, /opt/quiver/bin/quiver.js]   # Quiver on the nodes
 *
 * Never part of a cache key: where a stage runs does not change what it computes.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  didYouMean,
  DiagnosticError,
  type Diagnostic,
  type SourceLocation,
  type SourceLookup,
} from "../../core/diagnostics.js";
import { parsePipelineSource } from "../pipeline/source.js";
import { parseDuration, parseResources, type Resources } from "../pipeline/resources.js";

export interface SiteSettings {
  readonly account?: string;
  readonly partition?: string;
  /** Extra arguments for the submit command, as given. */
  readonly flags: readonly string[];
  readonly resources: Resources;
  /** How often the queue is asked, in ms. */
  readonly pollMs?: number;
  /** Most tasks in one array submission. */
  readonly maxArray?: number;
  /** How long ready stages with `resources.pack` wait for siblings to share their batch jobs, in ms. */
  readonly packWaitMs?: number;
  /** The command that starts Quiver on the nodes (default: the head's own node and CLI). */
  readonly command?: readonly string[];
  /** Where the settings came from, for messages. */
  readonly sources: readonly string[];
}

/** The site file has a problem: every one found, located in the file. */
export class SiteConfigError extends DiagnosticError {
  constructor(
    diagnostics: readonly Diagnostic[],
    readonly sources: SourceLookup,
  ) {
    super(diagnostics);
    this.name = "SiteConfigError";
  }
}

const FIELDS = [
  "account",
  "partition",
  "flags",
  "resources",
  "poll",
  "max_array",
  "pack_wait",
  "command",
] as const;

export function siteFile(env: NodeJS.ProcessEnv = process.env): string {
  if (env.QUIVER_SITE) return path.resolve(env.QUIVER_SITE);
  const config = env.XDG_CONFIG_HOME || path.join(os.homedir(), ".config");
  return path.join(config, "quiver", "site.yaml");
}

/** The settings of one runner (`slurm`, ...): its section of the site file, then the environment. */
export function readSiteSettings(runner: string, env: NodeJS.ProcessEnv = process.env): SiteSettings {
  const file = siteFile(env);
  const diags: Diagnostic[] = [];
  let text: string | undefined;
  const out: {
    account?: string;
    partition?: string;
    flags: string[];
    resources: Resources;
    pollMs?: number;
    maxArray?: number;
    packWaitMs?: number;
    command?: string[];
    sources: string[];
  } = { flags: [], resources: {}, sources: [] };
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    // No site file is the common case on a laptop; one named explicitly must exist.
    if (env.QUIVER_SITE || (err as { code?: string }).code !== "ENOENT")
      throw new SiteConfigError(
        [
          {
            severity: "error",
            code: "QV_SITE_CONFIG",
            message: `cannot read the site settings ${file}: ${(err as { code?: string }).code ?? String(err)}`,
            hint: "QUIVER_SITE names the file; unset it to use ~/.config/quiver/site.yaml",
          },
        ],
        () => undefined,
      );
  }
  if (text !== undefined) {
    const parsed = parsePipelineSource(file, text);
    diags.push(...parsed.diagnostics.filter((d) => d.severity === "error"));
    const root = parsed.source?.value;
    const section = isRecord(root) ? root[runner] : undefined;
    if (parsed.source && isRecord(section)) {
      out.sources.push(file);
      const at = (p: string[], atKey = false): SourceLocation =>
        parsed.source!.locate([runner, ...p], { atKey });
      readSection(section, at, runner, out, diags);
    } else if (parsed.source && section !== undefined)
      diags.push(err(parsed.source.locate([runner]), `\`${runner}\` must be a mapping of settings`));
  }
  if (diags.length) throw new SiteConfigError(diags, (f) => (f === file ? text : undefined));
  // The environment wins over the file (a job script, a CI setting).
  const prefix = `QUIVER_${runner.toUpperCase()}_`;
  const fromEnv = (name: string) => env[prefix + name] || undefined;
  const envProblems: Diagnostic[] = [];
  if (fromEnv("ACCOUNT")) out.account = fromEnv("ACCOUNT");
  if (fromEnv("PARTITION")) out.partition = fromEnv("PARTITION");
  if (fromEnv("FLAGS")) out.flags = [...out.flags, ...fromEnv("FLAGS")!.split(/\s+/).filter(Boolean)];
  if (fromEnv("POLL")) {
    const s = parseDuration(
      fromEnv("POLL")!.match(/^\d+(\.\d+)?$/) ? `${fromEnv("POLL")}s` : fromEnv("POLL"),
    );
    if (s === undefined)
      envProblems.push({
        severity: "error",
        code: "QV_SITE_CONFIG",
        message: `${prefix}POLL must be a duration such as 5s, got "${fromEnv("POLL")}"`,
      });
    else out.pollMs = s * 1000;
  }
  if (envProblems.length) throw new SiteConfigError(envProblems, () => undefined);
  for (const name of ["ACCOUNT", "PARTITION", "FLAGS", "POLL"])
    if (fromEnv(name)) out.sources.push(prefix + name);
  return out;
}

function readSection(
  section: Record<string, unknown>,
  at: (p: string[], atKey?: boolean) => SourceLocation,
  runner: string,
  out: {
    account?: string;
    partition?: string;
    flags: string[];
    resources: Resources;
    pollMs?: number;
    maxArray?: number;
    packWaitMs?: number;
    command?: string[];
  },
  diags: Diagnostic[],
): void {
  const strings = (v: unknown): v is string[] =>
    Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === "string" && x.length > 0);
  for (const [k, v] of Object.entries(section)) {
    switch (k as (typeof FIELDS)[number]) {
      case "account":
      case "partition":
        if (typeof v === "string" && /^[A-Za-z0-9_.,-]+$/.test(v)) out[k as "account" | "partition"] = v;
        else diags.push(err(at([k]), `${runner}.${k} must be a name, got ${JSON.stringify(v)}`));
        break;
      case "flags":
        if (strings(v)) out.flags = [...v];
        else diags.push(err(at([k]), `${runner}.flags must be a list of arguments, e.g. ["--qos=normal"]`));
        break;
      case "resources": {
        const r = parseResources(
          v,
          (field, atKey) => at(field ? [k, field] : [k], atKey),
          `${runner}.resources`,
        );
        diags.push(...r.diagnostics);
        out.resources = r.resources;
        break;
      }
      case "poll": {
        const s = parseDuration(typeof v === "number" ? `${v}s` : v);
        if (s === undefined) diags.push(err(at([k]), `${runner}.poll must be a duration such as 5s`));
        else out.pollMs = s * 1000;
        break;
      }
      case "max_array":
        if (typeof v === "number" && Number.isInteger(v) && v >= 1) out.maxArray = v;
        else diags.push(err(at([k]), `${runner}.max_array must be a whole number ≥ 1`));
        break;
      case "pack_wait": {
        // Below a second matters here (the default is 2 s): seconds with a fraction, or ms.
        const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s)?\s*$/.exec(
          typeof v === "number" || typeof v === "string" ? String(v) : "",
        );
        if (m && (typeof v === "number" || typeof v === "string"))
          out.packWaitMs = Math.round(Number(m[1]) * (m[2] === "ms" ? 1 : 1000));
        else
          diags.push(
            err(
              at([k]),
              `${runner}.pack_wait must be a duration such as 2s or 500ms, got ${JSON.stringify(v)}`,
            ),
          );
        break;
      }
      case "command":
        if (strings(v)) out.command = [...v];
        else
          diags.push(
            err(at([k]), `${runner}.command must be a list, e.g. [/usr/bin/node, /opt/quiver/bin/quiver.js]`),
          );
        break;
      default: {
        const near = didYouMean(k, FIELDS);
        diags.push(
          err(
            at([k], true),
            `unknown ${runner} setting "${k}"`,
            near ? `did you mean "${near}"?` : `settings: ${FIELDS.join(", ")}`,
          ),
        );
      }
    }
  }
}

function err(location: SourceLocation, message: string, hint?: string): Diagnostic {
  return { severity: "error", code: "QV_SITE_CONFIG", message, location, ...(hint ? { hint } : {}) };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
