/**
 * `diff`: two results of a pipeline side by side — which stages differ and why (field by field,
 * from the fingerprints), and their headline metrics. A side is a lock file path, `lock` (the
 * pipeline's own lock), `last` (its latest run in the store), or `sweep:N` (point N of its latest
 * sweep, counting from 1).
 */
import { own } from "../core/dict.js";
import path from "node:path";
import type { Store } from "../cache/store.js";
import type { EventSink } from "../engine/events.js";
import { readLastRun } from "../engine/history.js";
import {
  describeFingerprintDiffs,
  differingOutputs,
  inputsFromOf,
  lockPathFor,
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

async function resolveSide(ref: string, spec: Pipeline["spec"], store: Store): Promise<Side> {
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
    throw new UsageError(`no lock file ${displayPath(file)} (REF is a lock file, lock, last or sweep:N)`);
  return { label: displayPath(file), stages: lock.stages };
}

export async function diff(pipeline: Pipeline, opts: DiffOptions = {}): Promise<DiffReport> {
  return withRemoteErrors(async () => {
    const { spec } = pipeline;
    const { store } = await openStore(storeDir(spec.file, opts.cacheDir), opts.onEvent);
    const a = await resolveSide(opts.against ?? "lock", spec, store);
    const b = await resolveSide(opts.to ?? "last", spec, store);
    const ids = [
      ...spec.order,
      ...Object.keys({ ...a.stages, ...b.stages }).filter((id) => !spec.stages.has(id)),
    ];
    return {
      a: a.label,
      b: b.label,
      stages: compare(ids, a, b, (id) => inputsFromOf(spec, id)),
      metrics: metricRows(ids, a, b),
    };
  });
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
