/**
 * The Thrift compact protocol, as far as Parquet's metadata needs it: a reader that turns a
 * struct into a sparse array indexed by field id (typed views over it live in parquet-format.ts),
 * and a writer for the few structs the Parquet writer emits.
 *
 * Integers are read as JS numbers: exact up to 2^53, which covers every offset, size and count a
 * file can hold; statistics values are binary fields and never go through this path.
 */

/** A decoded struct: field id → value (undefined where the field is absent). */
export type ThriftStruct = (ThriftValue | undefined)[];
export type ThriftValue = number | boolean | Uint8Array | ThriftStruct | ThriftValue[];

/** Compact protocol type ids. */
export const T_BOOL_TRUE = 1;
export const T_BOOL_FALSE = 2;
export const T_BYTE = 3;
export const T_I16 = 4;
export const T_I32 = 5;
export const T_I64 = 6;
export const T_DOUBLE = 7;
export const T_BINARY = 8;
export const T_LIST = 9;
export const T_SET = 10;
export const T_MAP = 11;
export const T_STRUCT = 12;

/** Malformed metadata; the caller adds the file and what was being read. */
export class ThriftError extends Error {}

/** Nesting deeper than any Parquet structure: a corrupt or hostile footer. */
const MAX_DEPTH = 64;

export class ThriftReader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  private byte(): number {
    if (this.pos >= this.end) throw new ThriftError("metadata ends early");
    return this.buf[this.pos++]!;
  }

  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.byte();
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    throw new ThriftError("a varint is longer than 10 bytes");
  }

  zigzag(): number {
    const v = this.varint();
    // (v >>> 1) ^ -(v & 1) without 32-bit truncation.
    return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
  }

  readStruct(depth = 0): ThriftStruct {
    if (depth > MAX_DEPTH) throw new ThriftError("metadata nested too deeply");
    const out: ThriftStruct = [];
    let fieldId = 0;
    for (;;) {
      const header = this.byte();
      const type = header & 0x0f;
      if (type === 0) return out;
      const delta = header >> 4;
      fieldId = delta === 0 ? this.zigzag() : fieldId + delta;
      if (fieldId < 0 || fieldId > 32767) throw new ThriftError(`bad field id ${fieldId}`);
      out[fieldId] = this.readValue(type, depth);
    }
  }

  private readValue(type: number, depth: number): ThriftValue {
    switch (type) {
      case T_BOOL_TRUE:
        return true;
      case T_BOOL_FALSE:
        return false;
      case T_BYTE: {
        const b = this.byte();
        return b > 127 ? b - 256 : b;
      }
      case T_I16:
      case T_I32:
      case T_I64:
        return this.zigzag();
      case T_DOUBLE: {
        if (this.pos + 8 > this.end) throw new ThriftError("metadata ends early");
        const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8).getFloat64(0, true);
        this.pos += 8;
        return v;
      }
      case T_BINARY: {
        const n = this.varint();
        if (this.pos + n > this.end) throw new ThriftError("a string runs past the end of the metadata");
        const v = this.buf.subarray(this.pos, this.pos + n);
        this.pos += n;
        return v;
      }
      case T_LIST:
      case T_SET: {
        const header = this.byte();
        let n = header >> 4;
        if (n === 15) n = this.varint();
        const elem = header & 0x0f;
        if (n > this.end - this.pos) throw new ThriftError("a list is longer than the metadata");
        const out: ThriftValue[] = new Array<ThriftValue>(n);
        for (let i = 0; i < n; i++)
          out[i] =
            elem === T_BOOL_TRUE || elem === T_BOOL_FALSE
              ? this.byte() === 1
              : this.readValue(elem, depth + 1);
        return out;
      }
      case T_MAP: {
        const n = this.varint();
        if (n === 0) return [];
        const kinds = this.byte();
        const out: ThriftValue[] = [];
        for (let i = 0; i < n; i++) {
          out.push(this.readValue(kinds >> 4, depth + 1));
          out.push(this.readValue(kinds & 0x0f, depth + 1));
        }
        return out;
      }
      case T_STRUCT:
        return this.readStruct(depth + 1);
      default:
        throw new ThriftError(`unknown field type ${type}`);
    }
  }
}

/** Writes compact-protocol structs; fields must be written in increasing id order per struct. */
export class ThriftWriter {
  private buf = new Uint8Array(256);
  private len = 0;
  private lastField: number[] = [0];

  bytes(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  private byte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b;
  }

  varint(v: number): void {
    this.ensure(10);
    while (v >= 0x80) {
      this.buf[this.len++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.len++] = v;
  }

  private zigzag(v: number): void {
    this.varint(v >= 0 ? v * 2 : -v * 2 - 1);
  }

  private field(id: number, type: number): void {
    const last = this.lastField[this.lastField.length - 1]!;
    const delta = id - last;
    if (delta > 0 && delta <= 15) this.byte((delta << 4) | type);
    else {
      this.byte(type);
      this.zigzag(id);
    }
    this.lastField[this.lastField.length - 1] = id;
  }

  i32(id: number, v: number): this {
    this.field(id, T_I32);
    this.zigzag(v);
    return this;
  }

  i64(id: number, v: number): this {
    this.field(id, T_I64);
    this.zigzag(v);
    return this;
  }

  bool(id: number, v: boolean): this {
    this.field(id, v ? T_BOOL_TRUE : T_BOOL_FALSE);
    return this;
  }

  binary(id: number, v: Uint8Array): this {
    this.field(id, T_BINARY);
    this.varint(v.length);
    this.ensure(v.length);
    this.buf.set(v, this.len);
    this.len += v.length;
    return this;
  }

  string(id: number, v: string): this {
    return this.binary(id, Buffer.from(v, "utf8"));
  }

  /** Opens a struct field; close it with `end()`. */
  struct(id: number): this {
    this.field(id, T_STRUCT);
    this.lastField.push(0);
    return this;
  }

  /** A list header; then write `n` elements with `element()`/`end()` (structs), or `listI32`. */
  list(id: number, elemType: number, n: number): this {
    this.field(id, T_LIST);
    if (n < 15) this.byte((n << 4) | elemType);
    else {
      this.byte(0xf0 | elemType);
      this.varint(n);
    }
    return this;
  }

  listI32(id: number, values: readonly number[]): this {
    this.list(id, T_I32, values.length);
    for (const v of values) this.zigzag(v);
    return this;
  }

  listString(id: number, values: readonly string[]): this {
    this.list(id, T_BINARY, values.length);
    for (const v of values) {
      const b = Buffer.from(v, "utf8");
      this.varint(b.length);
      this.ensure(b.length);
      this.buf.set(b, this.len);
      this.len += b.length;
    }
    return this;
  }

  /** Starts one struct element of a list. */
  element(): this {
    this.lastField.push(0);
    return this;
  }

  /** Ends the innermost struct (field or list element). */
  end(): this {
    this.byte(0);
    this.lastField.pop();
    return this;
  }
}
