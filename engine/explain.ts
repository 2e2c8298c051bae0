/** Reasons in words: why a stage runs, as the console, `status` and the report all say it. */
import type { Change, RunReason } from "./events.js";

function short(v: unknown): string {
  const s = typeof v === "string" ? JSON.stringify(v) : v === undefined ? "(none)" : JSON.stringify(v);
  return s.length > 60 ? s.slice(0, 57) + "…" : s;
}

function describeChange(c: Change): string {
  if (c.path.startsWith("inputs.") && c.upstream)
    return `input ${c.path.slice(7)} changed (upstream ${c.upstream})`;
  if (c.path.startsWith("inputNames."))
    return `input ${c.path.slice(11)} now comes from ${short(c.after)} (the stage uses its name)`;
  if (c.path.startsWith("files.")) {
    // Files come and go when a glob matches a different set of them.
    if (c.before === undefined) return `new file ${c.path.slice(6)}`;
    if (c.after === undefined) return `file ${c.path.slice(6)} is gone`;
    return `file ${c.path.slice(6)} changed content`;
  }
  const where = c.location ? ` (${c.location.file}:${c.location.line}:${c.location.col})` : "";
  if (c.before === undefined) return `${c.path} added: ${short(c.after)}${where}`;
  if (c.after === undefined) return `${c.path} removed (was ${short(c.before)})${where}`;
  return `${c.path}: ${short(c.before)} → ${short(c.after)}${where}`;
}

export function describeReasons(reasons: readonly RunReason[]): string {
  return reasons
    .map((r) => {
      switch (r.kind) {
        case "first-run":
          return "no earlier run";
        case "forced":
          return "forced (--force)";
        case "cache-missing":
          return r.detail;
        case "repair":
          return `repair: ${r.detail}`;
        case "changed":
          return r.changes.map(describeChange).join("; ");
      }
    })
    .join("; ");
}
