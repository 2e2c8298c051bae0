/**
 * `format: hdf5` — tables in HDF5 files: compound datasets, pandas' fixed format, a group of
 * column datasets, or a 2-D matrix (stages/lib/io/hdf5.ts, read with h5wasm from the file on disk).
 */
import { p } from "../../../core/schema.js";
import { StageError } from "../../../core/stage.js";
import { defineReader, readEach } from "./reader.js";
import { readAt, type SourceFile } from "./source.js";

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/** The HDF5 signature sits at offset 0, 512, 1024, 2048… (after an optional user block). */
async function hasSignature(file: SourceFile): Promise<boolean> {
  for (let at = 0; at + 8 <= file.size; at = at === 0 ? 512 : at * 2) {
    const bytes = await readAt(file, at, 8);
    if (SIGNATURE.every((b, i) => bytes[i] === b)) return true;
  }
  return false;
}

export const hdf5Reader = defineReader({
  name: "hdf5",
  title: "HDF5",
  extensions: [".h5", ".hdf5", ".hdf", ".he5"],
  // "\x89HDF" at the start; a file with a user block before its signature needs format: hdf5.
  sniff: (head) => SIGNATURE.slice(0, 4).every((b, i) => head[i] === b),
  params: p.object({
    dataset: p.optional(p.string({ description: "HDF5: dataset path; default the only table in the file." })),
  }),
  perFile: ["dataset"],
  async read(files, prm, common) {
    const { readHdf5Table } = await import("../io/hdf5.js");
    return readEach(files, async (f) => {
      if (f.gzip)
        throw new StageError("QV_LOAD_FORMAT", `${f.name}: compressed HDF5 files are not supported`, {
          hint: "decompress the file (HDF5 has its own internal compression)",
          data: { file: f.name },
        });
      if (!(await hasSignature(f)))
        throw new StageError("QV_LOAD_HDF5", `${f.name}: not an HDF5 file (no HDF5 signature)`, {
          hint: "set format: to the file's real format, or give it the matching extension",
          data: { file: f.name },
        });
      const r = await readHdf5Table(f.path, f.name, prm.dataset, common.names);
      return { table: r.table, details: { dataset: r.dataset, layout: r.layout } };
    });
  },
});
