/**
 * Remote caches: a shared directory or an HTTP server holding the same paths as a local store
 * (layout.ts: `objects/ab/<hash>`, `runs/ab/<key>.json`, `records/<name>.json`).
 *
 * Push uploads objects before the manifest that names them, so a remote manifest always has its
 * objects; manifests travel with their checksum. Nothing pulled is trusted: a manifest must carry
 * the checksum it was pushed with (a changed digit in a summary is caught as received, not given a
 * fresh local checksum) and the document its key hashes (its fingerprint: a manifest filed under
 * another key, or with the fingerprint removed, is rejected); when the caller knows what the
 * result should hold (the lock's output hashes), the manifest's objects must be exactly those; and
 * every object must hash to its name. Objects stream to a temp file, never past their size. A
 * record that fails is reported naming the remote and the key, and never enters the store.
 *
 * The checks stop accidents and tampering that does not recompute checksums; someone who can
 * write to a remote can still plant a consistent result for a key no lock pins down. The lock
 * file is what binds a result to its outputs (docs/security.md).
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { hashJson, isCacheKey, isContentHash, type CacheKey } from "../core/hash.js";
import { manifestPath, objectPath, recordPath } from "./layout.js";
import { RemoteTooLargeError, type RemoteBackend } from "./remote-backend.js";
import { DirRemote } from "./remote-dir.js";
import { HttpRemote, type HttpRemoteOptions } from "./remote-http.js";
import { isManifest, linkedKeys, type Manifest, type ObjectRef, type Store } from "./store.js";

/** The largest manifest or record a remote may send (they are small JSON documents). */
const MAX_DOCUMENT_BYTES = 64 << 20;

/** What a result must hold when something else (the lock) says so: port → object. */
export type ExpectedOutputs = ReadonlyMap<CacheKey, Readonly<Record<string, { hash: string; size: number }>>>;

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
        const text = await this.store.manifestText(key);
        if (!text) {
          r.problems.push(`local manifest ${key} is damaged: not pushed`);
          return [];
        }
        await this.backend.put(manifestPath(key), Buffer.from(text));
        r.manifests++;
      } else r.present++;
      return linkedKeys(m);
    };
    await this.walk(keys, seen, one);
    return r;
  }

  /**
   * Downloads each key's manifest and objects (and its sub-results), verifying everything;
   * `expect` gives the outputs some keys must have (from the lock).
   */
  async pull(keys: Iterable<CacheKey>, expect?: ExpectedOutputs): Promise<TransferReport> {
    const r = emptyReport();
    await this.walk(keys, new Set(), (key) => this.pullOne(key, r, expect));
    return r;
  }

  /** Read-through for `run --remote`: true when the key's complete result is now in the store. */
  async fetch(key: CacheKey, expect?: ExpectedOutputs): Promise<{ ok: boolean; report: TransferReport }> {
    const r = emptyReport();
    await this.walk([key], new Set(), (k) => this.pullOne(k, r, expect));
    return { ok: r.problems.length === 0 && !r.missing.includes(key), report: r };
  }

  async putRecord(name: string, value: unknown): Promise<void> {
    await this.backend.put(recordPath(name), Buffer.from(JSON.stringify(value, null, 1)));
  }

  async getRecord(name: string): Promise<unknown> {
    const bytes = await this.backend.get(recordPath(name), MAX_DOCUMENT_BYTES).catch((err: unknown) => {
      if (err instanceof RemoteTooLargeError) return undefined;
      throw err;
    });
    if (!bytes) return undefined;
    try {
      return JSON.parse(Buffer.from(bytes).toString("utf8")) as unknown;
    } catch {
      return undefined;
    }
  }

  private async pullOne(key: CacheKey, r: TransferReport, expect?: ExpectedOutputs): Promise<CacheKey[]> {
    const where = this.backend.display;
    if (!isCacheKey(key)) {
      r.problems.push(`"${String(key)}" is not a cache key`);
      return [];
    }
    const local = await this.store.readCompleteManifest(key);
    if (local) {
      r.present++;
      return linkedKeys(local);
    }
    const reject = (why: string): CacheKey[] => {
      r.problems.push(`${where}: manifest ${key} ${why}: not used`);
      return [];
    };
    let raw: Uint8Array | undefined;
    try {
      raw = await this.backend.get(manifestPath(key), MAX_DOCUMENT_BYTES);
    } catch (err) {
      if (err instanceof RemoteTooLargeError) return reject(`is larger than ${MAX_DOCUMENT_BYTES} bytes`);
      throw err;
    }
    if (!raw) {
      r.missing.push(key);
      return [];
    }
    const checked = checkManifest(key, raw, expect?.get(key));
    if (!checked.ok) return reject(checked.why);
    const m = checked.manifest;
    for (const ref of Object.values(m.objects)) {
      if (await this.store.hasObject(ref)) continue;
      const bad = await this.pullObject(ref, r);
      if (bad) return reject(`names an object that cannot be used: ${bad}`);
    }
    await this.store.writeManifest(key, m);
    r.manifests++;
    return linkedKeys(m);
  }

  /** Downloads (to a temp file) and verifies one object; returns what was wrong, or undefined when stored. */
  private async pullObject(ref: ObjectRef, r: TransferReport): Promise<string | undefined> {
    if (!isContentHash(ref.hash)) return `object name "${String(ref.hash)}" is not a content hash`;
    const tmp = await this.store.tempFile(ref.hash);
    let n: number | undefined;
    try {
      n = await this.backend.getToFile(objectPath(ref.hash), tmp, ref.size);
    } catch (err) {
      await fs.promises.rm(tmp, { force: true });
      if (err instanceof RemoteTooLargeError)
        return `remote object ${ref.hash} is corrupt: larger than its ${ref.size} bytes`;
      throw err;
    }
    if (n === undefined) return `object ${ref.hash} is missing on the remote`;
    const adopted = await this.store.adoptObject(tmp, ref);
    if (!adopted.ok) return `remote object ${ref.hash} is corrupt: ${adopted.detail}`;
    r.objects++;
    r.bytes += n;
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

/**
 * A manifest as received, checked: it parses, its checksum is the one it was pushed with, it holds
 * the document its key hashes, and (when known) its objects are the expected ones.
 */
function checkManifest(
  key: CacheKey,
  raw: Uint8Array,
  expected: Readonly<Record<string, { hash: string; size: number }>> | undefined,
): { ok: true; manifest: Manifest } | { ok: false; why: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(raw).toString("utf8"));
  } catch {
    const start = Buffer.from(raw.subarray(0, 64)).toString("utf8").trimStart();
    return {
      ok: false,
      why: `does not parse${start.startsWith("<") ? " (the server sent an HTML page)" : ""}`,
    };
  }
  if (!isManifest(parsed)) return { ok: false, why: "has no valid objects map" };
  const { integrity, ...body } = parsed;
  if (typeof integrity !== "string") return { ok: false, why: "carries no checksum" };
  if (integrity !== hashJson(body))
    return { ok: false, why: "does not match its checksum (altered or damaged on the remote)" };
  if (!("fingerprint" in body) || body.fingerprint === undefined)
    return { ok: false, why: "names no document for its key (no fingerprint)" };
  if (hashJson(body.fingerprint) !== key) return { ok: false, why: "holds the fingerprint of another key" };
  if (expected) {
    const ports = [...new Set([...Object.keys(expected), ...Object.keys(body.objects)])].sort();
    for (const port of ports) {
      const want = Object.hasOwn(expected, port) ? expected[port] : undefined;
      const got = Object.hasOwn(body.objects, port) ? body.objects[port] : undefined;
      if (!want || !got || want.hash !== got.hash || want.size !== got.size)
        return {
          ok: false,
          why: `does not hold what the lock records: ${port} is ${got ? got.hash : "missing"} on the remote, ${want ? want.hash : "absent"} in the lock`,
        };
    }
  }
  return { ok: true, manifest: body };
}
