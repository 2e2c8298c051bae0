/**
 * `verify`: rerun the stages recorded in the lock file (all, or a deterministic sample) and say,
 * per stage, whether the result is bit-identical to the lock, within a relative tolerance on its
 * metrics (timing fields aside), or different. The recomputed results replace the cached ones (a
 * stored copy whose bytes differ is rewritten), and what is compared is read back from the store.
 */
import { own, setOwn } from "../core/dict.js";
import os from "node:os";
import path from "node:path";
import { hashString } from "../core/hash.js";
import { isJsonObject, type JsonValue } from "../core/json.js";
import type { EngineEvent, EventSink } from "../engine/events.js";
import type { FingerprintDoc } from "../engine/fingerprint.js";
import {
  describeFingerprintDiffs,
  differingOutputs,
  inputsFromOf,
  isTimingField,
  lockPathFor,
  readLockFile,
  readMetricsObject,
} from "../engine/lock-file.js";
import { runPipeline, type RunResult } from "../engine/scheduler.js";
import { OpError } from "./errors.js";
import { executorFor } from "./executor.js";
import type { Pipeline } from "./load.js";
import { displayPath } from "./load.js";
import { withRemoteErrors } from "./remote.js";
import { openStore, storeDir } from "./store.js";

export interface VerifyOptions {
  readonly cacheDir?: string;
  readonly jobs?: number;
  /** Rerun only this many stages, chosen deterministically by `seed`. */
  readonly sample?: number;
  readonly seed?: string;
  /** Largest relative difference of a metric that still counts as reproduced (default 1e-6). */
  readonly tolerance?: number;
  /** The lock file to verify against (default `<pipeline>.lock`). */
  readonly lockFile?: string;
  readonly dataRoots?: readonly string[];
  readonly executor?: string;
  readonly command?: readonly string[];
  readonly onEvent?: EventSink;
  /** Interrupts the rerun (stages running on a batch system are cancelled). */
  readonly signal?: AbortSignal;
  /** Told which stages will be rerun, before they are. */
  readonly onStart?: (s: {
    readonly lockFile: string;
    readonly inLock: readonly string[];
    readonly chosen: readonly string[];
  }) => void;
}

export type Verdict = "identical" | "within-tolerance" | "differs" | "not-comparable";

export interface VerifyReport {
  readonly lockFile: string;
  /** Stages of the pipeline the lock records, and those rerun. */
  readonly inLock: readonly string[];
  readonly chosen: readonly string[];
  readonly stages: readonly { readonly stage: string; readonly verdict: Verdict; readonly detail: string }[];
  readonly tally: Readonly<Record<Verdict, number>>;
  /** Stages that failed to rerun, with their messages. */
  readonly failed: readonly string[];
  readonly tolerance: number;
  readonly durationMs: number;
  /** Everything reproduced (bit-identical or within tolerance) and nothing failed. */
  readonly ok: boolean;
}

export async function verify(pipeline: Pipeline, opts: VerifyOptions = {}): Promise<VerifyReport> {
  return withRemoteErrors(async () => {
    const { spec } = pipeline;
    const tolerance = opts.tolerance ?? 1e-6;
    const lockFile = opts.lockFile ?? lockPathFor(path.resolve(spec.file));
    const lock = await readLockFile(lockFile);
    if (!lock)
      throw OpError.of(
        "QV_NO_LOCK",
        `no lock file ${displayPath(lockFile)}`,
        `'quiver run ${spec.file}' writes it; commit it with the pipeline`,
      );
    const inLock = spec.order.filter((id) => own(lock.stages, id));
    let chosen = inLock;
    if (opts.sample !== undefined) {
      const seed = opts.seed ?? "0";
      chosen = [...inLock]
        .sort((a, b) => (hashString(`${seed}:${a}`) < hashString(`${seed}:${b}`) ? -1 : 1))
        .slice(0, opts.sample);
    }
    opts.onStart?.({ lockFile, inLock, chosen });
    const t0 = performance.now();
    const events: EngineEvent[] = [];
    const emit: EventSink = (e) => {
      events.push(e);
      opts.onEvent?.(e);
    };
    // Input files are read and hashed again: a reproduction check trusts no remembered hash.
    const { store, memo } = await openStore(storeDir(spec.file, opts.cacheDir), emit, { rehash: true });
    const docs = new Map<string, FingerprintDoc>();
    const jobs = opts.jobs ?? os.availableParallelism();
    const executor = await executorFor(opts.executor, {
      jobs,
      pipeline: spec.name,
      ...(opts.command ? { command: opts.command } : {}),
    });
    let result: RunResult;
    try {
      result = await runPipeline({
        spec,
        store,
        jobs,
        emit,
        fileMemo: memo,
        force: chosen,
        ...(opts.dataRoots ? { dataRoots: opts.dataRoots } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
        runner: executor.runner,
        onFingerprint: (id, _key, doc) => docs.set(id, doc),
      });
    } finally {
      await executor.close();
    }
    const failed = events.flatMap((e) =>
      e.type === "failed" ? [`${e.stage}: ${e.diagnostics.map((d) => d.message).join("; ")}`] : [],
    );
    const tally: Record<Verdict, number> = {
      identical: 0,
      "within-tolerance": 0,
      differs: 0,
      "not-comparable": 0,
    };
    const stages: { stage: string; verdict: Verdict; detail: string }[] = [];
    for (const id of spec.order) {
      const o = result.outcomes.get(id);
      const e = own(lock.stages, id);
      if (!o || !e || o.status !== "ran") continue;
      let verdict: Verdict;
      let detail: string;
      if (o.key !== e.key) {
        verdict = "not-comparable";
        const doc = docs.get(id);
        detail = `not comparable: the fingerprint differs from the lock (${doc ? describeFingerprintDiffs(e.fingerprint, doc, { inputsFrom: inputsFromOf(spec, id) }) : "different key"})`;
      } else {
        // What is compared is what the store gives back: every output read and verified.
        const unreadable: string[] = [];
        // Streamed, so an object of any size (a table over 2 GiB) is read back too.
        for (const [port, ref] of Object.entries(o.outputs ?? {})) {
          const file = await store.openObject(ref);
          if (file) await file.close();
          else unreadable.push(port);
        }
        const bad = differingOutputs(e.outputs, o.outputs ?? {});
        if (unreadable.length) {
          verdict = "differs";
          detail = `the stored ${unreadable.join(", ")} did not read back intact after the rerun`;
        } else if (bad.length === 0) {
          verdict = "identical";
          detail = "bit-identical";
        } else {
          const verdicts: string[] = [];
          let allWithin = true;
          for (const port of bad) {
            const mine = o.outputs?.[port];
            const theirs = e.outputs[port];
            if (theirs?.kind !== "metrics" || !mine) {
              allWithin = false;
              verdicts.push(`${port} differs`);
              continue;
            }
            const now = await readMetricsObject(store, mine);
            // The lock's full metrics object may still be in the store; else its headline numbers.
            const full = await readMetricsObject(store, theirs);
            const before = full ?? headlinesAsObject(e.metrics, port);
            const d =
              now === undefined
                ? { worst: Infinity, where: "" }
                : metricsDistance(before, full ? now : onlyLeavesOf(before, now));
            if (d.worst <= tolerance)
              verdicts.push(`${port} within tolerance (max relative difference ${d.worst.toExponential(1)})`);
            else {
              allWithin = false;
              verdicts.push(
                `${port} differs${d.where ? ` (${d.where}: relative difference ${d.worst.toExponential(1)})` : ""}`,
              );
            }
          }
          verdict = allWithin ? "within-tolerance" : "differs";
          detail = verdicts.join("; ");
        }
      }
      tally[verdict]++;
      stages.push({ stage: id, verdict, detail });
    }
    return {
      lockFile,
      inLock,
      chosen,
      stages,
      tally,
      failed,
      tolerance,
      durationMs: performance.now() - t0,
      ok: tally.differs === 0 && tally["not-comparable"] === 0 && failed.length === 0,
    };
  });
}

/** Numeric leaves (timing fields left out) of a metrics object, by dotted path. */
function numericLeaves(
  v: JsonValue,
  prefix = "",
  out = new Map<string, number | string>(),
): Map<string, number | string> {
  if (typeof v === "number") out.set(prefix, v);
  else if (typeof v === "string" || typeof v === "boolean" || v === null) out.set(prefix, String(v));
  else if (Array.isArray(v)) v.forEach((x, i) => numericLeaves(x, `${prefix}[${i}]`, out));
  else
    for (const [k, x] of Object.entries(v))
      if (!isTimingField(k)) numericLeaves(x, prefix ? `${prefix}.${k}` : k, out);
  return out;
}

/** Largest relative difference between two metrics objects; Infinity when their shapes differ. */
function metricsDistance(a: JsonValue, b: JsonValue): { worst: number; where: string } {
  const la = numericLeaves(a);
  const lb = numericLeaves(b);
  let worst = 0;
  let where = "";
  for (const k of new Set([...la.keys(), ...lb.keys()])) {
    const x = la.get(k);
    const y = lb.get(k);
    let d: number;
    if (typeof x === "number" && typeof y === "number")
      d =
        x === y || (Number.isNaN(x) && Number.isNaN(y))
          ? 0
          : Math.abs(x - y) / Math.max(Math.abs(x), Math.abs(y), 1e-300);
    else d = x === y ? 0 : Infinity;
    if (d > worst) {
      worst = d;
      where = k;
    }
  }
  return { worst, where };
}

/** Rebuilds `{a: {b: 1}}` from the lock's `port.a.b` headline entries of one port. */
function headlinesAsObject(metrics: Readonly<Record<string, number>>, port: string): JsonValue {
  const root: { [k: string]: JsonValue } = {};
  for (const [k, v] of Object.entries(metrics)) {
    if (!k.startsWith(port + ".")) continue;
    let o = root;
    const parts = k.slice(port.length + 1).split(".");
    parts.slice(0, -1).forEach((p) => {
      if (!isJsonObject(own(o, p) ?? null)) setOwn(o, p, {});
      o = own(o, p) as { [k: string]: JsonValue };
    });
    setOwn(o, parts[parts.length - 1]!, v);
  }
  return root;
}

/** The leaves of `now` that `shape` has (the lock side knows only its headline metrics). */
function onlyLeavesOf(shape: JsonValue, now: JsonValue | undefined): JsonValue {
  if (!isJsonObject(shape)) return now ?? null;
  const out: { [k: string]: JsonValue } = {};
  for (const k of Object.keys(shape))
    setOwn(
      out,
      k,
      onlyLeavesOf(
        shape[k]!,
        isJsonObject(now ?? null) ? own(now as { [k: string]: JsonValue }, k) : undefined,
      ),
    );
  return out;
}
