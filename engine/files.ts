/**
 * Resolving the files a pipeline reads, and confining them: a pipeline may read only under its
 * own folder and the data roots declared in it (`data_roots:`) or on the command line
 * (`--data-root`). Symlinks are followed before the check, so a link cannot lead outside.
 * A glob (`data/*.root`) stands for the files it matches now, each confined and hashed like a
 * plain path: a new matching file changes the stage's key, and `status` names it.
 */
import { setOwn } from "../core/dict.js";
import fs from "node:fs";
import path from "node:path";
import type { Diagnostic } from "../core/diagnostics.js";
import type { ContentHash, FileHashMemo } from "../core/hash.js";
import { globRegExp, isGlob } from "../core/glob.js";
import type { PipelineSpec, StageSpec } from "./pipeline/spec.js";

export type FileResolution =
  { ok: true; abs: string } | { ok: false; code: string; message: string; hint: string };

export function resolveConfined(file: string, pipelineDir: string, roots: readonly string[]): FileResolution {
  const abs = path.resolve(pipelineDir, file);
  let real: string;
  try {
    real = fs.realpathSync(abs);
  } catch {
    return {
      ok: false,
      code: "QV_FILE_MISSING",
      message: `file "${file}" does not exist (looked for ${path.relative(process.cwd(), abs) || abs})`,
      hint: "paths are relative to the pipeline file's folder; a glob (`data/*.root`, `runs/**/*.csv`) reads every file it matches",
    };
  }
  const allowed = [pipelineDir, ...roots].map((r) => {
    try {
      return fs.realpathSync(path.resolve(pipelineDir, r));
    } catch {
      return path.resolve(pipelineDir, r);
    }
  });
  if (!allowed.some((r) => real === r || real.startsWith(r + path.sep))) {
    return {
      ok: false,
      code: "QV_FILE_OUTSIDE",
      message: `file "${file}" is outside the pipeline's folder and its data roots`,
      hint: "declare its folder under `data_roots:` in the pipeline, or pass --data-root DIR",
    };
  }
  const st = fs.statSync(real);
  if (!st.isFile())
    return {
      ok: false,
      code: "QV_FILE_NOT_FILE",
      message: `"${file}" is not a regular file`,
      hint: "name a file, not a folder",
    };
  return { ok: true, abs: real };
}

export interface GlobExpansion {
  /** Matching files, as paths relative to the pipeline folder written the way the pattern was. */
  readonly files: readonly string[];
  /** The folder the search started in (the pattern's part before its first wildcard). */
  readonly folder: string;
}

/**
 * The files a glob `file` param matches, sorted by code point so the order of rows never depends
 * on the order a folder lists its files in. Only regular files (or links to them) match; `*` and
 * `?` do not match a leading dot (hidden files), as in a shell. Confinement is not decided here:
 * every match then goes through `resolveConfined` like a plain path.
 */
export function expandGlob(pattern: string, pipelineDir: string): GlobExpansion {
  const segments = pattern.split("\\").join("/").split("/");
  const firstWild = segments.findIndex((s) => isGlob(s));
  const fixed = segments.slice(0, firstWild < 0 ? segments.length : firstWild);
  const folder = fixed.join("/") || ".";
  if (firstWild < 0) return { files: [segments.join("/")], folder };
  const out: string[] = [];
  walkGlob(path.resolve(pipelineDir, folder), fixed.join("/"), segments.slice(firstWild), out);
  out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { files: [...new Set(out)], folder };
}

function walkGlob(abs: string, rel: string, rest: readonly string[], out: string[]): void {
  const [head, ...tail] = rest;
  if (head === undefined) return;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(abs, { withFileTypes: true });
  } catch {
    return;
  }
  const join = (name: string) => (rel === "" ? name : `${rel}/${name}`);
  const kind = (e: fs.Dirent): "dir" | "file" | "other" => {
    if (e.isDirectory()) return "dir";
    if (e.isFile()) return "file";
    if (!e.isSymbolicLink()) return "other";
    try {
      const st = fs.statSync(path.join(abs, e.name));
      return st.isDirectory() ? "dir" : st.isFile() ? "file" : "other";
    } catch {
      return "other";
    }
  };
  if (head === "**") {
    walkGlob(abs, rel, tail, out); // zero folders
    for (const e of entries)
      if (!e.name.startsWith(".") && kind(e) === "dir")
        walkGlob(path.join(abs, e.name), join(e.name), rest, out);
    return;
  }
  const re = globRegExp(head);
  for (const e of entries) {
    if (e.name.startsWith(".") && !head.startsWith(".")) continue;
    if (!re.test(e.name)) continue;
    const k = kind(e);
    if (tail.length === 0) {
      if (k === "file") out.push(join(e.name));
    } else if (k === "dir") walkGlob(path.join(abs, e.name), join(e.name), tail, out);
  }
}

/**
 * What a user needs when a glob matched nothing: that globs are read (the pattern is not taken as
 * a literal name), and what the folder does hold, so a wrong extension or case shows at once.
 */
function globEmptyHint(folder: string, pipelineDir: string): string {
  const syntax = "globs are supported (`*`, `?`, `[abc]`, `**` for any folders)";
  let names: string[];
  try {
    names = fs
      .readdirSync(path.resolve(pipelineDir, folder))
      .filter((n) => !n.startsWith("."))
      .sort();
  } catch {
    return `${syntax}, but the folder ${folder} does not exist; paths are relative to the pipeline file's folder`;
  }
  if (names.length === 0) return `${syntax}, but the folder ${folder} is empty`;
  const shown = names.slice(0, 8).join(", ");
  const more = names.length > 8 ? ` and ${names.length - 8} more` : "";
  return `${syntax}; the pattern matched none of what ${folder} holds: ${shown}${more}`;
}

export interface StageFiles {
  /** Each file as written (a glob's matches as the walk wrote them) → absolute path. */
  readonly files: Record<string, string>;
  /** The same files by the value with `/` → content hash: what enters the fingerprint. */
  readonly fileHashes: Record<string, ContentHash>;
  /** Each glob param value as written → the files it matched, sorted (keys of `files`). */
  readonly globs: Record<string, readonly string[]>;
}

/**
 * The files a stage reads: each resolved, confined and hashed (through the memo), keyed by the
 * value as written (hashes by the value with `/`); a glob expanded into its matches first (none is
 * `QV_FILE_GLOB_EMPTY`); every problem as a located diagnostic.
 */
export async function stageFiles(
  s: StageSpec,
  pipeline: PipelineSpec,
  extraRoots: readonly string[],
  memo: FileHashMemo,
): Promise<({ ok: true } & StageFiles) | { ok: false; diagnostics: Diagnostic[] }> {
  const files: Record<string, string> = {};
  const fileHashes: Record<string, ContentHash> = {};
  const globs: Record<string, readonly string[]> = {};
  const diagnostics: Diagnostic[] = [];
  for (const f of s.files) {
    const glob = isGlob(f.file) ? expandGlob(f.file, pipeline.dir) : undefined;
    if (glob) {
      if (glob.files.length === 0) {
        diagnostics.push({
          severity: "error",
          code: "QV_FILE_GLOB_EMPTY",
          message: `${s.id}: no file matches "${f.file}" (looked in ${glob.folder})`,
          location: s.locate(f.path),
          hint: globEmptyHint(glob.folder, pipeline.dir),
        });
        continue;
      }
      setOwn(globs, f.file, glob.files);
    }
    for (const file of glob ? glob.files : [f.file]) {
      const r = resolveConfined(file, pipeline.dir, [...pipeline.dataRoots, ...extraRoots]);
      if (!r.ok) {
        diagnostics.push({
          severity: "error",
          code: r.code,
          message: `${s.id}: ${r.message}${glob ? ` (matched by "${f.file}")` : ""}`,
          location: s.locate(f.path),
          hint: r.hint,
        });
        continue;
      }
      setOwn(files, file, r.abs);
      setOwn(fileHashes, file.split("\\").join("/"), (await memo.hash(r.abs)).hash);
    }
  }
  return diagnostics.length ? { ok: false, diagnostics } : { ok: true, files, fileHashes, globs };
}
