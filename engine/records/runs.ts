/** Records about runs: the latest run, its events, lock keys, the latest sweep, gc's evictions, the file-hash memo. */
import type { Store } from "../../cache/store.js";
import { d, decode, DecodeError, type Decoder } from "../../core/decode.js";
import type { CacheKey, FileStamp } from "../../core/hash.js";
import { isJsonObject, type JsonValue } from "../../core/json.js";
import type { EngineEvent } from "../events.js";
import type { RecordKind } from "./access.js";

export type StageRunStatus = "ran" | "cached";

/** What the latest run of a pipeline did, per stage (the base of `status` and early cutoff). */
export interface LastRun {
  readonly pipeline: string;
  readonly at: string;
  readonly stages: Readonly<
    Record<
      string,
      { readonly key: CacheKey; readonly status: StageRunStatus; readonly durationMs?: number | undefined }
    >
  >;
}

export const lastRunDecoder: Decoder<LastRun> = d.object({
  pipeline: d.string,
  at: d.string,
  stages: d.record(
    d.object({ key: d.cacheKey, status: d.oneOf(["ran", "cached"]), durationMs: d.optional(d.number) }),
  ),
});

export const lastRunRecord: RecordKind<LastRun, [pipeline: string]> = {
  name: (pipeline) => `pipeline-${pipeline}`,
  decoder: lastRunDecoder,
};

/** The events of the latest run and the run before it: what the report shows. */
export interface RunEvents {
  readonly at: string;
  readonly events: readonly EngineEvent[];
  readonly previous?: LastRun | undefined;
}

const EVENT_TYPES: ReadonlySet<string> = new Set<EngineEvent["type"]>([
  "run-start",
  "cached",
  "planned",
  "waiting",
  "started",
  "progress",
  "note",
  "finished",
  "failed",
  "skipped",
  "warning",
  "run-end",
]);

/** Events are written by this program; on the way back their type and stage are checked. */
const engineEvent: Decoder<EngineEvent> = (v, path) => {
  if (!isJsonObject(v) || typeof v.type !== "string" || !EVENT_TYPES.has(v.type))
    throw new DecodeError(path, `expected an engine event, got ${JSON.stringify(v).slice(0, 40)}`);
  if ("stage" in v && typeof v.stage !== "string")
    throw new DecodeError(`${path}.stage`, "expected a string");
  if ("key" in v) d.cacheKey(v.key, `${path}.key`);
  for (const list of ["diagnostics", "reasons"])
    if (list in v && !Array.isArray(v[list])) throw new DecodeError(`${path}.${list}`, "expected a list");
  return v as unknown as EngineEvent;
};

export const runEventsRecord: RecordKind<RunEvents, [pipeline: string]> = {
  name: (pipeline) => `events-${pipeline}`,
  decoder: d.object({ at: d.string, events: d.array(engineEvent), previous: d.optional(lastRunDecoder) }),
};

/** The keys a pipeline's lock file references, so gc keeps them (written at run and pull). */
export interface LockKeys {
  readonly pipeline: string;
  readonly stages: Readonly<Record<string, { readonly key: CacheKey }>>;
}

export const lockKeysRecord: RecordKind<LockKeys, [pipeline: string]> = {
  name: (pipeline) => `lock-${pipeline}`,
  decoder: d.object({ pipeline: d.string, stages: d.record(d.object({ key: d.cacheKey })) }),
};

/** The latest sweep of a pipeline: its points and their keys (`stages` keeps them through gc). */
export interface SweepRecord {
  readonly pipeline: string;
  readonly points: readonly {
    readonly point: Readonly<Record<string, JsonValue>>;
    readonly keys: Readonly<Record<string, CacheKey>>;
  }[];
  readonly stages: Readonly<Record<string, { readonly key: CacheKey }>>;
}

export const sweepRecord: RecordKind<SweepRecord, [pipeline: string]> = {
  name: (pipeline) => `sweep-${pipeline}`,
  decoder: d.object({
    pipeline: d.string,
    points: d.array(d.object({ point: d.record(d.json), keys: d.record(d.cacheKey) })),
    stages: d.record(d.object({ key: d.cacheKey })),
  }),
};

/** The keys a record names as results to keep, when `name` is one of the root records. */
export async function keysKeptBy(store: Store, name: string): Promise<CacheKey[]> {
  for (const [prefix, decoder] of [
    ["pipeline-", lastRunDecoder],
    ["lock-", lockKeysRecord.decoder],
    ["sweep-", sweepRecord.decoder],
  ] as const) {
    if (!name.startsWith(prefix)) continue;
    const r = decode(decoder, await store.readRecord(name));
    return r.ok ? Object.values(r.value.stages).map((s) => s.key) : [];
  }
  return [];
}

export type FileHashes = Readonly<Record<string, FileStamp>>;

export const fileHashesRecord: RecordKind<FileHashes, []> = {
  name: () => "file-hashes",
  // One bad entry costs one re-hash, not the whole memo.
  decoder: (v, path) => {
    if (!isJsonObject(v)) throw new DecodeError(path, "expected an object");
    const stamp = d.object({ size: d.number, mtimeMs: d.number, ino: d.number, hash: d.contentHash });
    return Object.fromEntries(
      Object.entries(v).flatMap(([file, s]) => {
        const r = decode(stamp, s);
        return r.ok ? [[file, r.value]] : [];
      }),
    );
  },
};

/** Keys whose table and model payloads `gc --max-size` evicted, with when. */
export interface GcEvicted {
  readonly keys: Readonly<Record<string, string>>;
}

export const gcEvictedRecord: RecordKind<GcEvicted, []> = {
  name: () => "gc-evicted",
  decoder: d.object({ keys: d.record(d.string) }),
};
