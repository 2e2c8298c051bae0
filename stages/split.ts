/**
 * `split`: train / validation / test by fractions or counts, with scikit-learn's sizes
 * (n_test = ceil(test·n), n_train = floor(train·n)) and, when stratified, scikit-learn's class
 * counts per split. Rows are drawn with Quiver's seeded RNG (`rng: quiver`), or, with `rng: numpy`, as
 * scikit-learn draws them for the same random_state (stages/lib/sampling/split-rows.ts).
 */
import { defineStage, StageError, table, type ParamProblem } from "../core/stage.js";
import { p, type ParamPath } from "../core/schema.js";
import { takeRowsEach, type Table } from "../core/table.js";
import type { JsonObject } from "../core/json.js";
import { Rng } from "./lib/random.js";
import { approximateMode } from "./lib/folds.js";
import { classLabels, className, countClasses } from "./lib/columns.js";
import { checkSampling, numpyState, samplingFields, samplingFingerprint } from "./lib/sampling/mode.js";
import { checkNumpyCall, numpySplitRows } from "./lib/sampling/split-rows.js";

const size = (what: string) =>
  p.optional(
    p.number({
      exclusiveMin: 0,
      description: `${what}: a fraction of all rows in (0, 1), or a whole number of rows (≥ 1)`,
    }),
  );

const params = p.object({
  test: size("rows for the test split (default: the rest, when train is given)"),
  validation: size("rows for the validation split (default: none)"),
  train: size("rows for the training split (default: the rest)"),
  shuffle: p.withDefault(p.boolean({ description: "shuffle before splitting (seeded)" }), true),
  stratify: p.optional(p.column({ description: "keep this class column's proportions in every split" })),
  ...samplingFields,
  call: p.optional(
    p.enum(["train_test_split", "shuffle"] as const, {
      description:
        "rng: numpy only: the Python call reproduced: train_test_split (default; no validation split) or shuffle (sklearn.utils.shuffle, then train, validation, test slices)",
    }),
  ),
});
type Params = { test?: number; validation?: number; train?: number };

const PORTS = ["train", "validation", "test"] as const;
type Port = (typeof PORTS)[number];
type Sizes = Record<Port, number>;

export const splitStage = defineStage({
  type: "split",
  version: 1,
  description: "Train / validation / test split by fractions or counts, seeded, optionally stratified",
  inputs: { table: { kind: "table", description: "the rows to split" } },
  outputs: {
    train: { kind: "table", description: "training rows" },
    validation: {
      kind: "table",
      description: "validation rows (no rows when validation is not set)",
      usageOptional: true,
    },
    test: { kind: "table", description: "test rows" },
  },
  params,
  random: true,
  check(pr) {
    const problems: ParamProblem[] = [];
    if (pr.test === undefined && pr.train === undefined)
      problems.push({
        path: [],
        code: "QV_SPLIT_SIZE",
        message: "split needs a test size or a train size (the other split gets the rest)",
        hint: "e.g. `test: 0.33`",
      });
    for (const k of ["test", "validation", "train"] as const) {
      const v = pr[k];
      if (v !== undefined && v >= 1 && !Number.isInteger(v))
        problems.push({
          path: [k],
          code: "QV_SPLIT_SIZE",
          message: `${k} must be a fraction below 1 or a whole number of rows, got ${v}`,
        });
    }
    const fractions = (["test", "validation", "train"] as const).filter((k) => (pr[k] ?? 1) < 1);
    const sum = fractions.reduce((a, k) => a + (pr[k] ?? 0), 0);
    if (sum > 1)
      problems.push({
        path: [fractions[fractions.length - 1]!],
        code: "QV_SPLIT_SIZE",
        message: `the fractions ${fractions.map((k) => `${k} ${pr[k]}`).join(", ")} add up to ${sum}, more than 1`,
      });
    if (pr.stratify !== undefined && !pr.shuffle)
      problems.push({
        path: ["shuffle"],
        code: "QV_SPLIT_STRATIFY",
        message: "a stratified split must shuffle (as in scikit-learn)",
        hint: "remove `shuffle: false` or `stratify`",
      });
    problems.push(...checkSampling(pr, pr.shuffle), ...checkNumpyCall(pr));
    return problems;
  },
  fingerprintParams: samplingFingerprint,
  run(ctx) {
    const consumed = ctx.inputs.consume("table");
    const t = consumed.table;
    const pr = ctx.params;
    const sizes = splitSizes(t.numRows, pr);
    let rows: Record<Port, Int32Array>;
    const labels = labelsFor(t, pr.stratify);
    if (pr.rng === "numpy") {
      const opts = { call: pr.call ?? "train_test_split", shuffle: pr.shuffle, stratify: pr.stratify };
      rows = numpySplitRows(t, sizes, opts, () => numpyState(pr));
    } else if (pr.stratify !== undefined) rows = stratifiedRows(labels!, sizes, new Rng(ctx.seed));
    else rows = plainRows(t.numRows, sizes, pr.shuffle ? new Rng(ctx.seed) : undefined);
    const classColumn = pr.stratify ?? "label";
    const summary: JsonObject = { rows: t.numRows };
    for (const port of PORTS) {
      const s: JsonObject = { rows: rows[port].length };
      if (labels) s.classes = classCountsOf(t, classColumn, labels, rows[port]);
      summary[port] = s;
    }
    if (sizes.train + sizes.validation + sizes.test < t.numRows)
      ctx.note(`${t.numRows - sizes.train - sizes.validation - sizes.test} rows are in no split`);
    // Column by column, each let go once every part has its copy: the peak is about the input,
    // not the input beside all of its parts.
    const parts = takeRowsEach(
      t,
      PORTS.map((port) => rows[port]),
      consumed.release,
    );
    const outputs = Object.fromEntries(PORTS.map((port, i) => [port, table(parts[i]!)]));
    return Promise.resolve({ outputs, summary });
  },
});

function labelsFor(t: Table, stratify: string | undefined): Int32Array | undefined {
  if (stratify !== undefined) return classLabels(t, stratify, { what: "table", param: ["stratify"] });
  const label = t.columns.get("label");
  return label?.type === "int32" ? label.values : undefined;
}

/**
 * Sizes of the three splits. Fractions are of all n rows: test and validation round up, train
 * rounds down (scikit-learn's rule); a split without a size gets the rest.
 */
export function splitSizes(n: number, pr: Params): Sizes {
  if (n === 0) throw new StageError("QV_EMPTY", "the table to split has no rows");
  if (pr.test === undefined && pr.train === undefined)
    throw new StageError(
      "QV_SPLIT_SIZE",
      "split needs a test size or a train size (the other split gets the rest)",
    );
  const get = (k: keyof Params, round: (x: number) => number): number | undefined => {
    const v = pr[k];
    if (v === undefined) return undefined;
    if (v < 1) return round(v * n);
    if (v > n)
      throw new StageError("QV_SPLIT_SIZE", `${k} asks for ${v} rows, the table has ${n}`, { param: [k] });
    return v;
  };
  const test = get("test", Math.ceil);
  const validation = get("validation", Math.ceil) ?? 0;
  const train = get("train", Math.floor);
  // What was asked for explicitly must fit before the rest is handed out.
  const asked: [string, number][] = [
    ["train", train ?? 0],
    ["validation", validation],
    ["test", test ?? 0],
  ];
  const askedTotal = asked.reduce((a, [, v]) => a + v, 0);
  if (askedTotal > n)
    throw new StageError(
      "QV_SPLIT_SIZE",
      `the splits ask for ${asked
        .filter(([k]) => pr[k as keyof Params] !== undefined)
        .map(([k, v]) => `${k} ${v}`)
        .join(" + ")} = ${askedTotal} rows, the table has ${n}`,
      { param: blame(pr) },
    );
  const sizes: Sizes = {
    train: train ?? n - validation - (test ?? 0),
    validation,
    test: test ?? n - validation - (train ?? 0),
  };
  if (sizes.train === 0)
    throw new StageError(
      "QV_SPLIT_SIZE",
      `with ${n} rows these sizes leave no training rows (${describe(sizes)})`,
      {
        param: blame(pr),
        hint: "use smaller test/validation sizes or more rows",
      },
    );
  return sizes;
}

function describe(s: Sizes): string {
  return `train ${s.train}, validation ${s.validation}, test ${s.test}`;
}

function blame(pr: Params): ParamPath {
  return [pr.test !== undefined ? "test" : pr.validation !== undefined ? "validation" : "train"];
}

/** Train first, then validation, then test: with shuffle off, a table's first rows train. */
function plainRows(n: number, sizes: Sizes, rng: Rng | undefined): Record<Port, Int32Array> {
  let order: Int32Array;
  if (rng) order = rng.permutation(n);
  else {
    order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
  }
  const a = sizes.train;
  const b = a + sizes.validation;
  return { train: order.slice(0, a), validation: order.slice(a, b), test: order.slice(b, b + sizes.test) };
}

/**
 * Class counts as two chained stratified train_test_split calls with absolute sizes: test against
 * the rest, then validation against train within the rest. With no validation this is exactly
 * StratifiedShuffleSplit's allocation.
 */
function stratifiedRows(labels: Int32Array, sizes: Sizes, rng: Rng): Record<Port, Int32Array> {
  const counts = countClasses(labels);
  const values = [...counts.keys()];
  const classCounts = [...counts.values()];
  const smallest = Math.min(...classCounts);
  if (smallest < 2) {
    const v = values[classCounts.indexOf(smallest)];
    throw new StageError(
      "QV_SPLIT_STRATIFY",
      `class ${v} has only 1 row; stratifying needs at least 2 rows of every class`,
      { param: ["stratify"] },
    );
  }
  for (const port of PORTS) {
    const s = sizes[port];
    if (s > 0 && s < values.length)
      throw new StageError(
        "QV_SPLIT_STRATIFY",
        `the ${port} split has ${s} rows, fewer than the ${values.length} classes to stratify`,
        { param: [port] },
      );
  }
  const rest = approximateMode(classCounts, sizes.train + sizes.validation, rng);
  const test = approximateMode(
    classCounts.map((c, i) => c - rest[i]!),
    sizes.test,
    rng,
  );
  const train = sizes.validation > 0 ? approximateMode(rest, sizes.train, rng) : rest;
  const validation =
    sizes.validation > 0
      ? approximateMode(
          rest.map((c, i) => c - train[i]!),
          sizes.validation,
          rng,
        )
      : rest.map(() => 0);

  // Rows of each class in random order, dealt to train, validation and test by those counts.
  const byClass = new Map<number, Int32Array>();
  const fill = new Map<number, number>();
  values.forEach((v, i) => {
    byClass.set(v, new Int32Array(classCounts[i]!));
    fill.set(v, 0);
  });
  for (let r = 0; r < labels.length; r++) {
    const v = labels[r]!;
    const k = fill.get(v)!;
    byClass.get(v)![k] = r;
    fill.set(v, k + 1);
  }
  const out: Record<Port, Int32Array> = {
    train: new Int32Array(sizes.train),
    validation: new Int32Array(sizes.validation),
    test: new Int32Array(sizes.test),
  };
  const pos: Record<Port, number> = { train: 0, validation: 0, test: 0 };
  const take: Record<Port, number[]> = { train, validation, test };
  values.forEach((v, i) => {
    const rows = rng.shuffle(byClass.get(v)!);
    let k = 0;
    for (const port of PORTS) {
      const m = take[port][i]!;
      out[port].set(rows.subarray(k, k + m), pos[port]);
      pos[port] += m;
      k += m;
    }
  });
  // Mix the classes within each split, as scikit-learn permutes its train and test indices.
  for (const port of PORTS) rng.shuffle(out[port]);
  return out;
}

function classCountsOf(t: Table, column: string, labels: Int32Array, rows: Int32Array): JsonObject {
  const sub = new Int32Array(rows.length);
  for (let i = 0; i < rows.length; i++) sub[i] = labels[rows[i]!]!;
  const out: JsonObject = {};
  for (const [v, c] of countClasses(sub)) out[className(t, column, v)] = c;
  return out;
}
