/**
 * `generate`: seeded toy signal/background events (see stages/lib/toy-events.ts for the
 * distributions), so demos, benchmarks and tests run without downloading anything.
 */
import { defineStage, StageError, table, type ParamProblem } from "../core/stage.js";
import { p } from "../core/schema.js";
import { didYouMean } from "../core/diagnostics.js";
import { generateToyEvents, TOY_FEATURES, ToyYieldError, type ToyFeature } from "./lib/toy-events.js";

const params = p.object({
  signal: p.withDefault(p.integer({ min: 0, description: "number of signal events (label 1)" }), 10000),
  background: p.withDefault(
    p.integer({ min: 0, description: "number of background events (label 0)" }),
    10000,
  ),
  yields: p.withDefault(
    p.object(
      {
        signal: p.number({ exclusiveMin: 0, description: "expected signal events: Σ weight of signal" }),
        background: p.number({
          exclusiveMin: 0,
          description: "expected background events: Σ weight of background",
        }),
      },
      { description: "total (signed) sum of weights per class, i.e. the expected yields" },
    ),
    { signal: 10, background: 400 },
  ),
  negative_weight_fraction: p.withDefault(
    p.number({ min: 0, max: 0.45, description: "probability that an event has a negative weight" }),
    0,
  ),
  features: p.optional(
    p.array(p.string(), {
      minItems: 1,
      description: `feature columns to output (default all: ${TOY_FEATURES.join(", ")})`,
    }),
  ),
  label: p.withDefault(p.string({ description: "name of the 0/1 label column" }), "label"),
  weight: p.withDefault(p.string({ description: "name of the event weight column" }), "weight"),
});

export const generateStage = defineStage({
  type: "generate",
  version: 2,
  description: "Seeded toy signal/background events with physics-like columns, a label and event weights",
  inputs: {},
  outputs: { table: { kind: "table", description: "the events, signal and background shuffled together" } },
  params,
  random: true,
  check(pr) {
    const problems: ParamProblem[] = [];
    const known = new Set<string>(TOY_FEATURES);
    const features = pr.features ?? [];
    for (const [i, f] of features.entries()) {
      if (features.indexOf(f) !== i)
        problems.push({
          path: ["features", i],
          code: "QV_DUPLICATE_COLUMN",
          message: `"${f}" is listed twice`,
        });
      else if (!known.has(f)) {
        const near = didYouMean(f, TOY_FEATURES);
        problems.push({
          path: ["features", i],
          code: "QV_UNKNOWN_COLUMN",
          message: `generate has no feature "${f}"`,
          hint: near ? `did you mean "${near}"?` : `available: ${TOY_FEATURES.join(", ")}`,
        });
      }
    }
    if (pr.label === pr.weight)
      problems.push({
        path: ["weight"],
        code: "QV_DUPLICATE_COLUMN",
        message: `the label and weight columns are both named "${pr.label}"`,
      });
    const clash = (pr.features ?? TOY_FEATURES).find((f) => f === pr.label || f === pr.weight);
    if (clash !== undefined)
      problems.push({
        path: [clash === pr.label ? "label" : "weight"],
        code: "QV_DUPLICATE_COLUMN",
        message: `"${clash}" is already a feature column name`,
      });
    return problems;
  },
  run(ctx) {
    const pr = ctx.params;
    if (pr.signal + pr.background === 0)
      throw new StageError("QV_EMPTY", "generate needs at least one event", { param: ["signal"] });
    let events;
    try {
      events = generateToyEvents({
        signal: pr.signal,
        background: pr.background,
        signalYield: pr.yields.signal,
        backgroundYield: pr.yields.background,
        negativeWeightFraction: pr.negative_weight_fraction,
        seed: ctx.seed,
        features: pr.features as ToyFeature[] | undefined,
        labelColumn: pr.label,
        weightColumn: pr.weight,
      });
    } catch (e) {
      if (e instanceof ToyYieldError)
        throw new StageError("QV_WEIGHTS", e.message, {
          param: ["negative_weight_fraction"],
          hint: "lower negative_weight_fraction or generate more events",
        });
      throw e;
    }
    return Promise.resolve({
      outputs: { table: table(events) },
      summary: {
        rows: events.numRows,
        signal: pr.signal,
        background: pr.background,
        sum_weights: { signal: pr.yields.signal, background: pr.yields.background },
      },
    });
  },
});
