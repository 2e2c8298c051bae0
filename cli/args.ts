/** Command-line parsing shared by the commands: node's parseArgs with Quiver's error style. */
import { parseArgs, type ParseArgsConfig } from "node:util";

export class UsageError extends Error {}

export function parse<T extends NonNullable<ParseArgsConfig["options"]>>(argv: string[], options: T) {
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
} as const;

export function intOpt(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} expects a positive integer, got "${v}"`);
  return n;
}
