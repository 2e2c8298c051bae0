/** `quiver gc` and `quiver clean`: arguments and printing. */
import { clean, gc } from "../ops/gc.js";
import { parseSize } from "../ops/gc-budget.js";
import { common, parse, UsageError } from "./args.js";
import { fmtMs, printWarning } from "./console.js";
import type { Io } from "./load.js";
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
  const r = await gc({
    ...(values["cache-dir"] !== undefined ? { cacheDir: values["cache-dir"] } : {}),
    ...(positionals[0] !== undefined ? { pipeline: positionals[0] } : {}),
    dryRun,
    ...(budget !== undefined ? { maxSize: budget } : {}),
    onEvent: (e) => printWarning(io, e),
  });
  if (!r.exists) {
    io.out(`no store at ${r.store}: nothing to collect`);
    return 0;
  }
  io.out(
    `${dryRun ? "would remove" : "removed"} ${r.manifests} run manifest(s) and ${r.objects} object(s), freeing ${fmtBytes(r.bytes)}${r.jobs ? `, and ${r.jobs} finished job folder(s) (failure records, events, logs)` : ""}; kept ${r.kept} result(s) referenced by the latest runs`,
  );
  const plan = r.eviction;
  if (budget !== undefined && plan) {
    if (!plan.evict.length) {
      io.out(`kept results take ${fmtBytes(plan.before)}, within --max-size ${fmtBytes(budget)}`);
      return 0;
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
  return 0;
}

export async function cmdClean(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, { ...common, yes: { type: "boolean", short: "y" } });
  const yes = values.yes === true;
  const ask = io.ask;
  if (!yes && !ask)
    throw new UsageError("clean removes the whole store: confirm with --yes (no terminal to ask on)");
  const r = await clean({
    ...(values["cache-dir"] !== undefined ? { cacheDir: values["cache-dir"] } : {}),
    ...(positionals[0] !== undefined ? { pipeline: positionals[0] } : {}),
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
    io.out(r.reason === "declined" ? "nothing removed" : `no store at ${r.store}`);
    return r.reason === "declined" ? 1 : 0;
  }
  io.out(`removed the store ${r.store}: ${r.files} file(s), ${fmtBytes(r.bytes)}`);
  if (r.kept.length)
    io.out(
      `left in place (not the store's): ${r.kept.slice(0, 10).join(", ")}${r.kept.length > 10 ? ` and ${r.kept.length - 10} more` : ""}`,
    );
  return 0;
}
