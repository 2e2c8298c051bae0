/**
 * Finding a stage's result in the store: under its key, or — for a stage whose result depends on
 * the names of its inputs' producers — through the input-names index stored under its key (see
 * records.ts). Also: reading back what a runner left for a job (its result or its failure).
 */
import type { Store } from "../cache/store.js";
import type { CacheKey } from "../core/hash.js";
import { withInputNames, type FingerprintDoc } from "./fingerprint.js";
import {
  jobFailureFile,
  readJobDoc,
  readManifestAs,
  type Job,
  type JobFailure,
  type StageResultManifest,
} from "./records.js";
import { readAnyManifest } from "./records.js";

export type ResultLookup =
  | {
      readonly found: true;
      readonly key: CacheKey;
      readonly manifest: StageResultManifest;
      /** It came from the remote (read-through), not from the local store. */
      readonly fetched: boolean;
    }
  /** Not stored; `key` and `doc` are the most specific fingerprint known (with input names when indexed). */
  | { readonly found: false; readonly key: CacheKey; readonly doc: FingerprintDoc };

/**
 * The complete stored result for a fingerprint, given the names of the job's inputs' producers.
 * `fetch`, when given, is tried on each local miss (a remote read-through) before giving up.
 */
export async function findResult(
  store: Store,
  base: { readonly key: CacheKey; readonly doc: FingerprintDoc },
  inputsFrom: Readonly<Record<string, string>>,
  fetch?: (key: CacheKey) => Promise<unknown>,
  /** The ports whose names the last run's result depended on: that key is tried first (one read, not two). */
  namedPorts?: readonly string[],
): Promise<ResultLookup> {
  const withNames = (ports: readonly string[]) =>
    withInputNames(base.doc, Object.fromEntries(ports.map((p) => [p, inputsFrom[p] ?? ""])));
  if (namedPorts?.length) {
    // A hit under this key is exact (it hashes the current fingerprint and names); a miss falls
    // through to the ordinary lookup.
    const guess = withNames(namedPorts);
    const m = await readAnyManifestComplete(store, guess.key);
    if (m?.record === "stage-result") return { found: true, key: guess.key, manifest: m, fetched: false };
  }
  let fetched = false;
  const read = async (key: CacheKey) => {
    let m = await readAnyManifestComplete(store, key);
    if (!m && fetch) {
      await fetch(key);
      m = await readAnyManifestComplete(store, key);
      if (m) fetched = true;
    }
    return m;
  };
  const first = await read(base.key);
  if (!first) return { found: false, ...base };
  if (first.record === "stage-result") return { found: true, key: base.key, manifest: first, fetched };
  if (first.record !== "input-names") return { found: false, ...base };
  const named = withNames(first.ports);
  const second = await read(named.key);
  return second?.record === "stage-result"
    ? { found: true, key: named.key, manifest: second, fetched }
    : { found: false, ...named };
}

function readAnyManifestComplete(store: Store, key: CacheKey) {
  return readAnyManifest(store, key, { complete: true });
}

export type StoredOutcome =
  | { readonly ok: true; readonly key: CacheKey; readonly manifest: StageResultManifest }
  | { readonly ok: false; readonly failure: JobFailure };

/** What a runner left in the store for a job: its result, its failure record, or nothing yet. */
export async function readJobOutcome(store: Store, job: Job): Promise<StoredOutcome | undefined> {
  const from = Object.fromEntries(Object.entries(job.inputs).map(([p, i]) => [p, i.from]));
  const r = await findResult(store, { key: job.key, doc: job.doc }, from);
  if (r.found) return { ok: true, key: r.key, manifest: r.manifest };
  const failure = await readJobDoc(store, jobFailureFile, job.key);
  return failure ? { ok: false, failure } : undefined;
}

/** A stage-result manifest under exactly this key (previous runs, lock entries, inspection). */
export function readStageResult(
  store: Store,
  key: CacheKey,
  opts: { complete?: boolean } = {},
): Promise<StageResultManifest | undefined> {
  return readManifestAs(store, key, "stage-result", opts);
}
