/** Command-line parsing shared by the commands: node's parseArgs with Quiver's error style. */
import { parseArgs, type ParseArgsConfig } from "node:util";
import type { Diagnostic } from "../core/diagnostics.js";
import { setOwn } from "../core/dict.js";
import type { JsonValue } from "../core/json.js";
import { parseAssignment } from "../engine/pipeline/params.js";
import { UsageError } from "../ops/errors.js";

export { UsageError };

export function parse<T extends NonNullable<ParseArgsConfig["options"]>>(
  argv: string[],
  options: T,
): ReturnType<typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>> {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(
      err instanceof Error ? err.message.replace(/^TypeError \[[A-Z_]+\]: /, "") : String(err),
    );
  }
}

export const common = {
  "cache-dir": { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

export const pipelineOpts = {
  ...common,
  set: { type: "string", multiple: true },
  params: { type: "string" },
  "data-root": { type: "string", multiple: true },
  "allow-data-roots": { type: "boolean" },
} as const;

export function intOpt(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} expects a positive integer, got "${v}"`);
  return n;
}

/** `--set name=value` (repeatable) and `--params FILE` as typed param overrides. */
export function paramOptions(values: { set?: string[] | undefined; params?: string | undefined }): {
  params?: Record<string, JsonValue>;
  paramsFile?: string;
  problems: Diagnostic[];
} {
  const params: Record<string, JsonValue> = {};
  const problems: Diagnostic[] = [];
  for (const text of values.set ?? []) {
    const a = parseAssignment(text);
    if ("severity" in a) problems.push(a);
    else setOwn(params, a.name, a.value);
  }
  return {
    ...(values.set?.length ? { params } : {}),
    ...(values.params !== undefined ? { paramsFile: values.params } : {}),
    problems,
  };
}

/** `--isolate` / `--executor NAME`: where stages run, and the command that starts `quiver exec`. */
export const executorOpts = {
  isolate: { type: "boolean" },
  executor: { type: "string" },
} as const;

export function executorOf(values: { isolate?: boolean | undefined; executor?: string | undefined }): {
  executor?: string;
  command?: string[];
} {
  if (values.isolate && values.executor !== undefined && values.executor !== "subprocess")
    throw new UsageError(`--isolate runs stages with the subprocess executor, not "${values.executor}"`);
  const executor = values.isolate ? "subprocess" : values.executor;
  const cli = process.argv[1];
  return { ...(executor ? { executor } : {}), ...(cli ? { command: [process.execPath, cli] } : {}) };
}
