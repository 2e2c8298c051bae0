/**
 * `gc` and `clean`. gc removes every result that no pipeline's latest run, lock file or sweep
 * references (and what those link to: sub-results), the folders of finished jobs, then, with a
 * size budget, evicts the payloads cheapest to recompute per byte (gc-budget.ts). clean removes a
 * store's own files, unless jobs of a run still use it (queued or running on a batch system).
 *
 * Both act only on a folder marked as a store, and only while no other process uses it: they hold
 * the store's maintenance lock, and stop (QV_STORE_BUSY) if a live run, job or pull is registered.
 */
import path from "node:path";
import type { Store } from "../cache/store.js";
import type { CacheKey } from "../core/hash.js";
import type { EventSink } from "../engine/events.js";
import { lockPathFor, readLockFile } from "../engine/lock-file.js";
import { jobFolders } from "../engine/job-folder.js";
import { keysKeptBy } from "../engine/records.js";
import { stillQueued } from "../engine/runners/index.js";
import { OpError } from "./errors.js";
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
      /** Job folders (failure records, events, logs) of finished or abandoned jobs removed. */
      readonly jobs: number;
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
  const jobs = await removeFinishedJobs(store, opts.dryRun === true);
  let eviction: EvictionPlan | undefined;
  if (opts.maxSize !== undefined) {
    // In a dry run the unreferenced objects are still on disk: plan as if they were gone.
    const holders = await holdersOf(store, await store.closure(keep));
    const live = new Set<string>(holders.map((h) => h.hash));
    const objects = (await store.listObjects()).filter((o) => live.has(o.hash));
    eviction = planEviction(objects, holders, opts.maxSize);
    if (!opts.dryRun && eviction.evict.length) await applyEviction(store, eviction);
  }
  return { store: dir, exists: true, ...r, jobs, kept: keep.size, ...(eviction ? { eviction } : {}) };
}

/**
 * The folders of finished jobs (their failure records, events and logs) and of jobs nobody waits
 * for any more (a run killed before it could read them); not those a live run or `quiver exec`
 * holds, nor those a batch system still has queued or running. Then the array links left behind.
 */
async function removeFinishedJobs(store: Store, dryRun: boolean): Promise<number> {
  const folders = await jobFolders(store);
  const queued = new Set(
    await stillQueued(folders.flatMap((f) => (f.submission && !f.inUse ? [f.submission] : []))),
  );
  let removed = 0;
  for (const f of folders) {
    if (f.inUse || (f.submission && queued.has(f.submission))) continue;
    removed++;
    if (!dryRun) await store.removeJob(f.key);
  }
  if (!dryRun) {
    const left = new Set(await store.listJobs());
    for (const a of await store.listArrays())
      if (!a.keys.some((k) => left.has(k))) await store.removeArray(a.name);
  }
  return removed;
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
 * Removes a store's own files (objects, manifests, records, locks, job folders, temp files) and its
 * marker; refuses any folder that is not a marked store, a store in use, and one whose jobs a batch
 * system still has queued or running.
 */
export async function clean(opts: CleanOptions = {}): Promise<CleanReport> {
  const dir = storeDir(opts.pipeline, opts.cacheDir);
  const store = await openExistingStore(dir, opts.onEvent);
  if (!store) return { store: dir, removed: false, reason: "no-store" };
  // A run's jobs still in a batch queue (its head killed, so not registered as using the store)
  // would find the store gone when they start.
  const submitted = (await jobFolders(store)).flatMap((f) => (f.submission ? [f.submission] : []));
  const queued = await stillQueued(submitted);
  if (queued.length) {
    const names = [...new Set(queued.map((s) => s.name))];
    throw OpError.of(
      "QV_JOBS_QUEUED",
      `${queued.length} job(s) of a run are still queued or running on ${[...new Set(queued.map((s) => s.runner))].join(", ")} (${queued
        .slice(0, 5)
        .map((s) => s.id || s.name)
        .join(
          ", ",
        )}${queued.length > 5 ? ", …" : ""}); removing ${dir} now would pull the store from under them`,
      `wait for the run to end, or cancel its jobs first (Slurm: scancel --name=${names.join(",")})`,
    );
  }
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
