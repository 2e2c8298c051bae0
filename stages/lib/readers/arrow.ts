/** `format: arrow` — Arrow IPC files and streams, which includes Feather version 2 (stages/lib/io/columnar.ts). */
import { p } from "../../../core/schema.js";
import { defineReader, readEach } from "./reader.js";

const MAGIC = "ARROW1";

export const arrowReader = defineReader({
  name: "arrow",
  title: "Arrow/Feather",
  extensions: [".arrow", ".arrows", ".feather", ".ipc"],
  sniff: (head) => [...MAGIC].every((ch, i) => head[i] === ch.charCodeAt(0)),
  params: p.object({}),
  async read(files) {
    const { readArrowBytes } = await import("../io/columnar.js");
    return readEach(files, async (f) => ({
      table: await readArrowBytes(await f.bytes(), f.name),
      details: {},
    }));
  },
});
