/** `quiver report PIPELINE [--out FILE] [--open]`, and the report `quiver run --report` writes. */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { Store } from "../cache/store.js";
import type { EngineEvent } from "../engine/events.js";
import type { LastRun } from "../engine/history.js";
import type { PipelineSpec } from "../engine/pipeline/spec.js";
import type { Registry } from "../engine/pipeline/validate.js";
import { generateReport } from "../report/html.js";
import { parse, pipelineOpts, UsageError } from "./args.js";
import { displayPath, loadPipeline, openStore, storeDir, type Io, overridesOf } from "./load.js";

export function defaultReportPath(spec: PipelineSpec): string {
  return `${spec.name.replace(/[^A-Za-z0-9_.-]/g, "_")}-report.html`;
}

/** Generates the report and writes it atomically (a reader never sees half a file). */
export async function writeReport(
  store: Store,
  spec: PipelineSpec,
  out: string,
  io: Io,
  run?: { events: readonly EngineEvent[]; previous: LastRun | undefined },
): Promise<string> {
  const t0 = performance.now();
  const report = await generateReport({ store, spec, ...(run ? { run } : {}) });
  const target = path.resolve(out);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = `${target}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, report.html);
  fs.renameSync(tmp, target);
  const ms = Math.round(performance.now() - t0);
  io.err(
    `report: ${displayPath(target)} (${report.plots.length} plots, ${(report.html.length / 1024).toFixed(0)} kB, ${ms} ms)`,
  );
  return target;
}

export async function cmdReport(argv: string[], registry: Registry, io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...pipelineOpts,
    out: { type: "string", short: "o" },
    open: { type: "boolean" },
  });
  const file = positionals[0];
  if (!file || positionals.length > 1)
    throw new UsageError("usage: quiver report PIPELINE.yaml [--out FILE.html] [--open]");
  const loaded = loadPipeline(file, registry, overridesOf(values), io);
  if (!loaded) return 2;
  const { store } = await openStore(storeDir(file, values["cache-dir"]), io);
  const target = await writeReport(store, loaded.spec, values.out ?? defaultReportPath(loaded.spec), io);
  if (values.json) io.out(JSON.stringify({ report: target }));
  if (values.open) openInBrowser(target, io);
  return 0;
}

/** Hands the file to the desktop's opener; never waits for it, never fails the command. */
function openInBrowser(file: string, io: Io): void {
  const cmd = process.platform === "darwin" ? "open" : process.platform === "win32" ? "explorer" : "xdg-open";
  try {
    const child = spawn(cmd, [file], { detached: true, stdio: "ignore" });
    child.on("error", () => io.err(`report: could not start ${cmd}; open ${file} in a browser`));
    child.unref();
  } catch {
    io.err(`report: could not start ${cmd}; open ${file} in a browser`);
  }
}
