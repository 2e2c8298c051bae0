/**
 * `diff`: two results of a pipeline side by side — which stages differ and why (field by field,
 * from the fingerprints), and their headline metrics. A side is a lock file path, `lock` (the
 * pipeline's own lock), `git:REV` (the lock as committed at REV), `last` (its latest run in the
 * store), `previous` (the run before it whose results differ) or `sweep:N` (point N of its latest
 * sweep, counting from 1). Without `against`: the lock, unless the latest run just wrote it (its
 * keys are the run's), then the previous run, so a diff right after a run shows what it changed.
 */
import { spawnSync } from "node:child_process";
import { own } from "../core/dict.js";
import path from "node:path";
import type { Store } from "../cache/store.js";
import type { EventSink } from "../engine/events.js";
import { keysOfRun, previousDistinct, readLastRun, readRunHistory } from "../engine/history.js";
import {
  describeFingerprintDiffs,
  differingOutputs,
  inputsFromOf,
  LockFileError,
  lockPathFor,
  parseLockText,
  readLockFile,
  snapshotFromKeys,
  type LockStage,
} from "../engine/lock-file.js";
import { readRecord, sweepRecord } from "../engine/records.js";
import { pointLabel } from "../engine/sweep.js";
import { UsageError } from "./errors.js";
import { displayPath, type Pipeline } from "./load.js";
import { withRemoteErrors } from "./remote.js";
import { openStore, storeDir } from "./store.js";

export interface DiffOptions {
  readonly cacheDir?: string;
  /** The side to compare from (default `lock`). */
  readonly against?: string;
  /** The side to compare to (default `last`). */
  readonly to?: string;
  readonly onEvent?: EventSink;
}

export type StageDiffState = "same" | "changed" | "bytes" | "added" | "removed" | "absent";

export interface DiffReport {
  /** The `against` side as resolved (`previous` when it was chosen because the lock matches the latest run). */
  readonly against: string;
  readonly a: string;
  readonly b: string;
  readonly stages: readonly {
    readonly stage: string;
    readonly state: StageDiffState;
    readonly detail: string;
  }[];
  /** Every headline metric of either side (a row per metric), in stage order. */
  readonly metrics: readonly {
    readonly name: string;
    readonly a: number | undefined;
    readonly b: number | undefined;
  }[];
}

interface Side {
  readonly label: string;
  readonly stages: Readonly<Record<string, LockStage>>;
}

/** The lock file as committed at a git revision. */
async function lockAtRevision(rev: string, file: string): Promise<Side> {
  const dir = path.dirname(file);
  const top = spawnSync("git", ["-C", dir, "rev-parse", "--show-toplevel"], { encoding: "utf8" });
  if (top.status !== 0)
    throw new UsageError(
      `git:${rev}: ${displayPath(dir)} is not in a git repository (${(top.stderr || top.error?.message || "").trim()})`,
    );
  const rel = path.relative(top.stdout.trim(), file).split(path.sep).join("/");
  const shown = spawnSync("git", ["-C", dir, "show", `${rev}:${rel}`], {
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  if (shown.status !== 0)
    throw new UsageError(
      `git:${rev}: no ${rel} at ${rev} (${shown.stderr.trim().split("\n")[0] ?? "git show failed"})`,
    );
  try {
    const lock = await parseLockText(shown.stdout, `${rel} at ${rev}`);
    return { label: `${rel} at ${rev}`, stages: lock.stages };
  } catch (err) {
    if (err instanceof LockFileError) throw new UsageError(err.message);
    throw err;
  }
}

async function resolveSide(ref: string, spec: Pipeline["spec"], store: Store): Promise<Side> {
  if (ref.startsWith("git:")) {
    const rev = ref.slice(4);
    if (!rev) throw new UsageError("git:REV needs a revision, e.g. git:HEAD or git:main~1");
    return lockAtRevision(rev, lockPathFor(path.resolve(spec.file)));
  }
  if (ref === "previous") {
    const last = await readLastRun(store, spec.name);
    if (!last) throw new UsageError(`no recorded run of ${spec.name} in the store (run it first)`);
    const prev = previousDistinct(await readRunHistory(store, spec.name), keysOfRun(last));
    if (!prev)
      throw new UsageError(
        `no earlier run of ${spec.name} with different results is recorded in the store (runs that change nothing are not kept apart)`,
      );
    return { label: `previous run (${prev.at})`, stages: await snapshotFromKeys(store, prev.stages) };
  }
  if (ref === "last") {
    const last = await readLastRun(store, spec.name);
    if (!last) throw new UsageError(`no recorded run of ${spec.name} in the store (run it first)`);
    const keys = Object.fromEntries(Object.entries(last.stages).map(([id, s]) => [id, s.key]));
    return { label: "latest run", stages: await snapshotFromKeys(store, keys) };
  }
  const sweep = /^sweep:(\d+)$/.exec(ref);
  if (sweep) {
    const rec = await readRecord(store, sweepRecord, spec.name);
    const n = Number(sweep[1]);
    const p = rec?.points[n - 1];
    if (!p)
      throw new UsageError(
        rec
          ? `sweep:${n}: the latest sweep has ${rec.points.length} points (1..${rec.points.length})`
          : `no recorded sweep of ${spec.name}`,
      );
    return {
      label: `sweep point ${n} (${pointLabel(p.point)})`,
      stages: await snapshotFromKeys(store, p.keys),
    };
  }
  const file = ref === "lock" ? lockPathFor(path.resolve(spec.file)) : ref;
  const lock = await readLockFile(file);
  if (!lock)
    throw new UsageError(
      `no lock file ${displayPath(file)} (REF is a lock file, lock, git:REV, last, previous or sweep:N)`,
    );
  return { label: displayPath(file), stages: lock.stages };
}

export async function diff(pipeline: Pipeline, opts: DiffOptions = {}): Promise<DiffReport> {
  return withRemoteErrors(async () => {
    const { spec } = pipeline;
    const { store } = await openStore(storeDir(spec.file, opts.cacheDir), opts.onEvent);
    const against = opts.against ?? (await defaultAgainst(spec, store));
    const a = await resolveSide(against, spec, store);
    const b = await resolveSide(opts.to ?? "last", spec, store);
    const ids = [
      ...spec.order,
      ...Object.keys({ ...a.stages, ...b.stages }).filter((id) => !spec.stages.has(id)),
    ];
    return {
      against,
      a: a.label,
      b: b.label,
      stages: compare(ids, a, b, (id) => inputsFromOf(spec, id)),
      metrics: metricRows(ids, a, b),
    };
  });
}

/** `previous` when the lock holds exactly the latest run's keys (the run just wrote it) and an earlier different run is known; else `lock`. */
async function defaultAgainst(spec: Pipeline["spec"], store: Store): Promise<string> {
  const last = await readLastRun(store, spec.name);
  if (!last) return "lock";
  let lock;
  try {
    lock = await readLockFile(lockPathFor(path.resolve(spec.file)));
  } catch (err) {
    if (err instanceof LockFileError) return "lock";
    throw err;
  }
  if (!lock)
    return previousDistinct(await readRunHistory(store, spec.name), keysOfRun(last)) ? "previous" : "lock";
  const ids = Object.keys(lock.stages);
  const same =
    ids.length === Object.keys(last.stages).length &&
    ids.every((id) => last.stages[id]?.key === lock.stages[id]!.key);
  if (!same) return "lock";
  return previousDistinct(await readRunHistory(store, spec.name), keysOfRun(last)) ? "previous" : "lock";
}

function compare(
  ids: readonly string[],
  a: Side,
  b: Side,
  inputsFrom: (id: string) => Record<string, string>,
): DiffReport["stages"][number][] {
  return ids.map((id) => {
    const x = own(a.stages, id);
    const y = own(b.stages, id);
    if (!x && !y) return { stage: id, state: "absent", detail: "in neither" };
    if (!x) return { stage: id, state: "added", detail: `only in ${b.label}` };
    if (!y) return { stage: id, state: "removed", detail: `only in ${a.label}` };
    if (x.key !== y.key)
      return {
        stage: id,
        state: "changed",
        detail: describeFingerprintDiffs(x.fingerprint, y.fingerprint, { inputsFrom: inputsFrom(id) }),
      };
    const bad = differingOutputs(x.outputs, y.outputs);
    return bad.length
      ? { stage: id, state: "bytes", detail: `same fingerprint, output bytes differ: ${bad.join(", ")}` }
      : { stage: id, state: "same", detail: "same" };
  });
}

function metricRows(ids: readonly string[], a: Side, b: Side): DiffReport["metrics"][number][] {
  const rows: DiffReport["metrics"][number][] = [];
  for (const id of ids) {
    const ma = own(a.stages, id)?.metrics ?? {};
    const mb = own(b.stages, id)?.metrics ?? {};
    for (const k of [...new Set([...Object.keys(ma), ...Object.keys(mb)])].sort())
      rows.push({ name: `${id}.${k}`, a: ma[k], b: mb[k] });
  }
  return rows;
}
