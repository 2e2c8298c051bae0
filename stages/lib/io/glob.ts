/**
 * Glob patterns, for file paths (`data/DM_*.csv`, `runs/**\/*.root`) and for names (`Muon_*`).
 *
 * `*` matches any run of characters except `/`, `?` one such character, `[abc]` / `[a-z]` / `[!a]`
 * one character of (or not of) a set, and a whole path segment `**` any number of folders. In
 * paths, `*` and `?` do not match a leading dot (hidden files), as in a shell. Matches are
 * returned sorted (by code point of the path as written), so the order of rows never depends on
 * the order a folder lists its files in.
 */
import fs from "node:fs";
import path from "node:path";

const GLOB_CHARS = /[*?[]/;

export function isGlob(pattern: string): boolean {
  return GLOB_CHARS.test(pattern);
}

/** A regular expression for one name (or one path segment) pattern. */
export function globRegExp(pattern: string): RegExp {
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
  return new RegExp(`^${re}$`);
}

/** Whether `name` matches `pattern` (a plain name matches only itself). */
export function matchesGlob(pattern: string, name: string): boolean {
  return isGlob(pattern) ? globRegExp(pattern).test(name) : pattern === name;
}

export interface GlobExpansion {
  /** Matching files, as paths relative to `baseDir` written the way the pattern was. */
  readonly files: readonly string[];
  /** The folder the search started in (the pattern's part before its first wildcard). */
  readonly folder: string;
}

/**
 * Expands a file pattern relative to `baseDir`. Only regular files (or links to them) match;
 * folders are walked but never returned. Confinement is the caller's: every match still goes
 * through the same check as a plain path.
 */
export function expandGlob(pattern: string, baseDir: string): GlobExpansion {
  const norm = pattern.split("\\").join("/");
  const segments = norm.split("/");
  const firstWild = segments.findIndex((s) => isGlob(s));
  const fixed = segments.slice(0, firstWild < 0 ? segments.length : firstWild);
  const folder = fixed.join("/") || ".";
  if (firstWild < 0) return { files: [norm], folder };
  const rest = segments.slice(firstWild);
  const out: string[] = [];
  walk(path.resolve(baseDir, folder), fixed.length ? fixed.join("/") : "", rest, out);
  out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { files: [...new Set(out)], folder };
}

function walk(abs: string, rel: string, rest: readonly string[], out: string[]): void {
  const [head, ...tail] = rest;
  if (head === undefined) return;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(abs, { withFileTypes: true });
  } catch {
    return;
  }
  const join = (name: string) => (rel === "" ? name : `${rel}/${name}`);
  if (head === "**") {
    walk(abs, rel, tail, out); // zero folders
    for (const e of entries)
      if (!e.name.startsWith(".") && isDir(abs, e)) walk(path.join(abs, e.name), join(e.name), rest, out);
    return;
  }
  const re = globRegExp(head);
  for (const e of entries) {
    if (e.name.startsWith(".") && !head.startsWith(".")) continue;
    if (!re.test(e.name)) continue;
    if (tail.length === 0) {
      if (isFile(abs, e)) out.push(join(e.name));
    } else if (isDir(abs, e)) walk(path.join(abs, e.name), join(e.name), tail, out);
  }
}

function isDir(dir: string, e: fs.Dirent): boolean {
  if (e.isDirectory()) return true;
  if (!e.isSymbolicLink()) return false;
  try {
    return fs.statSync(path.join(dir, e.name)).isDirectory();
  } catch {
    return false;
  }
}

function isFile(dir: string, e: fs.Dirent): boolean {
  if (e.isFile()) return true;
  if (!e.isSymbolicLink()) return false;
  try {
    return fs.statSync(path.join(dir, e.name)).isFile();
  } catch {
    return false;
  }
}
