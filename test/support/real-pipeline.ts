/**
 * Running a repository pipeline in-process with the real stage registry, for the analysis tests:
 * `run` parses the NDJSON events (which stages ran, which were cached), `show` reads a metrics
 * output as JSON. Runs never rewrite the committed lock files (--no-lock).
 */
import assert from "node:assert/strict";
import { main } from "../../cli/main.js";
import type { EngineEvent } from "../../engine/events.js";

export interface PipelineRun {
  code: number;
  ran: string[];
  cached: string[];
  events: EngineEvent[];
  stderr: string;
}

async function quiver(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (s) => out.push(s), err: (s) => err.push(s), color: false });
  return { code, out, err };
}

export async function run(file: string, cacheDir: string, ...args: string[]): Promise<PipelineRun> {
  const r = await quiver([
    "run",
    file,
    "--json",
    "--cache-dir",
    cacheDir,
    "--jobs",
    "2",
    "--no-lock",
    ...args,
  ]);
  const events = r.out
    .join("\n")
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as EngineEvent);
  const stages = (type: EngineEvent["type"]) =>
    events.filter((e) => e.type === type).map((e) => (e as { stage: string }).stage);
  return {
    code: r.code,
    ran: stages("finished"),
    cached: stages("cached"),
    events,
    stderr: r.err.join("\n"),
  };
}

/**
 * A metrics output as JSON (`quiver show ... --json`). `args` are the run's `--set`s: show names
 * the result of the pipeline as it was run.
 */
export async function show(
  file: string,
  cacheDir: string,
  ref: string,
  ...args: string[]
): Promise<Record<string, unknown>> {
  const r = await quiver(["show", file, ref, "--json", "--cache-dir", cacheDir, ...args]);
  assert.equal(r.code, 0, r.err.join("\n"));
  assert.equal(r.out.length, 1, `show ${ref} --json printed ${r.out.length} lines`);
  const doc = JSON.parse(r.out[0]!) as { type: string; value: Record<string, unknown> };
  assert.equal(doc.type, "show");
  return doc.value;
}

/** A number at a path in a JSON document, asserting that it is one. */
export const num = (o: unknown, ...keys: string[]): number => {
  const v = keys.reduce<unknown>((x, k) => (x as Record<string, unknown>)[k], o);
  assert.equal(typeof v, "number", `${keys.join(".")} is ${JSON.stringify(v)}`);
  return v as number;
};
