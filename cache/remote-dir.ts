/**
 * A remote store in a shared directory (a lab NFS or EOS mount): the same layout as a local
 * store. Uploads go to `tmp/` on the same file system first and are renamed into place, so a
 * reader never sees a partial file; downloads are verified by the caller anyway.
 */
import fs from "node:fs";
import path from "node:path";
import { isNoEntry, writeFileAtomic } from "./atomic.js";
import type { RemoteBackend } from "./remote-backend.js";

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

  async get(rel: string): Promise<Uint8Array | undefined> {
    try {
      return await fs.promises.readFile(this.file(rel));
    } catch (err) {
      if (isNoEntry(err)) return undefined;
      throw err;
    }
  }

  async put(rel: string, bytes: Uint8Array): Promise<void> {
    await writeFileAtomic(this.file(rel), bytes, path.join(this.root, "tmp"));
  }
}
