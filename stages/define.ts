/**
 * `define`: new columns from expressions over existing ones (`weight: abs(totalWeight)`,
 * `label: sample == "DM_300"`), then `drop`, `rename` and `keep`. Definitions are evaluated in
 * dependency order, so one may use another whatever their order in the YAML; a definition that
 * names itself (`weight: abs(weight)`) reads the input column it replaces.
 */
import { type ParamProblem, StageError, defineStage, table } from "../core/stage.js";
import { type Infer, p } from "../core/schema.js";
import { lineageOf, withLineage, type Column, type Table } from "../core/table.js";
import { lineageStep, writtenSteps } from "./lib/lineage.js";
import { didYouMean } from "../core/diagnostics.js";
import {
  ExprError,
  canonicalText,
  compileExpression,
  evaluateExpression,
  parseExpression,
  referencedNames,
  staticProblems,
  toParamProblem,
  toStageError,
} from "./lib/expr/index.js";

const params = p.object({
  columns: p.withDefault(
    p.map(p.expression(), {
      description: "new column name -> expression (a boolean gives a 0/1 int32 column)",
    }),
    {},
  ),
  drop: p.optional(p.array(p.column(), { description: "columns to remove (after the definitions)" })),
  rename: p.optional(p.map(p.column(), { description: "old name -> new name (after drop)" })),
  keep: p.optional(
    p.array(p.column(), { description: "keep only these columns, in this order (after rename)" }),
  ),
});

type Params = Infer<typeof params>;

/**
 * Evaluation order: a definition comes after the definitions it reads; among those ready, the one
 * written first goes first. Returns the names in a cycle when there is one.
 */
export function definitionOrder(
  deps: ReadonlyMap<string, readonly string[]>,
): { order: string[] } | { cycle: string[] } {
  const names = [...deps.keys()];
  const needs = new Map(names.map((n) => [n, (deps.get(n) ?? []).filter((d) => d !== n && deps.has(d))]));
  const done = new Set<string>();
  const order: string[] = [];
  while (order.length < names.length) {
    const next = names.find((n) => !done.has(n) && needs.get(n)!.every((d) => done.has(d)));
    if (next === undefined)
      return {
        cycle: findCycle(
          names.filter((n) => !done.has(n)),
          needs,
        ),
      };
    done.add(next);
    order.push(next);
  }
  return { order };
}

function findCycle(pending: string[], needs: ReadonlyMap<string, string[]>): string[] {
  // Every pending name waits on another pending one; walking those edges must revisit a name.
  const path: string[] = [];
  let cur = pending[0]!;
  while (!path.includes(cur)) {
    path.push(cur);
    cur = needs.get(cur)!.find((d) => pending.includes(d))!;
  }
  return [...path.slice(path.indexOf(cur)), cur];
}

function dependencies(columns: Readonly<Record<string, string>>): Map<string, string[]> {
  const deps = new Map<string, string[]>();
  for (const [name, text] of Object.entries(columns)) {
    try {
      deps.set(name, referencedNames(parseExpression(text)));
    } catch (err) {
      if (!(err instanceof ExprError)) throw err;
      deps.set(name, []);
    }
  }
  return deps;
}

export const defineColumnsStage = defineStage({
  type: "define",
  // lineage: computed columns carry a define step
  version: 2,
  description: "Add columns computed from expressions; drop, rename and keep columns",
  inputs: { table: { kind: "table", description: "input table" } },
  outputs: { table: { kind: "table", description: "the table with the new columns" } },
  params,

  check(ps) {
    const problems: ParamProblem[] = [];
    for (const [name, text] of Object.entries(ps.columns)) {
      if (name === "")
        problems.push({
          path: ["columns"],
          code: "QV_DEFINE_EMPTY_NAME",
          message: "a column name cannot be empty",
        });
      for (const e of staticProblems(text).errors) problems.push(toParamProblem(e, ["columns", name]));
    }
    const order = definitionOrder(dependencies(ps.columns));
    if ("cycle" in order)
      problems.push({
        path: ["columns", order.cycle[0]!],
        code: "QV_DEFINE_CYCLE",
        message: `definitions depend on each other in a cycle: ${order.cycle.join(" -> ")}`,
        hint: "a definition may read the input column of its own name, but not a chain that comes back to it",
      });
    const targets = new Map<string, string>();
    for (const [from, to] of Object.entries(ps.rename ?? {})) {
      const other = targets.get(to);
      if (other !== undefined)
        problems.push({
          path: ["rename", from],
          code: "QV_DEFINE_RENAME_COLLISION",
          message: `"${from}" and "${other}" are both renamed to "${to}"`,
        });
      targets.set(to, from);
      const d = ps.drop?.indexOf(from) ?? -1;
      if (d >= 0)
        problems.push({
          path: ["rename", from],
          code: "QV_DEFINE_DROP_RENAMED",
          message: `"${from}" is both dropped and renamed`,
          hint: "remove it from one of the two lists",
        });
    }
    ps.keep?.forEach((name, i) => {
      if (ps.keep!.indexOf(name) !== i)
        problems.push({
          path: ["keep", i],
          code: "QV_DEFINE_DUPLICATE",
          message: `"${name}" is listed twice in keep`,
        });
    });
    return problems;
  },

  fingerprintParams(ps) {
    // Canonical expressions, in YAML order (the order of the new columns in the output).
    return {
      columns: Object.entries(ps.columns).map(([name, text]) => [name, canonicalText(text)]),
      drop: ps.drop ?? null,
      rename: ps.rename ?? null,
      keep: ps.keep ?? null,
    };
  },

  async run(ctx) {
    const ps: Params = ctx.params;
    const input = ctx.inputs.table("table");
    const work = new Map<string, Column>(input.columns);
    const view: Table = { numRows: input.numRows, columns: work };

    const order = definitionOrder(dependencies(ps.columns));
    if ("cycle" in order)
      throw new StageError(
        "QV_DEFINE_CYCLE",
        `definitions depend on each other in a cycle: ${order.cycle.join(" -> ")}`,
        {
          param: ["columns", order.cycle[0]!],
        },
      );
    const added: string[] = [];
    const replaced: string[] = [];
    for (const name of order.order) {
      const text = ps.columns[name]!;
      const col = await withDefineLineage(
        evaluateDefinition(text, view, ["columns", name]),
        name,
        text,
        view,
      );
      (input.columns.has(name) ? replaced : added).push(name);
      work.set(name, col);
      ctx.progress((added.length + replaced.length) / order.order.length, `defined ${name}`);
      // Between definitions, let the engine's event loop run (progress output, cancellation).
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (ctx.signal.aborted) throw new StageError("QV_ABORTED", "define was cancelled");
    }
    // The order new columns appear in follows the YAML, not the evaluation order.
    const ordered = new Map<string, Column>(input.columns);
    for (const name of Object.keys(ps.columns)) ordered.set(name, work.get(name)!);

    (ps.drop ?? []).forEach((name, i) => {
      if (!ordered.delete(name)) throw unknownColumn(name, ordered, ["drop", i], "drop");
    });

    let renamed = ordered;
    if (ps.rename !== undefined) {
      const rename = ps.rename;
      for (const from of Object.keys(rename))
        if (!ordered.has(from)) throw unknownColumn(from, ordered, ["rename", from], "rename");
      // All renames at once, so `{a: b, b: a}` swaps two columns.
      renamed = new Map();
      for (const [name, col] of ordered) {
        const to = Object.hasOwn(rename, name) ? rename[name]! : name;
        if (renamed.has(to)) {
          const from = Object.hasOwn(rename, name)
            ? name
            : Object.keys(rename).find((k) => rename[k] === to)!;
          throw new StageError(
            "QV_DEFINE_RENAME_COLLISION",
            `renaming "${from}" to "${to}" collides with an existing column`,
            {
              param: ["rename", from],
              hint: `drop "${to}" first, or choose another name`,
            },
          );
        }
        renamed.set(to, col);
      }
    }

    let result = renamed;
    if (ps.keep !== undefined) {
      result = new Map();
      ps.keep.forEach((name, i) => {
        const col = renamed.get(name);
        if (col === undefined) throw unknownColumn(name, renamed, ["keep", i], "keep");
        result.set(name, col);
      });
    }

    const out: Table = { numRows: input.numRows, columns: result };
    return {
      outputs: { table: table(out) },
      summary: {
        rows: out.numRows,
        columns: out.columns.size,
        added,
        replaced,
        dropped: ps.drop ?? [],
        renamed: Object.keys(ps.rename ?? {}).length,
        lineage: writtenSteps([input], out),
      },
    };
  },
});

/**
 * The lineage of a defined column: a bare column name copies the column with its lineage;
 * otherwise a `define` step whose identity is the expression in canonical form and the lineage of
 * every column it reads, appended to the chain of the column it replaces (a new name starts one).
 */
async function withDefineLineage(col: Column, name: string, text: string, t: Table): Promise<Column> {
  const expr = parseExpression(text);
  if (expr.kind === "ident" && t.columns.has(expr.name)) return col;
  const inputs: Record<string, string[]> = {};
  for (const ref of referencedNames(expr).sort()) {
    const c = t.columns.get(ref);
    if (c) inputs[ref] = [...lineageOf(c)];
  }
  const step = await lineageStep("define", { expression: canonicalText(text), inputs });
  const before = t.columns.get(name);
  return withLineage(col, [...(before ? lineageOf(before) : []), step]);
}

/** A bare column name gives that column unchanged; otherwise numbers -> float64, conditions -> int32 0/1. */
function evaluateDefinition(text: string, t: Table, path: (string | number)[]): Column {
  try {
    const expr = parseExpression(text);
    const compiled = compileExpression(expr, t);
    if (expr.kind === "ident" && t.columns.has(expr.name)) return t.columns.get(expr.name)!;
    const v = evaluateExpression(compiled, t.numRows);
    switch (v.type) {
      case "number":
        return { type: "float64", values: v.values };
      case "boolean": {
        const values = new Int32Array(v.mask.length);
        values.set(v.mask);
        return { type: "int32", values };
      }
      case "string":
        return v.column;
    }
  } catch (err) {
    if (err instanceof ExprError) throw toStageError(err, path);
    throw err;
  }
}

function unknownColumn(
  name: string,
  columns: ReadonlyMap<string, Column>,
  path: (string | number)[],
  what: string,
): StageError {
  const near = didYouMean(name, columns.keys());
  return new StageError("QV_DEFINE_UNKNOWN_COLUMN", `cannot ${what} "${name}": no such column`, {
    param: path,
    hint: near ? `did you mean "${near}"?` : `columns: ${[...columns.keys()].slice(0, 20).join(", ")}`,
  });
}
