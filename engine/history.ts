/**
 * What the last run of a pipeline did, per stage, and why a stage differs from it now. The record
 * lives in the store (records/pipeline-<name>.json); gc keeps everything it references.
 */
import type { Store } from "../cache/store.js";
import type { Change, RunReason } from "./events.js";
import { diffFingerprints, type FingerprintDoc } from "./fingerprint.js";
import type { RunManifest } from "./job.js";
import type { PipelineSpec, StageSpec } from "./pipeline/spec.js";
import type { StageOutcome } from "./executor.js";

export interface LastRun {
  readonly pipeline: string;
  readonly at: string;
  readonly stages: Readonly<
    Record<string, { readonly key: string; readonly status: string; readonly durationMs?: number }>
  >;
}

export function lastRunRecordName(pipeline: string): string {
  return `pipeline-${pipeline}`;
}

export async function readLastRun(store: Store, pipeline: string): Promise<LastRun | undefined> {
  const v = (await store.readRecord(lastRunRecordName(pipeline))) as LastRun | undefined;
  return v && typeof v === "object" && typeof v.stages === "object" ? v : undefined;
}

export async function writeLastRun(
  store: Store,
  spec: PipelineSpec,
  previous: LastRun | undefined,
  outcomes: ReadonlyMap<string, StageOutcome>,
): Promise<void> {
  // Stages not run this time (--until, failures) keep their previous entry, so status still diffs them.
  const stages: Record<string, { key: string; status: string; durationMs?: number }> = {};
  for (const id of spec.order) {
    const o = outcomes.get(id);
    if (o?.key && (o.status === "ran" || o.status === "cached")) {
      stages[id] = {
        key: o.key,
        status: o.status,
        ...(o.durationMs !== undefined ? { durationMs: o.durationMs } : {}),
      };
    } else if (previous?.stages[id]) stages[id] = { ...previous.stages[id] };
  }
  await store.writeRecord(lastRunRecordName(spec.name), {
    pipeline: spec.name,
    at: new Date().toISOString(),
    stages,
  });
}

/** Why a stage must run: field-level changes against its last run, root causes vs cascades. */
export async function explainChanges(
  store: Store,
  last: LastRun | undefined,
  s: StageSpec,
  doc: FingerprintDoc,
  upstreamRan: (stage: string) => boolean,
): Promise<RunReason[]> {
  const prevKey = last?.stages[s.id]?.key;
  if (!prevKey) return [{ kind: "first-run" }];
  const prev = (await store.readManifest(prevKey)) as RunManifest | undefined;
  if (!prev?.fingerprint)
    return [
      {
        kind: "cache-missing",
        detail: "the last run's record is gone from the store (cleaned or collected)",
      },
    ];
  const diffs = diffFingerprints(prev.fingerprint, doc);
  if (diffs.length === 0) {
    // `quiver gc --max-size` records the keys whose payload it evicted (cli/gc-budget.ts).
    const evicted = ((await store.readRecord("gc-evicted")) as { keys?: Record<string, string> } | undefined)
      ?.keys?.[prevKey];
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
    if (parts[0] === "inputs" && parts[1]) {
      const from = s.inputs[parts[1]]?.stage;
      return { ...d, ...(from ? { upstream: from } : {}) };
    }
    return d;
  });
  const cascade = changes.every((c) => c.path.startsWith("inputs.") && c.upstream !== undefined);
  void upstreamRan;
  return [{ kind: "changed", changes, cascade }];
}
