/**
 * `oversample`: random oversampling of one class with replacement, seeded. The extra rows are
 * appended after the original table (as pandas' concat or imbalanced-learn's RandomOverSampler
 * do); weights are copied unchanged, so yields computed from the output must be divided by the
 * recorded factor (or by each row's multiplicity), which the significance stage can do.
 * With `rng: numpy` the copies are the rows pandas draws: `df[df[label] == class].sample(frac=rate,
 * replace=True, random_state=R)` (or `n=` extra rows for `ratio`), appended by `pd.concat`.
 */
import { defineStage, metrics, StageError, table, type ParamProblem } from "../core/stage.js";
import { p } from "../core/schema.js";
import { takeRows, withColumn, withLineage } from "../core/table.js";
import { hasher, hashBytes } from "../core/hash.js";
import { chainAfter, lineageStep, writtenSteps } from "./lib/lineage.js";
import { Rng } from "./lib/random.js";
import { classCode, classLabels, className, countClasses } from "./lib/columns.js";
import { checkSampling, numpyState, samplingFields, samplingFingerprint } from "./lib/sampling/mode.js";
import { samplePositions } from "./lib/sampling/pandas.js";

const params = p.object({
  label: p.withDefault(p.column({ description: "the class column" }), "label"),
  class: p.withDefault(
    p.union([p.integer(), p.string()], { description: "the class to oversample (label value or category)" }),
    1,
  ),
  rate: p.optional(
    p.number({
      min: 0,
      description:
        "extra rows as a multiple of the class size: 4 adds 4·n drawn with replacement (5× in total)",
    }),
  ),
  ratio: p.optional(
    p.number({
      exclusiveMin: 0,
      description:
        "target class/other-class size ratio after oversampling (imbalanced-learn's float sampling_strategy)",
    }),
  ),
  multiplicity_column: p.optional(
    p.string({
      description: "name of an int32 column: how many times each original row appears in the output",
    }),
  ),
  ...samplingFields,
});

export const oversampleStage = defineStage({
  type: "oversample",
  // 2: the multiplicity column carries an oversample lineage step (other columns keep theirs:
  // copying rows rewrites no value)
  version: 2,
  description: "Random oversampling of one class with replacement (by a rate or to a target ratio), seeded",
  inputs: { table: { kind: "table", description: "the training rows (never the test rows)" } },
  outputs: {
    table: { kind: "table", description: "the original rows followed by the drawn copies" },
    info: {
      kind: "metrics",
      description: "class, factor (total multiplicity of that class), rows before/after",
    },
  },
  params,
  random: true,
  check(pr) {
    const problems: ParamProblem[] = [];
    if ((pr.rate === undefined) === (pr.ratio === undefined))
      problems.push({
        path: pr.rate === undefined ? [] : ["ratio"],
        code: "QV_PARAM_CONFLICT",
        message: "give exactly one of rate (extra copies per row) or ratio (target class ratio)",
        hint: "e.g. `rate: 4` as in oversample_rate = 4.0",
      });
    if (pr.multiplicity_column !== undefined && pr.multiplicity_column === pr.label)
      problems.push({
        path: ["multiplicity_column"],
        code: "QV_DUPLICATE_COLUMN",
        message: `the multiplicity column cannot replace the label column "${pr.label}"`,
      });
    problems.push(...checkSampling(pr, true));
    return problems;
  },
  fingerprintParams: samplingFingerprint,
  async run(ctx) {
    const pr = ctx.params;
    const t = ctx.inputs.table("table");
    const labels = classLabels(t, pr.label, { what: "table", param: ["label"] });
    const code = classCode(t, pr.label, pr.class, { what: "table", param: ["class"] });
    const counts = countClasses(labels);
    const nClass = counts.get(code) ?? 0;
    if (nClass === 0)
      throw new StageError(
        "QV_UNKNOWN_CLASS",
        `no rows of class ${className(t, pr.label, code)} to oversample`,
        {
          param: ["class"],
        },
      );
    const extra =
      pr.rate !== undefined
        ? roundHalfEven(pr.rate * nClass)
        : extraForRatio(counts, code, pr.ratio!, t.numRows);

    // Which rows of the class to copy: uniform draws with replacement.
    const members = new Int32Array(nClass);
    for (let i = 0, j = 0; i < labels.length; i++) if (labels[i] === code) members[j++] = i;
    const rows = new Int32Array(t.numRows + extra);
    for (let i = 0; i < t.numRows; i++) rows[i] = i;
    if (pr.rng === "numpy") {
      const picks = samplePositions(nClass, extra, true, numpyState(pr));
      for (let k = 0; k < extra; k++) rows[t.numRows + k] = members[picks[k]!]!;
    } else {
      const rng = new Rng(ctx.seed);
      for (let k = 0; k < extra; k++) rows[t.numRows + k] = members[rng.int(nClass)]!;
    }
    let out = takeRows(t, rows);

    if (pr.multiplicity_column !== undefined) {
      const times = new Int32Array(t.numRows).fill(1);
      for (let k = 0; k < extra; k++) times[rows[t.numRows + k]!]!++;
      const m = new Int32Array(rows.length);
      for (let i = 0; i < rows.length; i++) m[i] = times[rows[i]!]!;
      if (t.columns.has(pr.multiplicity_column)) ctx.note(`column "${pr.multiplicity_column}" was replaced`);
      await hasher();
      const step = await lineageStep("oversample", {
        rows: hashBytes(new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength)),
      });
      const column = withLineage({ type: "int32", values: m }, chainAfter(t, pr.multiplicity_column, step));
      out = withColumn(out, pr.multiplicity_column, column);
    }
    const factor = (nClass + extra) / nClass;
    const info = {
      label: pr.label,
      class: className(t, pr.label, code),
      factor,
      extra_rows: extra,
      class_rows_before: nClass,
      class_rows_after: nClass + extra,
      rows_before: t.numRows,
      rows_after: out.numRows,
      ...(pr.rate !== undefined ? { rate: pr.rate } : { ratio: pr.ratio! }),
      ...(pr.multiplicity_column !== undefined ? { multiplicity_column: pr.multiplicity_column } : {}),
      ...(pr.rng === "numpy" ? { rng: "numpy", random_state: pr.random_state ?? null } : {}),
    };
    return {
      outputs: { table: table(out), info: metrics(info) },
      summary: { ...info, lineage: writtenSteps([t], out) },
    };
  },
});

/** Python's round(), which pandas' sample(frac=) uses: halves go to the even neighbour. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** imbalanced-learn's float sampling_strategy: the class grows to int(ratio · n_other). */
function extraForRatio(counts: Map<number, number>, code: number, ratio: number, n: number): number {
  if (counts.size !== 2)
    throw new StageError(
      "QV_OVERSAMPLE_RATIO",
      `ratio needs exactly two classes, the label column has ${counts.size}`,
      { param: ["ratio"], hint: "use rate instead" },
    );
  const nClass = counts.get(code)!;
  const nOther = n - nClass;
  const extra = Math.trunc(nOther * ratio - nClass);
  if (extra < 0)
    throw new StageError(
      "QV_OVERSAMPLE_RATIO",
      `ratio ${ratio} asks for ${Math.trunc(nOther * ratio)} rows of the class, which already has ${nClass}; oversampling cannot remove rows`,
      { param: ["ratio"] },
    );
  return extra;
}
