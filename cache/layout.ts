/**
 * The store's layout, in one place: where each kind of file lives, relative to the store's root
 * ('/'-separated). The local store (store.ts) and remote caches (remote.ts), which hold the same
 * paths, both build their paths here.
 *
 *   objects/ab/abcdef0123456789   bytes, named by their xxhash64
 *   runs/ab/<key>.json            manifest of one cache key (what a stage run produced)
 *   records/<name>.json           small named documents (latest run of each pipeline, jobs, ...)
 *   locks/<key>.lock              single-flight locks
 *   jobs/<key>/                   one folder per job handed to a runner: the job, what it said
 *                                 (events, log, exit), its failure, its batch submission
 *   jobs/@<name>/<i>              array task i of a batch submission → ../<key> (a symlink), so a
 *                                 batch system that names logs by task index writes into the job's folder
 *   active/<token>.json           processes using the store now (runs, jobs, pulls): gc and clean wait
 *   tmp/                          temp files before rename; orphans are removed by gc
 *   quiver-store.json             the marker: this folder is a store (gc and clean touch nothing else)
 */
import type { CacheKey, ContentHash } from "../core/hash.js";

export const OBJECTS = "objects";
export const MANIFESTS = "runs";
export const RECORDS = "records";
export const LOCKS = "locks";
export const JOBS = "jobs";
export const ACTIVE = "active";
export const TMP = "tmp";
/** The store's marker file, written when the store is created. */
export const MARKER = "quiver-store.json";
/** The folders a store consists of (besides its marker); nothing else in its folder is the store's. */
export const STORE_FOLDERS = [OBJECTS, MANIFESTS, RECORDS, LOCKS, ACTIVE, JOBS, TMP] as const;
/** The lock gc and clean hold while they remove things; runs wait for it before they start. */
export const MAINTENANCE_LOCK = `${LOCKS}/maintenance.lock`;

export function objectPath(hash: ContentHash): string {
  return `${OBJECTS}/${hash.slice(0, 2)}/${hash}`;
}

export function manifestPath(key: CacheKey): string {
  return `${MANIFESTS}/${key.slice(0, 2)}/${key}.json`;
}

/** Record names are free text (pipeline names); the file name encodes them. */
export function recordPath(name: string): string {
  return `${RECORDS}/${recordFileName(name)}`;
}

function recordFileName(name: string): string {
  return `${encodeURIComponent(name)}.json`;
}

/** The record name a file in records/ holds, or undefined for other files. */
export function recordNameOf(fileName: string): string | undefined {
  if (!fileName.endsWith(".json")) return undefined;
  try {
    return decodeURIComponent(fileName.slice(0, -5));
  } catch {
    return undefined;
  }
}

export function lockPath(key: string): string {
  return `${LOCKS}/${key}.lock`;
}

/** A job's folder (`file` omitted) or a file in it. */
export function jobPath(key: CacheKey, file?: string): string {
  return file === undefined ? `${JOBS}/${key}` : `${JOBS}/${key}/${file}`;
}

/** Names of array folders start with `@`, which no cache key does. */
export const ARRAY_PREFIX = "@";

/** The folder of a batch array's task links (`task` omitted), or the link of one task. */
export function arrayPath(name: string, task?: number): string {
  const dir = `${JOBS}/${ARRAY_PREFIX}${name}`;
  return task === undefined ? dir : `${dir}/${task}`;
}

export function activePath(token: string): string {
  return `${ACTIVE}/${token}.json`;
}
