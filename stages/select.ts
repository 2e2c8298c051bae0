/**
 * `select`: keeps the rows that pass a cut expression, or an ordered list of named cuts, and
 * reports the cut flow (rows and Σw per class before and after each cut, raw and weighted
 * efficiencies) as metrics. Then optionally keeps the first N rows of each class and/or overall.
 */
import { type ParamProblem, StageError, defineStage, metrics, table } from "../core/stage.js";
import { type Infer, p } from "../core/schema.js";
import type { JsonObject } from "../core/json.js";
import { type Table, filterRows } from "../core/table.js";
import { numericColumn, requireColumn } from "./lib/columns.js";
import {
  CHUNK,
  type CompiledExpression,
  ExprError,
  canonicalText,
  compileExpression,
  parseExpression,
  staticProblems,
  toParamProblem,
  toStageError,
} from "./lib/expr/index.js";
import {
  type ClassIndex,
  type CutflowStep,
  MAX_CLASSES,
  Tally,
  classIndex,
  cutflowMetrics,
  formatCutflow,
} from "./lib/expr/cutflow.js";

const cutSchema = p.union([
  p.expression({ description: "a cut, named by its own text" }),
  p.object({
    name: p.optional(p.string({ description: "name shown in the cut flow (default: the expression)" })),
    where: p.expression({ description: "condition a row must satisfy" }),
  }),
]);

const params = p.object({
  where: p.optional(p.expression({ description: "condition a row must satisfy to be kept" })),
  cuts: p.optional(
    p.array(cutSchema, { minItems: 1, description: "named cuts applied in order (a cut flow)" }),
  ),
  label: p.optional(
    p.column({ description: 'class column for per-class counts (default: "label" if present)' }),
  ),
  weight: p.optional(p.column({ description: "event weight column for Σw in the cut flow" })),
  head: p.optional(p.integer({ min: 0, description: "keep only the first N rows after the cuts" })),
  limit_per_class: p.optional(
    p.map(p.integer({ min: 0 }), { description: "class value -> keep only its first N rows after the cuts" }),
  ),
  nan: p.withDefault(
    p.enum(["drop", "error", "keep"] as const, {
      description: "rows with a missing value in a cut's columns",
    }),
    "drop",
  ),
});

type Params = Infer<typeof params>;

interface Cut {
  readonly name: string;
  readonly text: string;
  /** Where the expression text sits in the params, for error positions. */
  readonly path: (string | number)[];
}

/** `where` and `cuts` as one list; a cut without a name is named by its canonical text. */
function normalizeCuts(ps: Params): Cut[] {
  if (ps.where !== undefined) return [{ name: canonicalText(ps.where), text: ps.where, path: ["where"] }];
  return (ps.cuts ?? []).map((c, i) =>
    typeof c === "string"
      ? { name: canonicalText(c), text: c, path: ["cuts", i] }
      : { name: c.name ?? canonicalText(c.where), text: c.where, path: ["cuts", i, "where"] },
  );
}

export const selectStage = defineStage({
  type: "select",
  version: 1,
  description: "Keep rows passing cut expressions; report the cut flow per class",
  inputs: { table: { kind: "table", description: "rows to select from" } },
  outputs: {
    table: { kind: "table", description: "the rows that pass, in input order" },
    cutflow: { kind: "metrics", description: "rows and Σw per class before/after each cut, efficiencies" },
  },
  params,

  check(ps) {
    const problems: ParamProblem[] = [];
    if (ps.where !== undefined && ps.cuts !== undefined)
      problems.push({
        path: ["cuts"],
        code: "QV_SELECT_WHERE_AND_CUTS",
        message: 'give either "where" (one cut) or "cuts" (a list), not both',
        hint: "put the where expression into the cuts list",
      });
    const cuts = normalizeCuts(ps);
    const seen = new Map<string, number>();
    cuts.forEach((c, i) => {
      for (const e of staticProblems(c.text).errors) problems.push(toParamProblem(e, c.path));
      if (seen.has(c.name))
        problems.push({
          path: c.path.length === 3 ? ["cuts", i, "name"] : c.path,
          code: "QV_SELECT_DUPLICATE_CUT",
          message: `two cuts are named "${c.name}"`,
          hint: "cut names label the cut flow, so each must be unique",
        });
      seen.set(c.name, i);
    });
    if (cuts.length === 0 && ps.head === undefined && ps.limit_per_class === undefined)
      problems.push({
        path: [],
        code: "QV_SELECT_NOTHING",
        message: "select has no where, cuts, head or limit_per_class: it passes every row",
        severity: "warning",
      });
    return problems;
  },

  fingerprintParams(ps) {
    // Canonical expressions: `pt>20` and `pt > 20` are one cache key; `where: X` equals `cuts: [X]`.
    const { where: _where, cuts: _cuts, ...rest } = ps;
    return {
      ...(rest as JsonObject),
      cuts: normalizeCuts(ps).map((c) => ({ name: c.name, where: canonicalText(c.text) })),
    };
  },

  async run(ctx) {
    const ps = ctx.params;
    // Consumed: each input column is let go once its kept rows are copied (peak ≈ one table).
    const consumed = ctx.inputs.consume("table");
    const t = consumed.table;
    const cuts = normalizeCuts(ps).map((c) => ({ ...c, compiled: compileCut(c, t) }));

    let labelName = ps.label ?? (t.columns.has("label") ? "label" : undefined);
    const labelCol =
      labelName === undefined ? undefined : requireColumn(t, labelName, { what: "table", param: ["label"] });
    let classes = classIndex(labelCol, t.numRows);
    if ("tooMany" in classes) {
      if (ps.label !== undefined)
        throw new StageError(
          "QV_SELECT_TOO_MANY_CLASSES",
          `label column "${labelName}" has more than ${MAX_CLASSES} distinct values`,
          {
            param: ["label"],
            hint: "per-class counts need a class column (e.g. 0/1 or a sample name); set label to one",
          },
        );
      // The implicit "label" column is not a class column here: count totals only, and say so.
      ctx.note(`column "label" has more than ${MAX_CLASSES} distinct values; the cut flow has totals only`);
      labelName = undefined;
      classes = NO_CLASSES;
    }
    // Missing weights are allowed here: the cut flow counts them as 0 and says so.
    const w =
      ps.weight === undefined
        ? undefined
        : numericColumn(t, ps.weight, { what: "table", param: ["weight"] }, "a weight");
    if (w !== undefined) {
      let missing = 0;
      for (let i = 0; i < w.length; i++) if (w[i] !== w[i]) missing++;
      if (missing > 0) ctx.note(`${missing} rows have a missing weight; they count 0 in Σw`);
    }

    const slots = classes.names.length + 1;
    const input = new Tally(slots);
    const afterCut = cuts.map(() => new Tally(slots));
    const keep = new Uint8Array(t.numRows);
    const all = new Uint8Array(CHUNK).fill(1);
    for (let s = 0; s < t.numRows; s += CHUNK) {
      if (ctx.signal.aborted) throw new StageError("QV_ABORTED", "select was cancelled");
      const n = Math.min(CHUNK, t.numRows - s);
      input.add(all, s, n, classes.slot, w);
      const alive = keep.subarray(s, s + n);
      alive.fill(1);
      let survivors = n;
      for (let k = 0; k < cuts.length && survivors > 0; k++) {
        const cut = cuts[k]!;
        const m = cut.compiled.block(s, n);
        if (ps.nan !== "keep") applyNanPolicy(ps.nan, cut, t, alive, s, n);
        survivors = 0;
        for (let i = 0; i < n; i++) {
          const a = alive[i]! & m[i]!;
          alive[i] = a;
          survivors += a;
        }
        afterCut[k]!.add(alive, s, n, classes.slot, w);
      }
      if (cuts.length > 0 && (s / CHUNK) % 256 === 255) {
        ctx.progress(s / t.numRows, "applying cuts");
        // Let the engine's event loop breathe (progress output, cancellation) on big tables.
        await yieldToEventLoop();
      }
    }

    const steps: CutflowStep[] = cuts.map((c, k) => ({
      name: c.name,
      kind: "cut",
      expression: canonicalText(c.text),
      after: afterCut[k]!,
    }));
    if (ps.limit_per_class !== undefined) {
      limitPerClass(keep, classes, ps.limit_per_class, labelName, (m) => ctx.note(m));
      steps.push({
        name: "limit_per_class",
        kind: "limit_per_class",
        after: recount(keep, slots, classes.slot, w),
      });
    }
    if (ps.head !== undefined) {
      head(keep, ps.head);
      steps.push({ name: `head ${ps.head}`, kind: "head", after: recount(keep, slots, classes.slot, w) });
    }

    let kept = 0;
    for (let i = 0; i < keep.length; i++) kept += keep[i]!;
    // Tables are immutable, so when every row passes the input is passed on without a copy.
    const out = steps.length === 0 || kept === t.numRows ? t : filterRows(t, keep, consumed.release);
    const flow = cutflowMetrics(input, steps, classes.names, labelName, ps.weight);
    return {
      outputs: { table: table(out), cutflow: metrics(flow) },
      summary: {
        rows_in: t.numRows,
        rows_out: out.numRows,
        efficiency: t.numRows === 0 ? null : out.numRows / t.numRows,
        cutflow: formatCutflow(flow),
      },
    };
  },
  async present(ctx) {
    return (await import("./lib/present/cutflow.js")).presentCutflow(ctx);
  },
});

const NO_CLASSES: ClassIndex = { names: [], values: [], slot: undefined };

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

function compileCut(c: Cut, t: Table): CompiledExpression {
  let compiled: CompiledExpression;
  try {
    compiled = compileExpression(parseExpression(c.text), t);
  } catch (err) {
    if (err instanceof ExprError) throw toStageError(err, c.path);
    throw err;
  }
  if (compiled.type !== "boolean")
    throw new StageError(
      "QV_EXPR_TYPE",
      `a cut must be a condition, but this expression is ${compiled.type === "number" ? "a number" : "text"}`,
      {
        param: c.path,
        offset: 0,
        length: c.text.length,
        hint:
          compiled.type === "number"
            ? `write a comparison, e.g. ${canonicalText(c.text)} != 0`
            : 'compare it, e.g. sample == "DM_300"',
      },
    );
  return compiled;
}

/**
 * Applied to the rows entering a cut. `drop`: a row whose cut reads a missing value (NaN, or a
 * missing string) fails the cut, whatever the expression says. `error`: such a row stops the run
 * with its position.
 */
function applyNanPolicy(
  policy: "drop" | "error",
  cut: Cut & { compiled: CompiledExpression },
  t: Table,
  alive: Uint8Array,
  s: number,
  n: number,
): void {
  for (const name of cut.compiled.columns) {
    const col = t.columns.get(name)!;
    if (col.type === "int32") continue;
    for (let i = 0; i < n; i++) {
      if (alive[i] === 0) continue;
      const missing =
        col.type === "float64" ? col.values[s + i] !== col.values[s + i] : col.codes[s + i]! < 0;
      if (!missing) continue;
      if (policy === "drop") {
        alive[i] = 0;
        continue;
      }
      throw new StageError(
        "QV_SELECT_NAN",
        `column "${name}" is missing (NaN) in row ${s + i} (counting from 0), read by the cut "${cut.name}"`,
        {
          param: cut.path,
          data: { row: s + i, column: name },
          hint: "nan: drop drops such rows; nan: keep evaluates them as written (comparisons with NaN are false)",
        },
      );
    }
  }
}

function recount(
  keep: Uint8Array,
  slots: number,
  slot: Int32Array | undefined,
  w: Float64Array | undefined,
): Tally {
  const t = new Tally(slots);
  t.add(keep, 0, keep.length, slot, w);
  return t;
}

function head(keep: Uint8Array, limit: number): void {
  let count = 0;
  for (let i = 0; i < keep.length; i++) if (keep[i] && ++count > limit) keep[i] = 0;
}

/** Keeps the first N rows of each listed class (in input order); unlisted classes keep all rows. */
function limitPerClass(
  keep: Uint8Array,
  classes: ClassIndex,
  limits: Readonly<Record<string, number>>,
  labelName: string | undefined,
  note: (m: string) => void,
): void {
  const slot = classes.slot;
  if (slot === undefined || labelName === undefined)
    throw new StageError(
      "QV_SELECT_NO_LABEL",
      'limit_per_class needs a class column, and the table has no "label"',
      {
        param: ["limit_per_class"],
        hint: "name the class column with label: <column>",
      },
    );
  const k = classes.names.length;
  const limitOf = new Float64Array(k + 1).fill(Infinity);
  const numeric = classes.values.length === 0 || typeof classes.values[0] === "number";
  for (const [key, limit] of Object.entries(limits)) {
    const value = numeric ? Number(key) : key;
    if (numeric && (key.trim() === "" || !Number.isFinite(value)))
      throw new StageError(
        "QV_SELECT_CLASS_KEY",
        `"${key}" is not a value of the numeric label column "${labelName}"`,
        {
          param: ["limit_per_class", key],
          hint: classes.names.length ? `classes: ${classes.names.join(", ")}` : undefined,
        },
      );
    const index = classes.values.indexOf(value);
    if (index < 0) {
      note(`limit_per_class: class ${key} does not occur in column "${labelName}"`);
      continue;
    }
    limitOf[index] = limit;
  }
  const seen = new Float64Array(k + 1);
  for (let i = 0; i < keep.length; i++) {
    if (!keep[i]) continue;
    const c = slot[i]!;
    if (++seen[c]! > limitOf[c]!) keep[i] = 0;
  }
}
