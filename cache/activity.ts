/**
 * Who is using a store right now: every process that writes results into it (a run, a sweep,
 * `verify`, a `quiver exec` job on this machine or a cluster node, a pull) registers itself in
 * `active/<token>.json` for as long as it works, heartbeated like a lock. gc and clean take the
 * maintenance lock and then refuse to remove anything while a live registration exists; a process
 * that registers passes through the maintenance lock afterwards, so it waits for a gc or clean
 * already under way. Either order leaves one of the two seeing the other, so a gc never deletes
 * what a live run has written or is about to use.
 *
 * A registration whose owner is certainly gone (this machine, owner.ts) is removed by whoever
 * finds it; one from another host or container is trusted until its heartbeat has been silent
 * for ACTIVE_IDLE_MS by this machine's clock — generous, because other hosts' clocks may differ.
 */
import fs from "node:fs";
import path from "node:path";
import { mkdirp } from "./atomic.js";
import { heartbeat } from "./heartbeat.js";
import * as layout from "./layout.js";
import { acquireLock, type Release } from "./lock.js";
import { currentOwner, ownerOf, ownerState, processToken, type Owner } from "./owner.js";

/** A registration from another host is abandoned after this long without a heartbeat. */
export const ACTIVE_IDLE_MS = 120_000;

export interface StoreUse {
  /** What the process does: `run`, `sweep`, `verify`, `exec`, `pull`. */
  readonly command: string;
  readonly pipeline?: string | undefined;
}

export interface ActiveUse extends StoreUse {
  /** Undefined when the registration cannot be read (kept, to be safe, until it is old). */
  readonly owner?: Owner | undefined;
  readonly file: string;
}

/** The store is in use by other processes: gc and clean stop. */
export class StoreBusyError extends Error {
  constructor(
    readonly root: string,
    readonly uses: readonly ActiveUse[],
  ) {
    super(`${root} is in use by ${uses.length} other process${uses.length === 1 ? "" : "es"}`);
    this.name = "StoreBusyError";
  }
}

interface Registration {
  count: number;
  ready: Promise<{ file: string; stop: () => void }>;
}

const registrations = new Map<string, Registration>();

/**
 * Registers this process as using the store at `root` (once per process and store; nested uses
 * share it) and waits for any gc or clean under way. `onWait` is called if it has to wait.
 */
export async function registerUse(
  root: string,
  use: StoreUse,
  onWait?: () => void,
  opts: { blocking?: boolean } = {},
): Promise<Release> {
  let reg = registrations.get(root);
  if (!reg) {
    reg = { count: 0, ready: register(root, use, onWait, opts.blocking === true) };
    registrations.set(root, reg);
    reg.ready.catch(() => registrations.delete(root));
  }
  reg.count++;
  const { file, stop } = await reg.ready;
  const mine = reg;
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    if (--mine.count > 0) return;
    registrations.delete(root);
    stop();
    await fs.promises.rm(file, { force: true });
  };
}

async function register(
  root: string,
  use: StoreUse,
  onWait: (() => void) | undefined,
  blocking: boolean,
): Promise<{ file: string; stop: () => void }> {
  const file = path.join(root, ...layout.activePath(processToken()).split("/"));
  const doc = {
    ...currentOwner(),
    command: use.command,
    ...(use.pipeline !== undefined ? { pipeline: use.pipeline } : {}),
  };
  const write = async () => {
    await mkdirp(path.dirname(file));
    await fs.promises.writeFile(file, JSON.stringify(doc));
    return heartbeat(file, (await fs.promises.stat(file)).ino, processToken(), { blocking });
  };
  let stop = await write();
  try {
    // Registered first, then through the maintenance lock: a gc that took it before we registered
    // is waited for; one that takes it after sees us.
    let waited = false;
    const release = await acquireLock(maintenanceLockPath(root), {
      blocking: false,
      onWait: () => {
        waited = true;
        onWait?.();
      },
    });
    await release();
    // A clean we waited for removed our registration with the rest: register again.
    if (waited && !fs.existsSync(file)) {
      stop();
      stop = await write();
    }
  } catch (err) {
    stop();
    await fs.promises.rm(file, { force: true });
    throw err;
  }
  return { file, stop };
}

function maintenanceLockPath(root: string): string {
  return path.join(root, ...layout.MAINTENANCE_LOCK.split("/"));
}

/**
 * The live registrations of other processes (this process's own included when it has one);
 * abandoned ones are removed on the way.
 */
export async function activeUses(root: string): Promise<ActiveUse[]> {
  const dir = path.join(root, layout.ACTIVE);
  const out: ActiveUse[] = [];
  for (const name of await fs.promises.readdir(dir).catch(() => [] as string[])) {
    if (!name.endsWith(".json")) continue;
    const file = path.join(dir, name);
    let st: fs.Stats;
    let parsed: unknown;
    try {
      st = await fs.promises.stat(file);
      parsed = JSON.parse(await fs.promises.readFile(file, "utf8"));
    } catch {
      parsed = undefined;
      const s = await fs.promises.stat(file).catch(() => undefined);
      if (!s) continue;
      st = s;
    }
    const owner = ownerOf(parsed);
    const idle = Date.now() - st.mtimeMs > ACTIVE_IDLE_MS;
    const state = owner ? ownerState(owner) : "unknown";
    const gone = state === "dead" || (state === "unknown" && idle);
    if (gone) {
      await fs.promises.rm(file, { force: true, recursive: st.isDirectory() }).catch(() => {});
      continue;
    }
    const p = parsed as { command?: unknown; pipeline?: unknown } | undefined;
    out.push({
      file,
      owner,
      command: typeof p?.command === "string" ? p.command : "(unreadable registration)",
      ...(typeof p?.pipeline === "string" ? { pipeline: p.pipeline } : {}),
    });
  }
  return out;
}

/**
 * Holds the store for gc or clean: the maintenance lock, and no other process registered. Throws
 * StoreBusyError (after releasing the lock) when the store is in use.
 */
export async function holdForMaintenance(root: string, onWait?: (o: Owner) => void): Promise<Release> {
  const release = await acquireLock(maintenanceLockPath(root), {
    blocking: false,
    ...(onWait ? { onWait } : {}),
  });
  try {
    const uses = await activeUses(root);
    if (uses.length) throw new StoreBusyError(root, uses);
  } catch (err) {
    await release();
    throw err;
  }
  return release;
}
