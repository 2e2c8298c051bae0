export type { ArtifactValue, ModelArtifact, StageDefinition, StageResult } from "../../core/stage.js";
export type { JsonObject as JsonObjectLike } from "../../core/json.js";
