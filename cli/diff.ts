/**
 * `quiver diff PIPELINE [--against REF] [--to REF]`: two results of a pipeline side by side —
 * which stages differ and why (field by field, from the fingerprints), and their headline metrics.
 * A REF is a lock file path, `lock` (the pipeline's own lock), `last` (its latest run in the
 * store), or `sweep:N` (point N of its latest sweep, counting from 1).
 */
import path from "node:path";
import type { Store } from "../cache/store.js";
import { readLastRun } from "../engine/history.js";
import {
  describeFingerprintDiffs,
  differingOutputs,
  LockFileError,
  lockPathFor,
  readLockFile,
  snapshotFromKeys,
  type LockStage,
} from "../engine/lock-file.js";
import type { Registry } from "../engine/pipeline/validate.js";
import { fmtNum, pointLabel, type GridPoint } from "../engine/sweep.js";
import { parse, pipelineOpts, UsageError } from "./args.js";
import { displayPath, loadPipeline, openStore, storeDir, type Io } from "./load.js";
import { sweepRecordName } from "./sweep.js";

interface Side {
  readonly label: string;
  readonly stages: Readonly<Record<string, LockStage>>;
}

async function resolveSide(ref: string, pipelineFile: string, pipeline: string, store: Store): Promise<Side> {
  if (ref === "last") {
    const last = await readLastRun(store, pipeline);
    if (!last) throw new UsageError(`no recorded run of ${pipeline} in the store (run it first)`);
    const keys = Object.fromEntries(Object.entries(last.stages).map(([id, s]) => [id, s.key]));
    return { label: "latest run", stages: await snapshotFromKeys(store, keys) };
  }
  const sweep = /^sweep:(\d+)$/.exec(ref);
  if (sweep) {
    const rec = (await store.readRecord(sweepRecordName(pipeline))) as
      { points?: { point: GridPoint; keys: Record<string, string> }[] } | undefined;
    const n = Number(sweep[1]);
    const p = rec?.points?.[n - 1];
    if (!p)
      throw new UsageError(
        rec?.points
          ? `sweep:${n}: the latest sweep has ${rec.points.length} points (1..${rec.points.length})`
          : `no recorded sweep of ${pipeline}`,
      );
    return {
      label: `sweep point ${n} (${pointLabel(p.point)})`,
      stages: await snapshotFromKeys(store, p.keys),
    };
  }
  const file = ref === "lock" ? lockPathFor(path.resolve(pipelineFile)) : ref;
  const lock = await readLockFile(file);
  if (!lock)
    throw new UsageError(`no lock file ${displayPath(file)} (REF is a lock file, lock, last or sweep:N)`);
  return { label: displayPath(file), stages: lock.stages };
}

export async function cmdDiff(argv: string[], registry: Registry, io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...pipelineOpts,
    against: { type: "string" },
    to: { type: "string" },
    all: { type: "boolean" },
  });
  const file = positionals[0];
  if (!file || positionals.length > 1)
    throw new UsageError("usage: quiver diff PIPELINE.yaml [--against REF] [--to REF]");
  const loaded = loadPipeline(file, registry, {}, io);
  if (!loaded) return 2;
  const { spec } = loaded;
  const { store } = await openStore(storeDir(file, values["cache-dir"]), io);
  let a: Side;
  let b: Side;
  try {
    a = await resolveSide(values.against ?? "lock", file, spec.name, store);
    b = await resolveSide(values.to ?? "last", file, spec.name, store);
  } catch (err) {
    if (err instanceof LockFileError) {
      io.err(`error QV_LOCK_FILE: ${err.message}`);
      return 1;
    }
    throw err;
  }
  const ids = [
    ...spec.order,
    ...Object.keys({ ...a.stages, ...b.stages }).filter((id) => !spec.stages.has(id)),
  ];
  const width = Math.max(8, ...ids.map((s) => s.length));
  if (values.json) {
    io.out(
      JSON.stringify({
        type: "diff",
        a: a.label,
        b: b.label,
        stages: compare(ids, a, b),
        metrics: metricRows(ids, a, b, true),
      }),
    );
    return 0;
  }
  io.out(`quiver diff ${displayPath(file)}: ${a.label} → ${b.label}`);
  let differing = 0;
  for (const row of compare(ids, a, b)) {
    if (row.state !== "same") differing++;
    io.out(`  ${row.state === "same" ? "=" : "≠"} ${row.stage.padEnd(width)}  ${row.detail}`);
  }
  const rows = metricRows(ids, a, b, values.all === true);
  if (rows.length) {
    const w = Math.max(6, ...rows.map((r) => r.name.length));
    const wa = Math.max(a.label.length > 14 ? 14 : a.label.length, 10);
    io.out(`\n  ${"metric".padEnd(w)}  ${"before".padStart(wa)}  ${"after".padStart(wa)}  change`);
    for (const r of rows)
      io.out(
        `  ${r.name.padEnd(w)}  ${cell(r.a).padStart(wa)}  ${cell(r.b).padStart(wa)}  ${r.a !== undefined && r.b !== undefined ? signed(r.b - r.a) : ""}`,
      );
  } else io.out(values.all ? "\nno headline metrics" : "\nno headline metric differs (--all shows them all)");
  io.out(`${differing} of ${ids.length} stage(s) differ`);
  return 0;
}

function compare(
  ids: readonly string[],
  a: Side,
  b: Side,
): { stage: string; state: string; detail: string }[] {
  return ids.map((id) => {
    const x = a.stages[id];
    const y = b.stages[id];
    if (!x && !y) return { stage: id, state: "absent", detail: "in neither" };
    if (!x) return { stage: id, state: "added", detail: `only in ${b.label}` };
    if (!y) return { stage: id, state: "removed", detail: `only in ${a.label}` };
    if (x.key !== y.key)
      return { stage: id, state: "changed", detail: describeFingerprintDiffs(x.fingerprint, y.fingerprint) };
    const bad = differingOutputs(x.outputs, y.outputs);
    return bad.length
      ? { stage: id, state: "bytes", detail: `same fingerprint, output bytes differ: ${bad.join(", ")}` }
      : { stage: id, state: "same", detail: "same" };
  });
}

function metricRows(ids: readonly string[], a: Side, b: Side, all: boolean) {
  const rows: { name: string; a: number | undefined; b: number | undefined }[] = [];
  for (const id of ids) {
    const ma = a.stages[id]?.metrics ?? {};
    const mb = b.stages[id]?.metrics ?? {};
    for (const k of [...new Set([...Object.keys(ma), ...Object.keys(mb)])].sort()) {
      if (!all && ma[k] === mb[k]) continue;
      rows.push({ name: `${id}.${k}`, a: ma[k], b: mb[k] });
    }
  }
  return rows;
}

const cell = (x: number | undefined) => (x === undefined ? "—" : fmtNum(x));
const signed = (d: number) => (d === 0 ? "0" : `${d > 0 ? "+" : "−"}${fmtNum(Math.abs(d))}`);
