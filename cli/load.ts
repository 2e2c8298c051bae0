/** Loading a pipeline for a command, and the terminal the commands write to. */
import path from "node:path";
import { renderDiagnostics } from "../core/diagnostics.js";
import { PipelineError } from "../ops/errors.js";
import { loadPipeline as load, type Pipeline, type Registry } from "../ops/load.js";
import { paramOptions } from "./args.js";

export { displayPath } from "../ops/load.js";

export interface Io {
  /** Standard output: results (text, or with --json only JSON, through `json`). */
  out(s: string): void;
  /** Standard error: progress, warnings, diagnostics, and every line of text in --json mode. */
  err(s: string): void;
  /** Colour on standard output. */
  readonly color: boolean;
  /** Colour on standard error (default: `color`); each stream decides for itself. */
  readonly errColor?: boolean;
  /** With --json: writes one JSON document (or one NDJSON line of a stream) to standard output. */
  readonly json?: (doc: unknown) => void;
  /**
   * Asks the person at the terminal and returns the answer; absent when nobody can answer (input
   * is not a terminal: a script, CI, a test), so commands that need a confirmation need a flag.
   */
  readonly ask?: (question: string) => Promise<string>;
}

/** Writes a JSON document to standard output: through `io.json` in --json mode, else as a line. */
export function emitJson(io: Io, doc: unknown): void {
  if (io.json) io.json(doc);
  else io.out(JSON.stringify(doc));
}

/** Whether text written to standard error may carry colour codes. */
export function errColor(io: Io): boolean {
  return io.errColor ?? io.color;
}

/**
 * The pipeline with the command's `--set`/`--params`, its warnings printed; a PipelineError
 * (every problem, rendered by main) when it cannot be used.
 */
export function loadPipeline(
  file: string,
  registry: Registry,
  values: {
    set?: string[] | undefined;
    params?: string | undefined;
    "allow-data-roots"?: boolean | undefined;
  },
  io: Io,
): Pipeline {
  const { problems, ...overrides } = paramOptions(values);
  if (problems.length) throw new PipelineError(problems, () => undefined);
  const p = load(file, { registry, ...overrides, allowDataRoots: values["allow-data-roots"] === true });
  if (p.warnings.length) io.err(renderDiagnostics(p.warnings, p.sources, errColor(io)));
  return p;
}

/** Data roots from the command line, absolute. */
export function dataRootsOf(values: { "data-root"?: string[] | undefined }): string[] {
  return (values["data-root"] ?? []).map((r) => path.resolve(r));
}
