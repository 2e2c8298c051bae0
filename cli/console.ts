/** The console reporter: one line per stage decision, a live progress line for long stages. */
import { renderDiagnostic, renderDiagnostics } from "../core/diagnostics.js";
import type { BatchJobRef, EngineEvent, SkipReason } from "../engine/events.js";
import { describeReasons } from "../engine/explain.js";
import { errColor, type Io } from "./load.js";

export { describeReasons };

export function fmtMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** Warnings go to stderr whatever the output format: a person should see them. */
export function printWarning(
  io: Io,
  e: EngineEvent,
  sources: (f: string) => string | undefined = () => undefined,
): void {
  if (e.type === "warning") io.err(renderDiagnostic(e.diagnostic, sources, errColor(io)));
}

function cancelledText(job: BatchJobRef | undefined): string {
  return job ? `; its ${job.system} job ${job.id} was cancelled` : "";
}

function skipText(r: SkipReason): string {
  switch (r.kind) {
    case "upstream-failed":
      return `upstream ${r.upstream} failed`;
    case "stopped":
      return `run stopped after ${r.after} failed (use --keep-going to run independent stages)${cancelledText(r.cancelled)}`;
    case "interrupted":
      return `the run was interrupted${cancelledText(r.cancelled)}`;
  }
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
      case "queued":
        io.out(`    ${pad(e.stage)}  queued: ${e.system} job ${e.id}`);
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
        io.err(renderDiagnostics(e.diagnostics, sources, errColor(io)));
        break;
      case "skipped":
        io.out(`  - ${pad(e.stage)}  skipped: ${skipText(e.reason)}`);
        break;
      case "warning":
        io.err(renderDiagnostic(e.diagnostic, sources, errColor(io)));
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
