/**
 * `datasets`: generated stand-ins for analysis inputs that cannot be shipped, written by
 * generators the caller passes in (the command line names the stage library's list of them).
 */
import path from "node:path";
import { didYouMean } from "../core/diagnostics.js";
import { UsageError } from "./errors.js";

/** What a data-set generator offers (the stage library's generators have this shape). */
export interface DatasetGenerator {
  readonly name: string;
  readonly description: string;
  /** Rows at scale 1. */
  readonly fullRows: number;
  make(
    outDir: string,
    opts: { scale: number; seed: number },
  ): Promise<readonly { readonly file: string; readonly rows: number; readonly note: string }[]>;
}

export type DatasetRegistry = ReadonlyMap<string, DatasetGenerator>;

export interface MakeDatasetOptions {
  readonly out: string;
  /** Multiplies the number of rows (1 = the real sample sizes), in (0, 10]. */
  readonly scale?: number;
  /** Deterministic output from the seed, an integer in [0, 2^32). */
  readonly seed: number;
}

export interface MadeDataset {
  readonly dataset: string;
  readonly out: string;
  readonly scale: number;
  readonly seed: number;
  readonly seconds: number;
  readonly files: readonly { readonly file: string; readonly rows: number; readonly note: string }[];
}

export async function makeDataset(
  generators: DatasetRegistry,
  name: string,
  opts: MakeDatasetOptions,
): Promise<MadeDataset> {
  const gen = generators.get(name);
  if (!gen) {
    const guess = didYouMean(name, [...generators.keys()]);
    throw new UsageError(
      `no data set "${name}"${guess ? `; did you mean "${guess}"?` : ""} (known: ${[...generators.keys()].join(", ")})`,
    );
  }
  const scale = opts.scale ?? 1;
  if (!Number.isFinite(scale) || scale <= 0 || scale > 10)
    throw new UsageError(`--scale expects a number in (0, 10], got "${scale}"`);
  if (!Number.isInteger(opts.seed) || opts.seed < 0 || opts.seed > 0xffffffff)
    throw new UsageError(`--seed expects an integer in [0, 2^32), got "${opts.seed}"`);
  const out = path.resolve(opts.out);
  const t0 = performance.now();
  const files = await gen.make(out, { scale, seed: opts.seed });
  return { dataset: name, out, scale, seed: opts.seed, seconds: (performance.now() - t0) / 1000, files };
}
