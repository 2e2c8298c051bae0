/**
 * `format: parquet` — Apache Parquet, decoded by Quiver's own reader (stages/lib/io/parquet.ts):
 * only the columns `load` keeps are read, row group by row group, on two threads for large files.
 */
import { p } from "../../../core/schema.js";
import { defineReader, readEach } from "./reader.js";

const MAGIC = "PAR1";

export const parquetReader = defineReader({
  name: "parquet",
  title: "Parquet",
  extensions: [".parquet", ".pq"],
  sniff: (head) => [...MAGIC].every((ch, i) => head[i] === ch.charCodeAt(0)),
  params: p.object({}),
  async read(files, _prm, common) {
    const { readParquet } = await import("../io/parquet.js");
    return readEach(files, async (f) => {
      const r = await readParquet(f, { keep: common.keep });
      return { table: r.table, details: {} };
    });
  },
});
