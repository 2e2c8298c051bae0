/** The console reporter: one line per stage decision, a live progress line for long stages. */
import { renderDiagnostics } from "../core/diagnostics.js";
import type { Change, EngineEvent, RunReason } from "../engine/events.js";
import type { Io } from "./load.js";

export function fmtMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

function short(v: unknown): string {
  const s = typeof v === "string" ? JSON.stringify(v) : v === undefined ? "(none)" : JSON.stringify(v);
  return s.length > 60 ? s.slice(0, 57) + "…" : s;
}

export function describeChange(c: Change): string {
  if (c.path.startsWith("inputs.") && c.upstream)
    return `input ${c.path.slice(7)} changed (upstream ${c.upstream})`;
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

export function consoleReporter(
  io: Io,
  sources: (f: string) => string | undefined,
): (e: EngineEvent) => void {
  const paint = (code: string, s: string) => (io.color ? `\u001b[${code}m${s}\u001b[0m` : s);
  let width = 8;
  const pad = (s: string) => s.padEnd(width);
  const lastProgress = new Map<string, number>();
  return (e) => {
    switch (e.type) {
      case "run-start":
        io.out(
          `quiver run ${e.file} · ${e.stages} stage${e.stages === 1 ? "" : "s"} · ${e.jobs} job${e.jobs === 1 ? "" : "s"}`,
        );
        break;
      case "planned":
        break;
      case "cached":
        width = Math.max(width, e.stage.length);
        io.out(
          `  ${paint("32", "✓")} ${pad(e.stage)}  cached${e.by ? " (computed by another process)" : ""} · ${e.key}`,
        );
        break;
      case "waiting":
        io.out(`  … ${pad(e.stage)}  waiting: another process is computing ${e.key}`);
        break;
      case "started":
        width = Math.max(width, e.stage.length);
        io.out(`  ${paint("36", "▶")} ${pad(e.stage)}  running: ${describeReasons(e.reasons)}`);
        break;
      case "progress": {
        const now = Date.now();
        if (now - (lastProgress.get(e.stage) ?? 0) < 1000 && e.fraction < 1) break;
        lastProgress.set(e.stage, now);
        io.out(`    ${pad(e.stage)}  ${Math.round(e.fraction * 100)}%${e.message ? " " + e.message : ""}`);
        break;
      }
      case "note":
        io.out(`    ${pad(e.stage)}  note: ${e.message}`);
        break;
      case "finished":
        io.out(
          `  ${paint("32", "✓")} ${pad(e.stage)}  ran in ${fmtMs(e.durationMs)}${e.sameOutputs === true ? " · output unchanged (downstream stays cached)" : ""}`,
        );
        break;
      case "failed":
        io.out(
          `  ${paint("31", "✗")} ${pad(e.stage)}  failed${e.durationMs ? ` after ${fmtMs(e.durationMs)}` : ""}`,
        );
        io.err(renderDiagnostics(e.diagnostics, sources, io.color));
        break;
      case "skipped":
        io.out(
          `  - ${pad(e.stage)}  skipped: ${e.reason.kind === "upstream-failed" ? `upstream ${e.reason.upstream} failed` : `run stopped after ${e.reason.after} failed (use --keep-going to run independent stages)`}`,
        );
        break;
      case "warning":
        io.err(renderDiagnostics([e.diagnostic], sources, io.color));
        break;
      case "run-end": {
        const c = e.counts;
        const parts = [
          `${c.ran} ran`,
          `${c.cached} cached`,
          c.failed ? `${c.failed} failed` : "",
          c.skipped ? `${c.skipped} skipped` : "",
        ].filter(Boolean);
        io.out(
          `${e.ok ? paint("32", "done") : paint("31", "failed")}: ${parts.join(", ")} in ${fmtMs(e.durationMs)}`,
        );
        break;
      }
    }
  };
}
