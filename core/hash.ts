/**
 * Content hashing: xxhash64 (xxhash-wasm), written as 16 hex digits.
 *
 * Files are hashed through a memo of (path, size, mtime, inode) → hash kept in the store, so an
 * unchanged multi-gigabyte input is not re-read on every run; a `touch` changes mtime, which costs
 * one re-hash but, the content being equal, no rerun.
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
async function hashFile(file: string): Promise<ContentHash> {
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
  ino: number;
  hash: ContentHash;
}

/** The memo of file hashes; persisted by the caller (record `file-hashes`, engine/records.ts). */
export class FileHashMemo {
  private changed = false;
  constructor(private readonly entries: Map<string, FileStamp> = new Map()) {}

  toJson(): Record<string, FileStamp> {
    return Object.fromEntries(this.entries);
  }

  get dirty(): boolean {
    return this.changed;
  }

  /** Hash of the file at the absolute path `file`, from the memo when its stamp is unchanged. */
  async hash(file: string): Promise<{ hash: ContentHash; size: number }> {
    const st = await fs.promises.stat(file);
    const known = this.entries.get(file);
    if (known && known.size === st.size && known.mtimeMs === st.mtimeMs && known.ino === st.ino) {
      return { hash: known.hash, size: st.size };
    }
    const hash = await hashFile(file);
    this.entries.set(file, { size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, hash });
    this.changed = true;
    return { hash, size: st.size };
  }
}
