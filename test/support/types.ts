export type { ArtifactValue, ModelArtifact, StageDefinition, StageResult } from "../../engine/stage.js";
export type { JsonObject as JsonObjectLike } from "../../engine/json.js";
