/** `quiver gc`, `quiver clean` and `quiver exec`. */
import fs from "node:fs";
import path from "node:path";
import { runJob, jobRecordName, type Job, type RunManifest } from "../engine/job.js";
import { decodeArtifact } from "../engine/artifacts.js";
import type { Registry } from "../engine/pipeline/validate.js";
import { renderDiagnostics } from "../core/diagnostics.js";
import { stageErrorToDiagnostic } from "../engine/executor.js";
import { common, parse, UsageError } from "./args.js";
import { fmtMs } from "./console.js";
import { openStore, storeDir, type Io } from "./load.js";
import type { Store } from "../cache/store.js";
import { lockPathFor, readLockFile } from "../engine/lock-file.js";
import { applyEviction, holdersOf, parseSize, planEviction } from "./gc-budget.js";

function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** Keys referenced by any pipeline's latest run, plus the sub-results (memos) those runs used. */
export async function liveKeys(store: Store): Promise<Set<string>> {
  const keep = new Set<string>();
  for (const name of await store.listRecords()) {
    // Latest runs, lock files (written or pulled) and sweeps all record `stages: {id: {key}}`.
    if (!/^(pipeline|lock|sweep)-/.test(name)) continue;
    const rec = (await store.readRecord(name)) as { stages?: Record<string, { key?: string }> } | undefined;
    for (const s of Object.values(rec?.stages ?? {})) if (typeof s.key === "string") keep.add(s.key);
  }
  for (const k of [...keep]) {
    const m = (await store.readManifest(k)) as Partial<RunManifest> | undefined;
    for (const mk of m?.memos ?? []) keep.add(mk);
  }
  return keep;
}

export async function cmdGc(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...common,
    "dry-run": { type: "boolean", short: "n" },
    "max-size": { type: "string" },
  });
  const budget = values["max-size"] === undefined ? undefined : parseSize(values["max-size"]);
  if (budget === undefined && values["max-size"] !== undefined)
    throw new UsageError(
      `--max-size expects a size such as 5G, 500M or 20000000, got "${values["max-size"]}"`,
    );
  const dir = storeDir(positionals[0], values["cache-dir"]);
  if (!fs.existsSync(dir)) {
    io.out(`no store at ${dir}: nothing to collect`);
    return 0;
  }
  const { store } = await openStore(dir, io);
  const keep = await liveKeys(store);
  const lock = positionals[0] ? await readLockFile(lockPathFor(path.resolve(positionals[0]))) : undefined;
  for (const s of Object.values(lock?.stages ?? {})) keep.add(s.key);
  const r = await store.gc(keep, values["dry-run"] === true);
  const verb = values["dry-run"] ? "would remove" : "removed";
  io.out(
    `${verb} ${r.manifests} run manifest(s) and ${r.objects} object(s), freeing ${fmtBytes(r.bytes)}; kept ${keep.size} result(s) referenced by the latest runs`,
  );
  if (budget !== undefined) {
    // In a dry run the unreferenced objects are still on disk: plan as if they were gone.
    const holders = await holdersOf(store, keep);
    const live = new Set(holders.map((h) => h.hash));
    const objects = (await store.listObjects()).filter((o) => live.has(o.hash));
    const plan = planEviction(objects, holders, budget);
    if (!plan.evict.length) {
      io.out(`kept results take ${fmtBytes(plan.before)}, within --max-size ${fmtBytes(budget)}`);
      return 0;
    }
    const evictVerb = values["dry-run"] ? "would evict" : "evicted";
    io.out(
      `${evictVerb} ${plan.evict.length} payload(s) (${fmtBytes(plan.freed)}) to fit ${fmtBytes(budget)}: ${fmtBytes(plan.before)} → ${fmtBytes(plan.after)}; recomputing them would take ${fmtMs(plan.lostMs)} (recorded durations)`,
    );
    for (const e of plan.evict.slice(0, values["dry-run"] ? 20 : 5))
      io.out(
        `  ${e.hash}  ${fmtBytes(e.size).padStart(10)}  ${fmtMs(e.costMs).padStart(8)}  ${e.stages.join(", ")}`,
      );
    if (plan.after > budget)
      io.out(`still over budget: the rest is metrics and manifests, which gc never evicts`);
    if (!values["dry-run"]) await applyEviction(store, plan);
  }
  return 0;
}

export function cmdClean(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, { ...common, yes: { type: "boolean", short: "y" } });
  const dir = storeDir(positionals[0], values["cache-dir"]);
  if (!fs.existsSync(dir)) {
    io.out(`no store at ${dir}`);
    return Promise.resolve(0);
  }
  if (!fs.existsSync(path.join(dir, "objects")) && !fs.existsSync(path.join(dir, "runs"))) {
    io.err(`error QV_NOT_A_STORE: ${dir} does not look like a Quiver store; refusing to delete it`);
    return Promise.resolve(1);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  io.out(`removed the store ${dir}`);
  return Promise.resolve(0);
}

/**
 * Runs one stage job that another process wrote to the store (record `job-<key>`): inputs are
 * read from the store, outputs and the manifest written to it. The building block of executors
 * that run stages in other processes or on batch systems.
 */
export async function cmdExec(argv: string[], registry: Registry, io: Io): Promise<number> {
  const { values, positionals } = parse(argv, { ...common });
  const key = positionals[0];
  if (!key || !values["cache-dir"]) throw new UsageError("usage: quiver exec --cache-dir STORE KEY");
  const { store } = await openStore(values["cache-dir"], io);
  const job = (await store.readRecord(jobRecordName(key))) as (Job & { type: string }) | undefined;
  if (!job || job.key !== key) {
    io.err(`error QV_NO_JOB: no job ${key} in ${values["cache-dir"]}`);
    return 2;
  }
  const def = registry.get(job.doc.stage.type);
  if (!def || def.version !== job.doc.stage.version) {
    io.err(
      `error QV_STAGE_VERSION: this Quiver has no stage type ${job.doc.stage.type} version ${job.doc.stage.version}`,
    );
    return 2;
  }
  const t0 = performance.now();
  try {
    const outcome = await runJob(store, job, def, {
      loadInput: async (port) => {
        const i = job.inputs[port]!;
        const bytes = await store.getObject(i.ref);
        if (!bytes) throw new Error(`input ${port} (${i.ref.hash}) is missing or damaged in the store`);
        return decodeArtifact(i.kind, bytes);
      },
      progress: (f, m) =>
        io.out(
          JSON.stringify({ type: "progress", stage: job.stageId, fraction: f, ...(m ? { message: m } : {}) }),
        ),
      note: (m) => io.out(JSON.stringify({ type: "note", stage: job.stageId, message: m })),
      signal: new AbortController().signal,
    });
    if (!outcome.ok) {
      io.err(renderDiagnostics(outcome.diagnostics, () => undefined));
      return 1;
    }
    io.out(JSON.stringify({ type: "exec-done", key, durationMs: Math.round(performance.now() - t0) }));
    io.err(`ran ${job.stageId} (${key}) in ${fmtMs(performance.now() - t0)}`);
    return 0;
  } catch (err) {
    const d = stageErrorToDiagnostic(err, {
      id: job.stageId,
      def,
      params: job.params,
      inputs: {},
      seed: job.seed,
      files: [],
      locate: () => ({ file: "(job)", line: 1, col: 1, length: 1 }),
    });
    io.err(`${d.code}: ${d.message}${d.hint ? `\n  hint: ${d.hint}` : ""}`);
    return 1;
  }
}
