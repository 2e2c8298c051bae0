/** `quiver gc` and `quiver clean`: arguments and printing. */
import { clean, gc, type GcReport } from "../ops/gc.js";
import { parseSize } from "../ops/gc-budget.js";
import { common, parse, UsageError } from "./args.js";
import { fmtMs, printWarning } from "./console.js";
import { displayPath, emitJson, type Io } from "./load.js";
import { locateStores } from "../ops/store.js";
import { fmtBytes } from "./share.js";

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
  const dryRun = values["dry-run"] === true;
  const pipeline = positionals[0];
  const where = locateStores(pipeline, values["cache-dir"]);
  if (where.source === "found") {
    if (!where.dirs.length) {
      io.out(`no store found below ${process.cwd()} (looked for .quiver folders); nothing to collect`);
      if (values.json) emitJson(io, { type: "gc", searched: process.cwd(), stores: [] });
      return 0;
    }
    io.out(
      `found ${where.dirs.length} store(s) below ${process.cwd()}: ${where.dirs.map(displayPath).join(", ")}`,
    );
  }
  const reports: GcReport[] = [];
  for (const dir of where.dirs) {
    const r = await gc({
      cacheDir: dir,
      ...(pipeline !== undefined ? { pipeline } : {}),
      dryRun,
      ...(budget !== undefined ? { maxSize: budget } : {}),
      onEvent: (e) => printWarning(io, e),
    });
    reports.push(r);
    printGc(io, r, dryRun, budget, where.dirs.length > 1);
  }
  if (values.json) emitJson(io, { type: "gc", dryRun, source: where.source, stores: reports.map(gcJson) });
  return 0;
}

function gcJson(r: GcReport): Record<string, unknown> {
  if (!r.exists) return { store: r.store, exists: false };
  const { eviction, ...rest } = r;
  return {
    ...rest,
    ...(eviction
      ? {
          eviction: {
            before: eviction.before,
            after: eviction.after,
            freed: eviction.freed,
            lostMs: eviction.lostMs,
            evicted: eviction.evict.length,
          },
        }
      : {}),
  };
}

function printGc(io: Io, r: GcReport, dryRun: boolean, budget: number | undefined, named: boolean): void {
  const prefix = named ? `${displayPath(r.store)}: ` : "";
  if (!r.exists) {
    io.out(`${prefix}no store at ${r.store}: nothing to collect`);
    return;
  }
  io.out(
    `${prefix}${dryRun ? "would remove" : "removed"} ${r.manifests} run manifest(s) and ${r.objects} object(s), freeing ${fmtBytes(r.bytes)}${r.jobs ? `, and ${r.jobs} finished job folder(s) (failure records, events, logs)` : ""}; kept ${r.kept} result(s) referenced by the latest runs`,
  );
  const plan = r.eviction;
  if (budget !== undefined && plan) {
    if (!plan.evict.length) {
      io.out(`kept results take ${fmtBytes(plan.before)}, within --max-size ${fmtBytes(budget)}`);
      return;
    }
    io.out(
      `${dryRun ? "would evict" : "evicted"} ${plan.evict.length} payload(s) (${fmtBytes(plan.freed)}) to fit ${fmtBytes(budget)}: ${fmtBytes(plan.before)} → ${fmtBytes(plan.after)}; recomputing them would take ${fmtMs(plan.lostMs)} (recorded durations)`,
    );
    for (const e of plan.evict.slice(0, dryRun ? 20 : 5))
      io.out(
        `  ${e.hash}  ${fmtBytes(e.size).padStart(10)}  ${fmtMs(e.costMs).padStart(8)}  ${e.stages.join(", ")}`,
      );
    if (plan.after > budget)
      io.out(`still over budget: the rest is metrics and manifests, which gc never evicts`);
  }
}

export async function cmdClean(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    ...common,
    yes: { type: "boolean", short: "y" },
    all: { type: "boolean" },
  });
  const where = locateStores(positionals[0], values["cache-dir"]);
  if (where.source === "found" && !values.all) {
    if (!where.dirs.length) io.out(`no store found below ${process.cwd()} (looked for .quiver folders)`);
    else {
      io.out(`found ${where.dirs.length} store(s) below ${process.cwd()}:`);
      for (const d of where.dirs) io.out(`  ${displayPath(d)}`);
      io.out("name the one to remove (a pipeline, or --cache-dir DIR), or remove them all with --all");
    }
    if (values.json) emitJson(io, { type: "clean", searched: process.cwd(), found: where.dirs, removed: [] });
    return where.dirs.length ? 2 : 0;
  }
  const yes = values.yes === true;
  const ask = io.ask;
  if (!yes && !ask && where.dirs.length)
    throw new UsageError("clean removes the whole store: confirm with --yes (no terminal to ask on)");
  const removed: string[] = [];
  let declined = false;
  for (const dir of where.dirs) {
    const r = await clean({
      cacheDir: dir,
      ...(!yes && ask
        ? {
            confirm: async ({ store, results }) =>
              /^y(es)?$/i.test(
                (await ask(`remove the store ${store} (${results} stored result(s))? [y/N] `)).trim(),
              ),
          }
        : {}),
      onEvent: (e) => printWarning(io, e),
    });
    if (!r.removed) {
      declined ||= r.reason === "declined";
      io.out(r.reason === "declined" ? `nothing removed from ${r.store}` : `no store at ${r.store}`);
      continue;
    }
    removed.push(r.store);
    io.out(`removed the store ${r.store}: ${r.files} file(s), ${fmtBytes(r.bytes)}`);
    if (r.kept.length)
      io.out(
        `left in place (not the store's): ${r.kept.slice(0, 10).join(", ")}${r.kept.length > 10 ? ` and ${r.kept.length - 10} more` : ""}`,
      );
  }
  if (values.json) emitJson(io, { type: "clean", source: where.source, removed });
  return declined ? 1 : 0;
}
