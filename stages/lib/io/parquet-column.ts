/**
 * One column chunk of one row group, from its bytes to typed-array values: pages are read in
 * order, each decompressed into a reused scratch buffer, and its values written at their rows of
 * the output (a dictionary page first, if any; data pages v1 and v2).
 *
 * A column decodes into one of three outputs (`OutKind`), chosen from its types so that the table
 * equals what Quiver's Arrow codec makes of the same data: float64 for every number that is not a
 * 32-bit signed integer, int32 for INT32 and BOOLEAN (which become float64 with NaN if a null
 * turns up), and dictionary codes for strings.
 */
import { decompress } from "./parquet-codecs.js";
import {
  bitWidthOf,
  byteStreamSplit,
  decodeHybrid,
  deltaBinaryPacked,
  deltaByteArray,
  deltaLengthByteArray,
  PageError,
  plainBoolean,
  plainByteArray,
  plainDouble,
  plainFixedDecimal,
  plainFloat,
  plainFloat16,
  plainInt32,
  plainInt64,
  StringPool,
} from "./parquet-decode.js";
import { Encoding, encodingName, PageType, PhysicalType, type PageHeader } from "./parquet-format.js";
import { decodePageHeader } from "./parquet-format.js";

export type OutKind = "f64" | "i32" | "str";

/** How one leaf column is decoded: a plain, structured-clonable value (it is sent to workers). */
export interface ColumnPlan {
  readonly name: string;
  /** Index of the column chunk in each row group. */
  readonly index: number;
  readonly physical: number;
  readonly typeLength: number;
  /** 1 for OPTIONAL columns, 0 for REQUIRED. */
  readonly maxDef: number;
  readonly out: OutKind;
  /** How INT32/INT64/FIXED_LEN_BYTE_ARRAY values become doubles. */
  readonly convert: "none" | "unsigned" | "decimal" | "float16";
  /** Decimal scale. */
  readonly scale: number;
}

/** Where a column's values go: arrays covering the rows of the target, at row offset `at`. */
export interface ColumnTarget {
  f64?: Float64Array;
  i32?: Int32Array;
  /** Rows of an i32 column that are null (made when the first null turns up). */
  nulls?: Uint8Array;
  pool?: StringPool;
}

/** Scratch buffers reused across pages and chunks of one thread. */
export class Scratch {
  private bytes = new Uint8Array(1 << 16);
  private ints = new Int32Array(1 << 12);
  private levels = new Uint8Array(1 << 12);
  private doubles = new Float64Array(1 << 12);
  private reads = new Uint8Array(0);

  /** The buffer a row group's column chunks are read into. */
  readBuffer(n: number): Uint8Array {
    if (this.reads.length < n) this.reads = new Uint8Array(Math.max(n, Math.ceil(this.reads.length * 1.25)));
    return this.reads;
  }

  byteBuffer(n: number): Uint8Array {
    if (this.bytes.length < n) this.bytes = new Uint8Array(Math.max(n, this.bytes.length * 2));
    return this.bytes.subarray(0, n);
  }
  intBuffer(n: number): Int32Array {
    if (this.ints.length < n) this.ints = new Int32Array(Math.max(n, this.ints.length * 2));
    return this.ints;
  }
  levelBuffer(n: number): Uint8Array {
    if (this.levels.length < n) this.levels = new Uint8Array(Math.max(n, this.levels.length * 2));
    return this.levels;
  }
  doubleBuffer(n: number): Float64Array {
    if (this.doubles.length < n) this.doubles = new Float64Array(Math.max(n, this.doubles.length * 2));
    return this.doubles;
  }
}

/** Larger pages are refused as damage (writers use ~1 MB; Parquet's own limit is 2 GB). */
const MAX_PAGE_BYTES = 1 << 30;

/** The dictionary of a chunk, already in the output's terms (strings as pool codes). */
type Dict = Float64Array | Int32Array | undefined;

/**
 * Decodes the chunk `bytes` (from its first page to its end) of column `plan` into `target` rows
 * `[at, at + rows)`. Throws PageError (with the byte offset in the chunk) on bad data.
 */
export function decodeChunk(
  bytes: Uint8Array,
  codec: number,
  plan: ColumnPlan,
  target: ColumnTarget,
  at: number,
  rows: number,
  scratch: Scratch,
): void {
  let pos = 0;
  let done = 0;
  let dict: Dict;
  while (done < rows) {
    if (pos >= bytes.length) throw new PageError(`the column chunk ends after ${done} of its ${rows} rows`);
    const pageAt = pos;
    let header: PageHeader;
    try {
      [header, pos] = decodePageHeader(bytes, pos, bytes.length);
    } catch (e) {
      throw new PageError(`bad page header at byte ${pageAt} of the chunk: ${(e as Error).message}`);
    }
    const end = pos + header.compressedSize;
    if (end > bytes.length || header.compressedSize < 0 || header.uncompressedSize < 0)
      throw new PageError(`the page at byte ${pageAt} of the chunk runs past its end`);
    if (header.uncompressedSize > MAX_PAGE_BYTES)
      throw new PageError(
        `the page at byte ${pageAt} of the chunk declares ${header.uncompressedSize} bytes`,
      );
    const body = bytes.subarray(pos, end);
    pos = end;
    try {
      switch (header.type) {
        case PageType.DICTIONARY_PAGE: {
          const data = decompress(codec, body, scratch.byteBuffer(header.uncompressedSize));
          dict = decodeDictionary(data, header, plan, target);
          break;
        }
        case PageType.DATA_PAGE:
        case PageType.DATA_PAGE_V2: {
          const n = header.numValues;
          if (done + n > rows)
            throw new PageError(`the pages hold more values than the row group's ${rows} rows`);
          decodeDataPage(body, codec, header, plan, target, at + done, n, dict, scratch);
          done += n;
          break;
        }
        case PageType.INDEX_PAGE:
          break;
        default:
          throw new PageError(`unknown page type ${header.type}`);
      }
    } catch (e) {
      if (e instanceof PageError) throw new PageError(`page at byte ${pageAt} of the chunk: ${e.message}`);
      throw e;
    }
  }
}

function decodeDictionary(
  data: Uint8Array,
  header: PageHeader,
  plan: ColumnPlan,
  target: ColumnTarget,
): Dict {
  if (header.encoding !== Encoding.PLAIN && header.encoding !== Encoding.PLAIN_DICTIONARY)
    throw new PageError(`a dictionary page in ${encodingName(header.encoding)} encoding`);
  const n = header.numValues;
  switch (plan.out) {
    case "f64": {
      const d = new Float64Array(n);
      plainValues(data, 0, data.length, n, plan, d, 0);
      return d;
    }
    case "i32": {
      const d = new Int32Array(n);
      plainValues(data, 0, data.length, n, plan, d, 0);
      return d;
    }
    case "str": {
      const d = new Int32Array(n);
      plainByteArray(asBuffer(data), 0, data.length, n, target.pool!, d, 0);
      return d;
    }
  }
}

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.length);
}

/** PLAIN values of the plan's physical type into a double or int array. */
function plainValues(
  buf: Uint8Array,
  pos: number,
  end: number,
  n: number,
  plan: ColumnPlan,
  out: Float64Array | Int32Array,
  at: number,
): void {
  switch (plan.physical) {
    case PhysicalType.DOUBLE:
      plainDouble(buf, pos, end, n, out as Float64Array, at);
      return;
    case PhysicalType.FLOAT:
      plainFloat(buf, pos, end, n, out as Float64Array, at);
      return;
    case PhysicalType.INT32:
      if (out instanceof Int32Array) plainInt32(buf, pos, end, n, out, at);
      else {
        if (pos + n * 4 > end) throw new PageError("the page ends early");
        const dv = new DataView(buf.buffer, buf.byteOffset + pos, n * 4);
        const div = plan.convert === "decimal" ? 10 ** plan.scale : 1;
        if (plan.convert === "unsigned") for (let i = 0; i < n; i++) out[at + i] = dv.getUint32(i * 4, true);
        else for (let i = 0; i < n; i++) out[at + i] = dv.getInt32(i * 4, true) / div;
      }
      return;
    case PhysicalType.INT64: {
      const f = out as Float64Array;
      plainInt64(buf, pos, end, n, f, at, plan.convert === "unsigned");
      if (plan.convert === "decimal") {
        const div = 10 ** plan.scale;
        for (let i = 0; i < n; i++) f[at + i] = f[at + i]! / div;
      }
      return;
    }
    case PhysicalType.BOOLEAN:
      plainBoolean(buf, pos, end, n, out as Int32Array, at);
      return;
    case PhysicalType.FIXED_LEN_BYTE_ARRAY:
      if (plan.convert === "float16") plainFloat16(buf, pos, end, n, out as Float64Array, at);
      else plainFixedDecimal(buf, pos, end, n, plan.typeLength, plan.scale, out as Float64Array, at);
      return;
    default:
      throw new PageError(`PLAIN values of physical type ${plan.physical} are not supported`);
  }
}

function decodeDataPage(
  body: Uint8Array,
  codec: number,
  header: PageHeader,
  plan: ColumnPlan,
  target: ColumnTarget,
  at: number,
  n: number,
  dict: Dict,
  scratch: Scratch,
): void {
  let data: Uint8Array;
  let pos = 0;
  let defs: Uint8Array | undefined;
  let nonNull = n;
  if (header.type === PageType.DATA_PAGE_V2) {
    // Levels come first, never compressed; then the values, compressed unless is_compressed=false.
    if (header.repLevelsLength !== 0) throw new PageError("repetition levels in a flat column");
    const levelBytes = header.defLevelsLength;
    if (levelBytes > body.length) throw new PageError("the definition levels run past the page");
    if (plan.maxDef > 0 && header.numNulls > 0) {
      defs = scratch.levelBuffer(n);
      decodeHybrid(body, 0, levelBytes, bitWidthOf(plan.maxDef), n, defs);
    }
    const values = body.subarray(levelBytes);
    const size = header.uncompressedSize - levelBytes;
    data = header.isCompressed ? decompress(codec, values, scratch.byteBuffer(size)) : values;
  } else {
    data = decompress(codec, body, scratch.byteBuffer(header.uncompressedSize));
    if (plan.maxDef > 0) {
      if (header.defEncoding !== Encoding.RLE)
        throw new PageError(
          `definition levels in ${encodingName(header.defEncoding)} encoding are not supported`,
        );
      if (data.length < 4) throw new PageError("the page ends before its definition levels");
      const len = data[0]! | (data[1]! << 8) | (data[2]! << 16) | (data[3]! << 24);
      if (len < 0 || 4 + len > data.length) throw new PageError("the definition levels run past the page");
      // Writers mark a page without nulls with one RLE run of the top level: no need to expand it.
      if (!oneRun(data, 4, 4 + len, n, plan.maxDef)) {
        defs = scratch.levelBuffer(n);
        decodeHybrid(data, 4, 4 + len, bitWidthOf(plan.maxDef), n, defs);
      }
      pos = 4 + len;
    }
  }
  if (defs) {
    nonNull = 0;
    for (let i = 0; i < n; i++) nonNull += defs[i]!;
  }
  if (nonNull === n) {
    decodeValues(data, pos, header, plan, target, at, n, dict, scratch);
    return;
  }
  // Nulls: decode the present values densely into scratch, then spread them over the rows.
  const defined = defs!;
  switch (plan.out) {
    case "f64": {
      const dense = scratch.doubleBuffer(nonNull);
      const denseTarget: ColumnTarget = { f64: dense };
      decodeValues(data, pos, header, plan, denseTarget, 0, nonNull, dict, scratch);
      const out = target.f64!;
      for (let i = 0, j = 0; i < n; i++) out[at + i] = defined[i] ? dense[j++]! : NaN;
      return;
    }
    case "i32":
    case "str": {
      const dense = new Int32Array(nonNull);
      const denseTarget: ColumnTarget = { i32: dense, pool: target.pool };
      decodeValues(data, pos, header, plan, denseTarget, 0, nonNull, dict, scratch);
      const out = target.i32!;
      if (plan.out === "str") {
        for (let i = 0, j = 0; i < n; i++) out[at + i] = defined[i] ? dense[j++]! : -1;
      } else {
        target.nulls ??= new Uint8Array(out.length);
        for (let i = 0, j = 0; i < n; i++) {
          if (defined[i]) out[at + i] = dense[j++]!;
          else {
            out[at + i] = 0;
            target.nulls[at + i] = 1;
          }
        }
      }
      return;
    }
  }
}

/** Whether the levels in `buf[pos, end)` are a single RLE run of `value` covering `n` entries. */
function oneRun(buf: Uint8Array, pos: number, end: number, n: number, value: number): boolean {
  let header = 0;
  let mul = 1;
  let p = pos;
  for (; p < end && p < pos + 5; p++) {
    header += (buf[p]! & 0x7f) * mul;
    mul *= 128;
    if (buf[p]! < 0x80) break;
  }
  // value < 256 here (flat columns have level ≤ 1), so it takes one byte.
  return p + 1 < end && header % 2 === 0 && header / 2 >= n && buf[p + 1] === value;
}

/** `n` non-null values from `data[pos…]` into the target's rows `[at, at + n)`. */
function decodeValues(
  data: Uint8Array,
  pos: number,
  header: PageHeader,
  plan: ColumnPlan,
  target: ColumnTarget,
  at: number,
  n: number,
  dict: Dict,
  scratch: Scratch,
): void {
  const end = data.length;
  const out = plan.out === "f64" ? target.f64! : target.i32!;
  switch (header.encoding) {
    case Encoding.PLAIN:
      if (plan.out === "str") plainByteArray(asBuffer(data), pos, end, n, target.pool!, target.i32!, at);
      else plainValues(data, pos, end, n, plan, out, at);
      return;
    case Encoding.PLAIN_DICTIONARY:
    case Encoding.RLE_DICTIONARY: {
      if (!dict) throw new PageError("dictionary-encoded values without a dictionary page");
      if (pos >= end) {
        if (n === 0) return;
        throw new PageError("the page ends before its dictionary indices");
      }
      const width = data[pos]!;
      const idx = scratch.intBuffer(n);
      decodeHybrid(data, pos + 1, end, width, n, idx);
      const size = dict.length;
      for (let i = 0; i < n; i++) {
        const k = idx[i]!;
        if (k >= size || k < 0)
          throw new PageError(`dictionary index ${k} is past the dictionary's ${size} entries`);
        out[at + i] = dict[k]!;
      }
      return;
    }
    case Encoding.RLE:
      if (plan.physical !== PhysicalType.BOOLEAN) break;
      if (pos + 4 > end) throw new PageError("the page ends before its values");
      decodeHybrid(data, pos + 4, end, 1, n, out as Int32Array, at);
      return;
    case Encoding.BYTE_STREAM_SPLIT: {
      const width =
        plan.physical === PhysicalType.DOUBLE || plan.physical === PhysicalType.INT64
          ? 8
          : plan.physical === PhysicalType.FIXED_LEN_BYTE_ARRAY
            ? plan.typeLength
            : 4;
      const joined = byteStreamSplit(data, pos, end, n, width);
      plainValues(joined, 0, joined.length, n, plan, out, at);
      return;
    }
    case Encoding.DELTA_BINARY_PACKED:
      if (plan.physical !== PhysicalType.INT32 && plan.physical !== PhysicalType.INT64) break;
      deltaBinaryPacked(data, pos, end, n, out, at, plan.physical === PhysicalType.INT64);
      if (plan.convert === "decimal" || plan.convert === "unsigned")
        convertIntegers(out as Float64Array, at, n, plan);
      return;
    case Encoding.DELTA_LENGTH_BYTE_ARRAY:
      if (plan.out !== "str") break;
      deltaLengthByteArray(asBuffer(data), pos, end, n, target.pool!, target.i32!, at);
      return;
    case Encoding.DELTA_BYTE_ARRAY:
      if (plan.out !== "str") break;
      deltaByteArray(asBuffer(data), pos, end, n, target.pool!, target.i32!, at);
      return;
  }
  throw new PageError(`${encodingName(header.encoding)} encoding of these values is not supported`);
}

function convertIntegers(out: Float64Array, at: number, n: number, plan: ColumnPlan): void {
  if (plan.convert === "decimal") {
    const div = 10 ** plan.scale;
    for (let i = 0; i < n; i++) out[at + i] = out[at + i]! / div;
  } else if (plan.physical === PhysicalType.INT32) {
    for (let i = 0; i < n; i++) out[at + i] = out[at + i]! >>> 0;
  } else {
    for (let i = 0; i < n; i++) if (out[at + i]! < 0) out[at + i] = out[at + i]! + 2 ** 64;
  }
}
