/**
 * The lock file around operations: rewriting `<pipeline>.lock` after a successful run, and
 * comparing a plan with it (the lock column of `status`).
 */
import { own, setOwn } from "../core/dict.js";
import path from "node:path";
import type { Store } from "../cache/store.js";
import type { CacheKey } from "../core/hash.js";
import {
  compareWithLock,
  LockFileError,
  lockPathFor,
  readLockFile,
  recordLockKeys,
  snapshotForLock,
  updateLockFile,
  type LockFile,
  type LockVerdict,
  type PlannedStage,
} from "../engine/lock-file.js";
import type { PipelineSpec } from "../engine/pipeline/spec.js";
import type { RunResult } from "../engine/scheduler.js";
import { UsageError } from "./errors.js";

/** Stage → key for the stages a run ran or found cached. */
export function keysOf(result: RunResult): Record<string, CacheKey> {
  const keys: Record<string, CacheKey> = {};
  for (const [id, o] of result.outcomes)
    if (o.key && (o.status === "ran" || o.status === "cached")) setOwn(keys, id, o.key);
  return keys;
}

/**
 * After a successful run: rewrite `<pipeline>.lock` (only if its content changed) and record its
 * keys in the store so gc keeps them. Nothing is written when a result does not read back
 * complete from the store: those stages are returned as `missing`.
 */
export async function writeLockAfterRun(
  spec: PipelineSpec,
  store: Store,
  result: RunResult,
): Promise<{ file: string; changed: boolean } | { file: string; missing: string[] }> {
  const file = lockPathFor(path.resolve(spec.file));
  const keys = keysOf(result);
  // A fully cached run of the whole pipeline whose keys are the lock's own: the lock cannot change
  // (same key, same manifest), so skip rebuilding it from every manifest — the no-op path.
  if (
    [...result.outcomes.values()].every((o) => o.status === "cached") &&
    spec.order.every((id) => own(keys, id))
  ) {
    const existing = await readLockFile(file).catch(() => undefined);
    if (
      existing &&
      Object.keys(existing.stages).length === spec.order.length &&
      spec.order.every((id) => own(existing.stages, id)?.key === own(keys, id))
    ) {
      await recordLockKeys(store, existing);
      return { file, changed: false };
    }
  }
  // Never a lock that points at results this store cannot give back: the caller repairs them.
  const { stages: snapshot, missing } = await snapshotForLock(store, keys);
  if (missing.length) return { file, missing };
  const { lock, changed } = await updateLockFile(file, spec, snapshot, path.join(store.root, "tmp"));
  await recordLockKeys(store, lock);
  return { file, changed };
}

export type LockComparison =
  | {
      readonly file: string;
      readonly verdicts: ReadonlyMap<string, LockVerdict>;
    }
  /** The lock exists but cannot be read (a merge conflict, a hand edit). */
  | { readonly file: string; readonly error: string };

/** This plan against the lock (the pipeline's own, or `lockFile`); undefined when there is none. */
export async function compareLock(
  spec: PipelineSpec,
  store: Store,
  planned: ReadonlyMap<string, PlannedStage>,
  lockFile?: string,
): Promise<LockComparison | undefined> {
  const file = lockFile ?? lockPathFor(path.resolve(spec.file));
  let lock: LockFile | undefined;
  try {
    lock = await readLockFile(file);
  } catch (err) {
    if (!(err instanceof LockFileError)) throw err;
    return { file, error: err.message };
  }
  if (!lock) {
    if (lockFile) throw new UsageError(`no lock file ${lockFile}`);
    return undefined;
  }
  return { file, verdicts: await compareWithLock(store, spec, lock, planned) };
}
