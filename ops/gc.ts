/**
 * `gc` and `clean`. gc removes every result that no pipeline's latest run, lock file or sweep
 * references (and what those link to: sub-results), then, with a size budget, evicts the payloads
 * cheapest to recompute per byte (gc-budget.ts). clean removes a whole store.
 */
import fs from "node:fs";
import path from "node:path";
import { recordPath } from "../cache/layout.js";
import type { Store } from "../cache/store.js";
import type { CacheKey } from "../core/hash.js";
import type { EventSink } from "../engine/events.js";
import { lockPathFor, readLockFile } from "../engine/lock-file.js";
import { keysKeptBy, TRANSIENT_RECORD } from "../engine/records.js";
import { OpError } from "./errors.js";
import { applyEviction, holdersOf, planEviction, type EvictionPlan } from "./gc-budget.js";
import { openStore, storeDir } from "./store.js";

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
  if (!fs.existsSync(dir)) return { store: dir, exists: false };
  const { store } = await openStore(dir, opts.onEvent);
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

export type CleanReport = { readonly store: string; readonly removed: boolean };

/** Removes the whole store; refuses a folder that does not look like one. */
export function clean(opts: { cacheDir?: string; pipeline?: string } = {}): Promise<CleanReport> {
  const dir = storeDir(opts.pipeline, opts.cacheDir);
  if (!fs.existsSync(dir)) return Promise.resolve({ store: dir, removed: false });
  if (!fs.existsSync(path.join(dir, "objects")) && !fs.existsSync(path.join(dir, "runs")))
    throw OpError.of("QV_NOT_A_STORE", `${dir} does not look like a Quiver store; refusing to delete it`);
  fs.rmSync(dir, { recursive: true, force: true });
  return Promise.resolve({ store: dir, removed: true });
}
