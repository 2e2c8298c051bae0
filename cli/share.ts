/** `quiver push`, `quiver pull` (a remote cache) and `quiver verify` (against the lock file). */
import os from "node:os";
import type { EventSink } from "../engine/events.js";
import type { Registry } from "../engine/pipeline/validate.js";
import type { TransferReport } from "../ops/remote.js";
import { pull, push } from "../ops/share.js";
import { verify } from "../ops/verify.js";
import { executorOf, executorOpts, intOpt, parse, pipelineOpts, UsageError } from "./args.js";
import { interruptible } from "./interrupt.js";
import { fmtMs, printWarning } from "./console.js";
import { dataRootsOf, displayPath, emitJson, loadPipeline, type Io } from "./load.js";

export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
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

async function share(argv: string[], registry: Registry, io: Io, verb: "push" | "pull"): Promise<number> {
  const { values, positionals } = parse(argv, shareOpts);
  const file = positionals[0];
  if (!file || positionals.length > 1)
    throw new UsageError(`usage: quiver ${verb} PIPELINE.yaml --remote URL`);
  const pipeline = loadPipeline(file, registry, { "allow-data-roots": values["allow-data-roots"] }, io);
  const remote = values.remote ?? process.env.QUIVER_REMOTE;
  if (!remote) throw new UsageError("no remote: give --remote URL or set QUIVER_REMOTE");
  const onEvent: EventSink = (e) => printWarning(io, e);
  const opts = {
    remote,
    ...(values["cache-dir"] !== undefined ? { cacheDir: values["cache-dir"] } : {}),
    onEvent,
  };
  const r = verb === "push" ? await push(pipeline, opts) : await pull(pipeline, opts);
  if (values.json)
    emitJson(io, {
      type: verb,
      ok: r.ok,
      remote: r.remote,
      source: r.source ?? null,
      durationMs: r.durationMs,
      ...r.report,
    });
  reportTransfer(io, verb === "push" ? "pushed" : "pulled", r.report, r.remote);
  io.out(`${r.source ? `(what ${r.source} references) ` : ""}in ${fmtMs(r.durationMs)}`);
  return r.ok ? 0 : 1;
}

export function cmdPush(argv: string[], registry: Registry, io: Io): Promise<number> {
  return share(argv, registry, io, "push");
}

export function cmdPull(argv: string[], registry: Registry, io: Io): Promise<number> {
  return share(argv, registry, io, "pull");
}

export async function cmdVerify(argv: string[], registry: Registry, io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...pipelineOpts,
    jobs: { type: "string", short: "j" },
    ...executorOpts,
    sample: { type: "string" },
    seed: { type: "string" },
    tolerance: { type: "string" },
    lock: { type: "string" },
  });
  const file = positionals[0];
  if (!file || positionals.length > 1)
    throw new UsageError("usage: quiver verify PIPELINE.yaml [--sample N]");
  const tolerance = values.tolerance === undefined ? 1e-6 : Number(values.tolerance);
  if (!(tolerance >= 0)) throw new UsageError(`--tolerance expects a number ≥ 0, got "${values.tolerance}"`);
  const pipeline = loadPipeline(file, registry, values, io);
  const sample = values.sample === undefined ? undefined : intOpt(values.sample, "sample", 1);
  const { value: r, interrupted } = await interruptible(io, (signal) =>
    verify(pipeline, {
      signal,
      ...(values["cache-dir"] !== undefined ? { cacheDir: values["cache-dir"] } : {}),
      jobs: intOpt(values.jobs, "jobs", os.availableParallelism()),
      ...(sample !== undefined ? { sample } : {}),
      ...(values.seed !== undefined ? { seed: values.seed } : {}),
      tolerance,
      ...(values.lock !== undefined ? { lockFile: values.lock } : {}),
      dataRoots: dataRootsOf(values),
      ...executorOf(values),
      onEvent: (e) => printWarning(io, e, pipeline.sources),
      onStart: (s) =>
        io.out(
          `quiver verify ${displayPath(file)} against ${displayPath(s.lockFile)}: rerunning ${s.chosen.length} of ${s.inLock.length} stage(s)`,
        ),
    }),
  );
  const width = Math.max(8, ...pipeline.spec.order.map((s) => s.length));
  for (const s of r.stages) io.out(`  ${s.stage.padEnd(width)}  ${s.detail}`);
  for (const f of r.failed) io.err(`error: ${f}`);
  const t = r.tally;
  if (values.json)
    emitJson(io, {
      type: "verify",
      ok: r.ok,
      lockFile: r.lockFile,
      tolerance: r.tolerance,
      tally: r.tally,
      stages: r.stages,
      failed: r.failed,
      durationMs: r.durationMs,
    });
  io.out(
    `${t.identical} bit-identical, ${t["within-tolerance"]} within tolerance ${values.tolerance ?? "1e-6"}, ${t.differs} differ${t["not-comparable"] ? `, ${t["not-comparable"]} not comparable` : ""} in ${fmtMs(r.durationMs)}`,
  );
  return interrupted ? 130 : r.ok ? 0 : 1;
}
