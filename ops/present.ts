/**
 * Results as the stages present them (core/present.ts): one stage or one output for `show`, and
 * every stage's headline figures for `results` and the end of `run`. The same presentations the
 * report draws, here as data for the command line and the API.
 */
import type { Block, Figure } from "../core/present.js";
import { own } from "../core/dict.js";
import { collectReport } from "../report/collect.js";
import { collectFigures, presentStage } from "../report/present.js";
import { OpError, UsageError } from "./errors.js";
import { currentResults, notStored, show, type ResultOptions, type StoredOutput } from "./inspect.js";
import type { Pipeline } from "./load.js";
import { openStore, storeDir } from "./store.js";

export interface PresentOptions extends ResultOptions {
  /** Also every value of an output the stage presents itself (its default view). */
  readonly all?: boolean;
}

export interface PresentedResult {
  readonly stage: string;
  /** The output shown; undefined when the whole stage is. */
  readonly output?: StoredOutput;
  /** The stage's headline figures (for a whole stage, or one of its metrics outputs). */
  readonly figures: readonly Figure[];
  readonly blocks: readonly Block[];
  readonly notes: readonly string[];
}

/** `STAGE.PORT` (one output) or `STAGE` (all of it) of the pipeline as it is now, as its stage presents it. */
export async function presentResult(
  pipeline: Pipeline,
  ref: string,
  opts: PresentOptions = {},
): Promise<PresentedResult> {
  const { spec } = pipeline;
  const dot = ref.indexOf(".");
  const stage = dot < 0 ? ref : ref.slice(0, dot);
  const s = spec.stages.get(stage);
  if (!s) throw new UsageError(`no stage "${stage}" in ${spec.file}; stages: ${spec.order.join(", ")}`);
  const ports = Object.keys(s.def.outputs);
  // One output: resolved, checked and decoded as `show` does; a single-output stage is that output.
  const output = dot >= 0 || ports.length === 1 ? await show(pipeline, ref, opts) : undefined;
  // The stage and what it reads as the pipeline file is now (as `show`), not the latest run's.
  const { store, keys, events } = await currentResults(pipeline, stage, opts);
  if (own(keys, stage) === undefined) throw notStored(pipeline, stage, events);
  const data = await collectReport(store, spec, undefined, { keys });
  const info = data.stages.get(stage)!;
  if (!info.manifest)
    throw OpError.of(
      "QV_NOT_RUN",
      `stage "${stage}" has no stored result yet`,
      `run it first: quiver run ${spec.file} --until ${stage}`,
    );
  const p = await presentStage(data, info, "full");
  // Blocks of one port when one is named; `STAGE` alone shows the whole stage.
  const port = dot >= 0 ? output?.port : undefined;
  // The default view of a port the stage presents itself is folded: left out unless asked for.
  const wanted = p.blocks.filter(
    (b) =>
      (port === undefined || b.port === port) &&
      (opts.all === true || !p.defaults.has(b) || b.port === undefined || !p.covered.includes(b.port)),
  );
  const blocks = wanted.map((b) => ({ ...b, folded: false }));
  const figures = port === undefined || output?.kind === "metrics" ? p.figures : [];
  return { stage, ...(output ? { output } : {}), figures, blocks, notes: p.notes };
}

export interface ResultsReport {
  readonly pipeline: string;
  /** When the results were made (the latest run), if ever. */
  readonly at?: string;
  readonly stages: readonly { readonly stage: string; readonly figures: readonly Figure[] }[];
  readonly notes: readonly string[];
}

/** The headline figures every stage declares for the latest run. */
export async function results(pipeline: Pipeline, opts: PresentOptions = {}): Promise<ResultsReport> {
  const { spec } = pipeline;
  const { store } = await openStore(storeDir(spec.file, opts.cacheDir), opts.onEvent);
  const data = await collectReport(store, spec, undefined, { figuresOnly: true });
  if (!data.last)
    throw OpError.of("QV_NOT_RUN", `${spec.name} has not run here`, `run it first: quiver run ${spec.file}`);
  const stages = await collectFigures(data);
  return { pipeline: spec.name, at: data.last.at, stages, notes: [] };
}
