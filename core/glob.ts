/**
 * Glob patterns, for file paths (`data/DM_*.csv`, `runs/**\/*.root`) and for names (`Muon_*`).
 * Pure matching; finding the files a path pattern matches is the engine's (engine/files.ts).
 *
 * `*` matches any run of characters except `/`, `?` one such character, `[abc]` / `[a-z]` / `[!a]`
 * one character of (or not of) a set, and a whole path segment `**` any number of folders.
 */

const GLOB_CHARS = /[*?[]/;

export function isGlob(pattern: string): boolean {
  return GLOB_CHARS.test(pattern);
}

/** The regular-expression source for one segment (or one name) pattern. */
function segmentSource(pattern: string): string {
  let re = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const close = pattern.indexOf("]", i + 2);
      if (close < 0) {
        re += "\\[";
        continue;
      }
      let body = pattern.slice(i + 1, close);
      const negate = body.startsWith("!") || body.startsWith("^");
      if (negate) body = body.slice(1);
      re += `[${negate ? "^" : ""}${body.replace(/[\\\]^]/g, (m) => "\\" + m)}]`;
      i = close;
    } else re += c.replace(/[.+^${}()|\\/]/g, (m) => "\\" + m);
  }
  return re;
}

/** A regular expression for one name (or one path segment) pattern. */
export function globRegExp(pattern: string): RegExp {
  return new RegExp(`^${segmentSource(pattern)}$`);
}

/** Whether `name` matches `pattern` (a plain name matches only itself). */
export function matchesGlob(pattern: string, name: string): boolean {
  return isGlob(pattern) ? globRegExp(pattern).test(name) : pattern === name;
}
