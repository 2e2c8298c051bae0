/**
 * The on-disk store: content-addressed objects and small manifests that point to them, plus
 * named records and locks (the layout is in layout.ts).
 *
 * The store knows nothing about stages: a manifest is any JSON document with an `objects` map.
 * Objects are written before the manifest that references them, each by temp file + rename.
 * Reads verify: an object whose bytes do not hash to its name, or a manifest that does not parse,
 * does not match its checksum (`integrity`) or names a missing object, is a miss (reported through
 * `onProblem`), never a wrong result.
 */
import fs from "node:fs";
import path from "node:path";
import {
  hashBytes,
  hasher,
  hashJson,
  isCacheKey,
  isContentHash,
  type CacheKey,
  type ContentHash,
} from "../core/hash.js";
import { isJsonObject, type JsonObject } from "../core/json.js";
import { isNoEntry, readJsonFile, writeFileAtomic } from "./atomic.js";
import * as layout from "./layout.js";
import { acquireLock, lockHeld, type Release } from "./lock.js";

export interface ObjectRef {
  readonly hash: ContentHash;
  readonly size: number;
}

/**
 * What the store relies on in a manifest: a map of named objects, and optionally `linked`, the keys
 * of other manifests this one needs (gc keeps them with it, push and pull carry them along).
 * Every other field is the caller's.
 */
export interface Manifest {
  readonly objects: Readonly<Record<string, ObjectRef>>;
  readonly linked?: readonly CacheKey[];
}

/** The keys a manifest links to (ill-formed entries are ignored). */
export function linkedKeys(m: Manifest): CacheKey[] {
  const linked: unknown = m.linked;
  return Array.isArray(linked) ? linked.filter(isCacheKey) : [];
}

export type StoreProblem = {
  kind: "corrupt-object" | "missing-object" | "corrupt-manifest" | "bad-record";
  what: string;
  detail: string;
};

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

  /** The absolute path of a layout path. */
  private abs(rel: string): string {
    return path.join(this.root, ...rel.split("/"));
  }
  private objectPath(hash: ContentHash): string {
    return this.abs(layout.objectPath(hash));
  }
  private manifestPath(key: CacheKey): string {
    return this.abs(layout.manifestPath(key));
  }
  private get tmp(): string {
    return this.abs(layout.TMP);
  }

  /** Reports a damaged entry found by a reader of this store (a record that does not decode, ...). */
  report(problem: StoreProblem): void {
    this.onProblem(problem);
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
    if (!isContentHash(ref.hash)) return undefined;
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
    if (!isContentHash(ref.hash)) return false;
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

  async readManifest(key: CacheKey): Promise<Manifest | undefined> {
    if (!isCacheKey(key)) return undefined;
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
  async readCompleteManifest(key: CacheKey): Promise<Manifest | undefined> {
    const m = await this.readManifest(key);
    if (!m) return undefined;
    for (const ref of Object.values(m.objects)) if (!(await this.hasObject(ref))) return undefined;
    return m;
  }

  async writeManifest(key: CacheKey, manifest: Manifest): Promise<void> {
    // Checksum what will be read back (JSON drops undefined fields and turns NaN into null).
    const parsed: unknown = JSON.parse(JSON.stringify(manifest));
    const { integrity: _old, ...body } = isJsonObject(parsed) ? parsed : {};
    const text = JSON.stringify({ ...body, integrity: manifestChecksum(body) }, null, 1);
    await writeFileAtomic(this.manifestPath(key), text, this.tmp);
  }

  async deleteManifest(key: CacheKey): Promise<void> {
    await fs.promises.rm(this.manifestPath(key), { force: true });
  }

  /** A record's parsed JSON; undefined when it is missing or does not parse (callers decode it). */
  async readRecord(name: string): Promise<unknown> {
    return readJsonFile(this.abs(layout.recordPath(name)));
  }

  async writeRecord(name: string, value: unknown): Promise<void> {
    await writeFileAtomic(this.abs(layout.recordPath(name)), JSON.stringify(value, null, 1), this.tmp);
  }

  async deleteRecord(name: string): Promise<void> {
    await fs.promises.rm(this.abs(layout.recordPath(name)), { force: true });
  }

  async listRecords(): Promise<string[]> {
    const names = await fs.promises.readdir(this.abs(layout.RECORDS)).catch(() => [] as string[]);
    return names.flatMap((n) => layout.recordNameOf(n) ?? []);
  }

  // Job folders (layout.ts: jobs/<key>/): the files a job handed to a runner leaves. The engine
  // names and decodes them; the store only places them.

  /** The absolute path of a job's folder, or of a file in it (for logs a batch system writes). */
  jobPath(key: CacheKey, file?: string): string {
    return this.abs(layout.jobPath(key, file));
  }

  /**
   * Writes a file of a job's folder atomically. Not flushed to the disk first: job files live as
   * long as a run, and a crash that loses one costs a rerun of the job, never a wrong result.
   */
  async writeJobFile(key: CacheKey, file: string, data: string | Uint8Array): Promise<void> {
    await writeFileAtomic(this.jobPath(key, file), data, this.tmp, false);
  }

  /** A file of a job's folder; undefined when it does not exist. */
  async readJobFile(key: CacheKey, file: string): Promise<Buffer | undefined> {
    try {
      return await fs.promises.readFile(this.jobPath(key, file));
    } catch (err) {
      if (isNoEntry(err) || (err as { code?: string }).code === "ENOTDIR") return undefined;
      throw err;
    }
  }

  async removeJob(key: CacheKey): Promise<void> {
    if (isCacheKey(key)) await fs.promises.rm(this.jobPath(key), { recursive: true, force: true });
  }

  /** Keys of the jobs that have a folder. */
  async listJobs(): Promise<CacheKey[]> {
    const names = await fs.promises.readdir(this.abs(layout.JOBS)).catch(() => [] as string[]);
    return names.filter(isCacheKey);
  }

  /**
   * Links task i of a batch array to the folder of `keys[i]` (jobs/@<name>/<i> → ../<key>) and
   * returns the array's folder: a batch system that names output files by task index writes them
   * into each job's own folder.
   */
  async linkArray(name: string, keys: readonly CacheKey[]): Promise<string> {
    if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`bad array name "${name}"`);
    const dir = this.abs(layout.arrayPath(name));
    await fs.promises.mkdir(dir, { recursive: true });
    await Promise.all(
      keys.map(async (key, i) => {
        const link = this.abs(layout.arrayPath(name, i));
        await fs.promises.rm(link, { force: true });
        await fs.promises.symlink(`../${key}`, link);
      }),
    );
    return dir;
  }

  /** Names of the array folders, with the keys their tasks link to (missing targets included). */
  async listArrays(): Promise<{ name: string; keys: CacheKey[] }[]> {
    const out: { name: string; keys: CacheKey[] }[] = [];
    const names = await fs.promises.readdir(this.abs(layout.JOBS)).catch(() => [] as string[]);
    for (const n of names) {
      if (!n.startsWith(layout.ARRAY_PREFIX)) continue;
      const name = n.slice(layout.ARRAY_PREFIX.length);
      const dir = this.abs(layout.arrayPath(name));
      const keys: CacheKey[] = [];
      for (const t of await fs.promises.readdir(dir).catch(() => [] as string[])) {
        const target = await fs.promises.readlink(path.join(dir, t)).catch(() => "");
        const key = path.basename(target);
        if (isCacheKey(key)) keys.push(key);
      }
      out.push({ name, keys });
    }
    return out;
  }

  async removeArray(name: string): Promise<void> {
    await fs.promises.rm(this.abs(layout.arrayPath(name)), { recursive: true, force: true });
  }

  /**
   * The single-flight lock of a key. `scope` names another lock of the same key: `exec` is held by
   * the process that executes a job (on a batch node), apart from the head's lock around the job.
   */
  lock(key: CacheKey, onWait?: () => void, scope?: "exec"): Promise<Release> {
    const name = scope ? `${key}.${scope}` : key;
    return acquireLock(this.abs(layout.lockPath(name)), { onWait: () => onWait?.() });
  }

  /** Whether a live process holds the key's lock (or its `scope` lock). */
  isLocked(key: CacheKey, scope?: "exec"): Promise<boolean> {
    return lockHeld(this.abs(layout.lockPath(scope ? `${key}.${scope}` : key)));
  }

  /** `roots` and every manifest they link to, transitively. */
  async closure(roots: Iterable<CacheKey>): Promise<Set<CacheKey>> {
    const keep = new Set<CacheKey>();
    const todo = [...roots];
    for (let key = todo.pop(); key !== undefined; key = todo.pop()) {
      if (keep.has(key)) continue;
      keep.add(key);
      const m = await this.readManifest(key);
      if (m) todo.push(...linkedKeys(m));
    }
    return keep;
  }

  /**
   * Removes every manifest not in `keep` (or linked from a kept one) and every object no kept
   * manifest references, plus orphan temp files. Returns what was (or, with dryRun, would be) removed.
   */
  async gc(
    roots: ReadonlySet<CacheKey>,
    dryRun: boolean,
  ): Promise<{ manifests: number; objects: number; bytes: number }> {
    const keep = await this.closure(roots);
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
    const objRoot = this.abs(layout.OBJECTS);
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

  async listManifestKeys(): Promise<CacheKey[]> {
    const out: CacheKey[] = [];
    const runs = this.abs(layout.MANIFESTS);
    for (const sub of await fs.promises.readdir(runs).catch(() => [] as string[])) {
      for (const name of await fs.promises.readdir(path.join(runs, sub)).catch(() => [] as string[])) {
        const key = name.slice(0, -5);
        if (name.endsWith(".json") && isCacheKey(key)) out.push(key);
      }
    }
    return out;
  }

  /** Every object file with its size (for size budgets). */
  async listObjects(): Promise<ObjectRef[]> {
    const out: ObjectRef[] = [];
    const objRoot = this.abs(layout.OBJECTS);
    for (const sub of await fs.promises.readdir(objRoot).catch(() => [] as string[])) {
      for (const name of await fs.promises.readdir(path.join(objRoot, sub)).catch(() => [] as string[])) {
        const st = await fs.promises.stat(path.join(objRoot, sub, name)).catch(() => undefined);
        if (st && isContentHash(name)) out.push({ hash: name, size: st.size });
      }
    }
    return out;
  }

  /** Removes one object; manifests naming it become cache misses (value-aware gc). */
  async deleteObject(hash: ContentHash): Promise<void> {
    if (isContentHash(hash)) await fs.promises.rm(this.objectPath(hash), { force: true });
  }

  async clean(): Promise<void> {
    await fs.promises.rm(this.root, { recursive: true, force: true });
  }
}

function manifestChecksum(body: object): string {
  return hashJson(body);
}

/** A parsed document with a well-formed `objects` map (the part of a manifest the store relies on). */
export function isManifest(v: unknown): v is Manifest & JsonObject {
  if (!isJsonObject(v)) return false;
  const objects = v.objects;
  if (!isJsonObject(objects)) return false;
  return Object.values(objects).every(
    (r) => isJsonObject(r) && isContentHash(r.hash) && typeof r.size === "number",
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
