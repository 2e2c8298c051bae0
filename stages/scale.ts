/**
 * `scale`: StandardScaler / MinMaxScaler as a stage. Fitted on one table (the training split),
 * applied to another, or to any number of others through the `scaler` artifact it writes.
 */
import {
  defineStage,
  metrics,
  StageError,
  table,
  type ParamProblem,
  type StageContext,
} from "../core/stage.js";
import { p, type Infer } from "../core/schema.js";
import { lineageOf, numericValues, withLineage, type Column, type Table } from "../core/table.js";
import { requireColumn } from "./lib/columns.js";
import { fitMinMax, fitStandard, transformMinMax, transformStandard } from "./lib/scalers.js";
import { scalerSteps, type FittedScaler } from "./lib/scaler-artifact.js";
import { chainMetrics, scalerChain } from "./lib/preprocess.js";
import { chainAfter, stepsAdded, stepsIn } from "./lib/lineage.js";

// The label, the event weight and the training weight reweight writes are never features to scale.
const DEFAULT_EXCLUDE = ["label", "weight", "training_weight"];

const params = p.object({
  method: p.withDefault(p.enum(["standard", "minmax"] as const, { description: "which scaler" }), "standard"),
  range: p.optional(
    p.array(p.number(), {
      minItems: 2,
      maxItems: 2,
      description: "minmax target range [low, high] (default [0, 1])",
    }),
  ),
  clip: p.withDefault(p.boolean({ description: "minmax: clip transformed values to the range" }), false),
  columns: p.optional(
    p.array(p.column(), { minItems: 1, description: "the columns to scale (explicit list)" }),
  ),
  exclude: p.optional(
    p.array(p.column(), {
      description:
        'without `columns`: every float64 column except these (default ["label", "weight", "training_weight"])',
    }),
  ),
});

type ScaleParams = Infer<typeof params>;

export const scaleStage = defineStage({
  type: "scale",
  // 3: scaled columns carry their lineage (a step per column, part of the table's bytes).
  version: 3,
  description: "Standard or min-max scaling of numeric columns, fitted on one table and applied to another",
  inputs: {
    fit: {
      kind: "table",
      description: "the table the scaler is fitted on (the training split)",
      optional: true,
    },
    apply: {
      kind: "table",
      description: "the table to transform (default: the fit table itself)",
      optional: true,
    },
    scaler: {
      kind: "metrics",
      description: "a scaler (or chain) fitted by another scale stage, instead of fitting here",
      optional: true,
    },
    previous: {
      kind: "metrics",
      description:
        "with `fit`: the scaler (or chain) that made the fit table; the `scaler` output is then that chain followed by the scaler fitted here, for a model's `preprocess`",
      optional: true,
    },
  },
  outputs: {
    table: {
      kind: "table",
      description: "the transformed table; columns not scaled pass through unchanged",
      rescales: ["apply", "fit"],
    },
    scaler: {
      kind: "metrics",
      description:
        "the fitted parameters per column (mean/scale or min/max/scale), or the chain {method: chain, steps} with `previous`",
    },
  },
  params,
  check(pr) {
    const problems: ParamProblem[] = [];
    if (pr.range !== undefined && pr.method !== "minmax")
      problems.push({
        path: ["range"],
        code: "QV_PARAM_CONFLICT",
        message: "range applies to method: minmax only",
      });
    if (pr.clip && pr.method !== "minmax")
      problems.push({
        path: ["clip"],
        code: "QV_PARAM_CONFLICT",
        message: "clip applies to method: minmax only",
      });
    const r = pr.range;
    if (r && !(r[0]! < r[1]!))
      problems.push({
        path: ["range"],
        code: "QV_PARAM_RANGE",
        message: `the range's low end must be below its high end, got [${r.join(", ")}]`,
      });
    if (pr.columns !== undefined && pr.exclude !== undefined)
      problems.push({
        path: ["exclude"],
        code: "QV_PARAM_CONFLICT",
        message: "give either columns (what to scale) or exclude (what not to scale), not both",
      });
    return problems;
  },
  async run(ctx) {
    const hasFit = ctx.inputs.has("fit");
    const hasScaler = ctx.inputs.has("scaler");
    if (hasFit === hasScaler)
      throw new StageError(
        "QV_SCALE_INPUTS",
        hasFit
          ? "connect either `fit` (to fit a scaler here) or `scaler` (to reuse one), not both"
          : "scale needs a `fit` table to fit on, or a fitted `scaler` from another scale stage",
      );
    let fitted: FittedScaler;
    // What this stage applies to its target, and the chain its `scaler` output hands on.
    let apply: FittedScaler[];
    let chain: FittedScaler[];
    if (hasScaler) {
      if (ctx.inputs.has("previous"))
        throw new StageError(
          "QV_SCALE_INPUTS",
          "`previous` goes with `fit` (a scaler fitted after another); a reused `scaler` already holds its chain",
        );
      chain = scalerChain(ctx.inputs.metrics("scaler"), ctx.inputFrom.scaler ?? "scaler");
      apply = chain;
      fitted = chain[chain.length - 1]!;
      ctx.note(
        `using the scaler fitted by ${ctx.inputFrom.scaler ?? "another stage"}; method and columns come from it`,
      );
    } else {
      ({ fitted, chain } = await fitHere(ctx));
      apply = [fitted];
    }
    if (!ctx.inputs.has("apply") && !hasFit)
      throw new StageError(
        "QV_SCALE_INPUTS",
        "with a `scaler` input, connect the table to transform as `apply`",
      );
    // Consumed: each source column is let go once its rescaled copy exists (peak ≈ one table).
    const port = ctx.inputs.has("apply") ? "apply" : "fit";
    const target = ctx.inputs.consume(port);
    const what = `${port} table`;
    const rows = target.table.numRows;
    const known = stepsIn([target.table]);
    let scaled = target.table;
    for (const [i, step] of apply.entries())
      scaled = await applyScaler(scaled, step, what, i === 0 ? target.release : undefined);
    return {
      outputs: { table: table(scaled), scaler: metrics(chainMetrics(chain)) },
      summary: {
        method: fitted.method,
        columns: fitted.columns.map((c) => c.name),
        rows,
        ...(fitted.method === "minmax" ? { range: [fitted.lo, fitted.hi] } : {}),
        ...(chain.length > 1 ? { chain: chain.length } : {}),
        lineage: stepsAdded(known, scaled),
      },
    };
  },
});

/**
 * Fits on the `fit` table and checks it against `previous`. Its own function so that the table's
 * reference ends here, before the stage consumes the table it transforms.
 */
async function fitHere(
  ctx: StageContext<ScaleParams>,
): Promise<{ fitted: FittedScaler; chain: FittedScaler[] }> {
  const fitTable = ctx.inputs.table("fit");
  const fitted = fit(fitTable, ctx.params, (m) => ctx.note(m));
  const before = ctx.inputs.has("previous") ? scalerChain(ctx.inputs.metrics("previous"), "previous") : [];
  await checkMadeBy(before, fitTable);
  return { fitted, chain: [...before, fitted] };
}

function fit(
  t: Table,
  pr: {
    method: "standard" | "minmax";
    range?: number[];
    clip: boolean;
    columns?: string[];
    exclude?: string[];
  },
  note: (m: string) => void,
): FittedScaler {
  if (t.numRows === 0) throw new StageError("QV_EMPTY", "the fit table has no rows to fit a scaler on");
  const names = chooseColumns(t, pr.columns, pr.exclude, note);
  const data = names.map((name, i) => {
    const c = requireColumn(t, name, { what: "fit table", param: ["columns", i] });
    if (c.type === "dict")
      throw new StageError("QV_COLUMN_TYPE", `column "${name}" holds text categories and cannot be scaled`, {
        param: ["columns", i],
      });
    return { name, values: numericValues(c) };
  });
  const empty = (name: string) =>
    new StageError("QV_EMPTY", `column "${name}" has no values in the fit table (all missing)`, {
      data: { column: name },
    });
  if (pr.method === "standard") {
    return {
      method: "standard",
      columns: data.map(({ name, values }) => {
        const f = fitStandard(values);
        if (!f) throw empty(name);
        return { name, ...f };
      }),
    };
  }
  const [lo, hi] = (pr.range ?? [0, 1]) as [number, number];
  return {
    method: "minmax",
    lo,
    hi,
    clip: pr.clip,
    columns: data.map(({ name, values }) => {
      const f = fitMinMax(values, lo, hi);
      if (!f) throw empty(name);
      return { name, ...f };
    }),
  };
}

/** The explicit list, or every float64 column not excluded (int32 counts and labels stay as they are). */
function chooseColumns(
  t: Table,
  columns: string[] | undefined,
  exclude: string[] | undefined,
  note: (m: string) => void,
): string[] {
  if (columns) {
    const dup = columns.find((c, i) => columns.indexOf(c) !== i);
    if (dup !== undefined)
      throw new StageError("QV_DUPLICATE_COLUMN", `column "${dup}" is listed twice`, {
        param: ["columns", columns.lastIndexOf(dup)],
      });
    return columns;
  }
  const skip = new Set(exclude ?? DEFAULT_EXCLUDE);
  for (const [i, name] of (exclude ?? []).entries())
    if (!t.columns.has(name)) requireColumn(t, name, { what: "fit table", param: ["exclude", i] }); // a typo here would scale the column by accident
  const chosen = [...t.columns].filter(([n, c]) => c.type === "float64" && !skip.has(n)).map(([n]) => n);
  if (chosen.length === 0)
    throw new StageError("QV_SCALE_COLUMNS", "no float64 columns to scale after the exclusions", {
      param: exclude ? ["exclude"] : [],
      hint: "list the columns to scale with `columns:`",
    });
  const ints = [...t.columns].filter(([n, c]) => c.type === "int32" && !skip.has(n)).map(([n]) => n);
  if (ints.length)
    note(`integer columns left unscaled: ${ints.join(", ")} (list them in \`columns\` to scale them)`);
  return chosen;
}

/** The transformed table; each scaled column gets the scaler's step for it appended to its lineage. */
export async function applyScaler(
  t: Table,
  s: FittedScaler,
  what: string,
  release?: (column: string) => void,
): Promise<Table> {
  const out = new Map<string, Column>(t.columns);
  const steps = await scalerSteps(s);
  const source = (name: string): Float64Array => {
    const col = requireColumn(t, name, { what });
    if (col.type === "dict")
      throw new StageError("QV_COLUMN_TYPE", `column "${name}" of the ${what} holds text categories`, {
        data: { column: name },
      });
    return numericValues(col);
  };
  switch (s.method) {
    case "standard":
      for (const c of s.columns) {
        out.set(c.name, rewritten(t, c.name, transformStandard(source(c.name), c), steps.get(c.name)!));
        release?.(c.name);
      }
      break;
    case "minmax": {
      const clip = s.clip ? { lo: s.lo, hi: s.hi } : undefined;
      for (const c of s.columns) {
        out.set(c.name, rewritten(t, c.name, transformMinMax(source(c.name), c, clip), steps.get(c.name)!));
        release?.(c.name);
      }
      break;
    }
  }
  return { numRows: t.numRows, columns: out };
}

/** New float64 values for column `name` of `t`, with `step` appended to its lineage. */
function rewritten(t: Table, name: string, values: Float64Array, step: string): Column {
  return withLineage({ type: "float64", values }, chainAfter(t, name, step));
}

/** The fit table must come out of the `previous` chain: every column it scales carries its steps. */
async function checkMadeBy(chain: readonly FittedScaler[], t: Table): Promise<void> {
  for (const s of chain)
    for (const [name, step] of await scalerSteps(s)) {
      const c = t.columns.get(name);
      if (c && !lineageOf(c).includes(step))
        throw new StageError(
          "QV_FEATURE_LINEAGE",
          `the fit table's ${name} was not transformed by the scaler on \`previous\``,
          {
            data: { column: name },
            hint: "connect as `fit` the table that scale stage wrote, and its `scaler` as `previous`",
          },
        );
    }
}
