/** `quiver run`, `quiver status` (alias `plan`) and `quiver exec`. */
import os from "node:os";
import path from "node:path";
import { renderDiagnostics, type SourceLookup } from "../core/diagnostics.js";
import type { EngineEvent } from "../engine/events.js";
import { runPipeline } from "../engine/executor.js";
import { readLastRun } from "../engine/history.js";
import { eventsRecordName, recordableEvents, type RunEventsRecord } from "../report/collect.js";
import type { Registry } from "../engine/pipeline/validate.js";
import { intOpt, parse, pipelineOpts, UsageError } from "./args.js";
import { consoleReporter, describeReasons } from "./console.js";
import { displayPath, loadPipeline, openStore, storeDir, type Io, overridesOf } from "./load.js";
import type { FingerprintDoc } from "../engine/fingerprint.js";
import { keysOf, lockColumn, writeLockAfterRun } from "./lock-run.js";
import { formatParams } from "../engine/sweep.js";

export async function cmdRun(
  argv: string[],
  registry: Registry,
  io: Io,
  mode: "run" | "status",
): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...pipelineOpts,
    jobs: { type: "string", short: "j" },
    force: { type: "string", multiple: true },
    until: { type: "string", multiple: true },
    "keep-going": { type: "boolean" },
    "dry-run": { type: "boolean" },
    isolate: { type: "boolean" },
    remote: { type: "string" },
    push: { type: "boolean" },
    "no-lock": { type: "boolean" },
    "write-lock": { type: "boolean" },
    lock: { type: "string" },
    report: { type: "boolean" },
  });
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new UsageError(`usage: quiver ${mode} PIPELINE.yaml [options]`);
  const loaded = loadPipeline(file, registry, overridesOf(values), io);
  if (!loaded) return 2;
  const { spec } = loaded;
  for (const s of [...(values.force ?? []), ...(values.until ?? [])]) {
    if (!spec.stages.has(s))
      throw new UsageError(`no stage "${s}" in ${file}; stages: ${spec.order.join(", ")}`);
  }
  const jobs = intOpt(values.jobs, "jobs", os.availableParallelism());
  const { store, memo } = await openStore(storeDir(file, values["cache-dir"]), io);
  const dryRun = mode === "status" || values["dry-run"] === true;
  const sources = (f: string) => (f === spec.file ? loaded.text : undefined);
  const events: EngineEvent[] = [];
  const docs = new Map<string, { key: string; doc: FingerprintDoc }>();
  // The remote-cache client is loaded only when a remote is named.
  const share = values.remote || process.env.QUIVER_REMOTE ? await import("./share.js") : undefined;
  const remote = share?.remoteFor(store, values.remote);
  const paramsLine = formatParams(spec);
  if (!values.json && paramsLine) io.out(paramsLine);
  const human = consoleReporter(io, sources);
  const emit = (e: EngineEvent) => {
    events.push(e);
    if (values.json) io.out(JSON.stringify(e));
    else if (!dryRun) human(e);
  };
  const ac = new AbortController();
  // The run before this one, for the report's "what changed" (the executor replaces the record).
  const previous = dryRun ? undefined : await readLastRun(store, spec.name);
  const onSigint = () => ac.abort();
  process.once("SIGINT", onSigint);
  try {
    const result = await runPipeline({
      spec,
      store,
      jobs,
      emit,
      fileMemo: memo,
      ...(values.force ? { force: values.force } : {}),
      ...(values.until ? { until: values.until } : {}),
      keepGoing: values["keep-going"] === true,
      dryRun,
      dataRoots: (values["data-root"] ?? []).map((r) => path.resolve(r)),
      signal: ac.signal,
      ...(values.isolate ? { isolate: { cli: process.argv[1] ?? "" } } : {}),
      onFingerprint: (id, key, doc) => docs.set(id, { key, doc }),
      ...(share && remote && !dryRun ? { remote: share.readThrough(remote, io) } : {}),
    });
    if (dryRun && !values.json)
      printPlan(
        events,
        io,
        spec.file,
        sources,
        [...result.outcomes.keys()],
        await lockColumn(spec, store, events, docs, values.lock),
      );
    if (!dryRun) {
      const record: RunEventsRecord = {
        at: new Date().toISOString(),
        events: recordableEvents(events),
        previous,
      };
      await store.writeRecord(eventsRecordName(spec.name), record);
      if (values.report) {
        const { defaultReportPath, writeReport } = await import("./report.js");
        await writeReport(store, spec, defaultReportPath(spec), io, { events, previous });
      }
    }
    if (!dryRun && result.ok) {
      // The lock describes the pipeline as committed: runs with overrides are explorations.
      const overridden = (values.set?.length ?? 0) > 0 || values.params !== undefined;
      if (values["no-lock"] !== true && (!overridden || values["write-lock"] === true)) {
        const lock = await writeLockAfterRun(spec, store, result);
        if (lock.changed && !values.json) io.out(`wrote ${displayPath(lock.file)}`);
      } else if (overridden && values["no-lock"] !== true && !values.json)
        io.out("lock file not updated: this run has --set/--params overrides (--write-lock to record them)");
      if (remote && values.push) {
        try {
          const r = await remote.push(Object.values(keysOf(result)));
          if (!values.json)
            io.out(`pushed ${r.manifests} result(s), ${r.objects} object(s) to ${remote.backend.display}`);
          for (const p of r.problems) io.err(`warning QV_REMOTE_PUSH: ${p}`);
        } catch (err) {
          // The results are safe in the local store; only sharing them failed.
          if (!share?.reportRemoteError(io, err)) throw err;
          return 1;
        }
      }
    }
    return result.ok || dryRun
      ? dryRun && [...result.outcomes.values()].some((o) => o.status === "failed")
        ? 1
        : 0
      : 1;
  } finally {
    process.off("SIGINT", onSigint);
  }
}

/** The status table: per stage cached / will run and why, root causes before cascades. */
function printPlan(
  events: readonly EngineEvent[],
  io: Io,
  file: string,
  sources: SourceLookup,
  order: readonly string[],
  lock?: { notes: ReadonlyMap<string, string>; summary: string },
): void {
  const planned = events.filter((e): e is Extract<EngineEvent, { type: "planned" }> => e.type === "planned");
  const width = Math.max(8, ...planned.map((e) => e.stage.length));
  io.out(`quiver status ${file}`);
  let roots = 0;
  let cascades = 0;
  for (const e of planned) {
    const cascade =
      e.decision === "run-if-inputs-change" || e.reasons.every((r) => r.kind === "changed" && r.cascade);
    let line: string;
    if (e.decision === "cached") line = "cached";
    else if (e.decision === "run-if-inputs-change") line = "will run if its inputs change (upstream reruns)";
    else line = `will run: ${describeReasons(e.reasons)}`;
    if (e.decision !== "cached") {
      if (cascade) cascades++;
      else roots++;
    }
    const lockNote = lock?.notes.get(e.stage);
    io.out(
      `  ${e.decision === "cached" ? "✓" : cascade ? "↳" : "▶"} ${e.stage.padEnd(width)}  ${line}${lockNote ? ` · ${lockNote}` : ""}`,
    );
  }
  // Stages that cannot even be planned (a missing or confined file), and the stages behind them.
  const failed = events.filter((e): e is Extract<EngineEvent, { type: "failed" }> => e.type === "failed");
  for (const e of failed)
    io.out(`  ✗ ${e.stage.padEnd(width)}  cannot run: ${e.diagnostics.map((d) => d.code).join(", ")}`);
  const seen = new Set([...planned.map((e) => e.stage), ...failed.map((e) => e.stage)]);
  const blocked = order.filter((id) => !seen.has(id));
  for (const id of blocked) io.out(`  - ${id.padEnd(width)}  blocked: needs a stage that cannot run`);
  const failures = failed.flatMap((e) => e.diagnostics);
  if (failures.length) io.err(renderDiagnostics(failures, sources, io.color));
  const cached = planned.filter((e) => e.decision === "cached").length;
  const problems = failed.length + blocked.length;
  io.out(
    `${cached} cached, ${roots} to run (root cause${roots === 1 ? "" : "s"}), ${cascades} downstream of them` +
      (problems ? `, ${failed.length} cannot run, ${blocked.length} blocked` : ""),
  );
  if (lock) io.out(lock.summary);
}
