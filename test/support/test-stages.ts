/**
 * Tiny stages for engine tests: they make the engine's decisions observable without depending on
 * the real stage library (whose numbers are tested elsewhere).
 */
import fs from "node:fs";
import { p } from "../../core/schema.js";
import { defineStage, metrics, model, StageError, table, type AnyStageDefinition } from "../../core/stage.js";
import { registry } from "../../stages/index.js";
import type { Column, Table } from "../../core/table.js";

const col = (values: number[]): Table => ({
  numRows: values.length,
  columns: new Map([["x", { type: "float64", values: Float64Array.from(values) }]]),
});
const xs = (t: Table): number[] => {
  const c = t.columns.get("x");
  return c && c.type === "float64" ? [...c.values] : [];
};

export const sourceStage = defineStage({
  type: "source",
  version: 1,
  description: "numbers from params or from a file (one per line)",
  inputs: {},
  outputs: { table: { kind: "table", description: "column x" } },
  params: p.object({
    values: p.optional(p.array(p.number())),
    file: p.optional(p.file()),
    sleep_ms: p.withDefault(p.integer({ min: 0 }), 0),
  }),
  async run(ctx) {
    if (ctx.params.sleep_ms) await new Promise((r) => setTimeout(r, ctx.params.sleep_ms));
    const values = ctx.params.file
      ? fs.readFileSync(ctx.file(ctx.params.file), "utf8").split(/\s+/).filter(Boolean).map(Number)
      : (ctx.params.values ?? []);
    return { outputs: { table: table(col(values)) } };
  },
});

export const addStage = defineStage({
  type: "add",
  version: 1,
  description: "x + amount",
  inputs: { table: { kind: "table", description: "column x" } },
  outputs: { table: { kind: "table", description: "column x" } },
  params: p.object({
    amount: p.withDefault(p.number(), 1),
    sleep_ms: p.withDefault(p.integer({ min: 0 }), 0),
  }),
  async run(ctx) {
    if (ctx.params.sleep_ms) await new Promise((r) => setTimeout(r, ctx.params.sleep_ms));
    return {
      outputs: { table: table(col(xs(ctx.inputs.table("table")).map((v) => v + ctx.params.amount))) },
    };
  },
});

export const clipStage = defineStage({
  type: "clip",
  version: 1,
  description: "min(x, max)",
  inputs: { table: { kind: "table", description: "column x" } },
  outputs: { table: { kind: "table", description: "column x" } },
  params: p.object({ max: p.number() }),
  run(ctx) {
    return Promise.resolve({
      outputs: { table: table(col(xs(ctx.inputs.table("table")).map((v) => Math.min(v, ctx.params.max)))) },
    });
  },
});

export const sumStage = defineStage({
  type: "sum",
  version: 1,
  description: "sum of x",
  inputs: { table: { kind: "table", description: "column x" } },
  outputs: {
    metrics: { kind: "metrics", description: "sum" },
    count: { kind: "table", description: "row count" },
  },
  params: p.object({ scale: p.withDefault(p.number(), 1) }),
  run(ctx) {
    const v = xs(ctx.inputs.table("table"));
    return Promise.resolve({
      outputs: {
        metrics: metrics({ sum: v.reduce((a, b) => a + b, 0) * ctx.params.scale }),
        count: table(col([v.length])),
      },
    });
  },
});

export const failStage = defineStage({
  type: "fail",
  version: 1,
  description: "always fails with a StageError",
  inputs: { table: { kind: "table", description: "anything", optional: true } },
  outputs: { table: { kind: "table", description: "never produced" } },
  params: p.object({ message: p.withDefault(p.string(), "boom") }),
  run(ctx) {
    return Promise.reject(new StageError("QV_TEST_FAIL", ctx.params.message, { param: ["message"] }));
  },
});

export const modelStage = defineStage({
  type: "fit",
  version: 1,
  description: "a model output, to test kind checks",
  inputs: { table: { kind: "table", description: "column x" } },
  outputs: { model: { kind: "model", description: "a model" } },
  params: p.object({}),
  run() {
    return Promise.resolve({ outputs: { model: model({ meta: { format: "test" }, blobs: {} }) } });
  },
});

export const halvesStage = defineStage({
  type: "halves",
  version: 1,
  description: "first and second half of the rows",
  inputs: { table: { kind: "table", description: "column x" } },
  outputs: {
    first: { kind: "table", description: "first half" },
    second: { kind: "table", description: "second half" },
  },
  params: p.object({}),
  run(ctx) {
    const v = xs(ctx.inputs.table("table"));
    const h = Math.ceil(v.length / 2);
    return Promise.resolve({ outputs: { first: table(col(v.slice(0, h))), second: table(col(v.slice(h))) } });
  },
});

/**
 * Equal values, unstable dictionary order: each call lists the dictionary of column `sample` in the
 * other order (as a reader that collects strings from a hash map might), the codes following it.
 */
let labelsCalls = 0;
export const labelsStage = defineStage({
  type: "labels",
  version: 1,
  description: "column x and a string column sample whose dictionary order alternates per call",
  inputs: {},
  outputs: { table: { kind: "table", description: "columns x, sample" } },
  params: p.object({ values: p.array(p.string()) }),
  run(ctx) {
    const words = [...new Set(ctx.params.values)];
    const dictionary = labelsCalls++ % 2 === 0 ? words : [...words].reverse();
    const codes = Int32Array.from(ctx.params.values, (v) => dictionary.indexOf(v));
    const t: Table = {
      numRows: codes.length,
      columns: new Map<string, Column>([
        ["x", { type: "float64", values: Float64Array.from(codes, (_, i) => i) }],
        ["sample", { type: "dict", codes, dictionary }],
      ]),
    };
    return Promise.resolve({ outputs: { table: table(t) } });
  },
});

/** A stage whose result depends on where its input comes from (as `predict` names its column). */
export const tagStage = defineStage({
  type: "tag",
  version: 1,
  description: "metrics naming the stage its input comes from, and the row count",
  inputs: { table: { kind: "table", description: "anything" } },
  outputs: { metrics: { kind: "metrics", description: "{from, rows}" } },
  params: p.object({}),
  run(ctx) {
    const from = ctx.inputFrom.table ?? "";
    return Promise.resolve({
      outputs: { metrics: metrics({ from, rows: ctx.inputs.table("table").numRows }) },
    });
  },
});

/** A process that dies mid-stage (as a segfault or an out-of-memory kill would): no failure record. */
export const crashStage = defineStage({
  type: "crash",
  version: 1,
  description: "writes a line to stderr, then ends its process with an exit code",
  inputs: { table: { kind: "table", description: "anything", optional: true } },
  outputs: { table: { kind: "table", description: "never produced" } },
  params: p.object({ code: p.withDefault(p.integer({ min: 1, max: 255 }), 1) }),
  run(ctx) {
    process.stderr.write(`crash stage ${ctx.stageId}: exiting with ${ctx.params.code}\n`);
    process.exit(ctx.params.code);
  },
});

/** What the stage was given to run with: its threads, and the batch system's allocation. */
export const threadsStage = defineStage({
  type: "threads",
  version: 1,
  description: "metrics {jobs: ctx.jobs, cpus: SLURM_CPUS_PER_TASK or 0}; a note and progress on the way",
  inputs: {},
  outputs: { metrics: { kind: "metrics", description: "{jobs, cpus}" } },
  params: p.object({ tag: p.withDefault(p.string(), "") }),
  run(ctx) {
    ctx.progress(0.5, "half way");
    ctx.note(`running with ${ctx.jobs} thread(s)`);
    return Promise.resolve({
      outputs: {
        metrics: metrics({ jobs: ctx.jobs, cpus: Number(process.env.SLURM_CPUS_PER_TASK ?? 0) }),
      },
    });
  },
});

/** Blocks the main thread (a synchronous busy loop), as a long in-process computation does. */
export const spinStage = defineStage({
  type: "spin",
  version: 1,
  description: "column x = [ms], after keeping the thread busy for ms milliseconds",
  inputs: {},
  outputs: { table: { kind: "table", description: "column x" } },
  params: p.object({ ms: p.integer({ min: 0 }) }),
  run(ctx) {
    const until = Date.now() + ctx.params.ms;
    while (Date.now() < until) {
      /* busy */
    }
    return Promise.resolve({ outputs: { table: table(col([ctx.params.ms])) } });
  },
});

export const testRegistry: ReadonlyMap<string, AnyStageDefinition> = new Map([
  ...registry,
  ...(
    [
      sourceStage,
      addStage,
      clipStage,
      sumStage,
      failStage,
      modelStage,
      halvesStage,
      labelsStage,
      tagStage,
      crashStage,
      threadsStage,
      spinStage,
    ] as AnyStageDefinition[]
  ).map((d) => [d.type, d] as const),
]);
