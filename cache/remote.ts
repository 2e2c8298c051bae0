/**
 * Remote caches: a shared directory or an HTTP server holding the same paths as a local store
 * (layout.ts: `objects/ab/<hash>`, `runs/ab/<key>.json`, `records/<name>.json`).
 *
 * Push uploads objects before the manifest that names them, so a remote manifest always has its
 * objects. Pull verifies every object against the xxhash64 in its name (and every stage manifest
 * against the key its fingerprint hashes to) before writing it into the local store through the
 * store's atomic writes: a corrupted or truncated remote file is reported and never used.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { hashBytes, hashJson, isCacheKey, isContentHash, type CacheKey } from "../core/hash.js";
import { manifestPath, objectPath, recordPath } from "./layout.js";
import type { RemoteBackend } from "./remote-backend.js";
import { DirRemote } from "./remote-dir.js";
import { HttpRemote, type HttpRemoteOptions } from "./remote-http.js";
import { isManifest, linkedKeys, type ObjectRef, type Store } from "./store.js";

export type { RemoteBackend };

export class RemoteSpecError extends Error {}

/** `http(s)://…` → HTTP store; `file://…` or a plain path → shared directory. */
export function openRemote(spec: string, opts: HttpRemoteOptions = {}): RemoteBackend {
  if (/^https?:\/\//i.test(spec)) return new HttpRemote(spec, opts);
  if (/^file:\/\//i.test(spec)) return new DirRemote(fileURLToPath(spec));
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(spec);
  if (scheme)
    throw new RemoteSpecError(
      `unsupported remote "${scheme[1]}://": use a directory path, file://PATH or http(s)://HOST/PATH`,
    );
  return new DirRemote(path.resolve(spec));
}

export interface TransferReport {
  /** Manifests transferred. */
  manifests: number;
  objects: number;
  bytes: number;
  /** Keys already present at the destination. */
  present: number;
  /** Keys the source does not have. */
  missing: CacheKey[];
  /** Verification failures and damaged files: named, never used. */
  problems: string[];
}

const emptyReport = (): TransferReport => ({
  manifests: 0,
  objects: 0,
  bytes: 0,
  present: 0,
  missing: [],
  problems: [],
});

export class RemoteCache {
  constructor(
    readonly backend: RemoteBackend,
    private readonly store: Store,
    private readonly concurrency = 4,
  ) {}

  /** Uploads each key's objects, then its manifest, then those of the sub-results it used. */
  async push(keys: Iterable<CacheKey>): Promise<TransferReport> {
    const r = emptyReport();
    const seen = new Set<string>();
    const one = async (key: CacheKey): Promise<CacheKey[]> => {
      const m = await this.store.readManifest(key);
      if (!m) {
        r.missing.push(key);
        return [];
      }
      for (const ref of Object.values(m.objects)) {
        if ((await this.backend.size(objectPath(ref.hash))) === ref.size) continue;
        const bytes = await this.store.getObject(ref);
        if (!bytes) {
          r.problems.push(`local object ${ref.hash} of ${key} is missing or damaged: not pushed`);
          return [];
        }
        await this.backend.put(objectPath(ref.hash), bytes);
        r.objects++;
        r.bytes += bytes.length;
      }
      if ((await this.backend.size(manifestPath(key))) === undefined) {
        await this.backend.put(manifestPath(key), Buffer.from(JSON.stringify(m, null, 1)));
        r.manifests++;
      } else r.present++;
      return linkedKeys(m);
    };
    await this.walk(keys, seen, one);
    return r;
  }

  /** Downloads each key's manifest and objects (and its sub-results), verifying everything. */
  async pull(keys: Iterable<CacheKey>): Promise<TransferReport> {
    const r = emptyReport();
    await this.walk(keys, new Set(), (key) => this.pullOne(key, r));
    return r;
  }

  /** Read-through for `run --remote`: true when the key's complete result is now in the store. */
  async fetch(key: CacheKey): Promise<{ ok: boolean; report: TransferReport }> {
    const r = emptyReport();
    await this.walk([key], new Set(), (k) => this.pullOne(k, r));
    return { ok: r.problems.length === 0 && !r.missing.includes(key), report: r };
  }

  async putRecord(name: string, value: unknown): Promise<void> {
    await this.backend.put(recordPath(name), Buffer.from(JSON.stringify(value, null, 1)));
  }

  async getRecord(name: string): Promise<unknown> {
    const bytes = await this.backend.get(recordPath(name));
    if (!bytes) return undefined;
    try {
      return JSON.parse(Buffer.from(bytes).toString("utf8")) as unknown;
    } catch {
      return undefined;
    }
  }

  private async pullOne(key: CacheKey, r: TransferReport): Promise<CacheKey[]> {
    if (!isCacheKey(key)) {
      r.problems.push(`"${String(key)}" is not a cache key`);
      return [];
    }
    const local = await this.store.readCompleteManifest(key);
    if (local) {
      r.present++;
      return linkedKeys(local);
    }
    const raw = await this.backend.get(manifestPath(key));
    if (!raw) {
      r.missing.push(key);
      return [];
    }
    let m: unknown;
    try {
      m = JSON.parse(Buffer.from(raw).toString("utf8"));
    } catch {
      r.problems.push(`remote manifest ${key} does not parse: not used`);
      return [];
    }
    if (!isManifest(m)) {
      r.problems.push(`remote manifest ${key} has no valid objects map: not used`);
      return [];
    }
    // A manifest that carries the document its key hashes (a stage's fingerprint) must match it.
    const fp = m.fingerprint;
    if (fp !== undefined && hashJson(fp) !== key) {
      r.problems.push(`remote manifest ${key} holds the fingerprint of another key: not used`);
      return [];
    }
    for (const ref of Object.values(m.objects)) {
      if (await this.store.hasObject(ref)) continue;
      const bad = await this.pullObject(ref, r);
      if (bad) {
        r.problems.push(`${bad} (needed by ${key}): not used`);
        return [];
      }
    }
    await this.store.writeManifest(key, m);
    r.manifests++;
    return linkedKeys(m);
  }

  /** Downloads and verifies one object; returns what was wrong, or undefined when stored. */
  private async pullObject(ref: ObjectRef, r: TransferReport): Promise<string | undefined> {
    if (!isContentHash(ref.hash)) return `object name "${String(ref.hash)}" is not a content hash`;
    const bytes = await this.backend.get(objectPath(ref.hash));
    if (!bytes) return `object ${ref.hash} is missing on the remote`;
    const actual = hashBytes(bytes);
    if (actual !== ref.hash || bytes.length !== ref.size)
      return `remote object ${ref.hash} is corrupt: expected ${ref.size} bytes hashing to ${ref.hash}, got ${bytes.length} bytes hashing to ${actual}`;
    await this.store.putObject(bytes);
    r.objects++;
    r.bytes += bytes.length;
    return undefined;
  }

  /** Processes keys and the keys they lead to, each once, `concurrency` at a time. */
  private async walk(
    start: Iterable<CacheKey>,
    seen: Set<string>,
    one: (key: CacheKey) => Promise<CacheKey[]>,
  ): Promise<void> {
    const queue = [...start];
    const running = new Set<Promise<void>>();
    let failure: Error | undefined;
    while ((queue.length || running.size) && failure === undefined) {
      while (queue.length && running.size < this.concurrency) {
        const key = queue.shift()!;
        if (seen.has(key)) continue;
        seen.add(key);
        const p: Promise<void> = one(key)
          .then((next) => void queue.push(...next))
          .catch((err: unknown) => void (failure ??= err instanceof Error ? err : new Error(String(err))))
          .finally(() => running.delete(p));
        running.add(p);
      }
      if (running.size) await Promise.race(running);
    }
    await Promise.all(running);
    if (failure !== undefined) throw failure;
  }
}
