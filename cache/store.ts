/**
 * The on-disk store: content-addressed objects and small manifests that point to them, plus
 * named records and locks (the layout is in layout.ts), in a folder marked as a store
 * (store-folder.ts).
 *
 * The store knows nothing about stages: a manifest is any JSON document with an `objects` map.
 * Objects are written before the manifest that references them, each by temp file + rename.
 * Reads verify: an object whose bytes do not hash to its name, or a manifest that does not parse,
 * does not match its checksum (`integrity`) or names a missing object, is a miss (reported through
 * `onProblem`), never a wrong result. So is an entry that cannot be read at all (replaced by a
 * folder, no read permission): the next write of it replaces it. Writing an object that exists
 * checks the existing copy's bytes and replaces a damaged one.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import {
  hashBytes,
  hasher,
  hashFile,
  hashJson,
  isCacheKey,
  isContentHash,
  type CacheKey,
  type ContentHash,
} from "../core/hash.js";
import { isJsonObject, type JsonObject } from "../core/json.js";
import { activeUses, holdForMaintenance, registerUse, type StoreUse } from "./activity.js";
import { isNoEntry, mkdirp, writeFileAtomic } from "./atomic.js";
import * as layout from "./layout.js";
import { acquireLock, lockHeld, removeAbandonedLocks, type Owner, type Release } from "./lock.js";
import {
  prepareStoreFolder,
  removeEmptyStoreFolders,
  removeStoreFiles,
  requireStoreFolder,
  type RemovedStore,
} from "./store-folder.js";

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
  kind: "corrupt-object" | "missing-object" | "corrupt-manifest" | "bad-record" | "bad-entry";
  what: string;
  detail: string;
};

export class Store {
  private constructor(
    readonly root: string,
    private readonly onProblem: (p: StoreProblem) => void,
  ) {}

  /**
   * Opens the store at `root`, creating it (with its marker) when the folder is missing or empty.
   * Throws StoreFolderError for a folder that is something else (a store needs its own folder).
   */
  static async open(root: string, onProblem: (p: StoreProblem) => void = () => {}): Promise<Store> {
    await hasher();
    const abs = path.resolve(root);
    prepareStoreFolder(abs);
    return new Store(abs, onProblem);
  }

  /**
   * For gc and clean: the store at `root` if it is a marked store, undefined when there is no
   * folder; StoreFolderError for any other folder. Creates nothing.
   */
  static async openExisting(
    root: string,
    onProblem: (p: StoreProblem) => void = () => {},
  ): Promise<Store | undefined> {
    await hasher();
    const abs = path.resolve(root);
    return requireStoreFolder(abs) === "missing" ? undefined : new Store(abs, onProblem);
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

  /**
   * Stores bytes under their hash. A copy already there is kept only when its bytes are these
   * bytes; a damaged one (same size or not) is reported and replaced.
   */
  async putObject(bytes: Uint8Array): Promise<ObjectRef> {
    const hash = hashBytes(bytes);
    const file = this.objectPath(hash);
    const existing = await readEntry(file);
    if (existing && "bytes" in existing && Buffer.from(bytes).equals(existing.bytes))
      return { hash, size: bytes.length };
    if (existing)
      this.onProblem({
        kind: "corrupt-object",
        what: hash,
        detail:
          "bytes" in existing
            ? `the stored copy (${existing.bytes.length} bytes) differs from the bytes being written; replaced`
            : `${existing.problem}; replaced`,
      });
    await this.write(file, bytes);
    return { hash, size: bytes.length };
  }

  /**
   * Stores an object written piece by piece by `write` (for objects too large for one Buffer): the
   * pieces go to a temp file, hashed as they pass, which is then renamed to its hash's name —
   * replacing any file already there, so a damaged copy never survives a rewrite. `check` runs on
   * the finished temp file before the rename: a writer can refuse bytes it cannot read back.
   */
  async putObjectStreamed(
    write: (sink: (chunk: Uint8Array) => Promise<void>) => Promise<void>,
    check?: (file: fs.promises.FileHandle) => Promise<void>,
  ): Promise<ObjectRef> {
    await fs.promises.mkdir(this.tmp, { recursive: true });
    const tmp = path.join(this.tmp, `object.${process.pid}.${crypto.randomBytes(6).toString("hex")}.tmp`);
    const h = (await hasher()).create64();
    let size = 0;
    const fh = await fs.promises.open(tmp, "w+");
    try {
      await write(async (chunk) => {
        h.update(chunk);
        let done = 0;
        while (done < chunk.byteLength) {
          const { bytesWritten } = await fh.write(chunk, done, chunk.byteLength - done, size + done);
          done += bytesWritten;
        }
        size += chunk.byteLength;
      });
      await fh.sync();
      const st = await fh.stat();
      if (st.size !== size) throw new Error(`object written as ${size} bytes, but its file has ${st.size}`);
      if (check) await check(fh);
      await fh.close();
      const hash = h.digest().toString(16).padStart(16, "0") as ContentHash;
      const file = this.objectPath(hash);
      // A copy already there is kept when intact; a damaged one is reported (openObject), then
      // replaced — a folder or a file in the way included.
      if (await this.hasIntactObject({ hash, size })) {
        await fs.promises.rm(tmp, { force: true });
        return { hash, size };
      }
      for (let attempt = 0; ; attempt++) {
        try {
          await fs.promises.mkdir(path.dirname(file), { recursive: true });
          await fs.promises.rename(tmp, file);
          return { hash, size };
        } catch (err) {
          if (attempt > 0 || !(await this.clearDamage(file))) throw err;
        }
      }
    } catch (err) {
      await fh.close().catch(() => {});
      await fs.promises.rm(tmp, { force: true }).catch(() => {});
      // Errors from a file handle carry no path; messages (a full disk) should name the store's file.
      if (typeof err === "object" && err !== null && !("path" in err)) Object.assign(err, { path: tmp });
      throw err;
    }
  }

  /**
   * Whether an intact copy of the object is stored, checked by hashing it (streamed): a writer that
   * knows an object's hash skips writing it again. A damaged copy is reported and removed.
   */
  async hasIntactObject(ref: ObjectRef): Promise<boolean> {
    if (!isContentHash(ref.hash)) return false;
    if (!(await fs.promises.lstat(this.objectPath(ref.hash)).catch(() => undefined))) return false;
    const fh = await this.openObject(ref, "write");
    await fh?.close();
    return fh !== undefined;
  }

  /**
   * An object's file, opened for reading after its content was verified against its hash by a
   * streamed pass (bounded memory, any size); undefined (and the bad copy removed) otherwise.
   * The caller closes the handle.
   */
  async openObject(
    ref: ObjectRef,
    purpose: "read" | "write" = "read",
  ): Promise<fs.promises.FileHandle | undefined> {
    // A writer about to replace a damaged copy says so (the same words as putObject's).
    const replaced = purpose === "write" ? "; replaced" : "";
    if (!isContentHash(ref.hash)) return undefined;
    const file = this.objectPath(ref.hash);
    let fh: fs.promises.FileHandle;
    try {
      fh = await fs.promises.open(file, "r");
    } catch (err) {
      this.onProblem(
        isNoEntry(err)
          ? { kind: "missing-object", what: ref.hash, detail: "object file is missing" }
          : { kind: "corrupt-object", what: ref.hash, detail: `cannot be read (${errCode(err)})` },
      );
      return undefined;
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) {
        this.onProblem({ kind: "corrupt-object", what: ref.hash, detail: `a folder, not a file${replaced}` });
        await fh.close();
        return undefined;
      }
      const { hash: actual, size: pos } = await hashOpenFile(fh);
      if (pos !== ref.size || actual !== ref.hash) {
        this.onProblem({
          kind: "corrupt-object",
          what: ref.hash,
          detail:
            purpose === "write"
              ? `the stored copy (${pos} bytes) differs from the bytes being written${replaced}`
              : `expected ${ref.size} bytes hashing to ${ref.hash}, found ${pos} bytes hashing to ${actual}`,
        });
        await fh.close();
        await removeIfSame(file, st.ino);
        return undefined;
      }
      return fh;
    } catch (err) {
      await fh.close().catch(() => {});
      throw err;
    }
  }

  /**
   * Writes a store file by temp file + rename. Whatever damage sits at its path — a folder where
   * the file belongs, a file where one of its folders belongs — is part of the store and is
   * removed first.
   */
  private async write(file: string, data: Uint8Array | string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await writeFileAtomic(file, data, this.tmp);
        return;
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (
          attempt > 0 ||
          !(code === "EISDIR" || code === "ENOTDIR" || code === "EEXIST" || code === "ENOTEMPTY")
        )
          throw err;
        if (!(await this.clearDamage(file))) throw err;
      }
    }
  }

  /** Removes a folder at `file`, or a file at one of its folders (inside the store); true if any. */
  private async clearDamage(file: string): Promise<boolean> {
    let cleared = false;
    const rel = path.relative(this.root, file).split(path.sep);
    for (let i = 1; i <= rel.length; i++) {
      const p = path.join(this.root, ...rel.slice(0, i));
      const st = await fs.promises.lstat(p).catch(() => undefined);
      if (!st) break;
      const wrong = i === rel.length ? st.isDirectory() : !st.isDirectory();
      if (!wrong) continue;
      this.onProblem({
        kind: "bad-entry",
        what: path.relative(this.root, p),
        detail: `found a ${st.isDirectory() ? "folder" : "file"} where the store keeps a ${i === rel.length ? "file" : "folder"}; removed`,
      });
      await fs.promises.rm(p, { recursive: true, force: true });
      cleared = true;
      break;
    }
    return cleared;
  }

  /** The bytes of an object, verified against its hash; undefined (and the bad copy removed) otherwise. */
  async getObject(ref: ObjectRef): Promise<Uint8Array | undefined> {
    if (!isContentHash(ref.hash)) return undefined;
    const file = this.objectPath(ref.hash);
    const read = await readEntry(file);
    if (!read) {
      this.onProblem({ kind: "missing-object", what: ref.hash, detail: "object file is missing" });
      return undefined;
    }
    if ("problem" in read) {
      this.onProblem({ kind: "corrupt-object", what: ref.hash, detail: read.problem });
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

  /**
   * A byte range of an object, not verified against its hash (that needs the whole object): for
   * reading a large table's schema and row count without reading its data. Callers treat the
   * bytes as untrusted; undefined when the object is missing, has the wrong size, or the range
   * is outside it.
   */
  async readObjectRange(ref: ObjectRef, start: number, length: number): Promise<Uint8Array | undefined> {
    if (!isContentHash(ref.hash) || start < 0 || length < 0 || start + length > ref.size) return undefined;
    let fh: fs.promises.FileHandle;
    try {
      fh = await fs.promises.open(this.objectPath(ref.hash), "r");
    } catch (err) {
      if (isNoEntry(err)) return undefined;
      throw err;
    }
    try {
      if ((await fh.stat()).size !== ref.size) return undefined;
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await fh.read(out, done, length - done, start + done);
        if (bytesRead === 0) return undefined;
        done += bytesRead;
      }
      return out;
    } finally {
      await fh.close();
    }
  }

  /** Cheap presence check (exists with the right size); full verification happens on read. */
  async hasObject(ref: ObjectRef): Promise<boolean> {
    if (!isContentHash(ref.hash)) return false;
    const st = await fs.promises.stat(this.objectPath(ref.hash)).catch(() => undefined);
    if (!st) return false;
    if (!st.isFile()) {
      this.onProblem({ kind: "corrupt-object", what: ref.hash, detail: "a folder, not a file" });
      return false;
    }
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
    const read = await readEntry(file);
    if (!read) return undefined;
    if ("problem" in read) {
      this.onProblem({ kind: "corrupt-manifest", what: key, detail: read.problem });
      return undefined;
    }
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

  /**
   * A manifest as it travels to a remote: read and verified here, written with its checksum, so
   * the receiver verifies what it received rather than checksumming it anew.
   */
  async manifestText(key: CacheKey): Promise<string | undefined> {
    const m = await this.readManifest(key);
    if (!m) return undefined;
    return JSON.stringify({ ...m, integrity: manifestChecksum(m) }, null, 1);
  }

  /** A fresh temp file name in the store's tmp/ folder (for downloads that stream to disk). */
  async tempFile(label: string): Promise<string> {
    await mkdirp(this.tmp);
    return path.join(this.tmp, `${label}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  }

  /**
   * Moves a downloaded file into objects/ if its bytes are `ref` (hashed while streaming from
   * disk); otherwise removes it and says what it holds instead.
   */
  async adoptObject(file: string, ref: ObjectRef): Promise<{ ok: true } | { ok: false; detail: string }> {
    try {
      const st = await fs.promises.stat(file);
      const actual = st.size === ref.size ? await hashFile(file) : undefined;
      if (actual !== ref.hash)
        return {
          ok: false,
          detail: `expected ${ref.size} bytes hashing to ${ref.hash}, got ${st.size} bytes${actual ? ` hashing to ${actual}` : ""}`,
        };
      const target = this.objectPath(ref.hash);
      await mkdirp(path.dirname(target)).catch(() => {});
      await fs.promises.rename(file, target).catch(async (err: unknown) => {
        // Damage where the object belongs (a folder, a file for its folder): clear it, try again.
        if (!(await this.clearDamage(target))) throw err;
        await mkdirp(path.dirname(target));
        await fs.promises.rename(file, target);
      });
      return { ok: true };
    } finally {
      await fs.promises.rm(file, { force: true });
    }
  }

  async writeManifest(key: CacheKey, manifest: Manifest): Promise<void> {
    // Checksum what will be read back (JSON drops undefined fields and turns NaN into null).
    const parsed: unknown = JSON.parse(JSON.stringify(manifest));
    const { integrity: _old, ...body } = isJsonObject(parsed) ? parsed : {};
    const text = JSON.stringify({ ...body, integrity: manifestChecksum(body) }, null, 1);
    await this.write(this.manifestPath(key), text);
  }

  async deleteManifest(key: CacheKey): Promise<void> {
    if (isCacheKey(key)) await fs.promises.rm(this.manifestPath(key), { force: true, recursive: true });
  }

  /**
   * A record's parsed JSON; undefined when it is missing, does not parse, or cannot be read
   * (reported; callers decode it). Records are hints and bookkeeping: a lost one costs a
   * recomputation or a re-hash, and the next write replaces it.
   */
  async readRecord(name: string): Promise<unknown> {
    const read = await readEntry(this.abs(layout.recordPath(name)));
    if (!read) return undefined;
    if ("problem" in read) {
      this.onProblem({ kind: "bad-record", what: `record ${name}`, detail: read.problem });
      return undefined;
    }
    try {
      return JSON.parse(read.bytes.toString("utf8")) as unknown;
    } catch {
      return undefined;
    }
  }

  async writeRecord(name: string, value: unknown): Promise<void> {
    await this.write(this.abs(layout.recordPath(name)), JSON.stringify(value, null, 1));
  }

  async deleteRecord(name: string): Promise<void> {
    await fs.promises.rm(this.abs(layout.recordPath(name)), { force: true, recursive: true });
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
   * The single-flight lock of a key (heartbeated while held; see lock.ts). `scope` names another
   * lock of the same key: `exec` is held by the process that executes a job (on a batch node),
   * apart from the head's lock around the job.
   */
  lock(key: CacheKey, onWait?: (owner: Owner) => void, scope?: "exec"): Promise<Release> {
    const name = scope ? `${key}.${scope}` : key;
    return acquireLock(this.abs(layout.lockPath(name)), { ...(onWait ? { onWait } : {}) });
  }

  /** Whether a live process holds the key's lock (or its `scope` lock). */
  isLocked(key: CacheKey, scope?: "exec"): Promise<boolean> {
    return lockHeld(this.abs(layout.lockPath(scope ? `${key}.${scope}` : key)));
  }

  /**
   * Registers this process as writing to the store until the returned release (see activity.ts);
   * waits for a gc or clean under way (`onWait` says so). `blocking`: this process may block its
   * main thread meanwhile (a job computing a stage), so heartbeat from a worker thread.
   */
  async registerUse(use: StoreUse, onWait?: () => void, opts: { blocking?: boolean } = {}): Promise<Release> {
    const release = await registerUse(this.root, use, onWait, opts);
    // A clean that finished while we waited removed the marker: this is a store again.
    prepareStoreFolder(this.root);
    return release;
  }

  /** Other processes using the store now (live registrations). */
  activeUses(): ReturnType<typeof activeUses> {
    return activeUses(this.root);
  }

  /** For gc and clean: exclusive use, or StoreBusyError naming who else uses the store. */
  holdForMaintenance(onWait?: (o: Owner) => void): Promise<Release> {
    return holdForMaintenance(this.root, onWait);
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
      // Only what is shaped like the store's own entries is ever removed.
      if (!/^[0-9a-f]{2}$/.test(sub)) continue;
      for (const name of await fs.promises.readdir(path.join(objRoot, sub)).catch(() => [] as string[])) {
        if (live.has(name) || !isContentHash(name)) continue;
        const file = path.join(objRoot, sub, name);
        const st = await fs.promises.lstat(file).catch(() => undefined);
        objects++;
        bytes += st?.isFile() ? st.size : 0;
        if (!dryRun) await fs.promises.rm(file, { force: true, recursive: true });
      }
    }
    if (!dryRun) {
      // Temp files of live writers are young; only old ones are orphans of killed processes.
      for (const name of await fs.promises.readdir(this.tmp).catch(() => [] as string[])) {
        const file = path.join(this.tmp, name);
        const st = await fs.promises.stat(file).catch(() => undefined);
        if (st && Date.now() - st.mtimeMs > 3600_000)
          await fs.promises.rm(file, { force: true, recursive: true }).catch(() => {});
      }
      // Locks and lock debris of killed runs (gc holds the store: nobody else is running here).
      await removeAbandonedLocks(this.abs(layout.LOCKS), 10 * 60_000);
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

  /**
   * Removes the store's own files and folders, and nothing else (see store-folder.ts). Call it
   * holding the store for maintenance, and `release` that afterwards: the maintenance lock stays
   * until then, so a run waiting to start does not start in the middle of it.
   */
  async clean(release: Release): Promise<RemovedStore> {
    const removed = removeStoreFiles(this.root, [layout.MAINTENANCE_LOCK]);
    await release();
    removeEmptyStoreFolders(this.root);
    return removed;
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

/**
 * A store file's bytes and the inode they came from; undefined when it does not exist; a problem
 * when something else is there or it cannot be read (a folder, no permission, an I/O error).
 */
async function readEntry(
  file: string,
): Promise<{ bytes: Buffer; ino: number } | { problem: string } | undefined> {
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(file, "r");
  } catch (err) {
    if (isNoEntry(err)) return undefined;
    if ((err as { code?: string }).code === "ENOTDIR")
      return { problem: "a file stands where its folder should be" };
    return { problem: `cannot be read (${errCode(err)})` };
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return { problem: `a ${st.isDirectory() ? "folder" : "special file"}, not a file` };
    return { bytes: await fh.readFile(), ino: st.ino };
  } catch (err) {
    return { problem: `cannot be read (${errCode(err)})` };
  } finally {
    await fh.close();
  }
}

function errCode(err: unknown): string {
  return (err as { code?: string }).code ?? (err instanceof Error ? err.message : String(err));
}

/** Removes `file` only if it is still the inode that was found damaged (not a newer, good copy). */
async function removeIfSame(file: string, ino: number): Promise<void> {
  const st = await fs.promises.stat(file).catch(() => undefined);
  if (st && st.ino === ino) await fs.promises.rm(file, { force: true });
}

/** Hashes an open file from its start in 4 MiB pieces (bounded memory, any size). */
async function hashOpenFile(fh: fs.promises.FileHandle): Promise<{ hash: string; size: number }> {
  const h = (await hasher()).create64();
  const buf = Buffer.allocUnsafe(4 << 20);
  let size = 0;
  for (;;) {
    const { bytesRead } = await fh.read(buf, 0, buf.length, size);
    if (bytesRead === 0) break;
    h.update(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead));
    size += bytesRead;
  }
  return { hash: h.digest().toString(16).padStart(16, "0"), size };
}
