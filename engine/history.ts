/**
 * What the last run of a pipeline did, per stage (record `pipeline-<name>`), and why a stage
 * differs from it now. gc keeps everything the record references.
 */
import { own, setOwn } from "../core/dict.js";
import type { Store } from "../cache/store.js";
import type { CacheKey } from "../core/hash.js";
import type { Change, RunReason } from "./events.js";
import { diffFingerprints, type FingerprintDoc } from "./fingerprint.js";
import type { PipelineSpec, StageSpec } from "./pipeline/spec.js";
import {
  gcEvictedRecord,
  lastRunRecord,
  readRecord,
  runHistoryRecord,
  writeRecord,
  type LastRun,
  type RunHistory,
} from "./records.js";
import { readStageResult } from "./results.js";

/** What happened to one stage in a run (as far as the last-run record cares). */
export interface StageRecordEntry {
  readonly status: string;
  readonly key?: CacheKey;
  readonly durationMs?: number;
  readonly inputNames?: readonly string[];
}

export function readLastRun(store: Store, pipeline: string): Promise<LastRun | undefined> {
  return readRecord(store, lastRunRecord, pipeline);
}

export async function writeLastRun(
  store: Store,
  spec: PipelineSpec,
  previous: LastRun | undefined,
  outcomes: ReadonlyMap<string, StageRecordEntry>,
): Promise<void> {
  // Stages not run this time (--until, failures) keep their previous entry, so status still diffs them.
  const stages: Record<string, LastRun["stages"][string]> = {};
  for (const id of spec.order) {
    const o = outcomes.get(id);
    const before = own(previous?.stages, id);
    if (o?.key && (o.status === "ran" || o.status === "cached")) {
      setOwn(stages, id, {
        key: o.key,
        status: o.status,
        ...(o.durationMs !== undefined ? { durationMs: o.durationMs } : {}),
        ...(o.inputNames?.length ? { inputNames: o.inputNames } : {}),
      });
    } else if (before) setOwn(stages, id, { ...before });
  }
  await writeRecord(
    store,
    lastRunRecord,
    { pipeline: spec.name, at: new Date().toISOString(), stages },
    spec.name,
  );
}

/** Why a stage must run: field-level changes against its last run, root causes vs cascades. */
export async function explainChanges(
  store: Store,
  last: LastRun | undefined,
  s: StageSpec,
  doc: FingerprintDoc,
): Promise<RunReason[]> {
  const prevKey = own(last?.stages, s.id)?.key;
  if (!prevKey) return [{ kind: "first-run" }];
  const prev = await readStageResult(store, prevKey);
  if (!prev)
    return [
      {
        kind: "cache-missing",
        detail: "the last run's record is gone from the store (cleaned or collected)",
      },
    ];
  const diffs = diffFingerprints(prev.fingerprint, doc);
  if (diffs.length === 0) {
    // `quiver gc --max-size` records the keys whose payload it evicted (ops/gc-budget.ts).
    const evicted = (await readRecord(store, gcEvictedRecord))?.keys[prevKey];
    return [
      {
        kind: "cache-missing",
        detail: evicted
          ? `cached result evicted by gc (${evicted.slice(0, 10)}) to fit the size budget`
          : "same fingerprint as the last run, but its cached result is missing or damaged",
      },
    ];
  }
  const changes: Change[] = diffs.map((d) => {
    const parts = d.path.split(".");
    if (parts[0] === "params" && parts.length > 1) {
      const p = parts.slice(1).map((x) => (/^\d+$/.test(x) ? Number(x) : x));
      return { ...d, location: s.locate(p) };
    }
    if ((parts[0] === "inputs" || parts[0] === "inputNames") && parts[1]) {
      const from = s.inputs[parts[1]]?.stage;
      return { ...d, ...(from ? { upstream: from } : {}) };
    }
    return d;
  });
  const cascade = changes.every((c) => c.path.startsWith("inputs.") && c.upstream !== undefined);
  return [{ kind: "changed", changes, cascade }];
}

/** Distinct runs kept in the history record. */
const HISTORY_LENGTH = 20;

type Keys = Readonly<Record<string, CacheKey>>;

function sameKeys(a: Keys, b: Keys): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}

export function keysOfRun(last: LastRun): Record<string, CacheKey> {
  return Object.fromEntries(Object.entries(last.stages).map(([id, s]) => [id, s.key]));
}

/** Appends the latest run to the history of distinct runs, unless its keys are the newest entry's. */
export async function recordDistinctRun(store: Store, last: LastRun): Promise<void> {
  const history = await readRecord(store, runHistoryRecord, last.pipeline);
  const runs = [...(history?.runs ?? [])];
  const keys = keysOfRun(last);
  const newest = runs[runs.length - 1];
  if (newest && sameKeys(newest.stages, keys)) return;
  runs.push({ at: last.at, stages: keys });
  await writeRecord(
    store,
    runHistoryRecord,
    { pipeline: last.pipeline, runs: runs.slice(-HISTORY_LENGTH) },
    last.pipeline,
  );
}

export function readRunHistory(store: Store, pipeline: string): Promise<RunHistory | undefined> {
  return readRecord(store, runHistoryRecord, pipeline);
}

/**
 * The newest distinct run before the one whose keys are `current` (the latest run's): the run
 * that "what changed" compares with. Undefined when no earlier different run is recorded.
 */
export function previousDistinct(
  history: RunHistory | undefined,
  current: Keys,
): RunHistory["runs"][number] | undefined {
  const runs = history?.runs ?? [];
  for (let i = runs.length - 1; i >= 0; i--) if (!sameKeys(runs[i]!.stages, current)) return runs[i];
  return undefined;
}
