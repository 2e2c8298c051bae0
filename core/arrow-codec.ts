/**
 * Table <-> Arrow IPC (file format). Arrow is how tables live on disk in the store and how
 * `load` reads .arrow/.feather (Parquet has its own reader, stages/lib/io/parquet.ts, with the same
 * type mapping).
 *
 * A stored table is one Arrow IPC file of record batches of bounded size (`BATCH_BYTES` of column
 * values each), written to a sink piece by piece and read back batch by batch from a file handle:
 * no single Buffer ever holds the whole file, so neither Node's 2 GiB file-read limit nor a Buffer
 * limit caps a table. Batch boundaries are a function of the table alone (its column types and
 * row count), so equal tables give equal bytes whatever produced them; a table of one batch is
 * written exactly as before batches existed, so stores written earlier stay valid.
 *
 * apache-arrow is imported lazily: a fully cached run never decodes a table.
 */
import type { FileHandle } from "node:fs/promises";
import { canonicalDictionaries, withLineage, type Column, type Lineage, type Table } from "./table.js";

/**
 * The Arrow field-metadata key of a column's lineage (core/table.ts `Column.lineage`): a JSON
 * array of strings. Written only when the chain is not empty, so a table without lineage encodes
 * to the bytes it always did.
 */
export const LINEAGE_METADATA_KEY = "quiver.lineage";

function lineageMetadata(c: Column): Map<string, string> | undefined {
  return c.lineage && c.lineage.length > 0
    ? new Map([[LINEAGE_METADATA_KEY, JSON.stringify(c.lineage)]])
    : undefined;
}

/** The lineage stored on a field; metadata that is not Quiver's (or not a list of strings) is ignored. */
function fieldLineage(
  metadata: ReadonlyMap<string, string> | undefined,
  source: string,
  name: string,
): Lineage {
  const raw = metadata?.get(LINEAGE_METADATA_KEY);
  if (raw === undefined) return [];
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    throw new Error(`${source}: column "${name}" has malformed ${LINEAGE_METADATA_KEY} metadata`);
  }
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string"))
    throw new Error(`${source}: column "${name}" has malformed ${LINEAGE_METADATA_KEY} metadata`);
  return v;
}

type ArrowModule = typeof import("apache-arrow");
type RecordBatchReader = import("apache-arrow").RecordBatchReader;
type Utf8Vector = import("apache-arrow").Vector<import("apache-arrow").Utf8>;
type StructData = import("apache-arrow").Data<import("apache-arrow").Struct>;
let arrowModule: Promise<ArrowModule> | undefined;
function arrow(): Promise<ArrowModule> {
  arrowModule ??= import("apache-arrow");
  return arrowModule;
}

/** Column bytes per record batch in a stored table (a format constant: changing it changes hashes). */
export const BATCH_BYTES = 64 * 2 ** 20;
/** Schema metadata of a table written in several batches: its row count, so a reader can preallocate. */
const ROWS_KEY = "quiver.rows";

/** Bytes of column values one row takes (dictionary codes count 4 bytes plus a validity bit). */
export function rowBytes(table: Table): number {
  let b = 0;
  for (const c of table.columns.values()) b += c.type === "float64" ? 8 : c.type === "int32" ? 4 : 4.125;
  return b;
}

/** Rows per record batch: as many as fit in `batchBytes`, at least one. */
export function rowsPerBatch(table: Table, batchBytes = BATCH_BYTES): number {
  const per = rowBytes(table);
  return per === 0 ? Math.max(table.numRows, 1) : Math.max(1, Math.floor(batchBytes / per));
}

export interface WriteOptions {
  /** Column bytes per batch; tests use a small value to get many batches from a small table. */
  readonly batchBytes?: number;
}

/**
 * Writes `table` as an Arrow IPC file to `sink`, one record batch at a time (each batch's buffers
 * are views of the table's columns, not copies). Returns the number of record batches written.
 */
export async function writeTableArrow(
  table: Table,
  sink: (chunk: Uint8Array) => Promise<void>,
  opts: WriteOptions = {},
): Promise<{ batches: number }> {
  const A = await arrow();
  // Equal values must give equal bytes: string dictionaries are written in canonical order.
  const t = canonicalDictionaries(table);
  const step = rowsPerBatch(t, opts.batchBytes);
  const nBatches = Math.max(1, Math.ceil(t.numRows / step));
  const fields: InstanceType<ArrowModule["Field"]>[] = [];
  const dictionaries = new Map<string, Utf8Vector>();
  // Explicit dictionary ids: arrow's default comes from a process-wide counter, which made the
  // bytes (and so the content hash) depend on how many tables the process had encoded before.
  let dictionaryId = 0;
  for (const [name, c] of t.columns) {
    switch (c.type) {
      case "float64":
        fields.push(new A.Field(name, new A.Float64(), true, lineageMetadata(c)));
        break;
      case "int32":
        fields.push(new A.Field(name, new A.Int32(), false, lineageMetadata(c)));
        break;
      case "dict":
        fields.push(
          new A.Field(
            name,
            new A.Dictionary(new A.Utf8(), new A.Int32(), dictionaryId++),
            true,
            lineageMetadata(c),
          ),
        );
        // One dictionary for the whole file (the file format has no replacement dictionaries).
        dictionaries.set(name, A.vectorFromArray([...c.dictionary], new A.Utf8()));
        break;
    }
  }
  const metadata = nBatches > 1 ? new Map([[ROWS_KEY, String(t.numRows)]]) : undefined;
  const schema = new A.Schema(fields, metadata);
  const writer = new A.RecordBatchFileWriter();
  // The writer queues its output; drain it to the sink while batches are written.
  const drained = (async () => {
    let pending: Uint8Array[] = [];
    let size = 0;
    const flush = async () => {
      if (size === 0) return;
      const chunk = pending.length === 1 ? pending[0]! : Buffer.concat(pending, size);
      pending = [];
      size = 0;
      await sink(chunk);
    };
    for await (const chunk of writer as AsyncIterable<Uint8Array>) {
      // Small pieces (message headers, padding) are gathered; column buffers go straight through.
      if (chunk.byteLength >= 1 << 20) {
        await flush();
        await sink(chunk);
      } else {
        pending.push(chunk);
        size += chunk.byteLength;
        if (size >= 1 << 20) await flush();
      }
    }
    await flush();
  })();
  try {
    for (let b = 0; b < nBatches; b++) {
      const start = b * step;
      const end = Math.min(t.numRows, start + step);
      writer.write(new A.RecordBatch(schema, batchData(A, t, fields, dictionaries, start, end)));
      // Let the drain catch up before the next batch is queued.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    writer.finish();
  }
  await drained;
  return { batches: nBatches };
}

function batchData(
  A: ArrowModule,
  t: Table,
  fields: InstanceType<ArrowModule["Field"]>[],
  dictionaries: ReadonlyMap<string, Utf8Vector>,
  start: number,
  end: number,
): StructData {
  const length = end - start;
  const data: ReturnType<ArrowModule["makeData"]>[] = [];
  let i = 0;
  for (const [name, c] of t.columns) {
    const field = fields[i++]!;
    switch (c.type) {
      case "float64":
        data.push(A.makeData({ type: new A.Float64(), length, data: c.values.subarray(start, end) }));
        break;
      case "int32":
        data.push(A.makeData({ type: new A.Int32(), length, data: c.values.subarray(start, end) }));
        break;
      case "dict": {
        const codes = c.codes.subarray(start, end);
        // Missing strings (code -1) become Arrow nulls.
        let nullCount = 0;
        const validity = new Uint8Array(Math.ceil(length / 8));
        for (let r = 0; r < length; r++) {
          if (codes[r]! >= 0) validity[r >> 3]! |= 1 << (r & 7);
          else nullCount++;
        }
        data.push(
          A.makeData({
            type: field.type as InstanceType<ArrowModule["Dictionary"]>,
            length,
            data: codes,
            dictionary: dictionaries.get(name)!,
            nullCount,
            nullBitmap: nullCount ? validity : null,
          }),
        );
        break;
      }
    }
  }
  return A.makeData({ type: new A.Struct(fields), length, children: data });
}

export async function tableToArrowIPC(table: Table, format: "file" | "stream" = "file"): Promise<Uint8Array> {
  if (format === "file") {
    return collect(table);
  }
  const A = await arrow();
  return A.tableToIPC(A.tableFromIPC(await collect(table)), "stream");
}

/** The whole Arrow IPC file in one buffer (for small tables and callers that need bytes). */
async function collect(table: Table): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  await writeTableArrow(table, (c) => {
    parts.push(c);
    return Promise.resolve();
  });
  return Buffer.concat(parts);
}

/**
 * Reads a table written by `writeTableArrow` from an open file, one record batch at a time:
 * memory holds the table's columns plus one batch. Returns the table and its batch count.
 */
export async function readTableArrow(
  file: FileHandle,
  source = "arrow data",
): Promise<{ table: Table; batches: number }> {
  const A = await arrow();
  const reader: RecordBatchReader = await A.RecordBatchReader.from(file);
  await reader.open();
  if (!reader.isFile()) throw new Error(`${source}: not an Arrow IPC file`);
  const rowsMeta = reader.schema.metadata.get(ROWS_KEY);
  const numRows = rowsMeta === undefined ? -1 : Number(rowsMeta);
  const fields = reader.schema.fields;
  if (numRows < 0) {
    // A table of one batch (or written before batches existed): small, read whole as before.
    const { size } = await file.stat();
    const bytes = Buffer.allocUnsafe(size);
    for (let o = 0; o < size;) {
      const { bytesRead } = await file.read(bytes, o, size - o, o);
      if (bytesRead === 0) throw new Error(`${source}: file ended at byte ${o} of ${size}`);
      o += bytesRead;
    }
    return { table: await tableFromArrowIPC(bytes, source), batches: reader.numRecordBatches };
  }
  if (!Number.isSafeInteger(numRows)) throw new Error(`${source}: bad row count "${rowsMeta}"`);
  const out = fields.map((f): Column => {
    const tid = Number((f.type as { typeId: number }).typeId);
    if (tid === Number(A.Type.Float)) return { type: "float64", values: new Float64Array(numRows) };
    if (tid === Number(A.Type.Int)) return { type: "int32", values: new Int32Array(numRows) };
    if (tid === Number(A.Type.Dictionary))
      return { type: "dict", codes: new Int32Array(numRows), dictionary: [] };
    throw new Error(`${source}: column "${f.name}" has Arrow type ${String(f.type)}, not one Quiver stores`);
  });
  const dictionaries: (string[] | undefined)[] = fields.map(() => undefined);
  let o = 0;
  let batches = 0;
  for await (const batch of reader) {
    batches++;
    if (o + batch.numRows > numRows) throw new Error(`${source}: more rows than the ${numRows} announced`);
    for (let j = 0; j < fields.length; j++) {
      const d = batch.getChildAt(j)!.data[0]!;
      const col = out[j]!;
      if (col.type === "dict") {
        if (dictionaries[j] === undefined) {
          const dv = d.dictionary!;
          const strings: string[] = [];
          for (const s of dv) strings.push(String(s));
          dictionaries[j] = strings;
        }
        const codes = (d.values as Int32Array).subarray(0, d.length);
        col.codes.set(codes, o);
        if (d.nullCount > 0) {
          const bitmap = d.nullBitmap;
          for (let r = 0; r < d.length; r++)
            if (!((bitmap[(r + d.offset) >> 3]! >> ((r + d.offset) & 7)) & 1)) col.codes[o + r] = -1;
        }
      } else {
        col.values.set((d.values as Float64Array | Int32Array).subarray(0, d.length), o);
      }
    }
    o += batch.numRows;
  }
  if (o !== numRows) throw new Error(`${source}: ${o} rows read, ${numRows} announced`);
  const columns = new Map<string, Column>();
  fields.forEach((f, j) => {
    const c = out[j]!;
    const col: Column =
      c.type === "dict" ? { type: "dict", codes: c.codes, dictionary: dictionaries[j] ?? [] } : c;
    const lineage = fieldLineage(f.metadata, source, f.name);
    columns.set(f.name, lineage.length > 0 ? withLineage(col, lineage) : col);
  });
  return { table: { numRows, columns }, batches };
}

/** The number of record batches an Arrow IPC file's footer lists (reads the footer only). */
export async function arrowFileBatchCount(file: FileHandle): Promise<number> {
  const A = await arrow();
  const reader = await A.RecordBatchReader.from(file);
  await reader.open({ autoDestroy: false });
  return reader.isFile() ? reader.numRecordBatches : -1;
}

/** Any Arrow IPC (file or stream format) to a Table. Columns of other Arrow types are converted:
 *  integers and floats to float64 (int32 stays int32; bool to int32), strings to dictionary. */
export async function tableFromArrowIPC(bytes: Uint8Array, source = "arrow data"): Promise<Table> {
  const A = await arrow();
  return fromArrowTable(A, A.tableFromIPC(bytes), source);
}

function fromArrowTable(A: ArrowModule, at: InstanceType<ArrowModule["Table"]>, source: string): Table {
  const columns = new Map<string, Column>();
  const n = at.numRows;
  for (const field of at.schema.fields) {
    const vec = at.getChild(field.name);
    if (!vec) continue;
    // Compare as plain numbers: Arrow's Type enum and typeId are the same values.
    const tid: number = (field.type as { typeId: number }).typeId;
    const T = {
      Int: Number(A.Type.Int),
      Float: Number(A.Type.Float),
      Bool: Number(A.Type.Bool),
      Decimal: Number(A.Type.Decimal),
      Dictionary: Number(A.Type.Dictionary),
      Utf8: Number(A.Type.Utf8),
      LargeUtf8: Number(A.Type.LargeUtf8),
    };
    const intType = field.type as { bitWidth?: number; isSigned?: boolean };
    if (tid === T.Int && intType.bitWidth === 32 && intType.isSigned === true && vec.nullCount === 0) {
      const out = new Int32Array(n);
      let o = 0;
      for (const chunk of vec.data) {
        out.set((chunk.values as Int32Array).subarray(0, chunk.length), o);
        o += chunk.length;
      }
      columns.set(field.name, { type: "int32", values: out });
    } else if (
      tid === T.Float &&
      Number((field.type as { precision?: number }).precision) === Number(A.Precision.DOUBLE) &&
      vec.nullCount === 0
    ) {
      // Fast path: copy float64 buffers chunk by chunk instead of boxing every value.
      const out = new Float64Array(n);
      let o = 0;
      for (const chunk of vec.data) {
        out.set((chunk.values as Float64Array).subarray(0, chunk.length), o);
        o += chunk.length;
      }
      columns.set(field.name, { type: "float64", values: out });
    } else if (tid === T.Float || tid === T.Int || tid === T.Bool || tid === T.Decimal) {
      const out = new Float64Array(n);
      let i = 0;
      for (const v of vec) {
        out[i++] = v === null || v === undefined ? NaN : Number(v);
      }
      if (tid === T.Bool && vec.nullCount === 0) {
        columns.set(field.name, { type: "int32", values: Int32Array.from(out) });
      } else columns.set(field.name, { type: "float64", values: out });
    } else if (tid === T.Dictionary || tid === T.Utf8 || tid === T.LargeUtf8) {
      const dict: string[] = [];
      const index = new Map<string, number>();
      const codes = new Int32Array(n);
      let i = 0;
      for (const v of vec) {
        if (v === null || v === undefined) {
          codes[i++] = -1;
          continue;
        }
        const s = String(v);
        let code = index.get(s);
        if (code === undefined) {
          code = dict.length;
          dict.push(s);
          index.set(s, code);
        }
        codes[i++] = code;
      }
      columns.set(field.name, { type: "dict", codes, dictionary: dict });
    } else {
      throw new Error(
        `${source}: column "${field.name}" has Arrow type ${(field.type as { toString(): string }).toString()}, which Quiver cannot use`,
      );
    }
  }
  for (const field of at.schema.fields) {
    const lineage = fieldLineage(field.metadata, source, field.name);
    const c = columns.get(field.name);
    if (c && lineage.length > 0) columns.set(field.name, withLineage(c, lineage));
  }
  return { numRows: n, columns };
}

/** What a table is without its data: rows and typed columns. */
export interface TableSummary {
  readonly numRows: number;
  readonly columns: readonly { readonly name: string; readonly type: Column["type"] | "other" }[];
}

/**
 * The row count and columns of an Arrow IPC file read through `read(start, length)`: the footer
 * (schema and record-batch blocks) and each batch's message header, never the data. For a large
 * stored table whose schema is all a reader wants. Undefined when the bytes are not an Arrow file.
 */
export async function arrowFileSummary(
  read: (start: number, length: number) => Promise<Uint8Array | undefined>,
  size: number,
): Promise<TableSummary | undefined> {
  const A = await arrow();
  const { Footer } = await import("apache-arrow/ipc/metadata/file");
  const magic = "ARROW1";
  try {
    const tail = await read(size - 10, 10);
    if (!tail || new TextDecoder().decode(tail.subarray(4)) !== magic) return undefined;
    const footerLength = new DataView(tail.buffer, tail.byteOffset, 10).getInt32(0, true);
    if (!(footerLength > 0 && footerLength < size - 18)) return undefined;
    const footerBytes = await read(size - 10 - footerLength, footerLength);
    if (!footerBytes) return undefined;
    const footer = Footer.decode(footerBytes);
    let numRows = 0;
    for (const block of footer.recordBatches()) {
      const meta = await read(Number(block.offset), block.metaDataLength);
      if (!meta || meta.length < 8) return undefined;
      // A message: the continuation marker (since format 0.15) and the metadata length, then it.
      const skip = new DataView(meta.buffer, meta.byteOffset, 4).getUint32(0, true) === 0xffffffff ? 8 : 4;
      const message = A.Message.decode(meta.subarray(skip));
      if (!message.isRecordBatch()) return undefined;
      numRows += Number(message.header().length);
    }
    return {
      numRows,
      columns: footer.schema.fields.map((f) => ({
        name: f.name,
        type: A.DataType.isFloat(f.type)
          ? "float64"
          : A.DataType.isInt(f.type)
            ? "int32"
            : A.DataType.isDictionary(f.type)
              ? "dict"
              : "other",
      })),
    };
  } catch {
    return undefined;
  }
}
