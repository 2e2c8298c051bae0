/**
 * Errors are values. Every problem a user can cause (YAML, validation, data) becomes a Diagnostic
 * with a stable code; a renderer turns it into `file:line:col` text with the source line and a
 * `~~~` marker. Tests assert codes and positions, golden tests assert the rendering.
 */

export type Severity = "error" | "warning";

export interface SourceLocation {
  /** Path as the user should read it (relative to the working directory when possible). */
  readonly file: string;
  /** 1-based. */
  readonly line: number;
  /** 1-based. */
  readonly col: number;
  /** Length of the marked span on that line (at least 1). */
  readonly length: number;
}

export interface Diagnostic {
  readonly severity: Severity;
  /** Stable machine code, e.g. `QV_UNKNOWN_STAGE_TYPE`. */
  readonly code: string;
  readonly message: string;
  readonly location?: SourceLocation;
  readonly hint?: string;
  readonly related?: readonly { readonly message: string; readonly location?: SourceLocation }[];
}

export class DiagnosticError extends Error {
  constructor(readonly diagnostics: readonly Diagnostic[]) {
    super(diagnostics.map((d) => d.message).join("; "));
    this.name = "DiagnosticError";
  }
}

/** Errors first, then by file, line, column, code: a stable order for output and golden tests. */
function sortDiagnostics(diags: readonly Diagnostic[]): Diagnostic[] {
  const rank = (d: Diagnostic) => (d.severity === "error" ? 0 : 1);
  return [...diags].sort(
    (a, b) =>
      rank(a) - rank(b) ||
      (a.location?.file ?? "").localeCompare(b.location?.file ?? "") ||
      (a.location?.line ?? 0) - (b.location?.line ?? 0) ||
      (a.location?.col ?? 0) - (b.location?.col ?? 0) ||
      a.code.localeCompare(b.code),
  );
}

/** Source text per file, so the renderer can show the offending line. */
export type SourceLookup = (file: string) => string | undefined;

export function renderDiagnostic(d: Diagnostic, sources: SourceLookup, color = false): string {
  const paint = (code: string, s: string) => (color ? `\u001b[${code}m${s}\u001b[0m` : s);
  const where = d.location ? `${d.location.file}:${d.location.line}:${d.location.col} ` : "";
  const label = d.severity === "error" ? paint("31;1", "error") : paint("33;1", "warning");
  const lines = [`${where}${label} ${d.code}: ${d.message}`];
  if (d.location) lines.push(...excerpt(d.location, sources));
  for (const r of d.related ?? []) {
    const rw = r.location ? `${r.location.file}:${r.location.line}:${r.location.col} ` : "";
    lines.push(`  ${rw}note: ${r.message}`);
    if (r.location) lines.push(...excerpt(r.location, sources).map((l) => "  " + l));
  }
  if (d.hint) lines.push(`  hint: ${d.hint}`);
  return lines.join("\n");
}

/** Longest source line printed whole; a longer one is clipped to a window around the column. */
export const MAX_EXCERPT_WIDTH = 120;

/** The last text split into lines (a file's diagnostics all look into the same text). */
let splitCache: { text: string; lines: string[] } | undefined;

function lineOf(text: string, n: number): string | undefined {
  if (splitCache?.text !== text) splitCache = { text, lines: text.split(/\r?\n/) };
  return splitCache.lines[n - 1];
}

function excerpt(loc: SourceLocation, sources: SourceLookup): string[] {
  const text = sources(loc.file);
  if (text === undefined) return [];
  const full = lineOf(text, loc.line);
  if (full === undefined) return [];
  const gutter = String(loc.line);
  const pad = " ".repeat(gutter.length);
  // A long line (a flow list of thousands of values) is shown as a window around the column.
  let start = 0;
  let line = full;
  if (full.length > MAX_EXCERPT_WIDTH) {
    start = Math.max(0, Math.min(loc.col - 1 - 40, full.length - MAX_EXCERPT_WIDTH));
    const end = start + MAX_EXCERPT_WIDTH;
    line = `${start > 0 ? "…" : ""}${full.slice(start, end)}${end < full.length ? "…" : ""}`;
    if (start > 0) start -= 1; // the leading "…" takes a column
  }
  const col = loc.col - start;
  const width = Math.max(1, Math.min(loc.length, Math.max(1, line.length - col + 1)));
  return [`  ${gutter} | ${line}`, `  ${pad} | ${" ".repeat(col - 1)}${"~".repeat(width)}`];
}

/** Diagnostics printed in full; the rest are counted (one stray character can make thousands). */
export const MAX_DIAGNOSTICS_SHOWN = 20;

export function renderDiagnostics(
  diags: readonly Diagnostic[],
  sources: SourceLookup,
  color = false,
  max = MAX_DIAGNOSTICS_SHOWN,
): string {
  const sorted = sortDiagnostics(diags);
  const errors = sorted.filter((d) => d.severity === "error").length;
  const warnings = sorted.length - errors;
  const shown = sorted.slice(0, max).map((d) => renderDiagnostic(d, sources, color));
  if (sorted.length > max)
    shown.push(
      `… and ${sorted.length - max} more (not shown: fix the first ones, the later ones often follow from them)`,
    );
  const body = shown.join("\n\n");
  const tally = [
    errors ? `${errors} error${errors > 1 ? "s" : ""}` : "",
    warnings ? `${warnings} warning${warnings > 1 ? "s" : ""}` : "",
  ]
    .filter(Boolean)
    .join(", ");
  return tally ? `${body}\n\n${tally}` : body;
}

/**
 * Edit distance counting insertions, deletions, substitutions and swaps of adjacent letters as one
 * edit each (optimal string alignment), so the typo "eat" is one edit from "eta".
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d = new Array<number>(rows * cols);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(
        d[(i - 1) * cols + j]! + 1,
        d[i * cols + j - 1]! + 1,
        d[(i - 1) * cols + j - 1]! + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[(i - 2) * cols + j - 2]! + 1);
      d[i * cols + j] = v;
    }
  }
  return d[rows * cols - 1]!;
}

/** The closest candidate within a distance that scales with the word's length, if any. */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  const limit = Math.max(1, Math.floor(word.length / 3) + 1);
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD && d <= limit) {
      best = c;
      bestD = d;
    }
  }
  return best;
}
