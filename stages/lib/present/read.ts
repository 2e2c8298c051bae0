/** Typed reads of stored outputs and metrics objects for presenters: absent or mistyped is undefined. */
import { own } from "../../../core/dict.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../../../core/json.js";
import type { ArtifactValue, ModelArtifact } from "../../../core/stage.js";
import type { Table } from "../../../core/table.js";

export function tableOf(v: ArtifactValue | undefined): Table | undefined {
  return v?.kind === "table" ? v.table : undefined;
}

export function metricsOf(v: ArtifactValue | undefined): JsonObject | undefined {
  return v?.kind === "metrics" ? v.metrics : undefined;
}

export function modelOf(v: ArtifactValue | undefined): ModelArtifact | undefined {
  return v?.kind === "model" ? v.model : undefined;
}

/** The value at a path of nested objects (own members only: a model or column may be called `constructor`). */
export function at(o: JsonValue | undefined, ...path: string[]): JsonValue | undefined {
  let v = o;
  for (const k of path) v = isJsonObject(v ?? null) ? own(v as JsonObject, k) : undefined;
  return v;
}

export function num(o: JsonValue | undefined, ...path: string[]): number | undefined {
  const v = at(o, ...path);
  return typeof v === "number" ? v : undefined;
}

export function str(o: JsonValue | undefined, ...path: string[]): string | undefined {
  const v = at(o, ...path);
  return typeof v === "string" ? v : undefined;
}

export function obj(o: JsonValue | undefined, ...path: string[]): JsonObject | undefined {
  const v = at(o, ...path);
  return isJsonObject(v ?? null) ? (v as JsonObject) : undefined;
}

/** A `{value, error}` pair as a quantity (null value when not a number). */
export function valueError(o: JsonValue | undefined): { value: number | null; error?: number } {
  const value = num(o, "value");
  const error = num(o, "error");
  return { value: value ?? null, ...(error !== undefined ? { error } : {}) };
}
