/**
 * How errors raised while running a stage reach the user: as located diagnostics, never stack
 * traces. A failure is first described as data (`StageFailure`, which a failure record carries
 * across processes), then located in the pipeline file by the head that knows the stage's spec —
 * so a stage failing in another process or on a batch node reads exactly as one failing here.
 */
import { LockError } from "../cache/lock.js";
import type { Diagnostic } from "../core/diagnostics.js";
import { isJsonObject, type JsonObject } from "../core/json.js";
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
      ...(err.marks !== undefined && err.marks.length > 0 ? { marks: [...err.marks] } : {}),
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

/**
 * The upstream stage that wrote each of `marks` (lineage steps): the nearest ancestor of the failed
 * stage, walking its inputs breadth first, whose run summary lists the step under `lineage`.
 * `summaryOf` gives a stage's summary when it ran or was cached in this run.
 */
export function markWriters(
  marks: readonly string[],
  failed: StageSpec,
  specOf: (id: string) => StageSpec | undefined,
  summaryOf: (id: string) => JsonObject | undefined,
): Map<string, StageSpec> {
  const writers = new Map<string, StageSpec>();
  const seen = new Set<string>();
  let frontier = [failed];
  while (frontier.length > 0 && writers.size < marks.length) {
    const next: StageSpec[] = [];
    for (const s of frontier)
      for (const ref of Object.values(s.inputs)) {
        if (seen.has(ref.stage)) continue;
        seen.add(ref.stage);
        const up = specOf(ref.stage);
        if (!up) continue;
        next.push(up);
        const wrote = summaryOf(up.id)?.lineage;
        if (!isJsonObject(wrote)) continue;
        const steps = new Set(
          Object.values(wrote)
            .flatMap((v) => (Array.isArray(v) ? v : [v]))
            .filter((v) => typeof v === "string"),
        );
        for (const m of marks) if (!writers.has(m) && steps.has(m)) writers.set(m, up);
      }
    frontier = next;
  }
  return writers;
}

/** A failure as a diagnostic located at the stage (and the param it concerns) in the pipeline file. */
export function failureDiagnostic(
  f: StageFailure,
  s: StageSpec,
  storeRoot?: string,
  writers: ReadonlyMap<string, StageSpec> = new Map(),
): Diagnostic {
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
      // Each mark the message names, with the stage that wrote it and where that stage is defined.
      const origins = (f.marks ?? []).flatMap((m) => {
        const w = writers.get(m);
        return w ? [{ mark: m, stage: w.id, location: w.locate([]) }] : [];
      });
      const by = origins.map(
        (o) => `${o.mark} was written by ${o.stage} (${o.location.file}:${o.location.line})`,
      );
      // Readers often begin their message with the file too; say it once.
      const file = f.data?.file;
      const message =
        file && f.message.startsWith(`${file}: `) ? f.message.slice(file.length + 2) : f.message;
      return {
        severity: "error",
        code: f.code,
        message: `${s.id}: ${where ? where + ": " : ""}${message}${by.length ? `; ${by.join("; ")}` : ""}`,
        location: s.locate(f.param ?? [], {
          ...(f.offset !== undefined ? { offset: f.offset } : {}),
          ...(f.length !== undefined ? { length: f.length } : {}),
        }),
        ...(origins.length
          ? { related: origins.map((o) => ({ message: `${o.stage} wrote ${o.mark}`, location: o.location })) }
          : {}),
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
export function stageErrorToDiagnostic(
  err: unknown,
  s: StageSpec,
  storeRoot?: string,
  writersOf: (marks: readonly string[]) => ReadonlyMap<string, StageSpec> = () => new Map(),
): Diagnostic {
  const f = describeFailure(err);
  return failureDiagnostic(
    f,
    s,
    storeRoot,
    f.kind === "stage-error" && f.marks ? writersOf(f.marks) : undefined,
  );
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
