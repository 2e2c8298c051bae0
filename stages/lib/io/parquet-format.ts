/**
 * Parquet's on-disk metadata (the parquet-format Thrift definitions) as typed values: the footer's
 * FileMetaData and each page's PageHeader, decoded from the compact protocol, plus the enums the
 * reader and writer share. Only the fields Quiver uses are kept; field ids follow parquet.thrift.
 */
import {
  ThriftError,
  ThriftReader,
  type ThriftStruct,
  type ThriftValue,
} from "../../../core/parquet-thrift.js";

export const PhysicalType = {
  BOOLEAN: 0,
  INT32: 1,
  INT64: 2,
  INT96: 3,
  FLOAT: 4,
  DOUBLE: 5,
  BYTE_ARRAY: 6,
  FIXED_LEN_BYTE_ARRAY: 7,
} as const;
export const PHYSICAL_NAMES = [
  "BOOLEAN",
  "INT32",
  "INT64",
  "INT96",
  "FLOAT",
  "DOUBLE",
  "BYTE_ARRAY",
  "FIXED_LEN_BYTE_ARRAY",
];

export const Encoding = {
  PLAIN: 0,
  PLAIN_DICTIONARY: 2,
  RLE: 3,
  BIT_PACKED: 4,
  DELTA_BINARY_PACKED: 5,
  DELTA_LENGTH_BYTE_ARRAY: 6,
  DELTA_BYTE_ARRAY: 7,
  RLE_DICTIONARY: 8,
  BYTE_STREAM_SPLIT: 9,
} as const;
const ENCODING_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(Encoding).map(([k, v]) => [v, k]),
);
export function encodingName(e: number): string {
  return ENCODING_NAMES[e] ?? `encoding ${e}`;
}

export const Codec = {
  UNCOMPRESSED: 0,
  SNAPPY: 1,
  GZIP: 2,
  LZO: 3,
  BROTLI: 4,
  LZ4: 5,
  ZSTD: 6,
  LZ4_RAW: 7,
} as const;
export const CODEC_NAMES = ["UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD", "LZ4_RAW"];

export const PageType = { DATA_PAGE: 0, INDEX_PAGE: 1, DICTIONARY_PAGE: 2, DATA_PAGE_V2: 3 } as const;

export const Repetition = { REQUIRED: 0, OPTIONAL: 1, REPEATED: 2 } as const;

/** ConvertedType values Quiver looks at. */
export const Converted = {
  UTF8: 0,
  ENUM: 4,
  DECIMAL: 5,
  INT_32: 17,
  JSON: 19,
} as const;

/** What a column's values mean beyond the physical type, from LogicalType or ConvertedType. */
export type Meaning =
  | { kind: "none" }
  | { kind: "string" }
  | { kind: "int"; bits: number; signed: boolean }
  | { kind: "decimal"; scale: number }
  | { kind: "float16" }
  | { kind: "other"; name: string };

export interface SchemaElement {
  readonly name: string;
  readonly type: number | undefined;
  readonly typeLength: number;
  readonly repetition: number;
  readonly numChildren: number;
  readonly meaning: Meaning;
}

export interface ColumnChunkMeta {
  readonly type: number;
  readonly path: readonly string[];
  readonly codec: number;
  readonly numValues: number;
  readonly totalCompressedSize: number;
  readonly dataPageOffset: number;
  readonly dictionaryPageOffset: number | undefined;
  /** Null count from the chunk's statistics, when the writer recorded it. */
  readonly nullCount: number | undefined;
  /** The column chunk lives in another file (not supported). */
  readonly filePath: string | undefined;
}

export interface RowGroupMeta {
  readonly numRows: number;
  readonly columns: readonly ColumnChunkMeta[];
}

export interface FileMeta {
  readonly version: number;
  readonly schema: readonly SchemaElement[];
  readonly numRows: number;
  readonly rowGroups: readonly RowGroupMeta[];
  readonly keyValue: ReadonlyMap<string, string>;
  readonly createdBy: string | undefined;
}

export interface PageHeader {
  readonly type: number;
  readonly uncompressedSize: number;
  readonly compressedSize: number;
  readonly numValues: number;
  readonly encoding: number;
  /** v1: encoding of the definition levels (RLE or the old BIT_PACKED). */
  readonly defEncoding: number;
  /** v2 only. */
  readonly numNulls: number;
  readonly defLevelsLength: number;
  readonly repLevelsLength: number;
  readonly isCompressed: boolean;
}

const utf8 = new TextDecoder();

function num(v: ThriftValue | undefined, what: string): number {
  if (typeof v !== "number") throw new ThriftError(`${what} is missing`);
  return v;
}
function optNum(v: ThriftValue | undefined): number | undefined {
  return typeof v === "number" ? v : undefined;
}
function str(v: ThriftValue | undefined): string | undefined {
  return v instanceof Uint8Array ? utf8.decode(v) : undefined;
}
function struct(v: ThriftValue | undefined): ThriftStruct | undefined {
  return Array.isArray(v) ? v : undefined;
}
function list(v: ThriftValue | undefined): readonly (ThriftValue | undefined)[] {
  return Array.isArray(v) ? v : [];
}

const LOGICAL_NAMES: Record<number, string> = {
  2: "MAP",
  3: "LIST",
  6: "DATE",
  7: "TIME",
  8: "TIMESTAMP",
  11: "UNKNOWN",
  13: "BSON",
  14: "UUID",
};
const CONVERTED_NAMES: Record<number, string> = {
  1: "MAP",
  2: "MAP_KEY_VALUE",
  3: "LIST",
  6: "DATE",
  7: "TIME_MILLIS",
  8: "TIME_MICROS",
  9: "TIMESTAMP_MILLIS",
  10: "TIMESTAMP_MICROS",
  20: "BSON",
  21: "INTERVAL",
};
const CONVERTED_INTS: Record<number, [number, boolean]> = {
  11: [8, false],
  12: [16, false],
  13: [32, false],
  14: [64, false],
  15: [8, true],
  16: [16, true],
  17: [32, true],
  18: [64, true],
};

function meaningOf(s: ThriftStruct): Meaning {
  const logical = struct(s[10]);
  if (logical) {
    const set = logical.findIndex((v) => v !== undefined);
    if (set === 1 || set === 4 || set === 12) return { kind: "string" };
    if (set === 5) return { kind: "decimal", scale: optNum(struct(logical[5])?.[1]) ?? 0 };
    if (set === 10) {
      const it = struct(logical[10]);
      return { kind: "int", bits: optNum(it?.[1]) ?? 32, signed: it?.[2] !== false };
    }
    if (set === 15) return { kind: "float16" };
    if (set > 0) return { kind: "other", name: LOGICAL_NAMES[set] ?? `logical type ${set}` };
  }
  const converted = optNum(s[6]);
  if (converted === undefined) return { kind: "none" };
  if (converted === Converted.UTF8 || converted === Converted.ENUM || converted === Converted.JSON)
    return { kind: "string" };
  if (converted === Converted.DECIMAL) return { kind: "decimal", scale: optNum(s[7]) ?? 0 };
  const int = CONVERTED_INTS[converted];
  if (int) return { kind: "int", bits: int[0], signed: int[1] };
  return { kind: "other", name: CONVERTED_NAMES[converted] ?? `converted type ${converted}` };
}

function decodeColumnChunk(c: ThriftStruct): ColumnChunkMeta {
  const m = struct(c[3]);
  if (!m) throw new ThriftError("a column chunk has no metadata");
  const stats = struct(m[12]);
  return {
    type: num(m[1], "a column's type"),
    path: list(m[3]).map((p) => str(p) ?? ""),
    codec: num(m[4], "a column's codec"),
    numValues: num(m[5], "a column's value count"),
    totalCompressedSize: num(m[7], "a column's size"),
    dataPageOffset: num(m[9], "a column's data page offset"),
    dictionaryPageOffset: optNum(m[11]),
    nullCount: optNum(stats?.[3]),
    filePath: str(c[1]),
  };
}

/** Decodes the footer's FileMetaData. Throws ThriftError on malformed metadata. */
export function decodeFileMeta(bytes: Uint8Array): FileMeta {
  const s = new ThriftReader(bytes).readStruct();
  const schema = list(s[2]).map((v): SchemaElement => {
    const e = struct(v) ?? [];
    return {
      name: str(e[4]) ?? "",
      type: optNum(e[1]),
      typeLength: optNum(e[2]) ?? 0,
      repetition: optNum(e[3]) ?? Repetition.REQUIRED,
      numChildren: optNum(e[5]) ?? 0,
      meaning: meaningOf(e),
    };
  });
  const rowGroups = list(s[4]).map((v): RowGroupMeta => {
    const g = struct(v) ?? [];
    return {
      numRows: num(g[3], "a row group's row count"),
      columns: list(g[1]).map((c) => decodeColumnChunk(struct(c) ?? [])),
    };
  });
  const keyValue = new Map<string, string>();
  for (const kv of list(s[5])) {
    const e = struct(kv) ?? [];
    const k = str(e[1]);
    if (k !== undefined) keyValue.set(k, str(e[2]) ?? "");
  }
  return {
    version: optNum(s[1]) ?? 1,
    schema,
    numRows: num(s[3], "the row count"),
    rowGroups,
    keyValue,
    createdBy: str(s[6]),
  };
}

/** Decodes one page header at `pos`; returns it and where the page's data starts. */
export function decodePageHeader(buf: Uint8Array, pos: number, end: number): [PageHeader, number] {
  const r = new ThriftReader(buf, pos, end);
  const s = r.readStruct();
  const type = num(s[1], "a page's type");
  const v1 = struct(s[5]);
  const dict = struct(s[7]);
  const v2 = struct(s[8]);
  const h = type === PageType.DATA_PAGE_V2 ? v2 : type === PageType.DICTIONARY_PAGE ? dict : v1;
  const header: PageHeader = {
    type,
    uncompressedSize: num(s[2], "a page's size"),
    compressedSize: num(s[3], "a page's compressed size"),
    numValues: h ? num(h[1], "a page's value count") : 0,
    encoding: h ? num(type === PageType.DATA_PAGE_V2 ? h[4] : h[2], "a page's encoding") : 0,
    defEncoding: optNum(v1?.[3]) ?? Encoding.RLE,
    numNulls: optNum(v2?.[2]) ?? 0,
    defLevelsLength: optNum(v2?.[5]) ?? 0,
    repLevelsLength: optNum(v2?.[6]) ?? 0,
    isCompressed: v2?.[7] !== false,
  };
  return [header, r.pos];
}
