/**
 * Resolving the files a pipeline reads, and confining them: a pipeline may read only under its
 * own folder and the data roots declared in it (`data_roots:`) or on the command line
 * (`--data-root`). Symlinks are followed before the check, so a link cannot lead outside.
 */
import fs from "node:fs";
import path from "node:path";
import type { Diagnostic } from "../core/diagnostics.js";
import type { ContentHash, FileHashMemo } from "../core/hash.js";
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
      hint: "paths are relative to the pipeline file's folder",
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

/**
 * The files a stage reads: each resolved, confined and hashed (through the memo), keyed by the
 * value as written (hashes by the value with `/`); every problem as a located diagnostic.
 */
export async function stageFiles(
  s: StageSpec,
  pipeline: PipelineSpec,
  extraRoots: readonly string[],
  memo: FileHashMemo,
): Promise<
  | { ok: true; files: Record<string, string>; fileHashes: Record<string, ContentHash> }
  | { ok: false; diagnostics: Diagnostic[] }
> {
  const files: Record<string, string> = {};
  const fileHashes: Record<string, ContentHash> = {};
  const diagnostics: Diagnostic[] = [];
  for (const f of s.files) {
    const r = resolveConfined(f.file, pipeline.dir, [...pipeline.dataRoots, ...extraRoots]);
    if (!r.ok) {
      diagnostics.push({
        severity: "error",
        code: r.code,
        message: `${s.id}: ${r.message}`,
        location: s.locate(f.path),
        hint: r.hint,
      });
      continue;
    }
    files[f.file] = r.abs;
    fileHashes[f.file.split("\\").join("/")] = (await memo.hash(r.abs)).hash;
  }
  return diagnostics.length ? { ok: false, diagnostics } : { ok: true, files, fileHashes };
}
