/** `quiver run` and `quiver status` (alias `plan`; also `run --dry-run`): arguments and printing. */
import os from "node:os";
import { renderDiagnostic, renderDiagnostics } from "../core/diagnostics.js";
import type { EventSink } from "../engine/events.js";
import type { Registry } from "../engine/pipeline/validate.js";
import { formatParams } from "../engine/sweep.js";
import { run, status, type StatusReport } from "../ops/run.js";
import { executorOf, executorOpts, intOpt, parse, pipelineOpts, UsageError } from "./args.js";
import { consoleReporter, describeReasons, printWarning } from "./console.js";
import { interruptible } from "./interrupt.js";
import { dataRootsOf, displayPath, emitJson, errColor, loadPipeline, type Io } from "./load.js";

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
    ...executorOpts,
    remote: { type: "string" },
    push: { type: "boolean" },
    "no-lock": { type: "boolean" },
    "write-lock": { type: "boolean" },
    lock: { type: "string" },
    report: { type: "boolean" },
    rehash: { type: "boolean" },
  });
  const file = positionals[0];
  if (!file || positionals.length > 1) throw new UsageError(`usage: quiver ${mode} PIPELINE.yaml [options]`);
  const where = executorOf(values);
  const pipeline = loadPipeline(file, registry, values, io);
  const { spec } = pipeline;
  const jobs = intOpt(values.jobs, "jobs", os.availableParallelism());
  const dryRun = mode === "status" || values["dry-run"] === true;
  const json = values.json === true;
  const paramsLine = formatParams(spec);
  if (!json && paramsLine) io.out(paramsLine);
  const human = consoleReporter(io, pipeline.sources);
  const onEvent: EventSink = (e) => {
    if (json) {
      emitJson(io, e);
      printWarning(io, e, pipeline.sources);
    } else if (!dryRun) human(e);
    else printWarning(io, e, pipeline.sources);
  };
  const common = {
    ...(values["cache-dir"] !== undefined ? { cacheDir: values["cache-dir"] } : {}),
    ...(values.force ? { force: values.force } : {}),
    ...(values.until ? { until: values.until } : {}),
    dataRoots: dataRootsOf(values),
    rehash: values.rehash === true,
    onEvent,
  };
  if (dryRun) {
    const plan = await status(pipeline, { ...common, ...(values.lock ? { lockFile: values.lock } : {}) });
    if (!json) printPlan(plan, io, spec.file, pipeline.sources);
    return plan.ok ? 0 : 1;
  }
  const remote = values.remote ?? process.env.QUIVER_REMOTE;
  const { value: report, interrupted } = await interruptible(io, (signal) =>
    run(pipeline, {
      ...common,
      jobs,
      keepGoing: values["keep-going"] === true,
      ...where,
      ...(remote ? { remote } : {}),
      push: values.push === true,
      lock: values["no-lock"] ? "never" : values["write-lock"] ? "always" : "auto",
      ...(values.report ? { report: true } : {}),
      signal,
    }),
  );
  if (report.report)
    io.err(
      `report: ${displayPath(report.report.file)} (${report.report.plots} plots, ${(report.report.bytes / 1024).toFixed(0)} kB, ${report.report.durationMs} ms)`,
    );
  if (!json) {
    if (report.lock.state === "written") io.out(`wrote ${displayPath(report.lock.file)}`);
    if (report.lock.state === "skipped" && report.lock.reason === "overrides")
      io.out("lock file not updated: this run has --set/--params overrides (--write-lock to record them)");
  }
  // The answer: every evaluation stage's headline figures (one `results` event with --json).
  if (report.events.some((e) => e.type === "finished" || e.type === "cached")) {
    const { results } = await import("../ops/present.js");
    const { printResults, resultsJson } = await import("./results.js");
    const r = await results(pipeline, common).catch(() => undefined);
    if (r && json) emitJson(io, resultsJson(r));
    else if (r && r.stages.length) {
      io.out("");
      printResults(io, r);
    }
  }
  if (report.push?.ok === true) {
    const r = report.push.report;
    if (!json)
      io.out(`pushed ${r.manifests} result(s), ${r.objects} object(s) to ${report.remote ?? "the remote"}`);
    for (const p of r.problems) io.err(`warning QV_REMOTE_PUSH: ${p}`);
  } else if (report.push?.ok === false) {
    // The results are safe in the local store; only sharing them failed.
    io.err(renderDiagnostic(report.push.error, pipeline.sources, errColor(io)));
    return 1;
  }
  return interrupted ? 130 : report.ok ? 0 : 1;
}

/** The status table: per stage cached / will run and why, root causes before cascades. */
function printPlan(
  plan: StatusReport,
  io: Io,
  file: string,
  sources: (f: string) => string | undefined,
): void {
  const width = Math.max(8, ...plan.planned.map((e) => e.stage.length));
  io.out(`quiver status ${file}`);
  const notes = new Map<string, string>();
  let lockSummary: string | undefined;
  if (plan.lock && "error" in plan.lock)
    lockSummary = `lock ${displayPath(plan.lock.file)}: not compared: ${plan.lock.error}`;
  else if (plan.lock) {
    const count = { matches: 0, differs: 0, "not-run": 0, "not-in-lock": 0 };
    for (const [id, v] of plan.lock.verdicts) {
      count[v.state]++;
      notes.set(
        id,
        v.state === "matches" ? "matches lock" : v.state === "differs" ? `differs: ${v.detail}` : v.detail,
      );
    }
    const parts = [
      `${count.matches} match`,
      count.differs ? `${count.differs} differ` : "",
      count["not-run"] ? `${count["not-run"]} not run` : "",
      count["not-in-lock"] ? `${count["not-in-lock"]} not in lock` : "",
    ].filter(Boolean);
    lockSummary = `lock ${displayPath(plan.lock.file)}: ${parts.join(", ")}`;
  }
  let roots = 0;
  let cascades = 0;
  for (const e of plan.planned) {
    let line: string;
    if (e.decision === "cached") line = "cached";
    else if (e.decision === "run-if-inputs-change") line = "will run if its inputs change (upstream reruns)";
    else line = `will run: ${describeReasons(e.reasons)}`;
    if (e.decision !== "cached") {
      if (e.cascade) cascades++;
      else roots++;
    }
    const lockNote = notes.get(e.stage);
    io.out(
      `  ${e.decision === "cached" ? "✓" : e.cascade ? "↳" : "▶"} ${e.stage.padEnd(width)}  ${line}${lockNote ? ` · ${lockNote}` : ""}`,
    );
  }
  // Stages that cannot even be planned (a missing or confined file), and the stages behind them.
  for (const f of plan.failed)
    io.out(`  ✗ ${f.stage.padEnd(width)}  cannot run: ${f.diagnostics.map((d) => d.code).join(", ")}`);
  for (const id of plan.blocked) io.out(`  - ${id.padEnd(width)}  blocked: needs a stage that cannot run`);
  const failures = plan.failed.flatMap((f) => f.diagnostics);
  if (failures.length) io.err(renderDiagnostics(failures, sources, errColor(io)));
  const cached = plan.planned.filter((e) => e.decision === "cached").length;
  const problems = plan.failed.length + plan.blocked.length;
  io.out(
    `${cached} cached, ${roots} to run (root cause${roots === 1 ? "" : "s"}), ${cascades} downstream of them` +
      (problems ? `, ${plan.failed.length} cannot run, ${plan.blocked.length} blocked` : ""),
  );
  if (lockSummary) io.out(lockSummary);
}
