/** A job handed to a runner, and why it failed. */
import type { ObjectRef } from "../../cache/store.js";
import { d, DecodeError, isKeyOf, type Decoder } from "../../core/decode.js";
import type { CacheKey } from "../../core/hash.js";
import { isJsonObject, type JsonValue } from "../../core/json.js";
import type { PortKind } from "../../core/stage.js";
import type { FingerprintDoc } from "../fingerprint.js";
import type { RecordKind } from "./access.js";
import { fingerprintDoc, objectRef, paramPath, portKind } from "./shapes.js";

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
  /** Threads the stage may use. */
  readonly jobs: number;
}

export const jobRecord: RecordKind<Job, [key: CacheKey]> = {
  name: (key) => `job-${key}`,
  decoder: d.object({
    key: d.cacheKey,
    stageId: d.string,
    doc: fingerprintDoc,
    params: d.json,
    seed: d.number,
    inputs: d.record(d.object({ kind: portKind, ref: objectRef, from: d.string })),
    files: d.record(d.string),
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
    }
  /** The store's disk (or quota) is full while saving results. */
  | { readonly kind: "disk-full"; readonly errno: string }
  /** Any other exception: a bug in Quiver or in the stage. */
  | { readonly kind: "bug"; readonly message: string; readonly stack?: string | undefined }
  /** The job never reported: its process died, was killed or cancelled; `detail` says how. */
  | { readonly kind: "lost"; readonly code: string; readonly detail: string };

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
  }),
  "disk-full": d.object({ kind: d.literal("disk-full"), errno: d.string }),
  bug: d.object({ kind: d.literal("bug"), message: d.string, stack: d.optional(d.string) }),
  lost: d.object({ kind: d.literal("lost"), code: d.string, detail: d.string }),
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

export const jobFailureRecord: RecordKind<JobFailure, [key: CacheKey]> = {
  name: (key) => `failure-${key}`,
  decoder: d.object({
    key: d.cacheKey,
    stageId: d.string,
    at: d.string,
    durationMs: d.number,
    failure: stageFailure,
  }),
};

/** Job and failure records are transient: gc removes those older than this. */
export const TRANSIENT_RECORD = /^(job|failure)-[0-9a-f]{16}$/;
