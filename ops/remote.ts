/**
 * Remote caches for the operations: opening one from a URL or path (with credentials from the
 * environment or netrc for HTTP), read-through for `run`, and remote failures as diagnostics.
 * Loaded only when a remote is named: an ordinary run never loads the HTTP client.
 */
import { openRemote, RemoteCache, RemoteSpecError } from "../cache/remote.js";
import { describeAuthFailure, RemoteCredentialsError, remoteOptions } from "../cache/remote-auth.js";
import { RemoteAuthError, RemoteHttpError } from "../cache/remote-http.js";
import type { Store } from "../cache/store.js";
import type { Diagnostic } from "../core/diagnostics.js";
import type { CacheKey } from "../core/hash.js";
import type { EventSink } from "../engine/events.js";
import { LockFileError } from "../engine/lock-file.js";
import { OpError, UsageError } from "./errors.js";

export { RemoteCache };
export type { TransferReport } from "../cache/remote.js";

/** The remote at `spec` (a directory, file://PATH or http(s)://URL). */
export function remoteFor(store: Store, spec: string): RemoteCache {
  try {
    return new RemoteCache(openRemote(spec, remoteOptions(spec)), store);
  } catch (err) {
    if (err instanceof RemoteCredentialsError) throw new UsageError(`remote credentials: ${err.message}`);
    if (err instanceof RemoteSpecError || err instanceof RemoteHttpError || err instanceof TypeError)
      throw new UsageError(`--remote: ${err.message}`);
    throw err;
  }
}

/** Read-through for `run`: a remote that fails is reported once (a warning) and then left alone. */
export function readThrough(
  remote: RemoteCache,
  onEvent: EventSink,
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
        const { ok, report } = await remote.fetch(key);
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
      hint: "check the URL and that the server accepts GET/PUT/HEAD/MOVE",
    };
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
