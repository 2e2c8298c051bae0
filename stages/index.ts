/**
 * The stage registry: every stage type Quiver knows, listed explicitly (no registration by import
 * side effect). Adding a stage type is adding its file and one line here. Stage files import their
 * heavy libraries lazily, so importing this registry stays cheap.
 *
 * The stages that train and score models dispatch through a model-kind registry, and `load`
 * through a table-reader registry; `makeStageRegistry` builds the stages over the registries it
 * is given (Quiver's own by default), so a program or a test adds a kind or a format without
 * editing Quiver's files.
 */
import type { AnyStageDefinition } from "../core/stage.js";
import { defineColumnsStage } from "./define.js";
import { generateStage } from "./generate.js";
import { makeImportanceStage } from "./importance.js";
import { makeKfoldStage } from "./kfold.js";
import { ksStage } from "./ks.js";
import { makeLoadStage } from "./load.js";
import { metricsStage } from "./metrics.js";
import { oversampleStage } from "./oversample.js";
import { makePredictStage } from "./predict.js";
import { reweightStage } from "./reweight.js";
import { rocStage } from "./roc.js";
import { scaleStage } from "./scale.js";
import { selectStage } from "./select.js";
import { significanceStage } from "./significance.js";
import { splitStage } from "./split.js";
import { makeTrainStage } from "./train.js";
import { defaultModelKinds, type ModelKinds } from "./lib/models/index.js";
import { defaultReaders, type TableReaders } from "./lib/readers/index.js";

export type StageRegistry = ReadonlyMap<string, AnyStageDefinition>;

export interface StageRegistryOptions {
  /** The model kinds `train`, `kfold` and `predict` know (default: Quiver's, stages/lib/models). */
  readonly models?: ModelKinds;
  /** The file formats `load` reads (default: Quiver's, stages/lib/readers). */
  readonly readers?: TableReaders;
}

export function makeStageRegistry(opts: StageRegistryOptions = {}): StageRegistry {
  const models = opts.models ?? defaultModelKinds;
  const readers = opts.readers ?? defaultReaders;
  const all = [
    // data
    makeLoadStage(readers),
    generateStage,
    defineColumnsStage,
    selectStage,
    reweightStage,
    scaleStage,
    oversampleStage,
    splitStage,
    // training
    makeTrainStage(models),
    makePredictStage(models),
    makeKfoldStage(models),
    // evaluation
    rocStage,
    ksStage,
    significanceStage,
    metricsStage,
    makeImportanceStage(models),
  ] as readonly AnyStageDefinition[];
  return new Map(all.map((d) => [d.type, d]));
}

export const registry: StageRegistry = makeStageRegistry();
