/**
 * Data-set generators behind `quiver datasets make`: schema-identical stand-ins for analysis
 * inputs that cannot be redistributed or downloaded here. Deterministic from the seed.
 */
import { HIGGS_SAMPLES, writeHiggs4l } from "./higgs-4l.js";
import { PHOTON_DATASET, PHOTON_FILE, PHOTON_ROWS, writePhotonId } from "./photon-id.js";

export interface GeneratedFile {
  readonly file: string;
  readonly rows: number;
  readonly note: string;
}

export interface DatasetGenerator {
  readonly name: string;
  readonly description: string;
  /** Rows at --scale 1. */
  readonly fullRows: number;
  make(outDir: string, opts: { scale: number; seed: number }): Promise<GeneratedFile[]>;
}

export const DEFAULT_DATASET_SEED = 21;

export const datasets: ReadonlyMap<string, DatasetGenerator> = new Map(
  [
    {
      name: "higgs-4l",
      description:
        "ATLAS H→ZZ→4ℓ lab (TU Dresden): the 8 MC sample CSVs (ggH125_ZZ4lep ... ttbar_lep), yields as in the course tables",
      fullRows: HIGGS_SAMPLES.reduce((s, x) => s + x.rows, 0),
      make: (outDir: string, opts: { scale: number; seed: number }) =>
        Promise.resolve(
          writeHiggs4l(outDir, opts).map((r) => ({
            file: r.file,
            rows: r.rows,
            note: `Σw ${r.sumW.toFixed(3)}, ${r.passRows} rows (Σw ${r.passSumW.toFixed(3)}) pass the preselection`,
          })),
        ),
    },
    {
      name: "photon-id",
      description: `CMS ECAL shower shapes (MIT 8.S50x L14): ${PHOTON_FILE}, HDF5 dataset ${PHOTON_DATASET}, 61 columns`,
      fullRows: PHOTON_ROWS,
      make: async (outDir: string, opts: { scale: number; seed: number }) => {
        const r = await writePhotonId(outDir, opts);
        return [{ file: r.file, rows: r.rows, note: `dataset ${r.dataset}, ${r.signal} with gen_match 1` }];
      },
    },
  ].map((g) => [g.name, g] as const),
);
