/** `quiver report PIPELINE [--out FILE] [--open]`: arguments and printing. */
import { spawn } from "node:child_process";
import type { Registry } from "../engine/pipeline/validate.js";
import { report } from "../ops/report.js";
import { parse, pipelineOpts, UsageError } from "./args.js";
import { printWarning } from "./console.js";
import { displayPath, emitJson, loadPipeline, type Io } from "./load.js";

export async function cmdReport(argv: string[], registry: Registry, io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...pipelineOpts,
    out: { type: "string", short: "o" },
    open: { type: "boolean" },
  });
  const file = positionals[0];
  if (!file || positionals.length > 1)
    throw new UsageError("usage: quiver report PIPELINE.yaml [--out FILE.html] [--open]");
  const pipeline = loadPipeline(file, registry, values, io);
  const r = await report(pipeline, {
    ...(values["cache-dir"] !== undefined ? { cacheDir: values["cache-dir"] } : {}),
    ...(values.out !== undefined ? { out: values.out } : {}),
    onEvent: (e) => printWarning(io, e),
  });
  io.err(
    `report: ${displayPath(r.file)} (${r.plots.length} plots, ${(r.bytes / 1024).toFixed(0)} kB, ${r.durationMs} ms)`,
  );
  if (values.json)
    emitJson(io, {
      type: "report",
      file: r.file,
      plots: r.plots.length,
      bytes: r.bytes,
      durationMs: r.durationMs,
      notes: r.notes,
    });
  if (values.open) openInBrowser(r.file, io);
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
