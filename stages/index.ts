/**
 * The stage registry: every stage type Quiver knows, listed explicitly (no registration by import
 * side effect). Adding a stage type is adding its file and one line here.
 */
import type { AnyStageDefinition } from "../engine/stage.js";
import { generateStage } from "./generate.js";
import { selectStage } from "./select.js";

const all: readonly AnyStageDefinition[] = [generateStage, selectStage] as readonly AnyStageDefinition[];

export const registry: ReadonlyMap<string, AnyStageDefinition> = new Map(all.map((d) => [d.type, d]));
