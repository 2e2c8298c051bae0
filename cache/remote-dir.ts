/**
 * A remote store in a shared directory (a lab NFS or EOS mount): the same layout as a local
 * store. Uploads go to `tmp/` on the same file system first and are renamed into place, so a
 * reader never sees a partial file, and are checked by size afterwards; downloads are bounded and
 * verified by the caller anyway.
 */
import fs from "node:fs";
import path from "node:path";
import { isNoEntry, writeFileAtomic } from "./atomic.js";
import { RemoteError, RemoteTooLargeError, type RemoteBackend } from "./remote-backend.js";

export class DirRemote implements RemoteBackend {
  readonly display: string;
  constructor(private readonly root: string) {
    this.display = root;
  }

  private file(rel: string): string {
    // Paths come from this module's callers (objects/…, runs/…, records/…), never from users.
    const abs = path.resolve(this.root, rel);
    if (!abs.startsWith(path.resolve(this.root) + path.sep)) throw new Error(`bad remote path ${rel}`);
    return abs;
  }

  async size(rel: string): Promise<number | undefined> {
    const st = await fs.promises.stat(this.file(rel)).catch((err: unknown) => {
      if (isNoEntry(err)) return undefined;
      throw err;
    });
    return st?.size;
  }

  async get(rel: string, maxBytes: number): Promise<Uint8Array | undefined> {
    const n = await this.size(rel);
    if (n === undefined) return undefined;
    if (n > maxBytes) throw new RemoteTooLargeError(rel, maxBytes);
    try {
      const bytes = await fs.promises.readFile(this.file(rel));
      if (bytes.length > maxBytes) throw new RemoteTooLargeError(rel, maxBytes);
      return bytes;
    } catch (err) {
      if (isNoEntry(err)) return undefined;
      throw err;
    }
  }

  async getToFile(rel: string, file: string, maxBytes: number): Promise<number | undefined> {
    const n = await this.size(rel);
    if (n === undefined) return undefined;
    if (n > maxBytes) throw new RemoteTooLargeError(rel, maxBytes);
    try {
      await fs.promises.copyFile(this.file(rel), file);
    } catch (err) {
      if (isNoEntry(err)) return undefined;
      throw err;
    }
    const copied = (await fs.promises.stat(file)).size;
    if (copied > maxBytes) throw new RemoteTooLargeError(rel, maxBytes);
    return copied;
  }

  async put(rel: string, bytes: Uint8Array): Promise<void> {
    await writeFileAtomic(this.file(rel), bytes, path.join(this.root, "tmp"));
    const n = await this.size(rel);
    if (n !== bytes.length)
      throw new RemoteError(
        `${this.display}: ${rel} holds ${n ?? "nothing"} after writing ${bytes.length} bytes`,
      );
  }
}
