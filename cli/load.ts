/** Reading a pipeline file for a command: parse, validate, and render every problem found. */
import fs from "node:fs";
import path from "node:path";
import { Store } from "../cache/store.js";
import { renderDiagnostics, type Diagnostic } from "../core/diagnostics.js";
import { FileHashMemo } from "../core/hash.js";
import type { JsonValue } from "../core/json.js";
import { parsePipelineSource } from "../engine/pipeline/source.js";
import type { PipelineSpec } from "../engine/pipeline/spec.js";
import { validatePipeline, type Overrides, type Registry } from "../engine/pipeline/validate.js";
import { parse as parseYaml } from "yaml";

export interface Loaded {
  readonly spec: PipelineSpec;
  readonly warnings: readonly Diagnostic[];
  readonly text: string;
}

export interface Io {
  out(s: string): void;
  err(s: string): void;
  readonly color: boolean;
}

export function displayPath(p: string): string {
  const rel = path.relative(process.cwd(), p);
  return rel && !rel.startsWith("..") ? rel : p;
}

/** Returns the validated pipeline, or prints all diagnostics and returns undefined. */
export function loadPipeline(
  file: string,
  registry: Registry,
  overrides: Overrides & { paramsFilePath?: string },
  io: Io,
): Loaded | undefined {
  const shown = displayPath(file);
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    io.err(
      `error QV_PIPELINE_READ: cannot read pipeline file ${shown}: ${(err as { code?: string }).code ?? String(err)}\n  hint: check the path; pipelines are YAML files such as pipelines/demo.yaml`,
    );
    return undefined;
  }
  let paramsFile: Record<string, JsonValue> | undefined;
  if (overrides.paramsFilePath) {
    try {
      const v = parseYaml(fs.readFileSync(overrides.paramsFilePath, "utf8")) as unknown;
      if (typeof v !== "object" || v === null || Array.isArray(v))
        throw new Error("it must be a mapping of param names to values");
      paramsFile = v as Record<string, JsonValue>;
    } catch (err) {
      io.err(
        `error QV_PARAMS_FILE: cannot use --params ${overrides.paramsFilePath}: ${err instanceof Error ? err.message : String(err)}`,
      );
      return undefined;
    }
  }
  const parsed = parsePipelineSource(shown, text);
  let diags = parsed.diagnostics;
  let spec: PipelineSpec | undefined;
  if (parsed.source) {
    const v = validatePipeline(parsed.source, registry, {
      ...(overrides.set ? { set: overrides.set } : {}),
      ...(paramsFile ? { paramsFile } : {}),
    });
    diags = [...diags, ...v.diagnostics];
    spec = v.spec;
  }
  const sources = (f: string) => (f === shown ? text : undefined);
  if (!spec) {
    io.err(renderDiagnostics(diags, sources, io.color));
    return undefined;
  }
  if (diags.length) io.err(renderDiagnostics(diags, sources, io.color));
  return { spec, warnings: diags, text };
}

/** The `--set` / `--params` options of a command, as loadPipeline takes them. */
export function overridesOf(values: {
  set?: string[] | undefined;
  params?: string | undefined;
}): Overrides & {
  paramsFilePath?: string;
} {
  return {
    ...(values.set ? { set: values.set } : {}),
    ...(values.params ? { paramsFilePath: values.params } : {}),
  };
}

export function storeDir(pipelineFile: string | undefined, cacheDir: string | undefined): string {
  if (cacheDir) return path.resolve(cacheDir);
  if (process.env.QUIVER_CACHE) return path.resolve(process.env.QUIVER_CACHE);
  return path.join(pipelineFile ? path.dirname(path.resolve(pipelineFile)) : process.cwd(), ".quiver");
}

export async function openStore(dir: string, io: Io): Promise<{ store: Store; memo: FileHashMemo }> {
  const store = await Store.open(dir, (p) =>
    io.err(
      `warning QV_CACHE_${p.kind.toUpperCase().replace(/-/g, "_")}: ${p.what}: ${p.detail}; it will be recomputed`,
    ),
  );
  const memo = FileHashMemo.fromJson(await store.readRecord("file-hashes"));
  return { store, memo };
}
