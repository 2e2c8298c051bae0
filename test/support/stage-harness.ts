/**
 * Runs one stage definition directly, without the engine: params are validated against the
 * stage's schema (defaults filled in, issues thrown), inputs are given as artifact values.
 * For unit tests of a stage's numbers; engine behaviour is tested through real pipelines.
 */
import path from "node:path";
import { validate } from "../../core/schema.js";
import { expandGlob } from "../../engine/files.js";
import { canonicalJson } from "../../core/json.js";
import type { ArtifactValue, JsonObjectLike, ModelArtifact, StageDefinition, StageResult } from "./types.js";
import { consumeTable, type Table } from "../../core/table.js";

export interface HarnessOptions {
  params?: Record<string, unknown>;
  inputs?: Record<string, ArtifactValue>;
  seed?: number;
  /** Override what `ctx.inputFrom` reports (default: "upstream_<port>"). */
  inputFrom?: Record<string, string>;
  /** Directory that relative `file` params resolve against. */
  baseDir?: string;
  jobs?: number;
}

export async function runStage<P>(
  def: StageDefinition<P>,
  opts: HarnessOptions = {},
): Promise<StageResult & { notes: string[] }> {
  const { value, issues } = validate(def.params.spec, opts.params ?? {});
  if (issues.length)
    throw new Error("invalid params: " + issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
  const params = value as P;
  const problems = def.check?.(params) ?? [];
  const errors = problems.filter((pr) => (pr.severity ?? "error") === "error");
  if (errors.length)
    throw new Error("param check failed: " + errors.map((i) => `${i.code} ${i.message}`).join("; "));
  const inputs = opts.inputs ?? {};
  const get = (port: string, kind: ArtifactValue["kind"]): ArtifactValue => {
    const a = inputs[port];
    if (!a) throw new Error(`input "${port}" not given`);
    if (a.kind !== kind) throw new Error(`input "${port}" is ${a.kind}, wanted ${kind}`);
    return a;
  };
  const notes: string[] = [];
  const memoStore = new Map<string, ArtifactValue>();
  const result = await def.run({
    stageId: "test",
    params,
    seed: opts.seed ?? 42,
    jobs: opts.jobs ?? 1,
    signal: new AbortController().signal,
    file: (p) => path.resolve(opts.baseDir ?? process.cwd(), p),
    files: (p) => expandGlob(p, opts.baseDir ?? process.cwd()).files,
    progress: () => {},
    note: (m) => notes.push(m),
    inputFrom: opts.inputFrom ?? Object.fromEntries(Object.keys(inputs).map((k) => [k, `upstream_${k}`])),
    // In-memory memo: enough to test that a stage keys its sub-results; the engine persists them.
    memo: async (key, compute) => {
      const k = canonicalJson(key);
      const hit = memoStore.get(k);
      if (hit) return hit;
      const v = await compute();
      memoStore.set(k, v);
      return v;
    },
    inputs: {
      has: (port) => port in inputs,
      table: (port) => (get(port, "table") as { table: Table }).table,
      // The caller's table stays whole (a private copy of its column map), as in the engine.
      consume: (port) => consumeTable((get(port, "table") as { table: Table }).table),
      model: (port) => (get(port, "model") as { model: ModelArtifact }).model,
      metrics: (port) => (get(port, "metrics") as { metrics: JsonObjectLike }).metrics,
    },
  });
  return { ...result, notes };
}
