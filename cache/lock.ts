/**
 * Single-flight locks between processes sharing a store: one lock file per cache key, created
 * with O_EXCL. A lock whose owner process is gone (killed with SIGKILL) is stale and broken.
 * Holders on other hosts (shared NFS stores) are trusted until the lock is older than `staleMs`.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { isNoEntry } from "./atomic.js";

export type Release = () => Promise<void>;

interface LockInfo {
  pid: number;
  host: string;
  at: number;
}

function ownerAlive(info: LockInfo): boolean {
  if (info.host !== os.hostname()) return true;
  if (info.pid === process.pid) return true;
  try {
    process.kill(info.pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === "EPERM";
  }
}

export async function acquireLock(
  file: string,
  opts: { staleMs?: number; onWait?: (owner: LockInfo) => void; signal?: AbortSignal } = {},
): Promise<Release> {
  const staleMs = opts.staleMs ?? 6 * 3600_000;
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  let delay = 20;
  let told = false;
  for (;;) {
    try {
      const fh = await fs.promises.open(file, "wx");
      try {
        await fh.writeFile(JSON.stringify({ pid: process.pid, host: os.hostname(), at: Date.now() }));
        await fh.close();
      } catch (err) {
        // A full disk: do not leave an empty lock behind for the next run to wait on.
        await fh.close().catch(() => {});
        await fs.promises.rm(file, { force: true });
        throw err;
      }
      return async () => {
        await fs.promises.rm(file, { force: true });
      };
    } catch (err) {
      if ((err as { code?: string }).code !== "EEXIST") throw err;
    }
    let info: LockInfo | undefined;
    try {
      info = JSON.parse(await fs.promises.readFile(file, "utf8")) as LockInfo;
    } catch (err) {
      // Empty or half-written lock: its writer died between create and write, or is writing now.
      if (!isNoEntry(err)) {
        const st = await fs.promises.stat(file).catch(() => undefined);
        if (st && Date.now() - st.mtimeMs > 2000) await fs.promises.rm(file, { force: true });
      }
      continue;
    }
    if (!ownerAlive(info) || Date.now() - info.at > staleMs) {
      await breakStale(file, info);
      continue;
    }
    if (!told) {
      opts.onWait?.(info);
      told = true;
    }
    if (opts.signal?.aborted) throw new Error("aborted while waiting for a lock");
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(500, delay * 2);
  }
}

/** Removes a stale lock only if it is still the same stale lock (another waiter may have broken it). */
async function breakStale(file: string, info: LockInfo): Promise<void> {
  const aside = `${file}.${process.pid}.stale`;
  try {
    await fs.promises.rename(file, aside);
  } catch {
    return;
  }
  try {
    const moved = JSON.parse(await fs.promises.readFile(aside, "utf8")) as LockInfo;
    if (moved.pid !== info.pid || moved.at !== info.at) {
      // We moved a fresh lock by accident: put it back if the slot is still free.
      await fs.promises.link(aside, file).catch(() => {});
    }
  } catch {
    /* unreadable: it was stale anyway */
  }
  await fs.promises.rm(aside, { force: true });
}
