/**
 * The store's folder: its marker file, and what is the store's in it. A store is created with a
 * versioned marker (`quiver-store.json`); gc and clean act only on a folder that carries one, and
 * clean removes only files shaped like the store's own (objects, manifests, records, locks, temp
 * files) and the folders that hold them once empty — never anything else that happens to be in
 * the folder (a TensorBoard `runs/`, a project's files after `--cache-dir .`).
 */
import fs from "node:fs";
import path from "node:path";
import * as layout from "./layout.js";
import { LOCK_JUNK } from "./lock.js";

export const STORE_VERSION = 1;

/** The folder is not a store, or a store this Quiver cannot use. */
export class StoreFolderError extends Error {
  constructor(
    readonly code: "QV_NOT_A_STORE" | "QV_STORE_VERSION",
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = "StoreFolderError";
  }
}

export type FolderState =
  | { readonly kind: "missing" | "empty" | "legacy" }
  | { readonly kind: "store"; readonly version: number }
  | { readonly kind: "foreign"; readonly entries: readonly string[] }
  | { readonly kind: "bad-marker"; readonly detail: string };

const HEX2 = /^[0-9a-f]{2}$/;
/** A marker still being written (`writeMarker`). */
const MARKER_TMP = /^quiver-store\.json\.\d+\.[0-9a-z]+\.tmp$/;

/** What `dir` is: no folder, an empty one, a store (marked, or made before markers), or something else. */
export function inspectFolder(dir: string): FolderState {
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "ENOENT") return { kind: "missing" };
    if (code === "ENOTDIR") return { kind: "foreign", entries: [] };
    throw err;
  }
  if (entries.includes(layout.MARKER)) {
    const file = path.join(dir, layout.MARKER);
    let v: unknown;
    try {
      v = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (err) {
      return { kind: "bad-marker", detail: `${file} cannot be read (${describe(err)})` };
    }
    const version = (v as { quiver_store?: unknown } | null)?.quiver_store;
    if (typeof version !== "number" || !Number.isInteger(version) || version < 1)
      return { kind: "bad-marker", detail: `${file} has no valid "quiver_store" version` };
    return { kind: "store", version };
  }
  // A marker being written by another process (`writeMarker`): the folder is still being made.
  entries = entries.filter((e) => !MARKER_TMP.test(e));
  if (entries.length === 0) return { kind: "empty" };
  return isLegacyStore(dir, entries) ? { kind: "legacy" } : { kind: "foreign", entries };
}

function describe(err: unknown): string {
  return (err as { code?: string }).code ?? (err instanceof Error ? err.message : String(err));
}

/**
 * A store written before markers existed: nothing but the store's folders, with the store's shape
 * inside (objects/ab/…, runs/ab/…). A project folder that merely has a `runs/` does not pass.
 */
function isLegacyStore(dir: string, entries: readonly string[]): boolean {
  if (!entries.every((e) => (layout.STORE_FOLDERS as readonly string[]).includes(e))) return false;
  for (const top of [layout.OBJECTS, layout.MANIFESTS]) {
    if (!entries.includes(top)) continue;
    const subs = safeReaddir(path.join(dir, top));
    if (subs === undefined || !subs.every((s) => HEX2.test(s))) return false;
  }
  return true;
}

function safeReaddir(dir: string): string[] | undefined {
  try {
    return fs.readdirSync(dir);
  } catch {
    return undefined;
  }
}

function markerText(): string {
  return (
    JSON.stringify(
      {
        quiver_store: STORE_VERSION,
        created: new Date().toISOString(),
        about:
          "This folder is a Quiver cache store. 'quiver clean' removes the store's files here and nothing else.",
      },
      null,
      1,
    ) + "\n"
  );
}

function writeMarker(dir: string): void {
  const file = path.join(dir, layout.MARKER);
  // Written whole under a name of its own, then published with link(2), which fails if the marker
  // exists: two processes creating the same store both succeed, neither overwrites, and no
  // process ever reads a marker that is still being written (an exclusive create of the marker
  // itself showed it empty for a moment, and a concurrent run refused the store as damaged).
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    fs.writeFileSync(tmp, markerText(), { flag: "wx" });
    try {
      fs.linkSync(tmp, file);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === "EEXIST") return;
      // A file system without hard links: a rename publishes it whole too (it may replace a
      // marker another process published meanwhile, which says the same).
      if (code !== "EPERM" && code !== "ENOTSUP" && code !== "ENOSYS") throw err;
      fs.renameSync(tmp, file);
    }
  } catch (err) {
    // A failed write (a full disk) names no file; the message should name the store.
    if (typeof err === "object" && err !== null && !("path" in err)) Object.assign(err, { path: file });
    throw err;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

function checkVersion(dir: string, version: number): void {
  if (version > STORE_VERSION)
    throw new StoreFolderError(
      "QV_STORE_VERSION",
      `${dir} is a store of format ${version}; this Quiver uses format ${STORE_VERSION}`,
      "upgrade Quiver, or use another store with --cache-dir",
    );
}

/**
 * Makes `dir` usable as a store: creates it with its marker when it is missing or empty, marks a
 * store made before markers, and refuses any other folder — a store needs a folder of its own.
 */
export function prepareStoreFolder(dir: string): void {
  const state = inspectFolder(dir);
  switch (state.kind) {
    case "store":
      checkVersion(dir, state.version);
      return;
    case "missing":
    case "empty":
      fs.mkdirSync(dir, { recursive: true });
      writeMarker(dir);
      return;
    case "legacy":
      writeMarker(dir);
      return;
    case "bad-marker":
      throw new StoreFolderError(
        "QV_NOT_A_STORE",
        `${state.detail}; refusing to use ${dir} as a store`,
        `if this is a Quiver store, restore its marker (or remove the damaged ${layout.MARKER}); otherwise choose another folder with --cache-dir`,
      );
    case "foreign":
      throw new StoreFolderError(
        "QV_NOT_A_STORE",
        `${dir} is not a Quiver store and not empty (it holds ${listSome(state.entries)}); refusing to use it as one`,
        "a store needs a folder of its own: choose a new or empty folder with --cache-dir (the default is .quiver/ next to the pipeline)",
      );
  }
}

/** For gc and clean: `dir` must be a marked store; undefined when there is no folder at all. */
export function requireStoreFolder(dir: string): "missing" | "store" {
  const state = inspectFolder(dir);
  switch (state.kind) {
    case "missing":
      return "missing";
    case "store":
      checkVersion(dir, state.version);
      return "store";
    case "legacy":
      throw new StoreFolderError(
        "QV_NOT_A_STORE",
        `${dir} looks like a store written by an older Quiver but has no marker (${layout.MARKER}); refusing to remove anything from it`,
        `'quiver status PIPELINE --cache-dir ${dir}' (or any run with it) marks it as a store; then run this again`,
      );
    case "empty":
    case "foreign":
      throw new StoreFolderError(
        "QV_NOT_A_STORE",
        `${dir} is not a Quiver store (no ${layout.MARKER})${state.kind === "foreign" ? ` — it holds ${listSome(state.entries)}` : ""}; refusing to remove anything from it`,
        "check --cache-dir, $QUIVER_CACHE or the pipeline path: they name the store to act on",
      );
    case "bad-marker":
      throw new StoreFolderError(
        "QV_NOT_A_STORE",
        `${state.detail}; refusing to remove anything from ${dir}`,
        `check that ${dir} is the store you mean`,
      );
  }
}

function listSome(entries: readonly string[]): string {
  const shown = entries
    .slice()
    .sort()
    .slice(0, 4)
    .map((e) => `"${e}"`)
    .join(", ");
  return entries.length > 4 ? `${shown} and ${entries.length - 4} more` : shown;
}

/** Names of the store's own files, per folder (anything else found there is left alone). */
const OWN_FILES: Readonly<Record<(typeof layout.STORE_FOLDERS)[number], (rel: string[]) => boolean>> = {
  objects: (p) => p.length === 2 && HEX2.test(p[0]!) && /^[0-9a-f]{16}$/.test(p[1]!),
  runs: (p) => p.length === 2 && HEX2.test(p[0]!) && /^[0-9a-f]{16}\.json$/.test(p[1]!),
  records: (p) => p.length === 1 && p[0]!.endsWith(".json"),
  locks: (p) => p.length === 1 && (/\.lock$/.test(p[0]!) || LOCK_JUNK.test(p[0]!)),
  active: (p) => p.length === 1 && /^[0-9a-f]+\.json$/.test(p[0]!),
  // A job's folder (jobs/<key>/) or a batch array's task links (jobs/@<name>/), each as a whole.
  jobs: (p) => p.length === 1 && (/^[0-9a-f]{16}$/.test(p[0]!) || /^@[A-Za-z0-9._-]+$/.test(p[0]!)),
  tmp: (p) => p.length === 1 && /\.(tmp|part)$/.test(p[0]!),
};

export interface RemovedStore {
  /** Files removed. */
  readonly files: number;
  readonly bytes: number;
  /** Paths (relative to the store) that are not the store's and were left in place. */
  readonly kept: readonly string[];
}

/**
 * Removes the store's own files in `dir` (except `spare`, paths relative to it), the store's
 * folders once empty, the marker, and `dir` itself if nothing else is left in it.
 */
export function removeStoreFiles(dir: string, spare: readonly string[] = []): RemovedStore {
  const spared = new Set(spare.map((p) => path.join(dir, ...p.split("/"))));
  let files = 0;
  let bytes = 0;
  const kept: string[] = [];
  const walk = (abs: string, rel: string[], own: (rel: string[]) => boolean, folder: string): void => {
    for (const name of safeReaddir(abs) ?? []) {
      const childAbs = path.join(abs, name);
      const childRel = [...rel, name];
      const st = lstat(childAbs);
      if (!st) continue;
      if (st.isDirectory() && !own(childRel) && childRel.length < 2) {
        walk(childAbs, childRel, own, folder);
        rmdirIfEmpty(childAbs);
      } else if (spared.has(childAbs)) {
        continue;
      } else if (own(childRel)) {
        // A damaged entry (an object replaced by a folder) is still the store's.
        fs.rmSync(childAbs, { recursive: st.isDirectory(), force: true });
        files++;
        bytes += st.isFile() ? st.size : 0;
      } else kept.push([folder, ...childRel].join("/"));
    }
  };
  for (const folder of layout.STORE_FOLDERS) {
    const abs = path.join(dir, folder);
    const st = lstat(abs);
    if (!st) continue;
    if (!st.isDirectory()) {
      kept.push(folder);
      continue;
    }
    walk(abs, [], OWN_FILES[folder], folder);
    rmdirIfEmpty(abs);
  }
  fs.rmSync(path.join(dir, layout.MARKER), { force: true });
  for (const name of safeReaddir(dir) ?? [])
    if (!(layout.STORE_FOLDERS as readonly string[]).includes(name)) kept.push(name);
  rmdirIfEmpty(dir);
  return { files, bytes, kept: [...new Set(kept)].sort() };
}

function lstat(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch {
    return undefined;
  }
}

/** After a clean: removes the store's folders and `dir` if they are empty now. */
export function removeEmptyStoreFolders(dir: string): void {
  for (const folder of layout.STORE_FOLDERS) rmdirIfEmpty(path.join(dir, folder));
  rmdirIfEmpty(dir);
}

function rmdirIfEmpty(dir: string): void {
  try {
    fs.rmdirSync(dir);
  } catch {
    /* not empty, or gone */
  }
}
