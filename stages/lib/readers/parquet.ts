/** `format: parquet` — Apache Parquet, decoded by parquet-wasm (stages/lib/io/columnar.ts). */
import { p } from "../../../core/schema.js";
import { defineReader, readEach } from "./reader.js";

const MAGIC = "PAR1";

export const parquetReader = defineReader({
  name: "parquet",
  title: "Parquet",
  extensions: [".parquet", ".pq"],
  sniff: (head) => [...MAGIC].every((ch, i) => head[i] === ch.charCodeAt(0)),
  params: p.object({}),
  async read(files) {
    const { readParquetBytes } = await import("../io/columnar.js");
    return readEach(files, async (f) => ({
      table: await readParquetBytes(await f.bytes(), f.name),
      details: {},
    }));
  },
});
