/**
 * Sharing results: `quiver push` / `quiver pull` against a remote cache, `quiver verify` against
 * the lock file, and the pieces `run` and `status` use (writing the lock, the lock column,
 * read-through from a remote).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { openRemote, RemoteCache, RemoteSpecError, type TransferReport } from "../cache/remote.js";
import { describeAuthFailure, RemoteCredentialsError, remoteOptions } from "../cache/remote-auth.js";
import { RemoteAuthError, RemoteHttpError } from "../cache/remote-http.js";
import type { Store } from "../cache/store.js";
import { runPipeline } from "../engine/executor.js";
import type { FingerprintDoc } from "../engine/fingerprint.js";
import { hashString } from "../core/hash.js";
import { readLastRun, lastRunRecordName } from "../engine/history.js";
import { isJsonObject, type JsonValue } from "../core/json.js";
import {
  describeFingerprintDiffs,
  differingOutputs,
  isTimingField,
  LockFileError,
  lockPathFor,
  readLockFile,
  readMetricsObject,
} from "../engine/lock-file.js";
import type { PipelineSpec } from "../engine/pipeline/spec.js";
import type { Registry } from "../engine/pipeline/validate.js";
import { intOpt, parse, pipelineOpts, UsageError } from "./args.js";
import { fmtMs } from "./console.js";
import { displayPath, loadPipeline, openStore, storeDir, type Io, overridesOf } from "./load.js";
import { keysOf, lockColumn, recordLock, writeLockAfterRun } from "./lock-run.js";
export { keysOf, lockColumn, writeLockAfterRun };

export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/**
 * The remote named by --remote, else $QUIVER_REMOTE; undefined when neither is set. An HTTP remote
 * gets credentials from the environment or netrc (cache/remote-auth.ts); a directory never does.
 */
export function remoteFor(store: Store, flag: string | undefined): RemoteCache | undefined {
  const spec = flag ?? process.env.QUIVER_REMOTE;
  if (!spec) return undefined;
  try {
    return new RemoteCache(openRemote(spec, remoteOptions(spec)), store);
  } catch (err) {
    if (err instanceof RemoteCredentialsError) throw new UsageError(`remote credentials: ${err.message}`);
    if (err instanceof RemoteSpecError || err instanceof RemoteHttpError || err instanceof TypeError)
      throw new UsageError(`--remote: ${err.message}`);
    throw err;
  }
}

/** Read-through for `run --remote`: a remote that fails is reported once and then left alone. */
export function readThrough(remote: RemoteCache, io: Io): { fetch(key: string): Promise<boolean> } {
  let down = false;
  return {
    fetch: async (key) => {
      if (down) return false;
      try {
        const { ok, report } = await remote.fetch(key);
        for (const p of report.problems) io.err(`warning QV_REMOTE_CORRUPT: ${p}`);
        return ok;
      } catch (err) {
        down = true;
        if (err instanceof RemoteAuthError) {
          const { message, hint } = describeAuthFailure(err);
          io.err(`warning QV_REMOTE_AUTH: ${message}; computing locally\n  hint: ${hint}`);
          return false;
        }
        io.err(
          `warning QV_REMOTE_UNAVAILABLE: ${err instanceof Error ? err.message : String(err)}; computing locally`,
        );
        return false;
      }
    },
  };
}

function reportTransfer(io: Io, verb: string, r: TransferReport, where: string): void {
  io.out(
    `${verb} ${r.manifests} result(s), ${r.objects} object(s) (${fmtBytes(r.bytes)}) ${verb === "pushed" ? "to" : "from"} ${where}; ${r.present} already there`,
  );
  if (r.missing.length)
    io.err(
      `warning QV_REMOTE_MISSING: ${r.missing.length} result(s) not found: ${r.missing.slice(0, 5).join(", ")}${r.missing.length > 5 ? ", …" : ""}`,
    );
  for (const p of r.problems) io.err(`error QV_REMOTE_CORRUPT: ${p}`);
}

const shareOpts = {
  ...pipelineOpts,
  remote: { type: "string" },
  jobs: { type: "string", short: "j" },
} as const;

/** The keys a pipeline's sharing is about: its lock's, then its latest run's. */
async function keysToShare(spec: PipelineSpec, store: Store): Promise<Set<string>> {
  const keys = new Set<string>();
  const lock = await readLockFile(lockPathFor(path.resolve(spec.file)));
  for (const s of Object.values(lock?.stages ?? {})) keys.add(s.key);
  const last = await readLastRun(store, spec.name);
  for (const s of Object.values(last?.stages ?? {})) keys.add(s.key);
  return keys;
}

/** What push and pull start from: the pipeline, its local store and the remote. */
async function openShare(
  argv: string[],
  registry: Registry,
  io: Io,
  verb: "push" | "pull",
): Promise<{ file: string; spec: PipelineSpec; store: Store; remote: RemoteCache } | undefined> {
  const { values, positionals } = parse(argv, shareOpts);
  const file = positionals[0];
  if (!file || positionals.length > 1)
    throw new UsageError(`usage: quiver ${verb} PIPELINE.yaml --remote URL`);
  const loaded = loadPipeline(file, registry, {}, io);
  if (!loaded) return undefined;
  const { store } = await openStore(storeDir(file, values["cache-dir"]), io);
  const remote = remoteFor(store, values.remote);
  if (!remote) throw new UsageError("no remote: give --remote URL or set QUIVER_REMOTE");
  return { file, spec: loaded.spec, store, remote };
}

export async function cmdPush(argv: string[], registry: Registry, io: Io): Promise<number> {
  return withRemoteErrors(io, async () => {
    const opened = await openShare(argv, registry, io, "push");
    if (!opened) return 2;
    const { file, spec, store, remote } = opened;
    const keys = await keysToShare(spec, store);
    if (keys.size === 0) {
      io.err(
        `error QV_NOTHING_TO_PUSH: ${spec.name} has no lock and no recorded run\n  hint: quiver run ${file} first`,
      );
      return 1;
    }
    const t0 = performance.now();
    const r = await remote.push(keys);
    const last = await readLastRun(store, spec.name);
    if (last) await remote.putRecord(lastRunRecordName(spec.name), last as unknown as JsonValue);
    reportTransfer(io, "pushed", r, remote.backend.display);
    io.out(`in ${fmtMs(performance.now() - t0)}`);
    return r.problems.length || r.missing.length ? 1 : 0;
  });
}

export async function cmdPull(argv: string[], registry: Registry, io: Io): Promise<number> {
  return withRemoteErrors(io, async () => {
    const opened = await openShare(argv, registry, io, "pull");
    if (!opened) return 2;
    const { spec, store, remote } = opened;
    const lockFile = lockPathFor(path.resolve(spec.file));
    const lock = await readLockFile(lockFile);
    let keys: string[];
    let source: string;
    if (lock) {
      keys = Object.values(lock.stages).map((s) => s.key);
      source = `the lock ${displayPath(lockFile)}`;
    } else {
      const rec = await remote.getRecord(lastRunRecordName(spec.name));
      const stages = isJsonObject(rec) && isJsonObject(rec.stages) ? rec.stages : {};
      keys = Object.values(stages).flatMap((s) =>
        isJsonObject(s) && typeof s.key === "string" ? [s.key] : [],
      );
      source = `the latest run pushed for ${spec.name}`;
      if (!keys.length) {
        io.err(
          `error QV_NOTHING_TO_PULL: no lock file ${displayPath(lockFile)} and no run of ${spec.name} on ${remote.backend.display}`,
        );
        return 1;
      }
    }
    const t0 = performance.now();
    const r = await remote.pull(keys);
    if (lock) await recordLock(store, lock);
    reportTransfer(io, "pulled", r, remote.backend.display);
    io.out(`(what ${source} references) in ${fmtMs(performance.now() - t0)}`);
    return r.problems.length || r.missing.length ? 1 : 0;
  });
}

async function withRemoteErrors(io: Io, f: () => Promise<number>): Promise<number> {
  try {
    return await f();
  } catch (err) {
    if (reportRemoteError(io, err)) return 1;
    throw err;
  }
}

/**
 * Prints a remote failure (QV_REMOTE_AUTH, QV_REMOTE, QV_LOCK_FILE) and returns true; false for
 * any other error, which the caller rethrows. Also for `run --push`, whose upload comes after a run.
 */
export function reportRemoteError(io: Io, err: unknown): boolean {
  if (err instanceof RemoteAuthError) {
    const { message, hint } = describeAuthFailure(err);
    io.err(`error QV_REMOTE_AUTH: ${message}; stopped at the first refusal\n  hint: ${hint}`);
    return true;
  }
  if (err instanceof RemoteHttpError) {
    io.err(
      `error QV_REMOTE: ${err.message}\n  hint: check the URL and that the server accepts GET/PUT/HEAD/MOVE`,
    );
    return true;
  }
  if (err instanceof LockFileError) {
    io.err(`error QV_LOCK_FILE: ${err.message}`);
    return true;
  }
  return false;
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
export function metricsDistance(a: JsonValue, b: JsonValue): { worst: number; where: string } {
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

export async function cmdVerify(argv: string[], registry: Registry, io: Io): Promise<number> {
  return withRemoteErrors(io, async () => {
    const { values, positionals } = parse(argv, {
      ...pipelineOpts,
      jobs: { type: "string", short: "j" },
      sample: { type: "string" },
      seed: { type: "string" },
      tolerance: { type: "string" },
      lock: { type: "string" },
    });
    const file = positionals[0];
    if (!file || positionals.length > 1)
      throw new UsageError("usage: quiver verify PIPELINE.yaml [--sample N]");
    const tolerance = values.tolerance === undefined ? 1e-6 : Number(values.tolerance);
    if (!(tolerance >= 0))
      throw new UsageError(`--tolerance expects a number ≥ 0, got "${values.tolerance}"`);
    const loaded = loadPipeline(file, registry, overridesOf(values), io);
    if (!loaded) return 2;
    const { spec } = loaded;
    const lockFile = values.lock ?? lockPathFor(path.resolve(spec.file));
    const lock = await readLockFile(lockFile);
    if (!lock) {
      io.err(
        `error QV_NO_LOCK: no lock file ${displayPath(lockFile)}\n  hint: 'quiver run ${file}' writes it; commit it with the pipeline`,
      );
      return 1;
    }
    const inLock = spec.order.filter((id) => lock.stages[id]);
    let chosen = inLock;
    if (values.sample !== undefined) {
      const n = intOpt(values.sample, "sample", inLock.length);
      const seed = values.seed ?? "0";
      chosen = [...inLock]
        .sort((a, b) => (hashString(`${seed}:${a}`) < hashString(`${seed}:${b}`) ? -1 : 1))
        .slice(0, n);
    }
    const { store, memo } = await openStore(storeDir(file, values["cache-dir"]), io);
    io.out(
      `quiver verify ${displayPath(file)} against ${displayPath(lockFile)}: rerunning ${chosen.length} of ${inLock.length} stage(s)`,
    );
    const t0 = performance.now();
    const docs = new Map<string, FingerprintDoc>();
    const failed: string[] = [];
    const result = await runPipeline({
      spec,
      store,
      jobs: intOpt(values.jobs, "jobs", os.availableParallelism()),
      emit: (e) => {
        if (e.type === "failed") failed.push(`${e.stage}: ${e.diagnostics.map((d) => d.message).join("; ")}`);
      },
      fileMemo: memo,
      force: chosen,
      dataRoots: (values["data-root"] ?? []).map((r) => path.resolve(r)),
      onFingerprint: (id, _key, doc) => docs.set(id, doc),
    });
    const width = Math.max(8, ...spec.order.map((s) => s.length));
    const tally = { identical: 0, tolerance: 0, differ: 0, other: 0 };
    for (const id of spec.order) {
      const o = result.outcomes.get(id);
      const e = lock.stages[id];
      if (!o || !e || o.status !== "ran") continue;
      let line: string;
      if (o.key !== e.key) {
        tally.other++;
        const doc = docs.get(id);
        line = `not comparable: the fingerprint differs from the lock (${doc ? describeFingerprintDiffs(e.fingerprint, doc) : "different key"})`;
      } else {
        const bad = differingOutputs(e.outputs, o.outputs ?? {});
        if (bad.length === 0) {
          tally.identical++;
          line = "bit-identical";
        } else {
          const verdicts: string[] = [];
          let allWithin = true;
          for (const port of bad) {
            const mine = o.outputs?.[port];
            const theirs = e.outputs[port];
            if (e.outputs[port]?.kind !== "metrics" || !mine || !theirs) {
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
          if (allWithin) tally.tolerance++;
          else tally.differ++;
          line = verdicts.join("; ");
        }
      }
      io.out(`  ${id.padEnd(width)}  ${line}`);
    }
    for (const f of failed) io.err(`error: ${f}`);
    io.out(
      `${tally.identical} bit-identical, ${tally.tolerance} within tolerance ${values.tolerance ?? "1e-6"}, ${tally.differ} differ${tally.other ? `, ${tally.other} not comparable` : ""} in ${fmtMs(performance.now() - t0)}`,
    );
    return tally.differ || tally.other || failed.length ? 1 : 0;
  });
}

/** Rebuilds `{a: {b: 1}}` from the lock's `port.a.b` headline entries of one port. */
function headlinesAsObject(metrics: Readonly<Record<string, number>>, port: string): JsonValue {
  const root: { [k: string]: JsonValue } = {};
  for (const [k, v] of Object.entries(metrics)) {
    if (!k.startsWith(port + ".")) continue;
    let o = root;
    const parts = k.slice(port.length + 1).split(".");
    parts.slice(0, -1).forEach((p) => {
      if (!isJsonObject(o[p] ?? null)) o[p] = {};
      o = o[p] as { [k: string]: JsonValue };
    });
    o[parts[parts.length - 1]!] = v;
  }
  return root;
}

/** The leaves of `now` that `shape` has (the lock side knows only its headline metrics). */
function onlyLeavesOf(shape: JsonValue, now: JsonValue | undefined): JsonValue {
  if (!isJsonObject(shape)) return now ?? null;
  const out: { [k: string]: JsonValue } = {};
  for (const k of Object.keys(shape))
    out[k] = onlyLeavesOf(
      shape[k]!,
      isJsonObject(now ?? null) ? (now as { [k: string]: JsonValue })[k] : undefined,
    );
  return out;
}

/** True when a lock file exists next to the pipeline (for messages). */
export function hasLock(spec: PipelineSpec): boolean {
  return fs.existsSync(lockPathFor(path.resolve(spec.file)));
}
