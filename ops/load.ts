/**
 * Loading a pipeline for an operation: read the file, parse it (YAML with source positions),
 * validate it against a stage registry with param overrides. Every problem is collected; a
 * pipeline that cannot be used is a PipelineError carrying all of them.
 */
import fs from "node:fs";
import path from "node:path";
import { parse as parseYaml } from "yaml";
import type { Diagnostic, SourceLookup } from "../core/diagnostics.js";
import { isJsonObject, type JsonValue } from "../core/json.js";
import type { Overrides } from "../engine/pipeline/params.js";
import { parsePipelineSource, type PipelineSource } from "../engine/pipeline/source.js";
import type { PipelineSpec } from "../engine/pipeline/spec.js";
import { validatePipeline, type Registry, type TrustOptions } from "../engine/pipeline/validate.js";
import { PipelineError } from "./errors.js";

export type { Registry };

export interface LoadOptions {
  /** The stage types the pipeline may use. */
  readonly registry: Registry;
  /** Param values that override the pipeline's (`seed` sets the pipeline seed). */
  readonly params?: Readonly<Record<string, JsonValue>>;
  /** A YAML file of param values (`params` wins over it). */
  readonly paramsFile?: string;
  /** Accept `data_roots:` reaching home or system folders (`--allow-data-roots`); see TrustOptions. */
  readonly allowDataRoots?: boolean;
}

/** A validated pipeline, ready for the operations. */
export interface Pipeline {
  readonly spec: PipelineSpec;
  /** The file's text, for messages that show its lines. */
  readonly text: string;
  /** Warnings found while validating (errors make loading fail). */
  readonly warnings: readonly Diagnostic[];
  /** Source lines by file, to render diagnostics that point into the pipeline. */
  readonly sources: SourceLookup;
  /** True when params were overridden: such a run is an exploration, not the committed pipeline. */
  readonly overridden: boolean;
}

/** A parsed pipeline file, to validate with different params (a sweep parses once). */
export interface ParsedPipeline {
  readonly file: string;
  readonly text: string;
  readonly source: PipelineSource | undefined;
  readonly diagnostics: readonly Diagnostic[];
  readonly sources: SourceLookup;
}

/** A path as the user should read it: relative to the working directory when inside it. */
export function displayPath(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith("..") ? rel : p;
}

export function parsePipeline(file: string): ParsedPipeline {
  const shown = displayPath(file);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    throw new PipelineError(
      [
        {
          severity: "error",
          code: "QV_PIPELINE_READ",
          message: `cannot read pipeline file ${shown}: ${(err as { code?: string }).code ?? String(err)}`,
          hint: "check the path; pipelines are YAML files such as pipelines/demo.yaml",
        },
      ],
      () => undefined,
    );
  }
  const parsed = parsePipelineSource(shown, text);
  return {
    file,
    text,
    source: parsed.source,
    diagnostics: parsed.diagnostics,
    sources: (f) => (f === shown ? text : undefined),
  };
}

/** Reads a `--params` file: a mapping of param names to values. */
export function readParamsFile(file: string): Record<string, JsonValue> {
  try {
    const v: unknown = parseYaml(fs.readFileSync(file, "utf8"));
    if (!isJsonObject(v)) throw new Error("it must be a mapping of param names to values");
    return v;
  } catch (err) {
    throw new PipelineError(
      [
        {
          severity: "error",
          code: "QV_PARAMS_FILE",
          message: `cannot use --params ${file}: ${err instanceof Error ? err.message : String(err)}`,
        },
      ],
      () => undefined,
    );
  }
}

/** Validates a parsed pipeline with these params; throws PipelineError with every problem. */
export function validateParsed(
  parsed: ParsedPipeline,
  registry: Registry,
  overrides: Overrides = {},
  extra: readonly Diagnostic[] = [],
  trust: TrustOptions = {},
): Pipeline {
  let diags = [...extra, ...parsed.diagnostics];
  let spec: PipelineSpec | undefined;
  if (parsed.source) {
    const v = validatePipeline(parsed.source, registry, overrides, trust);
    diags = [...diags, ...v.diagnostics];
    spec = v.spec;
  }
  if (!spec) throw new PipelineError(diags, parsed.sources);
  const overridden = Object.keys(overrides.set ?? {}).length > 0 || overrides.paramsFile !== undefined;
  return { spec, text: parsed.text, warnings: diags, sources: parsed.sources, overridden };
}

/** Reads, parses and validates a pipeline file. */
export function loadPipeline(file: string, opts: LoadOptions): Pipeline {
  const parsed = parsePipeline(file);
  const paramsFile = opts.paramsFile !== undefined ? readParamsFile(opts.paramsFile) : undefined;
  return validateParsed(
    parsed,
    opts.registry,
    {
      ...(paramsFile ? { paramsFile } : {}),
      ...(opts.params ? { set: opts.params } : {}),
    },
    [],
    { allowDataRoots: opts.allowDataRoots === true },
  );
}
