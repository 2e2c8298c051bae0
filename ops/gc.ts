/**
 * `gc` and `clean`. gc removes every result that no pipeline's latest run, lock file or sweep
 * references (and what those link to: sub-results), then, with a size budget, evicts the payloads
 * cheapest to recompute per byte (gc-budget.ts). clean removes a store's own files.
 *
 * Both act only on a folder marked as a store, and only while no other process uses it: they hold
 * the store's maintenance lock, and stop (QV_STORE_BUSY) if a live run, job or pull is registered.
 */
import fs from "node:fs";
import path from "node:path";
import { recordPath } from "../cache/layout.js";
import type { Store } from "../cache/store.js";
import type { CacheKey } from "../core/hash.js";
import type { EventSink } from "../engine/events.js";
import { lockPathFor, readLockFile } from "../engine/lock-file.js";
import { keysKeptBy, TRANSIENT_RECORD } from "../engine/records.js";
import { applyEviction, holdersOf, planEviction, type EvictionPlan } from "./gc-budget.js";
import { openExistingStore, storeDir, withStoreErrors } from "./store.js";

export interface GcOptions {
  /** The store (default: that of `pipeline`, else $QUIVER_CACHE or ./.quiver). */
  readonly cacheDir?: string;
  /** A pipeline file whose lock's keys are kept too. */
  readonly pipeline?: string;
  /** Report what would go; remove nothing. */
  readonly dryRun?: boolean;
  /** A size budget in bytes for what is kept. */
  readonly maxSize?: number;
  readonly onEvent?: EventSink;
}

export type GcReport =
  | { readonly store: string; readonly exists: false }
  | {
      readonly store: string;
      readonly exists: true;
      readonly manifests: number;
      readonly objects: number;
      readonly bytes: number;
      /** Results kept (referenced by latest runs, locks, sweeps). */
      readonly kept: number;
      /** With `maxSize`: what is (or would be) evicted to fit. */
      readonly eviction?: EvictionPlan;
    };

/** Keys referenced by any pipeline's latest run, lock record or sweep. */
async function liveKeys(store: Store): Promise<Set<CacheKey>> {
  const keep = new Set<CacheKey>();
  for (const name of await store.listRecords()) for (const k of await keysKeptBy(store, name)) keep.add(k);
  return keep;
}

export async function gc(opts: GcOptions = {}): Promise<GcReport> {
  const dir = storeDir(opts.pipeline, opts.cacheDir);
  const store = await openExistingStore(dir, opts.onEvent);
  if (!store) return { store: dir, exists: false };
  const release = await withStoreErrors(() => store.holdForMaintenance());
  try {
    return await collect(store, dir, opts);
  } finally {
    await release();
  }
}

async function collect(store: Store, dir: string, opts: GcOptions): Promise<GcReport> {
  const keep = await liveKeys(store);
  const lock = opts.pipeline ? await readLockFile(lockPathFor(path.resolve(opts.pipeline))) : undefined;
  for (const s of Object.values(lock?.stages ?? {})) keep.add(s.key);
  const r = await store.gc(keep, opts.dryRun === true);
  if (!opts.dryRun) await removeStaleJobRecords(store);
  let eviction: EvictionPlan | undefined;
  if (opts.maxSize !== undefined) {
    // In a dry run the unreferenced objects are still on disk: plan as if they were gone.
    const holders = await holdersOf(store, await store.closure(keep));
    const live = new Set<string>(holders.map((h) => h.hash));
    const objects = (await store.listObjects()).filter((o) => live.has(o.hash));
    eviction = planEviction(objects, holders, opts.maxSize);
    if (!opts.dryRun && eviction.evict.length) await applyEviction(store, eviction);
  }
  return { store: dir, exists: true, ...r, kept: keep.size, ...(eviction ? { eviction } : {}) };
}

/** Job and failure records of runs that were killed before they could remove them. */
async function removeStaleJobRecords(store: Store): Promise<void> {
  for (const name of await store.listRecords()) {
    if (!TRANSIENT_RECORD.test(name)) continue;
    const file = path.join(store.root, ...recordPath(name).split("/"));
    const st = await fs.promises.stat(file).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > 3600_000) await store.deleteRecord(name);
  }
}

export type CleanReport =
  | { readonly store: string; readonly removed: false; readonly reason: "no-store" | "declined" }
  | {
      readonly store: string;
      readonly removed: true;
      readonly files: number;
      readonly bytes: number;
      /** What was in the store's folder but is not the store's: left in place. */
      readonly kept: readonly string[];
    };

export interface CleanOptions {
  readonly cacheDir?: string;
  readonly pipeline?: string;
  /**
   * Called with the store and what it holds before anything is removed; false stops (the command
   * line asks on a terminal, and needs --yes otherwise).
   */
  readonly confirm?: (what: { readonly store: string; readonly results: number }) => Promise<boolean>;
  readonly onEvent?: EventSink;
}

/**
 * Removes a store's own files (objects, manifests, records, locks, temp files) and its marker;
 * refuses any folder that is not a marked store, and a store in use.
 */
export async function clean(opts: CleanOptions = {}): Promise<CleanReport> {
  const dir = storeDir(opts.pipeline, opts.cacheDir);
  const store = await openExistingStore(dir, opts.onEvent);
  if (!store) return { store: dir, removed: false, reason: "no-store" };
  const release = await withStoreErrors(() => store.holdForMaintenance());
  let released = false;
  try {
    const results = (await store.listManifestKeys()).length;
    if (opts.confirm && !(await opts.confirm({ store: dir, results })))
      return { store: dir, removed: false, reason: "declined" };
    released = true;
    return { store: dir, removed: true, ...(await store.clean(release)) };
  } finally {
    if (!released) await release();
  }
}
