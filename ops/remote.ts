/**
 * Remote caches for the operations: opening one from a URL or path (with credentials from the
 * environment or netrc for HTTP), read-through for `run`, and remote failures as diagnostics.
 * Loaded only when a remote is named: an ordinary run never loads the HTTP client.
 */
import { openRemote, RemoteCache, RemoteSpecError, type ExpectedOutputs } from "../cache/remote.js";
import { describeAuthFailure, RemoteCredentialsError, remoteOptions } from "../cache/remote-auth.js";
import { RemoteError } from "../cache/remote-backend.js";
import { RemoteAuthError, RemoteHttpError } from "../cache/remote-http.js";
import type { Store } from "../cache/store.js";
import type { Diagnostic } from "../core/diagnostics.js";
import type { CacheKey } from "../core/hash.js";
import type { EventSink } from "../engine/events.js";
import { LockFileError } from "../engine/lock-file.js";
import { OpError, UsageError } from "./errors.js";

export { RemoteCache };
export type { ExpectedOutputs, TransferReport } from "../cache/remote.js";

/**
 * Time limit and retries for an HTTP remote from the environment: $QUIVER_REMOTE_TIMEOUT (seconds
 * of waiting for a response or for the next bytes of a body, default 30) and
 * $QUIVER_REMOTE_RETRIES (default 3).
 */
function networkOptions(): { timeoutMs?: number; retries?: number } {
  const num = (name: string, min: number): number | undefined => {
    const v = process.env[name];
    if (v === undefined || v === "") return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min)
      throw new UsageError(`$${name} must be a number ≥ ${min}, got "${v}"`);
    return n;
  };
  const timeout = num("QUIVER_REMOTE_TIMEOUT", 0.01);
  const retries = num("QUIVER_REMOTE_RETRIES", 0);
  return {
    ...(timeout !== undefined ? { timeoutMs: Math.round(timeout * 1000) } : {}),
    ...(retries !== undefined ? { retries: Math.floor(retries) } : {}),
  };
}

/** The remote at `spec` (a directory, file://PATH or http(s)://URL). */
export function remoteFor(store: Store, spec: string): RemoteCache {
  try {
    return new RemoteCache(openRemote(spec, { ...remoteOptions(spec), ...networkOptions() }), store);
  } catch (err) {
    if (err instanceof RemoteCredentialsError) throw new UsageError(`remote credentials: ${err.message}`);
    if (err instanceof RemoteSpecError || err instanceof RemoteHttpError || err instanceof TypeError)
      throw new UsageError(`--remote: ${err.message}`);
    throw err;
  }
}

/**
 * Read-through for `run`: a remote that fails is reported once (a warning) and then left alone.
 * `expect`: the outputs the lock records for its keys; a remote result that differs is refused.
 */
export function readThrough(
  remote: RemoteCache,
  onEvent: EventSink,
  expect?: ExpectedOutputs,
): { fetch(key: CacheKey): Promise<boolean> } {
  let down = false;
  const warn = (code: string, message: string, hint?: string) =>
    onEvent({
      type: "warning",
      diagnostic: { severity: "warning", code, message, ...(hint ? { hint } : {}) },
    });
  return {
    fetch: async (key) => {
      if (down) return false;
      try {
        const { ok, report } = await remote.fetch(key, expect);
        for (const p of report.problems) warn("QV_REMOTE_CORRUPT", p);
        return ok;
      } catch (err) {
        down = true;
        if (err instanceof RemoteAuthError) {
          const { message, hint } = describeAuthFailure(err);
          warn("QV_REMOTE_AUTH", `${message}; computing locally`, hint);
          return false;
        }
        warn(
          "QV_REMOTE_UNAVAILABLE",
          `${err instanceof Error ? err.message : String(err)}; computing locally`,
        );
        return false;
      }
    },
  };
}

/** A remote (or lock file) failure as a diagnostic; undefined for any other error. */
export function remoteFailure(err: unknown): Diagnostic | undefined {
  if (err instanceof RemoteAuthError) {
    const { message, hint } = describeAuthFailure(err);
    return {
      severity: "error",
      code: "QV_REMOTE_AUTH",
      message: `${message}; stopped at the first refusal`,
      hint,
    };
  }
  if (err instanceof RemoteHttpError)
    return {
      severity: "error",
      code: "QV_REMOTE",
      message: err.message,
      hint: "check the URL and that the server accepts GET/PUT/HEAD/MOVE ($QUIVER_REMOTE_TIMEOUT and $QUIVER_REMOTE_RETRIES set the time limit and the retries)",
    };
  if (err instanceof RemoteError) return { severity: "error", code: "QV_REMOTE", message: err.message };
  if (err instanceof LockFileError) return { severity: "error", code: "QV_LOCK_FILE", message: err.message };
  return undefined;
}

/** Runs `f`, turning remote and lock-file failures into an OpError. */
export async function withRemoteErrors<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    const d = remoteFailure(err);
    if (d) throw new OpError([d]);
    throw err;
  }
}
