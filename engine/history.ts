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
import { gcEvictedRecord, lastRunRecord, readRecord, writeRecord, type LastRun } from "./records.js";
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
