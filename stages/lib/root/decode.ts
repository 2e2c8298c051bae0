/**
 * Big-endian numbers out of basket bytes into the typed arrays Quiver's columns hold. Types that
 * fit an int32 (bool, 8/16/32-bit signed, 8/16-bit unsigned) go into Int32Array; the others
 * (uint32, 64-bit integers, floats) into Float64Array. 64-bit integers beyond 2^53 lose precision,
 * as everywhere in Quiver.
 */
import { fitsInt32, type Primitive } from "./objects.js";

export type NumberArray = Float64Array | Int32Array;

export function allocate(type: Primitive, n: number): NumberArray {
  return fitsInt32(type) ? new Int32Array(n) : new Float64Array(n);
}

/** Decodes `count` values of `type` starting at `bytes[at]` into `out[outAt…]`. */
export function decodeInto(
  bytes: Uint8Array,
  at: number,
  count: number,
  type: Primitive,
  out: NumberArray,
  outAt: number,
): void {
  const v = new DataView(bytes.buffer, bytes.byteOffset + at, bytes.byteLength - at);
  switch (type) {
    case "bool":
      for (let i = 0; i < count; i++) out[outAt + i] = bytes[at + i]! === 0 ? 0 : 1;
      return;
    case "int8":
      for (let i = 0; i < count; i++) out[outAt + i] = v.getInt8(i);
      return;
    case "uint8":
      out.set(bytes.subarray(at, at + count), outAt);
      return;
    case "int16":
      for (let i = 0; i < count; i++) out[outAt + i] = v.getInt16(2 * i);
      return;
    case "uint16":
      for (let i = 0; i < count; i++) out[outAt + i] = v.getUint16(2 * i);
      return;
    case "int32":
      for (let i = 0; i < count; i++) out[outAt + i] = v.getInt32(4 * i);
      return;
    case "uint32":
      for (let i = 0; i < count; i++) out[outAt + i] = v.getUint32(4 * i);
      return;
    case "int64":
      for (let i = 0; i < count; i++)
        out[outAt + i] = v.getInt32(8 * i) * 4294967296 + v.getUint32(8 * i + 4);
      return;
    case "uint64":
      for (let i = 0; i < count; i++)
        out[outAt + i] = v.getUint32(8 * i) * 4294967296 + v.getUint32(8 * i + 4);
      return;
    case "float32":
      for (let i = 0; i < count; i++) out[outAt + i] = v.getFloat32(4 * i);
      return;
    case "float64":
      for (let i = 0; i < count; i++) out[outAt + i] = v.getFloat64(8 * i);
      return;
  }
}

/** A typed array that grows by doubling, for values whose total count is known only at the end. */
export class GrowingArray {
  private data: NumberArray;
  length = 0;
  constructor(
    private readonly type: Primitive,
    capacity = 1024,
  ) {
    this.data = allocate(type, capacity);
  }
  /** Makes room for `n` more values and returns the array and where to write them. */
  reserve(n: number): { out: NumberArray; at: number } {
    if (this.length + n > this.data.length) {
      const bigger = allocate(this.type, Math.max(this.data.length * 2, this.length + n));
      bigger.set(this.data.subarray(0, this.length));
      this.data = bigger;
    }
    const at = this.length;
    this.length += n;
    return { out: this.data, at };
  }
  finish(): NumberArray {
    return this.data.length === this.length ? this.data : this.data.slice(0, this.length);
  }
}
