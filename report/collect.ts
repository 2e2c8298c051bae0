/**
 * What a report is made of, read from the store: the latest run record, each stage's manifest and
 * artifacts, the events of the latest run (what happened and why) and the run before it (for
 * metric deltas). Artifacts are decoded on demand and memoised: a plot that needs a table reads it
 * once, and stages whose outputs no plot needs cost only their manifest.
 */
import { own } from "../core/dict.js";
import type { ObjectRef, Store } from "../cache/store.js";
import { decodeArtifact } from "../engine/artifacts.js";
import type { EngineEvent, RunReason, SkipReason } from "../engine/events.js";
import type { Diagnostic } from "../core/diagnostics.js";
import { readLastRun } from "../engine/history.js";
import {
  readRecord,
  runEventsRecord,
  type LastRun,
  type RunEvents,
  type StageResultManifest as RunManifest,
} from "../engine/records.js";
import { readStageResult } from "../engine/results.js";
import type { JsonValue } from "../core/json.js";
import type { PipelineSpec, StageSpec } from "../engine/pipeline/spec.js";
import type { ArtifactValue, PortKind } from "../core/stage.js";

export type StageState = "ran" | "cached" | "failed" | "skipped" | "not-run";

export interface StageInfo {
  readonly id: string;
  readonly spec: StageSpec;
  readonly state: StageState;
  readonly key: string | undefined;
  readonly durationMs: number | undefined;
  readonly manifest: RunManifest | undefined;
  /** Why it ran this time (from the `started` event). */
  readonly reasons: readonly RunReason[];
  readonly diagnostics: readonly Diagnostic[];
  readonly skipReason: SkipReason | undefined;
  /** Params as the stage ran with them (the fingerprint's), else as the pipeline file says now. */
  readonly params: JsonValue;
}

export function readRunEvents(store: Store, pipeline: string): Promise<RunEvents | undefined> {
  return readRecord(store, runEventsRecord, pipeline);
}

export interface ReportData {
  readonly spec: PipelineSpec;
  readonly last: LastRun | undefined;
  readonly events: readonly EngineEvent[];
  readonly eventsAt: string | undefined;
  readonly previous: LastRun | undefined;
  readonly stages: ReadonlyMap<string, StageInfo>;
  /** An output of a stage in the latest run; undefined when not stored (not run, collected, damaged). */
  artifact(stage: string, port: string): Promise<ArtifactValue | undefined>;
  /** An output of a stage in the previous run, for deltas. */
  previousArtifact(stage: string, port: string): Promise<ArtifactValue | undefined>;
  /** The object an input port of `stage` read, found through the producing stage's manifest. */
  input(stage: string, port: string): Promise<ArtifactValue | undefined>;
  objectRef(stage: string, port: string): ObjectRef | undefined;
}

export async function collectReport(
  store: Store,
  spec: PipelineSpec,
  runEvents?: { events: readonly EngineEvent[]; previous: LastRun | undefined; at?: string },
): Promise<ReportData> {
  const last = await readLastRun(store, spec.name);
  const record = runEvents ? undefined : await readRunEvents(store, spec.name);
  // A stored event list belongs to the latest run only if it is not older than the run record.
  const stale = record !== undefined && last !== undefined && record.at < last.at;
  const events = runEvents?.events ?? (record && !stale ? record.events : []);
  const previous = runEvents?.previous ?? (record && !stale ? record.previous : undefined);
  const eventsAt = runEvents?.at ?? (record && !stale ? record.at : undefined);

  const manifests = new Map<string, RunManifest | undefined>();
  await Promise.all(
    spec.order.map(async (id) => {
      const key = own(last?.stages, id)?.key;
      manifests.set(id, key ? await readStageResult(store, key) : undefined);
    }),
  );

  const stages = new Map<string, StageInfo>();
  for (const id of spec.order) {
    const s = spec.stages.get(id)!;
    let state: StageState = "not-run";
    let durationMs: number | undefined;
    let key: string | undefined = own(last?.stages, id)?.key;
    let reasons: readonly RunReason[] = [];
    let diagnostics: readonly Diagnostic[] = [];
    let skipReason: SkipReason | undefined;
    for (const e of events) {
      if (!("stage" in e) || e.stage !== id) continue;
      switch (e.type) {
        case "cached":
          state = "cached";
          durationMs = e.durationMs;
          key = e.key;
          break;
        case "started":
          reasons = e.reasons;
          key = e.key;
          break;
        case "finished":
          state = "ran";
          durationMs = e.durationMs;
          key = e.key;
          break;
        case "failed":
          state = "failed";
          durationMs = e.durationMs;
          diagnostics = e.diagnostics;
          break;
        case "skipped":
          state = "skipped";
          skipReason = e.reason;
          break;
        case "planned":
        case "waiting":
        case "progress":
        case "note":
        case "queued":
        case "warning":
          break;
      }
    }
    const lastEntry = own(last?.stages, id);
    if (events.length === 0 && lastEntry) {
      const st = lastEntry.status;
      state = st === "ran" || st === "cached" ? st : "not-run";
      durationMs = lastEntry.durationMs;
    }
    const manifest = key === own(last?.stages, id)?.key ? manifests.get(id) : undefined;
    stages.set(id, {
      id,
      spec: s,
      state,
      key,
      durationMs: durationMs ?? manifest?.durationMs,
      manifest,
      reasons,
      diagnostics,
      skipReason,
      params: manifest?.fingerprint.params ?? (s.params as JsonValue),
    });
  }

  const cache = new Map<string, Promise<ArtifactValue | undefined>>();
  const load = (
    ref: ObjectRef | undefined,
    kind: PortKind | undefined,
  ): Promise<ArtifactValue | undefined> => {
    if (!ref || !kind) return Promise.resolve(undefined);
    let p = cache.get(ref.hash);
    if (!p) {
      p = store.getObject(ref).then((bytes) => (bytes ? decodeArtifact(kind, bytes) : undefined));
      cache.set(ref.hash, p);
    }
    return p;
  };
  const objectRef = (stage: string, port: string) => manifests.get(stage)?.objects[port];
  const prevManifests = new Map<string, Promise<RunManifest | undefined>>();
  return {
    spec,
    last,
    events,
    eventsAt,
    previous,
    stages,
    objectRef,
    artifact: (stage, port) => load(objectRef(stage, port), manifests.get(stage)?.kinds[port]),
    previousArtifact: async (stage, port) => {
      const key = own(previous?.stages, stage)?.key;
      if (!key) return undefined;
      let mp = prevManifests.get(key);
      if (!mp) {
        mp = readStageResult(store, key);
        prevManifests.set(key, mp);
      }
      const m = await mp;
      return load(m?.objects[port], m?.kinds[port]);
    },
    input: (stage, port) => {
      const m = manifests.get(stage);
      const inp = m?.fingerprint.inputs[port];
      const ref = spec.stages.get(stage)?.inputs[port];
      if (!inp || !ref) return Promise.resolve(undefined);
      const upstream = manifests.get(ref.stage)?.objects[ref.port];
      // The producer's latest result must be the very object this stage read.
      if (!upstream || upstream.hash !== inp.hash) return Promise.resolve(undefined);
      return load(upstream, ref.kind);
    },
  };
}
