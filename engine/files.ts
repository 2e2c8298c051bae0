/**
 * Resolving the files a pipeline reads, and confining them: a pipeline may read only under its
 * own folder and the data roots declared in it (`data_roots:`) or on the command line
 * (`--data-root`). Symlinks are followed before the check, so a link cannot lead outside.
 */
import fs from "node:fs";
import path from "node:path";

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
