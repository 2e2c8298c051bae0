/**
 * The lock file around a run: rewriting `<pipeline>.lock` after a successful run, and the lock
 * column of `quiver status`. Kept apart from the remote-cache commands so an ordinary run does not
 * load the HTTP client.
 */
import path from "node:path";
import type { Store } from "../cache/store.js";
import type { EngineEvent } from "../engine/events.js";
import type { RunResult } from "../engine/executor.js";
import type { FingerprintDoc } from "../engine/fingerprint.js";
import {
  compareWithLock,
  LockFileError,
  lockPathFor,
  lockRecordName,
  readLockFile,
  snapshotFromKeys,
  updateLockFile,
  type LockFile,
  type PlannedStage,
} from "../engine/lock-file.js";
import type { PipelineSpec } from "../engine/pipeline/spec.js";
import { UsageError } from "./args.js";
import { displayPath } from "./load.js";

/** Stage → key for the stages a run ran or found cached. */
export function keysOf(result: RunResult): Record<string, string> {
  const keys: Record<string, string> = {};
  for (const [id, o] of result.outcomes)
    if (o.key && (o.status === "ran" || o.status === "cached")) keys[id] = o.key;
  return keys;
}

/**
 * After a successful run: rewrite `<pipeline>.lock` (only if its content changed) and record its
 * keys in the store so gc keeps them.
 */
export async function writeLockAfterRun(
  spec: PipelineSpec,
  store: Store,
  result: RunResult,
): Promise<{ file: string; changed: boolean }> {
  const file = lockPathFor(path.resolve(spec.file));
  const keys = keysOf(result);
  // A fully cached run of the whole pipeline whose keys are the lock's own: the lock cannot change
  // (same key, same manifest), so skip rebuilding it from every manifest — the no-op path.
  if (
    [...result.outcomes.values()].every((o) => o.status === "cached") &&
    spec.order.every((id) => keys[id])
  ) {
    const existing = await readLockFile(file).catch(() => undefined);
    if (
      existing &&
      Object.keys(existing.stages).length === spec.order.length &&
      spec.order.every((id) => existing.stages[id]?.key === keys[id])
    ) {
      await recordLock(store, existing);
      return { file, changed: false };
    }
  }
  const snapshot = await snapshotFromKeys(store, keys);
  const { lock, changed } = await updateLockFile(file, spec, snapshot, path.join(store.root, "tmp"));
  await recordLock(store, lock);
  return { file, changed };
}

export async function recordLock(store: Store, lock: LockFile): Promise<void> {
  const stages = Object.fromEntries(Object.entries(lock.stages).map(([id, s]) => [id, { key: s.key }]));
  await store.writeRecord(lockRecordName(lock.pipeline), { pipeline: lock.pipeline, stages });
}

/** The lock column of `quiver status`: a note per stage and a summary line. */
export async function lockColumn(
  spec: PipelineSpec,
  store: Store,
  events: readonly EngineEvent[],
  docs: ReadonlyMap<string, { key: string; doc: FingerprintDoc }>,
  lockFile?: string,
): Promise<{ notes: Map<string, string>; summary: string } | undefined> {
  const file = lockFile ?? lockPathFor(path.resolve(spec.file));
  let lock: LockFile | undefined;
  try {
    lock = await readLockFile(file);
  } catch (err) {
    if (!(err instanceof LockFileError)) throw err;
    return { notes: new Map(), summary: `lock ${displayPath(file)}: not compared: ${err.message}` };
  }
  if (!lock) {
    if (lockFile) throw new UsageError(`no lock file ${lockFile}`);
    return undefined;
  }
  const planned = new Map<string, PlannedStage>();
  for (const e of events) {
    if (e.type !== "planned") continue;
    const d = docs.get(e.stage);
    planned.set(e.stage, {
      decision: e.decision,
      ...(e.key ? { key: e.key } : {}),
      ...(d && d.key === e.key ? { doc: d.doc } : {}),
    });
  }
  const verdicts = await compareWithLock(store, spec, lock, planned);
  const notes = new Map<string, string>();
  const count = { matches: 0, differs: 0, "not-run": 0, "not-in-lock": 0 };
  for (const [id, v] of verdicts) {
    count[v.state]++;
    notes.set(
      id,
      v.state === "matches" ? "matches lock" : v.state === "differs" ? `differs: ${v.detail}` : v.detail,
    );
  }
  const parts = [
    `${count.matches} match`,
    count.differs ? `${count.differs} differ` : "",
    count["not-run"] ? `${count["not-run"]} not run` : "",
    count["not-in-lock"] ? `${count["not-in-lock"]} not in lock` : "",
  ].filter(Boolean);
  return { notes, summary: `lock ${displayPath(file)}: ${parts.join(", ")}` };
}
