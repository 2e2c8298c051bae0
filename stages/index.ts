/**
 * The stage registry: every stage type Quiver knows, listed explicitly (no registration by import
 * side effect). Adding a stage type is adding its file and one line here. Stage files import their
 * heavy libraries lazily, so importing this registry stays cheap.
 */
import type { AnyStageDefinition } from "../core/stage.js";
import { defineColumnsStage } from "./define.js";
import { generateStage } from "./generate.js";
import { kfoldStage } from "./kfold.js";
import { ksStage } from "./ks.js";
import { loadStage } from "./load.js";
import { metricsStage } from "./metrics.js";
import { oversampleStage } from "./oversample.js";
import { predictStage } from "./predict.js";
import { reweightStage } from "./reweight.js";
import { rocStage } from "./roc.js";
import { scaleStage } from "./scale.js";
import { selectStage } from "./select.js";
import { significanceStage } from "./significance.js";
import { splitStage } from "./split.js";
import { trainStage } from "./train.js";

const all = [
  // data
  loadStage,
  generateStage,
  defineColumnsStage,
  selectStage,
  reweightStage,
  scaleStage,
  oversampleStage,
  splitStage,
  // training
  trainStage,
  predictStage,
  kfoldStage,
  // evaluation
  rocStage,
  ksStage,
  significanceStage,
  metricsStage,
] as readonly AnyStageDefinition[];

export const registry: ReadonlyMap<string, AnyStageDefinition> = new Map(all.map((d) => [d.type, d]));
