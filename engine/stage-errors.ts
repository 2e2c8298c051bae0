/**
 * How errors raised while running a stage reach the user: as located diagnostics, never stack
 * traces. A failure is first described as data (`StageFailure`, which a failure record carries
 * across processes), then located in the pipeline file by the head that knows the stage's spec —
 * so a stage failing in another process or on a batch node reads exactly as one failing here.
 */
import { LockError } from "../cache/lock.js";
import type { Diagnostic } from "../core/diagnostics.js";
import { StageError } from "../core/stage.js";
import { RESOURCE_FIELDS, type ResourceField } from "./pipeline/resources.js";
import type { StageSpec } from "./pipeline/spec.js";
import type { StageFailure } from "./records.js";

/** A thrown value as a failure: a StageError keeps its code and position; ENOSPC is a full disk. */
export function describeFailure(err: unknown): StageFailure {
  if (err instanceof StageError)
    return {
      kind: "stage-error",
      code: err.code,
      message: err.message,
      ...(err.hint !== undefined ? { hint: err.hint } : {}),
      ...(err.param !== undefined ? { param: err.param } : {}),
      ...(err.offset !== undefined ? { offset: err.offset } : {}),
      ...(err.length !== undefined ? { length: err.length } : {}),
      ...(err.data !== undefined ? { data: err.data } : {}),
    };
  const errno = typeof err === "object" && err !== null ? (err as { code?: unknown }).code : undefined;
  if (errno === "ENOSPC" || errno === "EDQUOT") return { kind: "disk-full", errno };
  if (err instanceof LockError)
    return { kind: "store-access", errno: err.code ?? "cannot be removed", path: err.path };
  const where = typeof err === "object" && err !== null ? (err as { path?: unknown }).path : undefined;
  if ((errno === "EACCES" || errno === "EPERM" || errno === "EROFS") && typeof where === "string")
    return { kind: "store-access", errno, path: where };
  const message = err instanceof Error ? err.message : String(err);
  const stack = err instanceof Error && err.stack ? err.stack.split("\n").slice(1, 4).join(" | ").trim() : "";
  return { kind: "bug", message, ...(stack ? { stack } : {}) };
}

/** A failure as a diagnostic located at the stage (and the param it concerns) in the pipeline file. */
export function failureDiagnostic(f: StageFailure, s: StageSpec, storeRoot?: string): Diagnostic {
  switch (f.kind) {
    case "stage-error": {
      const where = f.data
        ? [
            f.data.file,
            f.data.row !== undefined ? `row ${f.data.row}` : undefined,
            f.data.column !== undefined ? `column "${f.data.column}"` : undefined,
          ]
            .filter(Boolean)
            .join(", ")
        : "";
      return {
        severity: "error",
        code: f.code,
        message: `${s.id}: ${where ? where + ": " : ""}${f.message}`,
        location: s.locate(f.param ?? [], {
          ...(f.offset !== undefined ? { offset: f.offset } : {}),
          ...(f.length !== undefined ? { length: f.length } : {}),
        }),
        ...(f.hint ? { hint: f.hint } : {}),
      };
    }
    case "disk-full":
      // Writes go through temp files that are removed on failure, so nothing partial is kept.
      return {
        severity: "error",
        code: "QV_DISK_FULL",
        message: `${s.id}: no space (or no free inodes) left on the device of the store ${storeRoot ?? "(unknown)"} while saving its results (${f.errno}); nothing partial was kept`,
        location: s.locate([]),
        hint: "free space there, or move the store with --cache-dir, then run again",
      };
    case "store-access":
      return {
        severity: "error",
        code: "QV_STORE_ACCESS",
        message: `${s.id}: cannot use ${f.path} in the store (${f.errno})`,
        location: s.locate([]),
        hint: `give your user read and write access to it (e.g. chmod -R u+rwX ${storeRoot ?? "the store"}) or remove it, or use another store with --cache-dir`,
      };
    case "bug":
      return {
        severity: "error",
        code: "QV_STAGE_BUG",
        message: `${s.id}: stage type "${s.def.type}" failed unexpectedly: ${f.message}`,
        location: s.locate([]),
        hint: `this is a bug in Quiver, not in your pipeline; please report it${f.stack ? ` (at ${f.stack})` : ""}`,
      };
    case "lost": {
      const resource = f.resource && isResourceField(f.resource) ? f.resource : undefined;
      return {
        severity: "error",
        code: f.code,
        message: `${s.id}: ${f.detail}${f.log ? `\n(log: ${f.log})` : ""}`,
        // Not about its params: at the resource concerned, else at the stage itself.
        location: s.locateResource(resource),
        ...(f.hint ? { hint: f.hint } : {}),
      };
    }
  }
}

function isResourceField(v: string): v is ResourceField {
  return (RESOURCE_FIELDS as readonly string[]).includes(v);
}

/** An error thrown in this process while preparing or running a stage, as a located diagnostic. */
export function stageErrorToDiagnostic(err: unknown, s: StageSpec, storeRoot?: string): Diagnostic {
  return failureDiagnostic(describeFailure(err), s, storeRoot);
}

/** A failure in one line, for a process that has no pipeline to locate it in (`quiver exec`). */
export function failureSummary(f: StageFailure): string {
  switch (f.kind) {
    case "stage-error":
      return `${f.code}: ${f.message}${f.hint ? ` (hint: ${f.hint})` : ""}`;
    case "disk-full":
      return `QV_DISK_FULL: no space (or no free inodes) left on the device of the store (${f.errno}); nothing partial was kept`;
    case "store-access":
      return `QV_STORE_ACCESS: cannot use ${f.path} in the store (${f.errno})`;
    case "bug":
      return `QV_STAGE_BUG: ${f.message}${f.stack ? ` (at ${f.stack})` : ""}`;
    case "lost":
      return `${f.code}: ${f.detail}`;
  }
}
