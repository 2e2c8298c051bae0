/**
 * Single-flight locks between processes sharing a store: one lock file per cache key, created
 * atomically with its content (hard link of a private file; link fails if the lock exists). A lock whose owner process is gone (killed with SIGKILL) is stale and broken.
 * Holders on other hosts (shared NFS stores) are trusted until the lock is older than `staleMs`.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { d, decode } from "../core/decode.js";
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

const lockInfo = d.object({ pid: d.number, host: d.string, at: d.number });

/** The owner a lock file names; "gone" when it does not exist, "unreadable" when it names none. */
async function readLockInfo(file: string): Promise<LockInfo | "gone" | "unreadable"> {
  let text: string;
  try {
    text = await fs.promises.readFile(file, "utf8");
  } catch (err) {
    return isNoEntry(err) ? "gone" : "unreadable";
  }
  try {
    const r = decode(lockInfo, JSON.parse(text));
    return r.ok ? r.value : "unreadable";
  } catch {
    return "unreadable";
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
    const info = await readLockInfo(file);
    // Gone between our link attempt and this read (released): try again.
    if (info === "gone") continue;
    if (info === "unreadable") {
      // Written by an older Quiver that created it empty first, or damaged: broken once it is old.
      const st = await fs.promises.stat(file).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > 10_000)
        await fs.promises.rm(file, { force: true, recursive: st.isDirectory() });
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(500, delay * 2);
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
  const moved = await readLockInfo(aside);
  if (typeof moved === "object" && (moved.pid !== info.pid || moved.at !== info.at)) {
    // We moved a fresh lock by accident: put it back if the slot is still free.
    await fs.promises.link(aside, file).catch(() => {});
  }
  await fs.promises.rm(aside, { force: true });
}

/**
 * Whether a live process holds the lock at `file`, by the rules acquiring it follows: a lock whose
 * owner is gone, or that is stale, is not held.
 */
export async function lockHeld(file: string, staleMs = 6 * 3600_000): Promise<boolean> {
  const info = await readLockInfo(file);
  if (info === "gone") return false;
  if (info === "unreadable") {
    const st = await fs.promises.stat(file).catch(() => undefined);
    return st !== undefined && Date.now() - st.mtimeMs <= 10_000;
  }
  return ownerAlive(info) && Date.now() - info.at <= staleMs;
}
