/**
 * Atomic file writes: write to a uniquely named temp file in the store's tmp/ folder, fsync, then
 * rename over the target. A process killed at any moment leaves either the old file, the new
 * file, or an orphan temp file (removed by gc) — never a half-written target.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

/**
 * `mkdir -p`. Node's asynchronous recursive mkdir reports ENOENT when the real cause is ENOSPC (a
 * file system out of inodes); the synchronous one, asked again, reports the true error.
 */
export async function mkdirp(dir: string): Promise<void> {
  try {
    await fs.promises.mkdir(dir, { recursive: true });
  } catch (err) {
    if (!isNoEntry(err)) throw err;
    fs.mkdirSync(dir, { recursive: true });
  }
}

export async function writeFileAtomic(
  target: string,
  data: Uint8Array | string,
  tmpDir: string,
  /** Flush to the disk before the rename (default). Transient files may skip it: a crash loses them whole. */
  sync = true,
  retries = 2,
): Promise<void> {
  await mkdirp(path.dirname(target));
  await mkdirp(tmpDir);
  const tmp = path.join(
    tmpDir,
    `${path.basename(target)}.${process.pid}.${crypto.randomBytes(6).toString("hex")}.tmp`,
  );
  let fh: fs.promises.FileHandle | undefined;
  try {
    fh = await fs.promises.open(tmp, "w");
    await fh.writeFile(data);
    if (sync) await fh.sync();
    await fh.close();
    fh = undefined;
    await fs.promises.rename(tmp, target);
  } catch (err) {
    if (fh) await fh.close().catch(() => {});
    await fs.promises.rm(tmp, { force: true }).catch(() => {});
    // The target is on another filesystem than tmpDir (a file next to the pipeline, the store on
    // a scratch disk): rename cannot cross, so stage the temp file beside the target instead.
    if ((err as { code?: string }).code === "EXDEV" && path.dirname(target) !== tmpDir)
      return writeFileAtomic(target, data, path.dirname(target), sync, retries);
    // A folder vanished between the temp write and the rename (the store removed or cleaned
    // under us): make the folders again and write once more.
    if (isNoEntry(err) && retries > 0) return writeFileAtomic(target, data, tmpDir, sync, retries - 1);
    // Errors from a file handle carry no path; messages should name the file meant to be written.
    if (typeof err === "object" && err !== null && !("path" in err)) Object.assign(err, { path: target });
    throw err;
  }
}

export function isNoEntry(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: string }).code === "ENOENT";
}
