/**
 * `push` and `pull`: moving a pipeline's results to and from a remote cache. Push uploads what the
 * lock file and the latest run reference (objects first, then manifests); pull downloads what the
 * lock references — or, without a lock, the latest run pushed for the pipeline — verifying each
 * object against its content hash before it enters the store.
 */
import path from "node:path";
import { setOwn } from "../core/dict.js";
import type { Store } from "../cache/store.js";
import type { CacheKey } from "../core/hash.js";
import { readLastRun, recordDistinctRun } from "../engine/history.js";
import { readStageResult } from "../engine/results.js";
import { lockPathFor, readLockFile, recordLockKeys, type LockFile } from "../engine/lock-file.js";
import { decode } from "../core/decode.js";
import type { EventSink } from "../engine/events.js";
import type { PipelineSpec } from "../engine/pipeline/spec.js";
import { lastRunDecoder, lastRunRecord, writeRecord } from "../engine/records.js";
import { OpError } from "./errors.js";
import { displayPath, type Pipeline } from "./load.js";
import {
  remoteFor,
  withRemoteErrors,
  type ExpectedOutputs,
  type RemoteCache,
  type TransferReport,
} from "./remote.js";
import { openStore, storeDir } from "./store.js";

export interface ShareOptions {
  readonly cacheDir?: string;
  /** The remote: a directory, file://PATH or http(s)://URL. */
  readonly remote: string;
  readonly onEvent?: EventSink;
}

export interface ShareReport {
  readonly report: TransferReport;
  /** The remote as it may be shown (no credentials). */
  readonly remote: string;
  readonly durationMs: number;
  /** For pull: what the keys came from (the lock, or the latest run pushed). */
  readonly source?: string;
  /** Nothing missing, nothing damaged. */
  readonly ok: boolean;
}

async function open(p: Pipeline, opts: ShareOptions): Promise<{ store: Store; remote: RemoteCache }> {
  const { store } = await openStore(storeDir(p.spec.file, opts.cacheDir), opts.onEvent);
  return { store, remote: remoteFor(store, opts.remote) };
}

/** The keys a pipeline's sharing is about: its lock's, then its latest run's. */
async function keysToShare(spec: PipelineSpec, store: Store): Promise<Set<CacheKey>> {
  const keys = new Set<CacheKey>();
  const lock = await readLockFile(lockPathFor(path.resolve(spec.file)));
  for (const s of Object.values(lock?.stages ?? {})) keys.add(s.key);
  const last = await readLastRun(store, spec.name);
  for (const s of Object.values(last?.stages ?? {})) keys.add(s.key);
  return keys;
}

export async function push(pipeline: Pipeline, opts: ShareOptions): Promise<ShareReport> {
  return withRemoteErrors(async () => {
    const { spec } = pipeline;
    const { store, remote } = await open(pipeline, opts);
    const keys = await keysToShare(spec, store);
    if (keys.size === 0)
      throw OpError.of(
        "QV_NOTHING_TO_PUSH",
        `${spec.name} has no lock and no recorded run`,
        `quiver run ${spec.file} first`,
      );
    const t0 = performance.now();
    const report = await remote.push(keys);
    const last = await readLastRun(store, spec.name);
    if (last) await remote.putRecord(lastRunRecord.name(spec.name), last);
    return {
      report,
      remote: remote.backend.display,
      durationMs: performance.now() - t0,
      ok: report.problems.length === 0 && report.missing.length === 0,
    };
  });
}

/**
 * Without a run of its own here, the store takes the pulled results as the pipeline's latest run
 * (status `cached`), so `show`, `results` and `report` read them at once; a local run is never
 * replaced.
 */
async function adoptPulled(
  store: Store,
  spec: PipelineSpec,
  byStage: Record<string, CacheKey> | undefined,
  keys: readonly CacheKey[],
): Promise<void> {
  if (await readLastRun(store, spec.name)) return;
  let stageKeys = byStage;
  if (!stageKeys) {
    stageKeys = {};
    for (const key of keys) {
      const m = await readStageResult(store, key);
      if (m) setOwn(stageKeys, m.stage.id, key);
    }
  }
  const stages: Record<string, { key: CacheKey; status: "cached" }> = {};
  for (const [id, key] of Object.entries(stageKeys))
    if (spec.stages.has(id) && (await readStageResult(store, key)))
      setOwn(stages, id, { key, status: "cached" });
  if (!Object.keys(stages).length) return;
  const last = { pipeline: spec.name, at: new Date().toISOString(), stages };
  await writeRecord(store, lastRunRecord, last, spec.name);
  await recordDistinctRun(store, last);
}

export async function pull(pipeline: Pipeline, opts: ShareOptions): Promise<ShareReport> {
  return withRemoteErrors(async () => {
    const { spec } = pipeline;
    const { store, remote } = await open(pipeline, opts);
    const lockFile = lockPathFor(path.resolve(spec.file));
    let expect: ExpectedOutputs | undefined;
    const lock = await readLockFile(lockFile);
    let keys: CacheKey[];
    let source: string;
    if (lock) {
      keys = Object.values(lock.stages).map((s) => s.key);
      // What the remote gives for a key the lock pins must hold exactly the lock's outputs.
      expect = expectedOutputs(lock);
      source = `the lock ${displayPath(lockFile)}`;
    } else {
      const rec = decode(lastRunDecoder, await remote.getRecord(lastRunRecord.name(spec.name)));
      keys = rec.ok ? Object.values(rec.value.stages).map((s) => s.key) : [];
      source = `the latest run pushed for ${spec.name}`;
      if (!keys.length)
        throw OpError.of(
          "QV_NOTHING_TO_PULL",
          `no lock file ${displayPath(lockFile)} and no run of ${spec.name} on ${remote.backend.display}`,
        );
    }
    const t0 = performance.now();
    // Registered while objects arrive before the manifests that name them: gc leaves them alone.
    const leave = await store.registerUse({ command: "pull", pipeline: spec.name });
    let report: TransferReport;
    try {
      report = await remote.pull(keys, expect);
      if (lock) await recordLockKeys(store, lock);
      await adoptPulled(
        store,
        spec,
        lock ? Object.fromEntries(Object.entries(lock.stages).map(([id, s]) => [id, s.key])) : undefined,
        keys,
      );
    } finally {
      await leave();
    }
    return {
      report,
      remote: remote.backend.display,
      durationMs: performance.now() - t0,
      source,
      ok: report.problems.length === 0 && report.missing.length === 0,
    };
  });
}

/** Key → the outputs the lock records for it. */
export function expectedOutputs(lock: LockFile): ExpectedOutputs {
  return new Map(Object.values(lock.stages).map((s) => [s.key, s.outputs] as const));
}
