/** How errors raised while running a stage reach the user: as located diagnostics, never stack traces. */
import type { Diagnostic } from "../core/diagnostics.js";
import type { StageSpec } from "./pipeline/spec.js";
import { StageError } from "../core/stage.js";

/**
 * A StageError becomes a located diagnostic; a full disk names the store; anything else is a bug,
 * reported as such.
 */
export function stageErrorToDiagnostic(err: unknown, s: StageSpec, storeRoot?: string): Diagnostic {
  if (err instanceof StageError) {
    const where = err.data
      ? [
          err.data.file,
          err.data.row !== undefined ? `row ${err.data.row}` : undefined,
          err.data.column !== undefined ? `column "${err.data.column}"` : undefined,
        ]
          .filter(Boolean)
          .join(", ")
      : "";
    return {
      severity: "error",
      code: err.code,
      message: `${s.id}: ${where ? where + ": " : ""}${err.message}`,
      location: s.locate(err.param ?? [], {
        ...(err.offset !== undefined ? { offset: err.offset } : {}),
        ...(err.length !== undefined ? { length: err.length } : {}),
      }),
      ...(err.hint ? { hint: err.hint } : {}),
    };
  }
  const errno = typeof err === "object" && err !== null ? (err as { code?: unknown }).code : undefined;
  if (errno === "ENOSPC" || errno === "EDQUOT") {
    // Writes go through temp files that are removed on failure, so nothing partial is kept.
    return {
      severity: "error",
      code: "QV_DISK_FULL",
      message: `${s.id}: no space left on the device of the store ${storeRoot ?? "(unknown)"} while saving its results (${errno}); nothing partial was kept`,
      location: s.locate([]),
      hint: "free space there, or move the store with --cache-dir, then run again",
    };
  }
  const message = err instanceof Error ? err.message : String(err);
  const stack = err instanceof Error && err.stack ? err.stack.split("\n").slice(1, 4).join(" | ").trim() : "";
  return {
    severity: "error",
    code: "QV_STAGE_BUG",
    message: `${s.id}: stage type "${s.def.type}" failed unexpectedly: ${message}`,
    location: s.locate([]),
    hint: `this is a bug in Quiver, not in your pipeline; please report it${stack ? ` (at ${stack})` : ""}`,
  };
}
