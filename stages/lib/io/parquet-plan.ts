/**
 * From a Parquet file's footer to a reading plan: which leaf columns to decode (only those `load`
 * keeps), how each maps to a Quiver column type, and where each row group's needed bytes lie.
 * Anything the reader cannot decode is refused here, before any data is read, with the column
 * named.
 */
import { StageError } from "../../../core/stage.js";
import type { ColumnPlan, OutKind } from "./parquet-column.js";
import { codecName, codecSupported } from "./parquet-codecs.js";
import {
  PHYSICAL_NAMES,
  PhysicalType,
  Repetition,
  type FileMeta,
  type Meaning,
  type SchemaElement,
} from "./parquet-format.js";

/** A byte range of the file: one column chunk of one row group. */
export interface ChunkRange {
  readonly column: number;
  readonly offset: number;
  readonly length: number;
  readonly codec: number;
}

export interface RowGroupPlan {
  readonly index: number;
  /** First row of the row group in the table. */
  readonly row: number;
  readonly rows: number;
  /** One range per planned column, in plan order. */
  readonly chunks: readonly ChunkRange[];
}

export interface ReadPlan {
  readonly columns: readonly ColumnPlan[];
  readonly rowGroups: readonly RowGroupPlan[];
  readonly numRows: number;
  /** Compressed bytes the plan reads. */
  readonly bytes: number;
  readonly codecs: ReadonlySet<number>;
}

function unsupported(file: string, column: string, what: string, hint: string): StageError {
  return new StageError("QV_LOAD_PARQUET", `${file}: column "${column}": ${what}`, {
    hint,
    data: { file, column },
  });
}

/** Rows a table can hold: its text columns' codes are Int32Array indices. */
const MAX_ROWS = 2 ** 31 - 1;

const CONVERT_HINT =
  "Quiver tables hold numbers and strings; convert the column before loading, or leave it out with columns:";

/** How a primitive column becomes a Quiver column, or why it cannot. */
function columnKind(e: SchemaElement, file: string): Pick<ColumnPlan, "out" | "convert" | "scale"> {
  const m: Meaning = e.meaning;
  const refuse = (what: string) => unsupported(file, e.name, what, CONVERT_HINT);
  if (m.kind === "other") throw refuse(`its type ${m.name} is not supported`);
  const f64 = (convert: ColumnPlan["convert"] = "none", scale = 0) => ({
    out: "f64" as OutKind,
    convert,
    scale,
  });
  switch (e.type) {
    case PhysicalType.BOOLEAN:
      return { out: "i32", convert: "none", scale: 0 };
    case PhysicalType.INT32:
      if (m.kind === "decimal") return f64("decimal", m.scale);
      if (m.kind === "int" && !(m.bits === 32 && m.signed)) return f64(m.signed ? "none" : "unsigned");
      return { out: "i32", convert: "none", scale: 0 };
    case PhysicalType.INT64:
      if (m.kind === "decimal") return f64("decimal", m.scale);
      return f64(m.kind === "int" && !m.signed ? "unsigned" : "none");
    case PhysicalType.FLOAT:
    case PhysicalType.DOUBLE:
      return f64();
    case PhysicalType.BYTE_ARRAY:
      if (m.kind === "string") return { out: "str", convert: "none", scale: 0 };
      if (m.kind === "decimal") throw refuse("decimals stored as variable-length bytes are not supported");
      throw refuse("it holds binary data (BYTE_ARRAY without a string type)");
    case PhysicalType.FIXED_LEN_BYTE_ARRAY:
      if (m.kind === "decimal") return f64("decimal", m.scale);
      if (m.kind === "float16") return f64("float16");
      throw refuse(`it holds fixed-length binary data (${e.typeLength} bytes per value)`);
    case PhysicalType.INT96:
      throw refuse("INT96 (legacy timestamps) is not supported");
    case undefined:
      throw refuse("the schema gives it no type");
    default:
      throw refuse(`physical type ${e.type ?? "?"} is not supported`);
  }
}

/** The leaf columns of a flat schema, in file order; nested fields are reported as such. */
function topLevelFields(meta: FileMeta): { element: SchemaElement; leaf: number; nested: boolean }[] {
  const out: { element: SchemaElement; leaf: number; nested: boolean }[] = [];
  const schema = meta.schema;
  let i = 1;
  let leaf = 0;
  const skip = (): number => {
    // Skips the subtree at i; returns the number of leaves in it.
    const e = schema[i++];
    if (!e) return 0;
    if (e.numChildren === 0) return 1;
    let leaves = 0;
    for (let c = 0; c < e.numChildren; c++) leaves += skip();
    return leaves;
  };
  while (i < schema.length) {
    const e = schema[i]!;
    const nested = e.numChildren > 0 || e.repetition === Repetition.REPEATED;
    out.push({ element: e, leaf, nested });
    leaf += skip();
  }
  return out;
}

/** The plan for reading the columns in `keep` (all when undefined) of a file with `meta`. */
export function planRead(meta: FileMeta, file: string, keep: ReadonlySet<string> | undefined): ReadPlan {
  const columns: ColumnPlan[] = [];
  for (const { element: e, leaf, nested } of topLevelFields(meta)) {
    if (keep && !keep.has(e.name)) continue;
    if (nested)
      throw unsupported(
        file,
        e.name,
        "it is a nested column (a list, map or struct), which Quiver cannot use",
        CONVERT_HINT,
      );
    columns.push({
      name: e.name,
      index: leaf,
      physical: e.type!,
      typeLength: e.typeLength,
      maxDef: e.repetition === Repetition.OPTIONAL ? 1 : 0,
      ...columnKind(e, file),
    });
  }
  const seen = new Set<string>();
  for (const c of columns) {
    if (seen.has(c.name))
      throw new StageError("QV_LOAD_DUPLICATE_COLUMN", `${file}: the file names a column "${c.name}" twice`, {
        data: { file, column: c.name },
      });
    seen.add(c.name);
  }
  const rowGroups: RowGroupPlan[] = [];
  const codecs = new Set<number>();
  let row = 0;
  let bytes = 0;
  meta.rowGroups.forEach((g, index) => {
    const chunks = columns.map((c): ChunkRange => {
      const m = g.columns[c.index];
      const where = `row group ${index}`;
      if (!m) throw unsupported(file, c.name, `${where} has no chunk for it`, "the file is damaged");
      if (m.filePath !== undefined)
        throw unsupported(
          file,
          c.name,
          `${where} keeps it in another file (${m.filePath})`,
          "merge the files first",
        );
      if (m.type !== c.physical)
        throw unsupported(
          file,
          c.name,
          `${where} stores it as ${PHYSICAL_NAMES[m.type] ?? m.type}, the schema as ${PHYSICAL_NAMES[c.physical] ?? c.physical}`,
          "the file is damaged",
        );
      if (!codecSupported(m.codec))
        throw unsupported(
          file,
          c.name,
          `${where} is compressed with ${codecName(m.codec)}, which the reader does not support`,
          "rewrite the file with SNAPPY, ZSTD, GZIP or no compression (the defaults of DuckDB, pyarrow and pandas are supported)",
        );
      codecs.add(m.codec);
      const dict = m.dictionaryPageOffset;
      const offset = dict !== undefined && dict > 0 && dict < m.dataPageOffset ? dict : m.dataPageOffset;
      // Offsets and sizes come from the footer: a damaged one must not reach a positional read.
      if (
        !Number.isSafeInteger(offset) ||
        offset < 4 ||
        !Number.isSafeInteger(m.totalCompressedSize) ||
        m.totalCompressedSize < 0
      )
        throw unsupported(
          file,
          c.name,
          `${where} places its chunk at byte ${offset} with ${m.totalCompressedSize} bytes`,
          "the file is damaged",
        );
      bytes += m.totalCompressedSize;
      return { column: c.index, offset, length: m.totalCompressedSize, codec: m.codec };
    });
    rowGroups.push({ index, row, rows: g.numRows, chunks });
    row += g.numRows;
  });
  if (row > MAX_ROWS)
    throw new StageError(
      "QV_LOAD_PARQUET",
      `${file}: the file holds ${row} rows, more than a table can (${MAX_ROWS})`,
      {
        hint: "read it in parts, or select fewer rows before exporting it",
        data: { file },
      },
    );
  if (row !== meta.numRows)
    throw new StageError(
      "QV_LOAD_PARQUET",
      `${file}: the row groups hold ${row} rows, the footer says ${meta.numRows}`,
      { hint: "the file is damaged", data: { file } },
    );
  return { columns, rowGroups, numRows: row, bytes, codecs };
}
