/**
 * Every decision the engine makes is an event. The console reporter, the NDJSON reporter, the
 * run record and the tests all read the same stream.
 */
import type { Diagnostic, SourceLocation } from "../core/diagnostics.js";
import type { CacheKey, ContentHash } from "../core/hash.js";
import type { JsonObject, JsonValue } from "../core/json.js";

export interface Change {
  /** Fingerprint field, e.g. `params.where`, `inputs.table`, `files.data/WZ.csv`, `seed`. */
  readonly path: string;
  readonly before: JsonValue | undefined;
  readonly after: JsonValue | undefined;
  /** Where the changed param is written, when it is a param. */
  readonly location?: SourceLocation;
  /** For a changed input: the upstream stage it comes from. */
  readonly upstream?: string;
}

export type RunReason =
  /** Nothing is recorded for this stage: first run, or the pipeline was renamed. */
  | { readonly kind: "first-run" }
  | { readonly kind: "forced" }
  /** Fingerprint differs from the stage's last run. `cascade`: only inputs changed (an upstream cause). */
  | { readonly kind: "changed"; readonly changes: readonly Change[]; readonly cascade: boolean }
  /** Same fingerprint as the last run, but the cached result is gone or damaged. */
  | { readonly kind: "cache-missing"; readonly detail: string }
  /** A cached output failed verification when a consumer read it: recomputed. */
  | { readonly kind: "repair"; readonly detail: string };

export type SkipReason =
  | { readonly kind: "upstream-failed"; readonly upstream: string }
  /** Stopped after a failure elsewhere; `cancelled`: the batch job of the stage that was cancelled. */
  | { readonly kind: "stopped"; readonly after: string; readonly cancelled?: BatchJobRef }
  /** The run was interrupted (Ctrl-C, SIGTERM, the caller's signal); `cancelled` as for stopped. */
  | { readonly kind: "interrupted"; readonly cancelled?: BatchJobRef };

/** A job in a batch system's queue: the system's name (`slurm`) and its id there. */
export interface BatchJobRef {
  readonly system: string;
  readonly id: string;
}

export type EngineEvent =
  | {
      readonly type: "run-start";
      readonly pipeline: string;
      readonly file: string;
      readonly stages: number;
      readonly jobs: number;
    }
  | {
      readonly type: "cached";
      readonly stage: string;
      readonly key: CacheKey;
      readonly durationMs: number;
      readonly by?: "other-process";
    }
  | {
      readonly type: "planned";
      readonly stage: string;
      readonly key?: CacheKey;
      readonly decision: "cached" | "run" | "run-if-inputs-change";
      readonly reasons: readonly RunReason[];
    }
  | { readonly type: "waiting"; readonly stage: string; readonly key: CacheKey }
  | {
      readonly type: "started";
      readonly stage: string;
      readonly key: CacheKey;
      readonly reasons: readonly RunReason[];
    }
  | {
      readonly type: "progress";
      readonly stage: string;
      readonly fraction: number;
      readonly message?: string;
    }
  | { readonly type: "note"; readonly stage: string; readonly message: string }
  /** The stage's job was handed to a batch system (`system`), which knows it as `id`. */
  | { readonly type: "queued"; readonly stage: string; readonly system: string; readonly id: string }
  | {
      readonly type: "finished";
      readonly stage: string;
      readonly key: CacheKey;
      readonly durationMs: number;
      readonly outputs: Readonly<Record<string, { readonly hash: ContentHash; readonly size: number }>>;
      /** True when every output is byte-identical to the previous run's: downstream can stay cached. */
      readonly sameOutputs: boolean | null;
      readonly summary?: JsonObject;
    }
  | {
      readonly type: "failed";
      readonly stage: string;
      readonly key?: CacheKey;
      readonly durationMs: number;
      readonly diagnostics: readonly Diagnostic[];
    }
  | { readonly type: "skipped"; readonly stage: string; readonly reason: SkipReason }
  /** Something the user should know that stops nothing: a damaged cache entry, a remote that failed. */
  | { readonly type: "warning"; readonly stage?: string; readonly diagnostic: Diagnostic }
  | {
      readonly type: "run-end";
      readonly ok: boolean;
      readonly durationMs: number;
      readonly counts: {
        readonly ran: number;
        readonly cached: number;
        readonly failed: number;
        readonly skipped: number;
      };
    };

export type EventSink = (e: EngineEvent) => void;
