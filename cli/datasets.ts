/** `quiver datasets list` and `quiver datasets make NAME --out DIR [--scale F] [--seed N]`. */
import path from "node:path";
import { datasets, DEFAULT_DATASET_SEED } from "../stages/lib/datasets/index.js";
import { didYouMean } from "../core/diagnostics.js";
import { parse, UsageError } from "./args.js";
import { displayPath, type Io } from "./load.js";

export async function cmdDatasets(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv, {
    out: { type: "string", short: "o" },
    scale: { type: "string" },
    seed: { type: "string" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  const [sub, name, ...extra] = positionals;
  if (sub === "list" || sub === undefined) {
    for (const g of datasets.values())
      io.out(
        `${g.name.padEnd(10)} ${g.fullRows.toLocaleString("en-US").padStart(9)} rows at --scale 1  ${g.description}`,
      );
    return 0;
  }
  if (sub !== "make") throw new UsageError(`unknown datasets subcommand "${sub}" (use list or make)`);
  if (!name) throw new UsageError(`datasets make needs a data set name: ${[...datasets.keys()].join(", ")}`);
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  const gen = datasets.get(name);
  if (!gen) {
    const guess = didYouMean(name, [...datasets.keys()]);
    throw new UsageError(
      `no data set "${name}"${guess ? `; did you mean "${guess}"?` : ""} (known: ${[...datasets.keys()].join(", ")})`,
    );
  }
  if (!values.out)
    throw new UsageError("datasets make needs --out DIR (e.g. --out pipelines/data/" + name + ")");
  const scale = values.scale === undefined ? 1 : Number(values.scale);
  if (!Number.isFinite(scale) || scale <= 0 || scale > 10)
    throw new UsageError(`--scale expects a number in (0, 10], got "${values.scale}"`);
  const seed = values.seed === undefined ? DEFAULT_DATASET_SEED : Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new UsageError(`--seed expects an integer in [0, 2^32), got "${values.seed}"`);
  const outDir = path.resolve(values.out);
  const t0 = performance.now();
  const files = await gen.make(outDir, { scale, seed });
  const seconds = (performance.now() - t0) / 1000;
  if (values.json) {
    io.out(JSON.stringify({ dataset: name, out: outDir, scale, seed, seconds, files }));
    return 0;
  }
  for (const f of files) io.out(`wrote ${displayPath(f.file)}  ${f.rows} rows  (${f.note})`);
  io.out(
    `${name}: ${files.length} file(s) in ${seconds.toFixed(1)} s (scale ${scale}, seed ${seed}); generated data, not the real samples`,
  );
  return 0;
}
