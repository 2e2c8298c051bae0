/** `quiver datasets list` and `quiver datasets make NAME --out DIR [--scale F] [--seed N]`. */
import { datasets, DEFAULT_DATASET_SEED } from "../stages/lib/datasets/index.js";
import { makeDataset } from "../ops/datasets.js";
import { parse, UsageError } from "./args.js";
import { displayPath, emitJson, type Io } from "./load.js";

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
    if (values.json) {
      emitJson(io, {
        type: "datasets",
        datasets: [...datasets.values()].map((g) => ({
          name: g.name,
          rows: g.fullRows,
          description: g.description,
        })),
      });
      return 0;
    }
    for (const g of datasets.values())
      io.out(
        `${g.name.padEnd(10)} ${g.fullRows.toLocaleString("en-US").padStart(9)} rows at --scale 1  ${g.description}`,
      );
    return 0;
  }
  if (sub !== "make") throw new UsageError(`unknown datasets subcommand "${sub}" (use list or make)`);
  if (!name) throw new UsageError(`datasets make needs a data set name: ${[...datasets.keys()].join(", ")}`);
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  if (datasets.has(name) && !values.out)
    throw new UsageError("datasets make needs --out DIR (e.g. --out pipelines/data/" + name + ")");
  const scale = values.scale === undefined ? 1 : Number(values.scale);
  if (!Number.isFinite(scale) || scale <= 0 || scale > 10)
    throw new UsageError(`--scale expects a number in (0, 10], got "${values.scale}"`);
  const seed = values.seed === undefined ? DEFAULT_DATASET_SEED : Number(values.seed);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
    throw new UsageError(`--seed expects an integer in [0, 2^32), got "${values.seed}"`);
  const r = await makeDataset(datasets, name, { out: values.out ?? ".", scale, seed });
  if (values.json) {
    emitJson(io, {
      type: "dataset",
      dataset: name,
      out: r.out,
      scale,
      seed,
      seconds: r.seconds,
      files: r.files,
    });
    return 0;
  }
  for (const f of r.files) io.out(`wrote ${displayPath(f.file)}  ${f.rows} rows  (${f.note})`);
  io.out(
    `${name}: ${r.files.length} file(s) in ${r.seconds.toFixed(1)} s (scale ${scale}, seed ${seed}); generated data, not the real samples`,
  );
  return 0;
}
