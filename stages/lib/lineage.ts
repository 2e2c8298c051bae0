/**
 * Column lineage: what stages did to a column's values since it was loaded, as a short chain of
 * transform identities ("standard@1f0c9e2ab4d37a65", oldest first) kept on the column
 * (core/table.ts `Column.lineage`, Arrow field metadata on disk, so part of the content hash).
 *
 * An identity is the operation and the xxhash64 of everything that determines the values it
 * writes (a scaler's fitted numbers for that column, an expression in canonical form with the
 * lineage of the columns it reads, a model's content), never a stage's id: renaming a stage
 * changes no result, so it may not change a table's bytes either.
 *
 * `train` and `kfold` record the lineage of each feature in the model; scoring compares it with
 * the table's and refuses a table whose features were prepared differently (QV_FEATURE_LINEAGE).
 */
import { own, setOwn } from "../../core/dict.js";
import { hasher, hashBytes, hashJson } from "../../core/hash.js";
import type { ModelArtifact } from "../../core/stage.js";
import type { JsonObject, JsonValue } from "../../core/json.js";
import { isJsonObject } from "../../core/json.js";
import { StageError } from "../../core/stage.js";
import { lineageOf, withLineage, type Column, type Lineage, type Table } from "../../core/table.js";

/** The operations that write lineage steps, and how a message says what each did. */
const OPERATIONS = {
  standard: "standardised by a scale stage (method: standard)",
  minmax: "min-max scaled by a scale stage (method: minmax)",
  define: "computed by a define expression",
  reweight: "written as training weights by a reweight stage",
  oversample: "written as row multiplicities by an oversample stage",
  score: "written as a model's score by predict or kfold",
} as const;

export type LineageOperation = keyof typeof OPERATIONS;

/** One step: `op@hash` of the document that determines the values written. */
export async function lineageStep(op: LineageOperation, identity: JsonValue): Promise<string> {
  await hasher();
  return `${op}@${hashJson({ op, identity })}`;
}

/** The step a model's score column carries: the model's content (its description and every blob). */
export async function scoreStep(m: ModelArtifact): Promise<string> {
  await hasher();
  const blobs: Record<string, string> = {};
  for (const name of Object.keys(m.blobs).sort()) setOwn(blobs, name, hashBytes(own(m.blobs, name)!));
  return lineageStep("score", { meta: m.meta, blobs });
}

/** `column` with `step` appended to its chain. */
export function appendStep(column: Column, step: string): Column {
  return withLineage(column, [...lineageOf(column), step]);
}

/** The chain of `column` of `t` after `step` (a column the stage creates starts a chain). */
export function chainAfter(t: Table, column: string, step: string): Lineage {
  const before = t.columns.get(column);
  return [...(before ? lineageOf(before) : []), step];
}

/** How a message names a chain: "as loaded", or its steps with what each did. */
export function describeLineage(chain: Lineage): string {
  if (chain.length === 0) return "as loaded";
  return chain
    .map((s) => {
      const op = s.slice(0, s.indexOf("@"));
      const what = (OPERATIONS as Record<string, string>)[op] ?? `transformed (${op})`;
      return `${what} [${s}]`;
    })
    .join(", then ");
}

/**
 * The steps a stage wrote into `after`: those on its columns that no column of its input tables
 * carries (so a renamed or copied column reports nothing). For the run summary's `lineage`: the
 * engine reads it to name the stage that wrote a step a later QV_FEATURE_LINEAGE error mentions.
 */
export function writtenSteps(inputs: readonly Table[], after: Table): JsonObject {
  return stepsAdded(stepsIn(inputs), after);
}

/** Every lineage step the columns of `tables` carry (taken before a stage consumes its input). */
export function stepsIn(tables: readonly Table[]): Set<string> {
  const known = new Set<string>();
  for (const t of tables) for (const c of t.columns.values()) for (const s of lineageOf(c)) known.add(s);
  return known;
}

/** writtenSteps, with the input's steps collected beforehand by `stepsIn`. */
export function stepsAdded(known: ReadonlySet<string>, after: Table): JsonObject {
  const out: JsonObject = {};
  for (const [name, c] of after.columns) {
    const added = lineageOf(c).filter((s) => !known.has(s));
    if (added.length > 0) setOwn(out, name, added.length === 1 ? added[0]! : [...added]);
  }
  return out;
}

/** The lineage of each of `features` in `t`, as the model envelope stores it. */
export function featureLineage(t: Table, features: readonly string[]): JsonObject {
  const out: JsonObject = {};
  for (const f of features) {
    const c = t.columns.get(f);
    setOwn(out, f, c ? [...lineageOf(c)] : []);
  }
  return out;
}

/** Reads the stored lineage of a model's features; null for a model that predates lineage. */
export function storedLineage(v: JsonValue | undefined): Readonly<Record<string, Lineage>> | null {
  if (!isJsonObject(v)) return null;
  const out: Record<string, Lineage> = {};
  for (const [k, chain] of Object.entries(v)) {
    if (!Array.isArray(chain) || !chain.every((s) => typeof s === "string")) return null;
    setOwn(out, k, chain);
  }
  return out;
}

/** Names for messages: the model (the stage that trained it) and where the scored table came from. */
export interface ScoringNames {
  readonly model: string;
  readonly table: string;
}

function sameChain(a: Lineage, b: Lineage): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}

/**
 * Refuses to score `t` when a feature's lineage differs from the one the model was trained on
 * (`expected`; the raw lineage when the model carries its own preprocessing). `names` is asked
 * only when there is something to report.
 */
export function checkFeatureLineage(
  expected: Readonly<Record<string, Lineage>> | null,
  features: readonly string[],
  t: Table,
  names: () => ScoringNames,
  carriesPreprocessing: boolean,
): void {
  if (expected === null) return;
  for (const f of features) {
    const want = own(expected, f) ?? [];
    const c = t.columns.get(f);
    if (!c) continue; // the feature check names the missing column
    const have = lineageOf(c);
    if (sameChain(want, have)) continue;
    const n = names();
    const extra = want.length > 0 && have.length > want.length && sameChain(want, have.slice(0, want.length));
    const done = extra ? have.slice(want.length) : have;
    throw new StageError(
      "QV_FEATURE_LINEAGE",
      `${n.model} was trained on ${f} ${describeLineage(want)}; in this table (${n.table}) ${f} was ${extra ? `further ${describeLineage(done)}` : describeLineage(have)}`,
      {
        data: { column: f },
        // The engine names the stages that wrote these steps, with their place in the file.
        marks: [...new Set([...have, ...want])],
        hint: carriesPreprocessing
          ? `${n.model} applies its own preprocessing: score the table as it was before scaling (the same one its train stage was given)`
          : `score a table prepared like ${n.model}'s training table (e.g. the output of the scale stage that applies the same scaler), or let the model carry its scaler (train's \`preprocess\` input) and score raw tables`,
      },
    );
  }
}
