/**
 * Decoders from HDF5 element types to Quiver columns: numbers from raw row bytes (DataView, any
 * endianness) or from values h5wasm decoded, fixed-length strings with their padding rules.
 */
import { StageError } from "../../../core/stage.js";
import type { Column } from "../../../core/table.js";
import { DictBuilder } from "./dict-builder.js";

type H5 = (typeof import("h5wasm/node"))["default"];
type H5Module = Awaited<H5["ready"]>;
export type Metadata = InstanceType<H5["Dataset"]>["metadata"];

let loaded: Promise<{ h5: H5; module: H5Module }> | undefined;
/** h5wasm, loaded on first use (it instantiates wasm). */
export async function h5wasm(): Promise<{ h5: H5; module: H5Module }> {
  loaded ??= import("h5wasm/node").then(async (m) => ({ h5: m.default, module: await m.default.ready }));
  return loaded;
}

// HDF5 type classes (H5T_class_t).
export const T_INTEGER = 0;
export const T_FLOAT = 1;
export const T_STRING = 3;
export const T_COMPOUND = 6;
export const T_ENUM = 8;
export const T_ARRAY = 10;
const STR_SPACEPAD = 2;

export function checkSupported(m: Metadata, name: string, file: string): void {
  const ok =
    (m.type === T_FLOAT && (m.size === 4 || m.size === 8)) ||
    ((m.type === T_INTEGER || m.type === T_ENUM) && [1, 2, 4, 8].includes(m.size)) ||
    m.type === T_STRING;
  if (!ok) {
    throw new StageError(
      "QV_LOAD_HDF5_TYPE",
      `${file}: field "${name}" has an HDF5 type (class ${m.type}, ${m.size} bytes) that Quiver cannot read`,
      { hint: "Quiver reads float32/64, integers, booleans and strings", data: { file, column: name } },
    );
  }
}

export interface ColumnBuilder {
  decode(view: DataView, count: number, stride: number, offset: number, rowStart: number): void;
  setValue(row: number, v: unknown): void;
  finish(): Column;
}

export function newBuilder(m: Metadata, n: number): ColumnBuilder {
  if (m.type === T_STRING) return new StringBuilder(m, n);
  const little = m.littleEndian;
  const signed = m.signed;
  const isFloat = m.type === T_FLOAT;
  // Small integers (and booleans, an int8 enum in h5py) fit int32 exactly; wider ones go to float64.
  const toInt32 = !isFloat && (m.size < 4 || (m.size === 4 && signed));
  const values = toInt32 ? new Int32Array(n) : new Float64Array(n);
  const read = readerFor(m.size, isFloat, signed, little);
  return {
    decode(view, count, stride, offset, rowStart) {
      for (let i = 0, o = offset; i < count; i++, o += stride) values[rowStart + i] = read(view, o);
    },
    setValue(row, v) {
      values[row] =
        typeof v === "bigint" ? Number(v) : typeof v === "number" ? v : typeof v === "boolean" ? +v : NaN;
    },
    finish: () =>
      values instanceof Int32Array ? { type: "int32", values } : { type: "float64", values: values },
  };
}

function readerFor(
  size: number,
  isFloat: boolean,
  signed: boolean,
  little: boolean,
): (v: DataView, o: number) => number {
  if (isFloat) return size === 4 ? (v, o) => v.getFloat32(o, little) : (v, o) => v.getFloat64(o, little);
  switch (size) {
    case 1:
      return signed ? (v, o) => v.getInt8(o) : (v, o) => v.getUint8(o);
    case 2:
      return signed ? (v, o) => v.getInt16(o, little) : (v, o) => v.getUint16(o, little);
    case 4:
      return signed ? (v, o) => v.getInt32(o, little) : (v, o) => v.getUint32(o, little);
    default:
      return signed
        ? (v, o) => Number(v.getBigInt64(o, little))
        : (v, o) => Number(v.getBigUint64(o, little));
  }
}

const utf8 = new TextDecoder("utf-8");
const latin1 = new TextDecoder("latin1");

class StringBuilder implements ColumnBuilder {
  private readonly codes: Int32Array;
  private readonly dict = new DictBuilder();
  constructor(
    private readonly m: Metadata,
    n: number,
  ) {
    this.codes = new Int32Array(n);
  }
  decode(view: DataView, count: number, stride: number, offset: number, rowStart: number): void {
    const size = this.m.size;
    const decoder = this.m.cset === 1 ? utf8 : latin1;
    const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
    for (let i = 0, o = offset; i < count; i++, o += stride) {
      let end = o;
      const limit = o + size;
      while (end < limit && bytes[end] !== 0) end++;
      if (this.m.strpad === STR_SPACEPAD) while (end > o && bytes[end - 1] === 0x20) end--;
      this.codes[rowStart + i] = end === o ? -1 : this.dict.code(decoder.decode(bytes.subarray(o, end)));
    }
  }
  setValue(row: number, v: unknown): void {
    this.codes[row] = typeof v === "string" && v !== "" ? this.dict.code(v) : -1;
  }
  finish(): Column {
    return { type: "dict", codes: this.codes, dictionary: this.dict.values };
  }
}
