/**
 * What a report is made of, read from the store: the latest run record, each stage's manifest and
 * artifacts, the events of the latest run (what happened and why) and the run before it (for
 * metric deltas). Artifacts are decoded on demand and memoised: a plot that needs a table reads it
 * once, and stages whose outputs no plot needs cost only their manifest.
 */
import { own, setOwn } from "../core/dict.js";
import type { ObjectRef, Store } from "../cache/store.js";
import { getArtifact } from "../engine/artifacts-store.js";
import type { CacheKey } from "../core/hash.js";
import type { EngineEvent, RunReason, SkipReason } from "../engine/events.js";
import type { Diagnostic } from "../core/diagnostics.js";
import { keysOfRun, previousDistinct, readLastRun, readRunHistory } from "../engine/history.js";
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
import { arrowFileSummary, type TableSummary } from "../core/arrow-codec.js";

/** Table outputs larger than this are summarised from their Arrow footer, not decoded, for their default view. */
const SUMMARY_BYTES = 8 << 20;

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
  /** The newest recorded run whose results differ from the latest's: what "what changed" compares with. */
  readonly previousDistinct:
    { readonly at: string; readonly stages: Readonly<Record<string, CacheKey>> } | undefined;
  readonly stages: ReadonlyMap<string, StageInfo>;
  /** A stage result's manifest by key (memoised), e.g. of the previous different run. */
  manifest(key: CacheKey): Promise<RunManifest | undefined>;
  /** An output of a stage in the latest run; undefined when not stored (not run, collected, damaged). */
  artifact(stage: string, port: string): Promise<ArtifactValue | undefined>;
  /** An output of the stage result stored under `key` (e.g. of the previous different run). */
  resultArtifact(key: CacheKey, port: string): Promise<ArtifactValue | undefined>;
  /** An output of a stage in the previous run, for deltas. */
  previousArtifact(stage: string, port: string): Promise<ArtifactValue | undefined>;
  /** The object an input port of `stage` read, found through the producing stage's manifest. */
  input(stage: string, port: string): Promise<ArtifactValue | undefined>;
  /** The content hash of the object an input port of `stage` read (from its fingerprint). */
  inputHash(stage: string, port: string): string | undefined;
  objectRef(stage: string, port: string): ObjectRef | undefined;
  /**
   * Rows and columns of a large table output without reading its data (undefined for a table
   * small enough to decode, or when its file cannot be read that way).
   */
  tableSummary(stage: string, port: string): Promise<TableSummary | undefined>;
  /** Values shared by the presentations of one report (see PresentContext.once). */
  readonly memo: Map<string, Promise<unknown>>;
}

export interface CollectOptions {
  /**
   * Only what headline figures need (`results`, the end of `run`): no event record, no run
   * history, and manifests only of the stages that present something.
   */
  readonly figuresOnly?: boolean;
  /**
   * The results to collect, by stage, instead of the latest run's (`show`: the stage and what it
   * needs, for the pipeline file as it is now); stages not named have none. No run history is read.
   */
  readonly keys?: Readonly<Record<string, CacheKey>>;
}

export async function collectReport(
  store: Store,
  spec: PipelineSpec,
  runEvents?: { events: readonly EngineEvent[]; previous: LastRun | undefined; at?: string },
  opts: CollectOptions = {},
): Promise<ReportData> {
  const light = opts.figuresOnly === true || opts.keys !== undefined;
  const last = opts.keys ? resultsAsRun(spec.name, opts.keys) : await readLastRun(store, spec.name);
  const history = light ? undefined : await readRunHistory(store, spec.name);
  const record = runEvents || light ? undefined : await readRunEvents(store, spec.name);
  // A stored event list belongs to the latest run only if it is not older than the run record.
  const stale = record !== undefined && last !== undefined && record.at < last.at;
  const events = runEvents?.events ?? (record && !stale ? record.events : []);
  const previous = runEvents?.previous ?? (record && !stale ? record.previous : undefined);
  const eventsAt = runEvents?.at ?? (record && !stale ? record.at : undefined);

  const manifests = new Map<string, RunManifest | undefined>();
  await Promise.all(
    spec.order.map(async (id) => {
      const key = own(last?.stages, id)?.key;
      const wanted = !light || opts.keys !== undefined || spec.stages.get(id)?.def.present !== undefined;
      manifests.set(id, key && wanted ? await readStageResult(store, key) : undefined);
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
      p = getArtifact(store, kind, ref);
      cache.set(ref.hash, p);
    }
    return p;
  };
  const objectRef = (stage: string, port: string) => manifests.get(stage)?.objects[port];
  const prevManifests = new Map<string, Promise<RunManifest | undefined>>();
  const byKey = (key: CacheKey): Promise<RunManifest | undefined> => {
    let mp = prevManifests.get(key);
    if (!mp) {
      mp = readStageResult(store, key);
      prevManifests.set(key, mp);
    }
    return mp;
  };
  return {
    spec,
    last,
    events,
    eventsAt,
    previous,
    previousDistinct: last ? previousDistinct(history, keysOfRun(last)) : undefined,
    stages,
    manifest: byKey,
    memo: new Map(),
    tableSummary: async (stage, port) => {
      const ref = objectRef(stage, port);
      if (!ref || manifests.get(stage)?.kinds[port] !== "table" || ref.size <= SUMMARY_BYTES)
        return undefined;
      return arrowFileSummary((start, length) => store.readObjectRange(ref, start, length), ref.size);
    },
    resultArtifact: async (key, port) => {
      const m = await byKey(key);
      return load(m?.objects[port], m?.kinds[port]);
    },
    objectRef,
    artifact: (stage, port) => load(objectRef(stage, port), manifests.get(stage)?.kinds[port]),
    previousArtifact: async (stage, port) => {
      const key = own(previous?.stages, stage)?.key;
      if (!key) return undefined;
      const m = await byKey(key);
      return load(m?.objects[port], m?.kinds[port]);
    },
    inputHash: (stage, port) => manifests.get(stage)?.fingerprint.inputs[port]?.hash,
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

/** Chosen results in the shape of a run record, every one found cached. */
function resultsAsRun(pipeline: string, keys: Readonly<Record<string, CacheKey>>): LastRun {
  const stages: Record<string, { key: CacheKey; status: "cached" }> = {};
  for (const [id, key] of Object.entries(keys)) setOwn(stages, id, { key, status: "cached" });
  return { pipeline, at: new Date().toISOString(), stages };
}
