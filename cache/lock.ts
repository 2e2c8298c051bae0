/**
 * Single-flight locks between processes sharing a store: one lock file per cache key, created
 * atomically with its content (hard link of a private file; link fails if the lock exists). A lock whose owner process is gone (killed with SIGKILL) is stale and broken.
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
    // The lock appears with its content already in it: written to a private file, then hard-linked
    // to the lock name (link fails if the name exists). No other process ever sees an empty lock.
    const mine = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}`;
    try {
      await fs.promises.writeFile(
        mine,
        JSON.stringify({ pid: process.pid, host: os.hostname(), at: Date.now() }),
      );
      await fs.promises.link(mine, file);
      return async () => {
        await fs.promises.rm(file, { force: true });
      };
    } catch (err) {
      if ((err as { code?: string }).code !== "EEXIST") throw err;
    } finally {
      // Also on a full disk: no stray file is left behind for the next run.
      await fs.promises.rm(mine, { force: true });
    }
    let info: LockInfo | undefined;
    try {
      info = JSON.parse(await fs.promises.readFile(file, "utf8")) as LockInfo;
    } catch (err) {
      // Gone between our link attempt and this read (released): try again. An unreadable lock
      // (written by an older Quiver that created it empty first) is broken once it is old.
      if (!isNoEntry(err)) {
        const st = await fs.promises.stat(file).catch(() => undefined);
        if (st && Date.now() - st.mtimeMs > 10_000) await fs.promises.rm(file, { force: true });
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
