/**
 * Step 1 of 3: YAML text → a document that keeps source positions.
 * Values are read with `toJS()`; any path into them can be located back to file:line:col, so
 * every later error (schema, references, data) points at the YAML that caused it.
 */
import { isMap, isPair, isScalar, LineCounter, parseDocument, type Document, type Node } from "yaml";
import type { Diagnostic, SourceLocation } from "../../core/diagnostics.js";
import type { ParamPath } from "../../core/schema.js";

export interface PipelineSource {
  readonly file: string;
  readonly text: string;
  readonly value: unknown;
  /** Location of the value at `path` (or of its key with `atKey`); falls back to the nearest parent. */
  locate(path: ParamPath, opts?: { atKey?: boolean; offset?: number; length?: number }): SourceLocation;
}

/** YAML errors kept per file; the rest are counted in one diagnostic. */
const MAX_YAML_ERRORS = 50;

export function parsePipelineSource(
  file: string,
  text: string,
): { source?: PipelineSource; diagnostics: Diagnostic[] } {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false, strict: true });
  const pos = (offset: number, length = 1): SourceLocation => {
    const lp = lc.linePos(Math.max(0, Math.min(offset, text.length)));
    return { file, line: lp.line, col: lp.col, length: Math.max(1, length) };
  };
  const diagnostics: Diagnostic[] = [];
  const seen = new Set<string>();
  let dropped = 0;
  for (const e of doc.errors) {
    // After one stray character every later token can be an error: keep the first ones.
    if (diagnostics.length >= MAX_YAML_ERRORS) {
      dropped++;
      continue;
    }
    const duplicate = e.code === "DUPLICATE_KEY";
    // The parser can report one problem several times at the same spot; once is enough.
    const id = `${e.code}:${e.pos[0]}:${e.message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const keyText = duplicate ? (/^[^\s:{},[\]]+/.exec(text.slice(e.pos[0])) ?? [""])[0] : "";
    diagnostics.push({
      severity: "error",
      code: duplicate ? "QV_DUPLICATE_KEY" : `QV_YAML_${e.code}`,
      message:
        duplicate && keyText
          ? `duplicate key "${keyText}": keys in a mapping must be unique`
          : firstLine(e.message),
      location: pos(e.pos[0], duplicate && keyText ? keyText.length : e.pos[1] - e.pos[0]),
      hint: duplicate
        ? "each key may appear once in a mapping; remove or rename one of them"
        : "fix the YAML syntax at this position",
    });
  }
  if (dropped)
    diagnostics.push({
      severity: "error",
      code: "QV_YAML_MORE_ERRORS",
      message: `${dropped} more YAML error${dropped === 1 ? "" : "s"} after these (not listed; they often follow from the first)`,
      location: pos(text.length),
      hint: "fix the first errors and check the file again",
    });
  for (const w of doc.warnings.slice(0, MAX_YAML_ERRORS)) {
    diagnostics.push({
      severity: "warning",
      code: `QV_YAML_${w.code}`,
      message: firstLine(w.message),
      location: pos(w.pos[0], w.pos[1] - w.pos[0]),
    });
  }
  if (doc.errors.length) return { diagnostics };
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    diagnostics.push({
      severity: "error",
      code: "QV_YAML_VALUE",
      message: err instanceof Error ? err.message : String(err),
      location: pos(0),
    });
    return { diagnostics };
  }
  return {
    diagnostics,
    source: {
      file,
      text,
      value,
      locate: (path, opts = {}) => locateIn(doc, path, opts, pos),
    },
  };
}

function firstLine(s: string): string {
  return s.split("\n")[0] ?? s;
}

function locateIn(
  doc: Document,
  path: ParamPath,
  opts: { atKey?: boolean; offset?: number; length?: number },
  pos: (offset: number, length?: number) => SourceLocation,
): SourceLocation {
  for (let depth = path.length; depth >= 0; depth--) {
    const sub = path.slice(0, depth);
    const exact = depth === path.length;
    if (exact && opts.atKey && sub.length > 0) {
      const parent = doc.getIn(sub.slice(0, -1), true) as Node | undefined;
      if (isMap(parent)) {
        const last = sub[sub.length - 1];
        const pair = parent.items.find(
          (it) => isPair(it) && isScalar(it.key) && String(it.key.value) === String(last),
        );
        if (pair && isScalar(pair.key) && pair.key.range)
          return pos(pair.key.range[0], pair.key.range[1] - pair.key.range[0]);
      }
    }
    const node = (sub.length === 0 ? doc.contents : doc.getIn(sub, true)) as Node | null | undefined;
    if (node && node.range) {
      const [start, end] = node.range;
      if (exact && opts.offset !== undefined && isScalar(node)) {
        // Point inside a string (an expression): skip the opening quote of quoted scalars.
        const quoted = node.type === "QUOTE_DOUBLE" || node.type === "QUOTE_SINGLE" ? 1 : 0;
        return pos(start + quoted + opts.offset, opts.length ?? 1);
      }
      if (!exact) {
        // The path does not exist (a missing field): point at the key of the enclosing entry.
        return pos(start, Math.min(end - start, 1));
      }
      return pos(start, end - start);
    }
  }
  return pos(0);
}
