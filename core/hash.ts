/**
 * Content hashing: xxhash64 (xxhash-wasm), written as 16 hex digits.
 *
 * Files are hashed through a memo of (path, size, mtime, ctime, inode) → hash kept in the store,
 * so an unchanged multi-gigabyte input is not re-read on every run; a `touch` changes mtime, which
 * costs one re-hash but, the content being equal, no rerun. What the memo trusts, and what it
 * does not: docs/caching.md ("The file-hash memo").
 */
import fs from "node:fs";
import type { XXHashAPI } from "xxhash-wasm";
import { canonicalJson } from "./json.js";

/** The name of stored bytes: their xxhash64 as 16 hex digits. */
export type ContentHash = string & { readonly __brand: "ContentHash" };
/** The name of a stored result: the xxhash64 of a canonical JSON document (a fingerprint) as 16 hex digits. */
export type CacheKey = string & { readonly __brand: "CacheKey" };

const HEX16 = /^[0-9a-f]{16}$/;

export function isContentHash(v: unknown): v is ContentHash {
  return typeof v === "string" && HEX16.test(v);
}

export function isCacheKey(v: unknown): v is CacheKey {
  return typeof v === "string" && HEX16.test(v);
}

let api: XXHashAPI | undefined;
let loading: Promise<XXHashAPI> | undefined;

export async function hasher(): Promise<XXHashAPI> {
  if (api) return api;
  loading ??= import("xxhash-wasm").then((m) => m.default());
  api = await loading;
  return api;
}

/** Must be awaited once (hasher()) before the synchronous functions below are used. */
function ready(): XXHashAPI {
  if (!api) throw new Error("hash: call `await hasher()` first");
  return api;
}

export function hashBytes(bytes: Uint8Array): ContentHash {
  return ready().h64Raw(bytes).toString(16).padStart(16, "0") as ContentHash;
}

export function hashString(s: string): string {
  return hashBytes(Buffer.from(s, "utf8"));
}

/**
 * The key of a JSON document: the hash of its canonical form, so key order and number spelling
 * never matter. Cache keys, memo keys and remote checks all use this one function.
 */
export function hashJson(doc: unknown): CacheKey {
  return hashString(canonicalJson(doc)) as CacheKey;
}

/** The hash and size of bytes produced piece by piece by `write` (nothing is kept). */
export async function hashPieces(
  write: (sink: (chunk: Uint8Array) => Promise<void>) => Promise<void>,
): Promise<{ hash: ContentHash; size: number }> {
  const h = ready().create64();
  let size = 0;
  await write((chunk) => {
    h.update(chunk);
    size += chunk.byteLength;
    return Promise.resolve();
  });
  return { hash: h.digest().toString(16).padStart(16, "0") as ContentHash, size };
}

/** Streams a file through xxhash64 in 4 MiB chunks (bounded memory for large inputs). */
export async function hashFile(file: string): Promise<ContentHash> {
  const h = ready().create64();
  const fh = await fs.promises.open(file, "r");
  try {
    const buf = Buffer.allocUnsafe(4 << 20);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      h.update(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  return h.digest().toString(16).padStart(16, "0") as ContentHash;
}

export interface FileStamp {
  size: number;
  mtimeMs: number;
  /** Changes with every write and every change of mtime (`touch -r`, `cp -p`, `rsync -t`). */
  ctimeMs: number;
  ino: number;
  /** When the file was stat'ed for this hash (this machine's clock, ms since the epoch). */
  hashedAt: number;
  hash: ContentHash;
}

/**
 * A stamp taken within this long of its file's last change is not trusted ("racily clean", as
 * Git calls it): a second write of the same size in the same timestamp tick would leave size,
 * mtime and ctime as they were. 2 s covers the coarsest common file systems (FAT; whole seconds on
 * ext3, HFS+ and some NFS servers); on others it costs one extra hash of a file just written.
 */
export const RACY_WINDOW_MS = 2000;

/** Whether a memo entry may stand for the file as just stat'ed. */
export function stampHolds(
  known: FileStamp,
  st: { size: number; mtimeMs: number; ctimeMs: number; ino: number },
): boolean {
  if (known.size !== st.size || known.mtimeMs !== st.mtimeMs || known.ctimeMs !== st.ctimeMs) return false;
  if (known.ino !== st.ino) return false;
  const changed = Math.max(known.mtimeMs, known.ctimeMs);
  return changed < known.hashedAt - RACY_WINDOW_MS;
}

/** The memo of file hashes; persisted by the caller (record `file-hashes`, engine/records.ts). */
export class FileHashMemo {
  private changed = false;
  private hashed = 0;
  /**
   * `rehash`: trust no entry, hash every file again (`--rehash`); the fresh stamps replace the
   * old ones.
   */
  constructor(
    private readonly entries: Map<string, FileStamp> = new Map(),
    private readonly opts: { readonly rehash?: boolean } = {},
  ) {}

  toJson(): Record<string, FileStamp> {
    return Object.fromEntries(this.entries);
  }

  get dirty(): boolean {
    return this.changed;
  }

  /** How many files this memo has read and hashed (rather than trusted). */
  get filesHashed(): number {
    return this.hashed;
  }

  /** Hash of the file at the absolute path `file`, from the memo when its stamp is unchanged. */
  async hash(file: string): Promise<{ hash: ContentHash; size: number }> {
    const hashedAt = Date.now();
    const st = await fs.promises.stat(file);
    const known = this.entries.get(file);
    if (known && !this.opts.rehash && stampHolds(known, st)) return { hash: known.hash, size: st.size };
    const hash = await hashFile(file);
    this.hashed++;
    // A file that changed while it was read is hashed again next time, not remembered.
    const after = await fs.promises.stat(file);
    const same =
      after.size === st.size &&
      after.mtimeMs === st.mtimeMs &&
      after.ctimeMs === st.ctimeMs &&
      after.ino === st.ino;
    if (same)
      this.entries.set(file, {
        size: st.size,
        mtimeMs: st.mtimeMs,
        ctimeMs: st.ctimeMs,
        ino: st.ino,
        hashedAt,
        hash,
      });
    else this.entries.delete(file);
    this.changed = true;
    return { hash, size: st.size };
  }
}
