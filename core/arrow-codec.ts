/**
 * Table <-> Arrow IPC (file format). Arrow is how tables live on disk in the store and how
 * `load` reads .arrow/.feather (Parquet has its own reader, stages/lib/io/parquet.ts, with the same
 * type mapping).
 *
 * apache-arrow is imported lazily: a fully cached run never decodes a table.
 */
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
let arrowModule: Promise<ArrowModule> | undefined;
function arrow(): Promise<ArrowModule> {
  arrowModule ??= import("apache-arrow");
  return arrowModule;
}

export async function tableToArrowIPC(table: Table, format: "file" | "stream" = "file"): Promise<Uint8Array> {
  const A = await arrow();
  // Equal values must give equal bytes: string dictionaries are written in canonical order.
  const t = canonicalDictionaries(table);
  const fields: InstanceType<ArrowModule["Field"]>[] = [];
  const data: ReturnType<ArrowModule["makeData"]>[] = [];
  // Explicit dictionary ids: arrow's default comes from a process-wide counter, which made the
  // bytes (and so the content hash) depend on how many tables the process had encoded before.
  let dictionaryId = 0;
  for (const [name, c] of t.columns) {
    switch (c.type) {
      case "float64":
        fields.push(new A.Field(name, new A.Float64(), true, lineageMetadata(c)));
        data.push(A.makeData({ type: new A.Float64(), length: t.numRows, data: c.values }));
        break;
      case "int32":
        fields.push(new A.Field(name, new A.Int32(), false, lineageMetadata(c)));
        data.push(A.makeData({ type: new A.Int32(), length: t.numRows, data: c.values }));
        break;
      case "dict": {
        const type = new A.Dictionary(new A.Utf8(), new A.Int32(), dictionaryId++);
        const dictionary = A.vectorFromArray([...c.dictionary], new A.Utf8());
        // Missing strings (code -1) become Arrow nulls.
        let nullCount = 0;
        const validity = new Uint8Array(Math.ceil(t.numRows / 8));
        for (let i = 0; i < t.numRows; i++) {
          if (c.codes[i]! >= 0) validity[i >> 3]! |= 1 << (i & 7);
          else nullCount++;
        }
        fields.push(new A.Field(name, type, true, lineageMetadata(c)));
        data.push(
          A.makeData({
            type,
            length: t.numRows,
            data: c.codes,
            dictionary,
            nullCount,
            nullBitmap: nullCount ? validity : null,
          }),
        );
        break;
      }
    }
  }
  const schema = new A.Schema(fields);
  const structData = A.makeData({ type: new A.Struct(fields), length: t.numRows, children: data });
  const batch = new A.RecordBatch(schema, structData);
  const arrowTable = new A.Table(schema, [batch]);
  return A.tableToIPC(arrowTable, format);
}

/** Any Arrow IPC (file or stream format) to a Table. Columns of other Arrow types are converted:
 *  integers and floats to float64 (int32 stays int32; bool to int32), strings to dictionary. */
export async function tableFromArrowIPC(bytes: Uint8Array, source = "arrow data"): Promise<Table> {
  const A = await arrow();
  const at = A.tableFromIPC(bytes);
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
        `${source}: column "${field.name}" has Arrow type ${String(field.type)}, which Quiver cannot use`,
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
