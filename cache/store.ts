/**
 * The on-disk store: content-addressed objects and small manifests that point to them.
 *
 *   objects/ab/abcdef0123456789   bytes, named by their xxhash64
 *   runs/ab/<key>.json            manifest of one cache key (what a stage run produced)
 *   records/<name>.json           small named documents (latest run of each pipeline, ...)
 *   locks/<key>.lock              single-flight locks
 *   tmp/                          temp files before rename; orphans are removed by gc
 *
 * The store knows nothing about stages: a manifest is any JSON document with an `objects` map.
 * Objects are written before the manifest that references them, each by temp file + rename.
 * Reads verify: an object whose bytes do not hash to its name, or a manifest that does not parse,
 * does not match its checksum (`integrity`) or names a missing object, is a miss (reported through
 * `onProblem`), never a wrong result.
 */
import fs from "node:fs";
import path from "node:path";
import { hashBytes, hasher, hashString } from "../core/hash.js";
import { canonicalJson } from "../core/json.js";
import { isNoEntry, readJsonFile, writeFileAtomic } from "./atomic.js";
import { acquireLock, type Release } from "./lock.js";

export interface ObjectRef {
  readonly hash: string;
  readonly size: number;
}

export interface Manifest {
  readonly objects: Readonly<Record<string, ObjectRef>>;
  readonly [key: string]: unknown;
}

export type StoreProblem = {
  kind: "corrupt-object" | "missing-object" | "corrupt-manifest";
  what: string;
  detail: string;
};

const HEX = /^[0-9a-f]{16}$/;
const KEY = /^[0-9a-f]{16}$/;

export class Store {
  private constructor(
    readonly root: string,
    private readonly onProblem: (p: StoreProblem) => void,
  ) {}

  static async open(root: string, onProblem: (p: StoreProblem) => void = () => {}): Promise<Store> {
    await hasher();
    await fs.promises.mkdir(root, { recursive: true });
    return new Store(path.resolve(root), onProblem);
  }

  private objectPath(hash: string): string {
    return path.join(this.root, "objects", hash.slice(0, 2), hash);
  }
  private manifestPath(key: string): string {
    return path.join(this.root, "runs", key.slice(0, 2), `${key}.json`);
  }
  private get tmp(): string {
    return path.join(this.root, "tmp");
  }

  /** Stores bytes under their hash; a no-op when an intact copy is already there. */
  async putObject(bytes: Uint8Array): Promise<ObjectRef> {
    const hash = hashBytes(bytes);
    const file = this.objectPath(hash);
    const st = await fs.promises.stat(file).catch(() => undefined);
    if (!st || st.size !== bytes.length) await writeFileAtomic(file, bytes, this.tmp);
    return { hash, size: bytes.length };
  }

  /** The bytes of an object, verified against its hash; undefined (and the bad copy removed) otherwise. */
  async getObject(ref: ObjectRef): Promise<Uint8Array | undefined> {
    if (!HEX.test(ref.hash)) return undefined;
    const file = this.objectPath(ref.hash);
    const read = await readWithInode(file);
    if (!read) {
      this.onProblem({ kind: "missing-object", what: ref.hash, detail: "object file is missing" });
      return undefined;
    }
    const bytes = read.bytes;
    const actual = hashBytes(bytes);
    if (bytes.length !== ref.size || actual !== ref.hash) {
      this.onProblem({
        kind: "corrupt-object",
        what: ref.hash,
        detail: `expected ${ref.size} bytes hashing to ${ref.hash}, found ${bytes.length} bytes hashing to ${actual}`,
      });
      await removeIfSame(file, read.ino);
      return undefined;
    }
    return bytes;
  }

  /** Cheap presence check (exists with the right size); full verification happens on read. */
  async hasObject(ref: ObjectRef): Promise<boolean> {
    if (!HEX.test(ref.hash)) return false;
    const st = await fs.promises.stat(this.objectPath(ref.hash)).catch(() => undefined);
    if (!st) return false;
    if (st.size !== ref.size) {
      this.onProblem({
        kind: "corrupt-object",
        what: ref.hash,
        detail: `expected ${ref.size} bytes, found ${st.size}`,
      });
      await removeIfSame(this.objectPath(ref.hash), st.ino);
      return false;
    }
    return true;
  }

  async readManifest(key: string): Promise<Manifest | undefined> {
    if (!KEY.test(key)) return undefined;
    const file = this.manifestPath(key);
    // A missing manifest is a plain miss. One that exists but is damaged is reported and removed —
    // only if it is still the file we read: another process may have renamed a good one into place.
    const read = await readWithInode(file);
    if (!read) return undefined;
    const bad = async (detail: string) => {
      this.onProblem({ kind: "corrupt-manifest", what: key, detail });
      await removeIfSame(file, read.ino);
      return undefined;
    };
    let raw: unknown;
    try {
      raw = JSON.parse(read.bytes.toString("utf8"));
    } catch {
      return bad("manifest does not parse");
    }
    if (!isManifest(raw)) return bad("manifest has no valid `objects` map");
    // A flipped digit in a summary or a fingerprint still parses: only the checksum catches it.
    const { integrity, ...body } = raw;
    if (integrity !== manifestChecksum(body)) return bad("manifest content does not match its checksum");
    return body;
  }

  /** A manifest whose objects are all present (by size); otherwise undefined. */
  async readCompleteManifest(key: string): Promise<Manifest | undefined> {
    const m = await this.readManifest(key);
    if (!m) return undefined;
    for (const ref of Object.values(m.objects)) if (!(await this.hasObject(ref))) return undefined;
    return m;
  }

  async writeManifest(key: string, manifest: Manifest): Promise<void> {
    // Checksum what will be read back (JSON drops undefined fields and turns NaN into null).
    const { integrity: _old, ...body } = JSON.parse(JSON.stringify(manifest)) as Manifest;
    const text = JSON.stringify({ ...body, integrity: manifestChecksum(body) }, null, 1);
    await writeFileAtomic(this.manifestPath(key), text, this.tmp);
  }

  async deleteManifest(key: string): Promise<void> {
    await fs.promises.rm(this.manifestPath(key), { force: true });
  }

  async readRecord(name: string): Promise<unknown> {
    return readJsonFile(path.join(this.root, "records", `${encodeURIComponent(name)}.json`));
  }

  async writeRecord(name: string, value: unknown): Promise<void> {
    await writeFileAtomic(
      path.join(this.root, "records", `${encodeURIComponent(name)}.json`),
      JSON.stringify(value, null, 1),
      this.tmp,
    );
  }

  async listRecords(): Promise<string[]> {
    const dir = path.join(this.root, "records");
    const names = await fs.promises.readdir(dir).catch(() => [] as string[]);
    return names.filter((n) => n.endsWith(".json")).map((n) => decodeURIComponent(n.slice(0, -5)));
  }

  lock(key: string, onWait?: () => void): Promise<Release> {
    return acquireLock(path.join(this.root, "locks", `${key}.lock`), { onWait: () => onWait?.() });
  }

  /**
   * Removes every manifest not in `keep` and every object no kept manifest references, plus
   * orphan temp files. Returns what was (or, with dryRun, would be) removed.
   */
  async gc(
    keep: ReadonlySet<string>,
    dryRun: boolean,
  ): Promise<{ manifests: number; objects: number; bytes: number }> {
    const live = new Set<string>();
    let manifests = 0;
    for (const key of await this.listManifestKeys()) {
      if (keep.has(key)) {
        const m = await this.readManifest(key);
        for (const ref of Object.values(m?.objects ?? {})) live.add(ref.hash);
      } else {
        manifests++;
        if (!dryRun) await this.deleteManifest(key);
      }
    }
    let objects = 0;
    let bytes = 0;
    const objRoot = path.join(this.root, "objects");
    for (const sub of await fs.promises.readdir(objRoot).catch(() => [] as string[])) {
      for (const name of await fs.promises.readdir(path.join(objRoot, sub)).catch(() => [] as string[])) {
        if (live.has(name)) continue;
        const file = path.join(objRoot, sub, name);
        const st = await fs.promises.stat(file).catch(() => undefined);
        objects++;
        bytes += st?.size ?? 0;
        if (!dryRun) await fs.promises.rm(file, { force: true });
      }
    }
    if (!dryRun) {
      // Temp files of live writers are young; only old ones are orphans of killed processes.
      for (const name of await fs.promises.readdir(this.tmp).catch(() => [] as string[])) {
        const file = path.join(this.tmp, name);
        const st = await fs.promises.stat(file).catch(() => undefined);
        if (st && Date.now() - st.mtimeMs > 3600_000) await fs.promises.rm(file, { force: true });
      }
    }
    return { manifests, objects, bytes };
  }

  async listManifestKeys(): Promise<string[]> {
    const out: string[] = [];
    const runs = path.join(this.root, "runs");
    for (const sub of await fs.promises.readdir(runs).catch(() => [] as string[])) {
      for (const name of await fs.promises.readdir(path.join(runs, sub)).catch(() => [] as string[])) {
        if (name.endsWith(".json")) out.push(name.slice(0, -5));
      }
    }
    return out;
  }

  /** Every object file with its size (for size budgets). */
  async listObjects(): Promise<ObjectRef[]> {
    const out: ObjectRef[] = [];
    const objRoot = path.join(this.root, "objects");
    for (const sub of await fs.promises.readdir(objRoot).catch(() => [] as string[])) {
      for (const name of await fs.promises.readdir(path.join(objRoot, sub)).catch(() => [] as string[])) {
        const st = await fs.promises.stat(path.join(objRoot, sub, name)).catch(() => undefined);
        if (st && HEX.test(name)) out.push({ hash: name, size: st.size });
      }
    }
    return out;
  }

  /** Removes one object; manifests naming it become cache misses (value-aware gc). */
  async deleteObject(hash: string): Promise<void> {
    if (HEX.test(hash)) await fs.promises.rm(this.objectPath(hash), { force: true });
  }

  async clean(): Promise<void> {
    await fs.promises.rm(this.root, { recursive: true, force: true });
  }
}

function manifestChecksum(body: object): string {
  return hashString(canonicalJson(body));
}

/** A parsed document with a well-formed `objects` map (the part of a manifest the store relies on). */
export function isManifest(v: unknown): v is Manifest {
  if (typeof v !== "object" || v === null) return false;
  const objects = (v as { objects?: unknown }).objects;
  if (typeof objects !== "object" || objects === null) return false;
  return Object.values(objects).every(
    (r) =>
      typeof r === "object" &&
      r !== null &&
      typeof (r as ObjectRef).hash === "string" &&
      typeof (r as ObjectRef).size === "number",
  );
}

/** A file's bytes and the inode they came from; undefined when the file does not exist. */
async function readWithInode(file: string): Promise<{ bytes: Buffer; ino: number } | undefined> {
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(file, "r");
  } catch (err) {
    if (isNoEntry(err)) return undefined;
    throw err;
  }
  try {
    const st = await fh.stat();
    return { bytes: await fh.readFile(), ino: st.ino };
  } finally {
    await fh.close();
  }
}

/** Removes `file` only if it is still the inode that was found damaged (not a newer, good copy). */
async function removeIfSame(file: string, ino: number): Promise<void> {
  const st = await fs.promises.stat(file).catch(() => undefined);
  if (st && st.ino === ino) await fs.promises.rm(file, { force: true });
}
