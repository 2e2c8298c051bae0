/** Where a pipeline's store is, and opening it with its file-hash memo. */
import fs from "node:fs";
import path from "node:path";
import type { ActiveUse } from "../cache/activity.js";
import { StoreBusyError } from "../cache/activity.js";
import { StoreFolderError } from "../cache/store-folder.js";
import { Store, type StoreProblem } from "../cache/store.js";
import { FileHashMemo } from "../core/hash.js";
import type { EventSink } from "../engine/events.js";
import { fileHashesRecord, readRecord } from "../engine/records.js";
import { OpError } from "./errors.js";

/** `cacheDir`, else $QUIVER_CACHE, else `.quiver/` next to the pipeline (or in the working directory). */
export function storeDir(pipelineFile: string | undefined, cacheDir: string | undefined): string {
  if (cacheDir) return path.resolve(cacheDir);
  if (process.env.QUIVER_CACHE) return path.resolve(process.env.QUIVER_CACHE);
  return path.join(pipelineFile ? path.dirname(path.resolve(pipelineFile)) : process.cwd(), ".quiver");
}

/** Damaged entries the store meets, as warning events. */
function problemSink(onEvent?: EventSink): (p: StoreProblem) => void {
  return (p) =>
    onEvent?.({
      type: "warning",
      diagnostic: {
        severity: "warning",
        code: `QV_CACHE_${p.kind.toUpperCase().replace(/-/g, "_")}`,
        message: `${p.what}: ${p.detail}; it will be recomputed`,
      },
    });
}

/** A folder that is not a store (or a newer one) as an OpError. */
export function storeFolderFailure(err: unknown): OpError | undefined {
  if (err instanceof StoreFolderError) return OpError.of(err.code, err.message, err.hint);
  if (err instanceof StoreBusyError)
    return OpError.of(
      "QV_STORE_BUSY",
      `the store ${err.root} is in use: ${err.uses.map(describeUse).join("; ")}`,
      "wait for them to finish (or stop them) and try again; the registration of a process that died is dropped by itself (at once on this machine, after 2 minutes without a heartbeat from another)",
    );
  return undefined;
}

function describeUse(u: ActiveUse): string {
  const who = u.owner ? `pid ${u.owner.pid} on ${u.owner.host}` : "an unknown process";
  const since = u.owner ? ` since ${new Date(u.owner.at).toISOString().slice(0, 19).replace("T", " ")}` : "";
  return `quiver ${u.command}${u.pipeline !== undefined ? ` of ${u.pipeline}` : ""} (${who}${since})`;
}

/** Runs `f`, turning store-folder and busy-store errors into OpErrors. */
export async function withStoreErrors<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    throw storeFolderFailure(err) ?? err;
  }
}

/**
 * Opens (creating) the store; damaged entries it meets are reported as warning events. `rehash`:
 * the file-hash memo trusts no entry (every input file is read and hashed again).
 */
export async function openStore(
  dir: string,
  onEvent?: EventSink,
  opts: { rehash?: boolean } = {},
): Promise<{ store: Store; memo: FileHashMemo }> {
  const store = await withStoreErrors(() => Store.open(dir, problemSink(onEvent)));
  const hashes = await readRecord(store, fileHashesRecord);
  return {
    store,
    memo: new FileHashMemo(new Map(Object.entries(hashes ?? {})), { rehash: opts.rehash === true }),
  };
}

/** The existing, marked store at `dir` for gc and clean; undefined when there is none. */
export function openExistingStore(dir: string, onEvent?: EventSink): Promise<Store | undefined> {
  return withStoreErrors(() => Store.openExisting(dir, problemSink(onEvent)));
}

/** Folders never searched for stores: dependencies, version control, build output. */
const SKIP = new Set(["node_modules", ".git", "dist", "build", ".hg", ".svn"]);

/** Whether a folder looks like a Quiver store (what `run` creates in it). */
export function looksLikeStore(dir: string): boolean {
  return ["objects", "runs", "records"].some((d) => fs.existsSync(path.join(dir, d)));
}

/**
 * The stores below `root` (folders named `.quiver` that look like stores), at most `depth`
 * levels down, in path order: where commands run without a pipeline look.
 */
export function findStores(root: string, depth = 4): string[] {
  const out: string[] = [];
  const walk = (dir: string, level: number) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory() || SKIP.has(e.name)) continue;
      const full = path.join(dir, e.name);
      if (e.name === ".quiver") {
        if (looksLikeStore(full)) out.push(full);
        continue;
      }
      if (level < depth && !e.name.startsWith(".")) walk(full, level + 1);
    }
  };
  walk(path.resolve(root), 0);
  return out.sort();
}

export type StoreSource = "cache-dir" | "QUIVER_CACHE" | "pipeline" | "found";

/**
 * The stores a maintenance command acts on, found the way `run` finds its store: `--cache-dir`,
 * else $QUIVER_CACHE, else next to the pipeline; without any of them, every store below `cwd`.
 */
export function locateStores(
  pipelineFile: string | undefined,
  cacheDir: string | undefined,
  cwd = process.cwd(),
): { readonly dirs: readonly string[]; readonly source: StoreSource } {
  if (cacheDir) return { dirs: [path.resolve(cacheDir)], source: "cache-dir" };
  if (process.env.QUIVER_CACHE)
    return { dirs: [path.resolve(process.env.QUIVER_CACHE)], source: "QUIVER_CACHE" };
  if (pipelineFile) return { dirs: [storeDir(pipelineFile, undefined)], source: "pipeline" };
  return { dirs: findStores(cwd), source: "found" };
}
