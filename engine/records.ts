/**
 * Every document Quiver writes and reads back — manifests in the store, records, the lock file —
 * as a type and a decoder, in one place. A read goes through a decoder: a document that does not
 * decode is a miss (reported to the store's problem sink) or a located error, never a cast.
 * Where each lives on disk is cache/layout.ts; the store only knows manifests have `objects`.
 * One module on purpose: it is on every run's path, and each module costs a no-op run its load.
 *
 *   manifest   runs/<key>.json           stage-result | sub-result | input-names
 *   record     records/pipeline-<name>   LastRun: the latest run of a pipeline, per stage
 *              records/events-<name>     RunEvents: the events of that run (for the report)
 *              records/lock-<name>       LockKeys: the keys the pipeline's lock file references
 *              records/sweep-<name>      SweepRecord: the points of the latest sweep and their keys
 *              records/file-hashes       FileHashes: the memo of input file hashes
 *              records/gc-evicted        GcEvicted: keys whose payload gc evicted for a size budget
 *   job        jobs/<key>/job.json       Job: a stage run handed to a runner
 *              jobs/<key>/failure.json   JobFailure: why it failed (written where it ran)
 *              jobs/<key>/events.ndjson  JobEventLine per line: started, progress, note, exit
 *              jobs/<key>/batch.json     BatchSubmission: the batch system's id for it
 *              jobs/<key>/log            its output (plain text, not decoded)
 *   file       <pipeline>.lock           LockFile (engine/lock-file.ts reads and writes it)
 */
import type { ObjectRef, Store } from "../cache/store.js";
import { DecodeError, d, decode, isKeyOf, type Decoder } from "../core/decode.js";
import type { CacheKey, FileStamp } from "../core/hash.js";
import { isJsonObject, type JsonObject, type JsonValue } from "../core/json.js";
import type { PortKind } from "../core/stage.js";
import type { EngineEvent } from "./events.js";
import type { FingerprintDoc } from "./fingerprint.js";

// ---------------------------------------------------------------------------------------------
// Pieces several records share

const portKind = d.oneOf(["table", "model", "metrics"] as const);
const objectRef: Decoder<ObjectRef> = d.object({ hash: d.contentHash, size: d.number });
const objects = d.record(objectRef);
const kinds = d.record(portKind);
const paramPath = d.array(d.either<string, number>(d.string, d.number));

const fingerprintShape = d.object({
  format: d.number,
  stage: d.object({ type: d.string, version: d.number }),
  params: d.json,
  inputs: d.record(d.object({ kind: portKind, hash: d.contentHash })),
  files: d.record(d.contentHash),
  seed: d.optional(d.number),
  environment: d.optional(d.json),
  inputNames: d.optional(d.record(d.string)),
});

/**
 * A fingerprint document is checked field by field but kept as written: its exact content is what
 * its key hashes, so nothing may be dropped or added on the way in.
 */
const fingerprintDoc: Decoder<FingerprintDoc> = (v, path) => {
  fingerprintShape(v, path);
  if (!isJsonObject(v)) throw new DecodeError(path, "expected an object");
  if (!("seed" in v) || !("environment" in v))
    throw new DecodeError(path, "expected the fields seed and environment");
  return v as FingerprintDoc;
};

// ---------------------------------------------------------------------------------------------
// Manifests (runs/<key>.json): a stage result, a sub-result, an input-names index

/** What one stage run produced: the manifest stored under the stage's cache key. */
export interface StageResultManifest {
  readonly record: "stage-result";
  readonly objects: Readonly<Record<string, ObjectRef>>;
  readonly kinds: Readonly<Record<string, PortKind>>;
  readonly fingerprint: FingerprintDoc;
  readonly stage: { readonly id: string; readonly type: string };
  /** For display: port → the `stage.port` it came from in the run that produced this. */
  readonly inputsFrom: Readonly<Record<string, string>>;
  readonly summary: JsonObject;
  readonly notes: readonly string[];
  /** Sub-results this run cached, and the input-names index that leads here: kept and moved with it. */
  readonly linked: readonly CacheKey[];
  readonly durationMs: number;
  readonly createdAt: string;
}

const stageResultManifest: Decoder<StageResultManifest> = d.object({
  record: d.literal("stage-result"),
  objects,
  kinds,
  fingerprint: fingerprintDoc,
  stage: d.object({ id: d.string, type: d.string }),
  inputsFrom: d.record(d.string),
  summary: d.jsonObject,
  notes: d.array(d.string),
  linked: d.array(d.cacheKey),
  durationMs: d.number,
  createdAt: d.string,
});

/** A sub-computation a stage cached through `ctx.memo` (one fold, one ensemble, ...). */
export interface SubResultManifest {
  readonly record: "sub-result";
  readonly objects: { readonly value: ObjectRef };
  readonly kinds: { readonly value: PortKind };
  readonly memoOf: { readonly type: string; readonly stage: string };
  /** The document the memo key hashes (absent in sub-results stored before it was recorded). */
  readonly fingerprint?: JsonValue | undefined;
  readonly createdAt: string;
}

const subResultManifest: Decoder<SubResultManifest> = d.object({
  record: d.literal("sub-result"),
  objects: d.object({ value: objectRef }),
  kinds: d.object({ value: portKind }),
  memoOf: d.object({ type: d.string, stage: d.string }),
  fingerprint: d.optional(d.json),
  createdAt: d.string,
});

/**
 * Stored under a stage's key when its result depends on the names of its inputs' producers (the
 * stage read `ctx.inputFrom`): the result itself is under the key of the fingerprint plus those
 * names. Like a compiler cache's manifest of included headers: the first lookup says what else
 * goes into the key.
 */
export interface InputNamesIndex {
  readonly record: "input-names";
  readonly objects: Readonly<Record<string, never>>;
  readonly fingerprint: FingerprintDoc;
  /** The input ports whose producer names the stage read. */
  readonly ports: readonly string[];
}

const inputNamesIndex: Decoder<InputNamesIndex> = d.object({
  record: d.literal("input-names"),
  objects: d.record((v, path) => {
    throw new DecodeError(path, `expected no objects, got ${JSON.stringify(v)}`);
  }),
  fingerprint: fingerprintDoc,
  ports: d.array(d.string),
});

export type AnyManifest = StageResultManifest | SubResultManifest | InputNamesIndex;

const manifestDecoders: { readonly [K in AnyManifest["record"]]: Decoder<AnyManifest> } = {
  "stage-result": stageResultManifest,
  "sub-result": subResultManifest,
  "input-names": inputNamesIndex,
};

const anyManifest: Decoder<AnyManifest> = (v, path) => {
  const kind = isJsonObject(v) ? v.record : undefined;
  const dec = isKeyOf(manifestDecoders, kind) ? manifestDecoders[kind] : undefined;
  if (!dec)
    throw new DecodeError(
      "record",
      `expected "stage-result", "sub-result" or "input-names", got ${JSON.stringify(kind)}`,
    );
  return dec(v, path);
};

/**
 * A manifest decoded; undefined when missing, damaged (the store reports and removes those), of
 * another kind than asked, or written by another version of Quiver (reported, treated as a miss).
 */
export async function readManifestAs<K extends AnyManifest["record"]>(
  store: Store,
  key: CacheKey,
  record: K,
  opts: { complete?: boolean } = {},
): Promise<Extract<AnyManifest, { record: K }> | undefined> {
  const raw = opts.complete ? await store.readCompleteManifest(key) : await store.readManifest(key);
  if (!raw) return undefined;
  const r = decode(anyManifest, raw);
  if (!r.ok) {
    store.report({ kind: "bad-record", what: `manifest ${key}`, detail: r.error.message });
    return undefined;
  }
  return r.value.record === record ? (r.value as Extract<AnyManifest, { record: K }>) : undefined;
}

/**
 * Any manifest decoded, undefined when missing or not decodable; with `complete`, only when all
 * its objects are present.
 */
export async function readAnyManifest(
  store: Store,
  key: CacheKey,
  opts: { complete?: boolean } = {},
): Promise<AnyManifest | undefined> {
  const raw = opts.complete ? await store.readCompleteManifest(key) : await store.readManifest(key);
  if (!raw) return undefined;
  const r = decode(anyManifest, raw);
  return r.ok ? r.value : undefined;
}

// ---------------------------------------------------------------------------------------------
// Records (records/<name>.json): reading and writing them through their decoders

/** A kind of record: its name (from its arguments) and its decoder. */
export interface RecordKind<T, A extends unknown[]> {
  readonly name: (...args: A) => string;
  readonly decoder: Decoder<T>;
}

/** The record, decoded; undefined when absent or when it does not decode (reported to the store). */
export async function readRecord<T, A extends unknown[]>(
  store: Store,
  kind: RecordKind<T, A>,
  ...args: A
): Promise<T | undefined> {
  const name = kind.name(...args);
  const raw = await store.readRecord(name);
  if (raw === undefined) return undefined;
  const r = decode(kind.decoder, raw);
  if (r.ok) return r.value;
  store.report({ kind: "bad-record", what: `record ${name}`, detail: r.error.message });
  return undefined;
}

export async function writeRecord<T, A extends unknown[]>(
  store: Store,
  kind: RecordKind<T, A>,
  value: T,
  ...args: A
): Promise<void> {
  await store.writeRecord(kind.name(...args), value);
}

// ---------------------------------------------------------------------------------------------
// Records about runs: the latest run, its events, lock keys, the latest sweep, gc's evictions,
// the file-hash memo
export type StageRunStatus = "ran" | "cached";

/** What the latest run of a pipeline did, per stage (the base of `status` and early cutoff). */
export interface LastRun {
  readonly pipeline: string;
  readonly at: string;
  readonly stages: Readonly<
    Record<
      string,
      {
        readonly key: CacheKey;
        readonly status: StageRunStatus;
        readonly durationMs?: number | undefined;
        /** Input ports whose producers' names the result depends on (a lookup hint; see manifests.ts). */
        readonly inputNames?: readonly string[] | undefined;
      }
    >
  >;
}

export const lastRunDecoder: Decoder<LastRun> = d.object({
  pipeline: d.string,
  at: d.string,
  stages: d.record(
    d.object({
      key: d.cacheKey,
      status: d.oneOf(["ran", "cached"]),
      durationMs: d.optional(d.number),
      inputNames: d.optional(d.array(d.string)),
    }),
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
  "queued",
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

/**
 * The distinct results of a pipeline's latest runs, oldest first: a run whose keys equal the
 * newest entry's adds nothing, so a no-op rerun or `verify` never hides what changed before it.
 * `diff --against previous` and the report's "what changed" compare with the entry before.
 */
export interface RunHistory {
  readonly pipeline: string;
  readonly runs: readonly { readonly at: string; readonly stages: Readonly<Record<string, CacheKey>> }[];
}

export const runHistoryRecord: RecordKind<RunHistory, [pipeline: string]> = {
  name: (pipeline) => `history-${pipeline}`,
  decoder: d.object({
    pipeline: d.string,
    runs: d.array(d.object({ at: d.string, stages: d.record(d.cacheKey) })),
  }),
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
    // Entries written before ctime and the hashing time were recorded decode to nothing: one re-hash.
    const stamp = d.object({
      size: d.number,
      mtimeMs: d.number,
      ctimeMs: d.number,
      ino: d.number,
      hashedAt: d.number,
      hash: d.contentHash,
    });
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

// ---------------------------------------------------------------------------------------------
// A job handed to a runner, and why it failed
/**
 * One stage run handed to a runner: everything needed to compute a cache key's outputs from the
 * store alone, in this process, another one, or on another machine.
 */
export interface Job {
  readonly key: CacheKey;
  readonly stageId: string;
  readonly doc: FingerprintDoc;
  /** Validated params as the stage receives them. */
  readonly params: JsonValue;
  readonly seed: number;
  readonly inputs: Readonly<
    Record<string, { readonly kind: PortKind; readonly ref: ObjectRef; readonly from: string }>
  >;
  /** File param value as written → absolute path (resolved and confined by the planner). */
  readonly files: Readonly<Record<string, string>>;
  /** Glob param value as written → the files it matched when planned, sorted (keys of `files`). */
  readonly globs: Readonly<Record<string, readonly string[]>>;
  /** Threads the stage may use. */
  readonly jobs: number;
}

/** A document in a job's folder (jobs/<key>/FILE): its file name and decoder. */
export interface JobFileKind<T> {
  readonly file: string;
  readonly decoder: Decoder<T>;
}

/** A job's document, decoded; undefined when absent or when it does not decode (reported). */
export async function readJobDoc<T>(
  store: Store,
  kind: JobFileKind<T>,
  key: CacheKey,
): Promise<T | undefined> {
  const bytes = await store.readJobFile(key, kind.file);
  if (bytes === undefined) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString("utf8"));
  } catch {
    store.report({ kind: "bad-record", what: `jobs/${key}/${kind.file}`, detail: "does not parse" });
    return undefined;
  }
  const r = decode(kind.decoder, raw);
  if (r.ok) return r.value;
  store.report({ kind: "bad-record", what: `jobs/${key}/${kind.file}`, detail: r.error.message });
  return undefined;
}

export async function writeJobDoc<T>(
  store: Store,
  kind: JobFileKind<T>,
  value: T,
  key: CacheKey,
): Promise<void> {
  await store.writeJobFile(key, kind.file, JSON.stringify(value, null, 1));
}

export const jobFile: JobFileKind<Job> = {
  file: "job.json",
  decoder: d.object({
    key: d.cacheKey,
    stageId: d.string,
    doc: fingerprintDoc,
    params: d.json,
    seed: d.number,
    inputs: d.record(d.object({ kind: portKind, ref: objectRef, from: d.string })),
    files: d.record(d.string),
    globs: d.record(d.array(d.string)),
    jobs: d.number,
  }),
};

/**
 * Why a stage job failed, as data that crosses process (and machine) boundaries: the head turns it
 * into a diagnostic located in the pipeline file, exactly as for a failure in its own process.
 */
export type StageFailure =
  /** A StageError: the user's data or params, with the param path and offset it points at. */
  | {
      readonly kind: "stage-error";
      readonly code: string;
      readonly message: string;
      readonly hint?: string | undefined;
      readonly param?: readonly (string | number)[] | undefined;
      readonly offset?: number | undefined;
      readonly length?: number | undefined;
      readonly data?: { readonly file?: string; readonly row?: number; readonly column?: string } | undefined;
      /** Lineage steps the message names, for the head to locate at the stages that wrote them. */
      readonly marks?: readonly string[] | undefined;
    }
  /** The store's disk (or quota, or its inodes) is full while saving results. */
  | { readonly kind: "disk-full"; readonly errno: string }
  /** A file or folder of the store cannot be read or written (permissions, a read-only mount). */
  | { readonly kind: "store-access"; readonly errno: string; readonly path: string }
  /** Any other exception: a bug in Quiver or in the stage. */
  | { readonly kind: "bug"; readonly message: string; readonly stack?: string | undefined }
  /**
   * The job ended without a word of its own: its process died, was killed, cancelled, timed out,
   * or never started; `detail` says how (with the last lines of its log), `hint` what to do.
   */
  | {
      readonly kind: "lost";
      readonly code: string;
      readonly detail: string;
      readonly hint?: string | undefined;
      /** The job's log, for the whole story. */
      readonly log?: string | undefined;
      /** A resource the failure concerns (a time limit, memory), to point at it in the pipeline. */
      readonly resource?: string | undefined;
    };

const failureDecoders: { readonly [K in StageFailure["kind"]]: Decoder<StageFailure> } = {
  "stage-error": d.object({
    kind: d.literal("stage-error"),
    code: d.string,
    message: d.string,
    hint: d.optional(d.string),
    param: d.optional(paramPath),
    offset: d.optional(d.number),
    length: d.optional(d.number),
    data: d.optional(
      d.object({ file: d.optional(d.string), row: d.optional(d.number), column: d.optional(d.string) }),
    ),
    marks: d.optional(d.array(d.string)),
  }),
  "disk-full": d.object({ kind: d.literal("disk-full"), errno: d.string }),
  "store-access": d.object({ kind: d.literal("store-access"), errno: d.string, path: d.string }),
  bug: d.object({ kind: d.literal("bug"), message: d.string, stack: d.optional(d.string) }),
  lost: d.object({
    kind: d.literal("lost"),
    code: d.string,
    detail: d.string,
    hint: d.optional(d.string),
    log: d.optional(d.string),
    resource: d.optional(d.string),
  }),
};

const stageFailure: Decoder<StageFailure> = (v, path) => {
  const kind = isJsonObject(v) ? v.kind : undefined;
  const dec = isKeyOf(failureDecoders, kind) ? failureDecoders[kind] : undefined;
  if (!dec) throw new DecodeError(`${path}.kind`, `unknown failure kind ${JSON.stringify(kind)}`);
  return dec(v, path);
};

export interface JobFailure {
  readonly key: CacheKey;
  readonly stageId: string;
  readonly at: string;
  readonly durationMs: number;
  readonly failure: StageFailure;
}

export const jobFailureFile: JobFileKind<JobFailure> = {
  file: "failure.json",
  decoder: d.object({
    key: d.cacheKey,
    stageId: d.string,
    at: d.string,
    durationMs: d.number,
    failure: stageFailure,
  }),
};

/**
 * What a job says while it runs, one JSON document per line of jobs/<key>/events.ndjson, appended
 * by `quiver exec` wherever it runs. The head reads them for any runner: `started` proves the node
 * sees and can write the store, `exit` that the job is over (its result or failure is stored).
 */
export type JobEventLine =
  | {
      readonly type: "started";
      readonly at: string;
      readonly host: string;
      readonly pid: number;
      /** The batch system's id of the job, when it runs under one. */
      readonly batchId?: string | undefined;
    }
  | { readonly type: "progress"; readonly fraction: number; readonly message?: string | undefined }
  | { readonly type: "note"; readonly message: string }
  | { readonly type: "exit"; readonly at: string; readonly code: number; readonly durationMs: number };

const jobEventDecoders: { readonly [K in JobEventLine["type"]]: Decoder<JobEventLine> } = {
  started: d.object({
    type: d.literal("started"),
    at: d.string,
    host: d.string,
    pid: d.number,
    batchId: d.optional(d.string),
  }),
  progress: d.object({ type: d.literal("progress"), fraction: d.number, message: d.optional(d.string) }),
  note: d.object({ type: d.literal("note"), message: d.string }),
  exit: d.object({ type: d.literal("exit"), at: d.string, code: d.number, durationMs: d.number }),
};

export const JOB_EVENTS_FILE = "events.ndjson";
export const JOB_LOG_FILE = "log";

/** One line of a job's events; undefined for a line that does not decode (a torn write, another version). */
export function decodeJobEvent(line: string): JobEventLine | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  const type = isJsonObject(v) ? v.type : undefined;
  const dec = isKeyOf(jobEventDecoders, type) ? jobEventDecoders[type] : undefined;
  if (!dec) return undefined;
  const r = decode(dec, v);
  return r.ok ? r.value : undefined;
}

/** A job handed to a batch system: which one, and the id it gave the job (for cancel, gc, clean). */
export interface BatchSubmission {
  /** The runner's name (`slurm`, ...). */
  readonly runner: string;
  /**
   * The batch system's id of this job (`1234`, or `1234_5` for a task of an array); empty while
   * the submission is on its way (the run's jobs are then found by `name`).
   */
  readonly id: string;
  /** The name the jobs of the run carry in the queue. */
  readonly name: string;
  readonly at: string;
}

export const batchSubmissionFile: JobFileKind<BatchSubmission> = {
  file: "batch.json",
  decoder: d.object({ runner: d.string, id: d.string, name: d.string, at: d.string }),
};

// ---------------------------------------------------------------------------------------------
// The lock file (<pipeline>.lock, next to the pipeline): engine/lock-file.ts reads and writes it

export const LOCK_VERSION = 1;

export interface LockOutput {
  readonly kind: PortKind;
  readonly hash: ObjectRef["hash"];
  readonly size: number;
}

export interface LockStage {
  readonly type: string;
  readonly key: CacheKey;
  readonly fingerprint: FingerprintDoc;
  readonly outputs: Readonly<Record<string, LockOutput>>;
  /** `port.path.to.leaf` → number, for the stage's metrics outputs. */
  readonly metrics: Readonly<Record<string, number>>;
}

export interface LockFile {
  readonly quiver_lock: number;
  readonly pipeline: string;
  readonly stages: Readonly<Record<string, LockStage>>;
}

export const lockFileDecoder: Decoder<LockFile> = d.object({
  quiver_lock: d.number,
  pipeline: d.string,
  stages: d.record(
    d.object({
      type: d.string,
      key: d.cacheKey,
      fingerprint: fingerprintDoc,
      outputs: d.record(d.object({ kind: portKind, hash: d.contentHash, size: d.number })),
      metrics: d.record(d.number),
    }),
  ),
});
