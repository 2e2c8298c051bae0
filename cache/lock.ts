/**
 * Single-flight locks between processes sharing a store: one lock file per cache key, created
 * atomically with its content (a private file hard-linked to the lock name; the link fails if the
 * name exists), naming its owner (owner.ts: a per-process token, pid, host, boot, PID namespace,
 * start time). While held, its mtime is refreshed (heartbeat.ts).
 *
 * A waiter breaks a lock when its owner is certainly gone (same machine and PID namespace, and
 * the process is not there or is another one), when nothing has refreshed it for STALE_MS (an
 * owner on another host or in another container that died), or when it names no owner at all
 * (`{}`, `5`, `null`, a directory: damage, since no Quiver ever writes such a lock). A lock is
 * removed, broken or released only while it is still the inode that was judged, so a fresh lock
 * that replaced it is never touched.
 */
import fs from "node:fs";
import path from "node:path";
import { isNoEntry, mkdirp } from "./atomic.js";
import { heartbeat, StalenessWatch, STALE_MS } from "./heartbeat.js";
import { currentOwner, ownerOf, ownerState, processToken, type Owner } from "./owner.js";

export type Release = () => Promise<void>;

export type { Owner };

/**
 * A lock that cannot be taken or judged (a permission problem, a read-only store): says which file.
 * `code` is the errno, so callers report it as the file-system error it is.
 */
export class LockError extends Error {
  constructor(
    message: string,
    readonly path: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = "LockError";
  }
}

type LockState =
  | { readonly kind: "gone" }
  | { readonly kind: "damaged"; readonly ino: number; readonly dir: boolean; readonly detail: string }
  | { readonly kind: "held"; readonly owner: Owner; readonly ino: number; readonly mtimeMs: number };

/**
 * Whether a lock that is there may be broken: damaged, or its owner is known dead; for an owner
 * on another host (or of an unknown kind) `stale` decides, from the heartbeat.
 */
function isAbandoned(state: Exclude<LockState, { kind: "gone" }>, stale: () => boolean): boolean {
  if (state.kind === "damaged") return true;
  switch (ownerState(state.owner)) {
    case "dead":
      return true;
    case "mine":
    case "alive":
      return false;
    case "unknown":
      return stale();
  }
}

/**
 * What is at `file`. Opened and stat'ed through the handle: on NFS, open() revalidates the
 * attributes, so the mtime seen is the server's, not a cached one.
 */
async function readLock(file: string): Promise<LockState> {
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(file, "r");
  } catch (err) {
    if (isNoEntry(err)) return { kind: "gone" };
    const st = await fs.promises.lstat(file).catch(() => undefined);
    if (!st) return { kind: "gone" };
    if (st.isDirectory()) return { kind: "damaged", ino: st.ino, dir: true, detail: "a directory" };
    throw new LockError(
      `cannot read the lock ${file} (${(err as { code?: string }).code ?? String(err)})`,
      file,
      (err as { code?: string }).code,
    );
  }
  try {
    const st = await fh.stat();
    if (st.isDirectory()) return { kind: "damaged", ino: st.ino, dir: true, detail: "a directory" };
    let parsed: unknown;
    try {
      parsed = JSON.parse(await fh.readFile("utf8"));
    } catch {
      parsed = undefined;
    }
    const owner = ownerOf(parsed);
    if (!owner) return { kind: "damaged", ino: st.ino, dir: false, detail: "names no owner" };
    return { kind: "held", owner, ino: st.ino, mtimeMs: st.mtimeMs };
  } finally {
    await fh.close();
  }
}

export interface LockOptions {
  /** Abandoned after this long without a heartbeat (default STALE_MS). */
  readonly staleMs?: number;
  /** Called once when the lock is held by someone else and we start waiting. */
  readonly onWait?: (owner: Owner) => void;
  readonly signal?: AbortSignal;
  /**
   * The holder may block its main thread (a stage computing in process): heartbeat from a worker
   * thread. Default true.
   */
  readonly blocking?: boolean;
}

export async function acquireLock(file: string, opts: LockOptions = {}): Promise<Release> {
  const watch = new StalenessWatch(opts.staleMs ?? STALE_MS);
  const dir = path.dirname(file);
  await mkdirp(dir);
  await sweepLockJunk(dir);
  let delay = 20;
  let told = false;
  let broken = 0;
  for (;;) {
    const mine = await tryCreate(file);
    if (mine !== undefined) {
      const stop = heartbeat(file, mine.ino, mine.owner.token, { blocking: opts.blocking !== false });
      return async () => {
        stop();
        await removeIfSame(file, mine);
      };
    }
    const state = await readLock(file);
    // Released between our attempt and this read: try again at once.
    if (state.kind === "gone") continue;
    const abandoned = isAbandoned(state, () => state.kind === "held" && watch.isStale(file, state));
    if (abandoned) {
      // Breaking keeps failing only when the store cannot be written: say so instead of spinning.
      if (++broken > 20)
        throw new LockError(
          `cannot remove the abandoned lock ${file}${state.kind === "damaged" ? ` (${state.detail})` : ""}`,
          file,
          undefined,
        );
      await removeIfSame(file, state);
      watch.forget(file);
      continue;
    }
    if (!told && state.kind === "held") {
      opts.onWait?.(state.owner);
      told = true;
    }
    if (opts.signal?.aborted) throw new Error("aborted while waiting for a lock");
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(500, delay * 2);
  }
}

/**
 * Creates the lock with our owner in it; what it is when we hold it, undefined when it exists.
 * The private file is removed in every case (also on a full disk), so no stray file is left.
 */
async function tryCreate(file: string): Promise<(LockState & { kind: "held" }) | undefined> {
  const mine = `${file}.${processToken()}-${Math.random().toString(36).slice(2, 8)}.new`;
  const owner = currentOwner();
  try {
    await fs.promises.writeFile(mine, JSON.stringify(owner));
    await fs.promises.link(mine, file);
    const st = await fs.promises.stat(mine);
    return { kind: "held", owner, ino: st.ino, mtimeMs: st.mtimeMs };
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "EEXIST") return undefined;
    if (code === "EACCES" || code === "EPERM" || code === "EROFS")
      throw new LockError(`cannot create the lock ${file} (${code})`, file, code);
    throw err;
  } finally {
    await fs.promises.rm(mine, { force: true }).catch(() => {});
  }
}

/**
 * Removes `file` only if it is still what was judged: moved aside first, and put back if what was
 * moved turns out to be something else (someone else's fresh lock). Inode numbers are reused at
 * once by some file systems, so the content is compared too.
 */
async function removeIfSame(file: string, same: LockState & { kind: "held" | "damaged" }): Promise<void> {
  const aside = `${file}.${processToken()}-${Math.random().toString(36).slice(2, 8)}.old`;
  try {
    await fs.promises.rename(file, aside);
  } catch {
    return; // already gone (or taken and released by someone else)
  }
  const moved = await readLock(aside).catch(() => undefined);
  let isSame = false;
  if (moved?.kind === "damaged") isSame = same.kind === "damaged" && moved.ino === same.ino;
  else if (moved?.kind === "held")
    isSame =
      same.kind === "held" &&
      moved.ino === same.ino &&
      moved.owner.token === same.owner.token &&
      moved.owner.at === same.owner.at;
  if (!isSame && moved?.kind === "held") await fs.promises.link(aside, file).catch(() => {});
  const dir = moved?.kind === "damaged" && moved.dir;
  await fs.promises.rm(aside, { force: true, recursive: dir === true }).catch(() => {});
}

/**
 * Private files of lock attempts killed halfway (`*.new`, `*.old`; `*.<pid>.<random>` and
 * `*.<pid>.stale` from Quivers before heartbeats) older than this are junk.
 */
const JUNK_AGE_MS = 60_000;
export const LOCK_JUNK = /\.lock\.([0-9a-z-]+\.(new|old)|\d+\.[0-9a-z]+)$/;
const swept = new Set<string>();

/** Removes the debris of killed processes in a locks folder (once per folder and process). */
async function sweepLockJunk(dir: string): Promise<void> {
  if (swept.has(dir)) return;
  swept.add(dir);
  await removeLockJunk(dir, JUNK_AGE_MS);
}

/** Removes `*.new`/`*.old` debris older than `ageMs` from a locks folder; returns how many. */
export async function removeLockJunk(dir: string, ageMs: number): Promise<number> {
  let n = 0;
  for (const name of await fs.promises.readdir(dir).catch(() => [] as string[])) {
    if (!LOCK_JUNK.test(name)) continue;
    const f = path.join(dir, name);
    const st = await fs.promises.lstat(f).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > ageMs) {
      await fs.promises.rm(f, { force: true, recursive: st.isDirectory() }).catch(() => {});
      n++;
    }
  }
  return n;
}

/**
 * Removes the locks in `dir` whose owners are certainly gone (this machine), that name no owner,
 * or that nobody refreshed for `idleMs` (by this machine's clock; generous, since other hosts'
 * clocks may differ): what killed runs left behind. Live locks are left alone. For gc.
 */
export async function removeAbandonedLocks(dir: string, idleMs: number): Promise<number> {
  let n = await removeLockJunk(dir, JUNK_AGE_MS);
  for (const name of await fs.promises.readdir(dir).catch(() => [] as string[])) {
    if (!name.endsWith(".lock")) continue;
    const file = path.join(dir, name);
    const state = await readLock(file).catch(() => undefined);
    if (!state || state.kind === "gone") continue;
    const st = await fs.promises.lstat(file).catch(() => undefined);
    const idle = st !== undefined && Date.now() - st.mtimeMs > idleMs;
    const abandoned = isAbandoned(state, () => idle);
    if (abandoned) {
      await removeIfSame(file, state);
      n++;
    }
  }
  return n;
}

/**
 * Whether a live process holds the lock at `file`, judged once (gc asks it of job folders): a lock
 * whose owner is certainly gone, or that names none, is not held; one whose owner is elsewhere is
 * held while its heartbeat is recent. One look cannot watch the mtime move as a waiter does, so
 * the host clocks are compared, with a margin of ten times STALE_MS for their difference.
 */
export async function lockHeld(file: string, staleMs = 10 * STALE_MS): Promise<boolean> {
  const state = await readLock(file);
  if (state.kind !== "held") return false;
  switch (ownerState(state.owner)) {
    case "dead":
      return false;
    case "mine":
    case "alive":
      return true;
    case "unknown":
      return Date.now() - state.mtimeMs <= staleMs;
  }
}
