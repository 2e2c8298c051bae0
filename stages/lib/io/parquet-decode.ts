/**
 * Decoders of Parquet's value and level encodings, from page bytes straight into typed arrays:
 * the RLE / bit-packed hybrid (levels, dictionary indices, booleans), PLAIN, BYTE_STREAM_SPLIT and
 * the DELTA encodings. No per-value objects; string values go through a `StringPool`.
 *
 * Every function reads `buf[pos, end)` and throws `PageError` when the bytes run out or make no
 * sense; the column reader adds the file, column, row group and page to the message.
 */

/** A malformed or unsupported page; the caller locates it. */
export class PageError extends Error {}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function varint(buf: Uint8Array, at: { pos: number }, end: number): number {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (at.pos >= end) throw new PageError("a varint runs past the end of the page");
    const b = buf[at.pos++]!;
    result += (b & 0x7f) * mul;
    if (b < 0x80) return result;
    mul *= 128;
  }
  throw new PageError("a varint is longer than 10 bytes");
}

/** A zigzag varint as a BigInt (exact for 64-bit deltas). */
function zigzagBig(buf: Uint8Array, at: { pos: number }, end: number): bigint {
  let result = 0n;
  let shift = 0n;
  for (let i = 0; i < 10; i++) {
    if (at.pos >= end) throw new PageError("a varint runs past the end of the page");
    const b = buf[at.pos++]!;
    result |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) return (result >> 1n) ^ -(result & 1n);
    shift += 7n;
  }
  throw new PageError("a varint is longer than 10 bytes");
}

export function bitWidthOf(maxValue: number): number {
  return maxValue === 0 ? 0 : 32 - Math.clz32(maxValue);
}

/**
 * The RLE / bit-packed hybrid: decodes `count` values of `bitWidth` bits into `out[outAt…]`.
 * Returns the position after the last run used.
 */
export function decodeHybrid(
  buf: Uint8Array,
  pos: number,
  end: number,
  bitWidth: number,
  count: number,
  out: Int32Array | Uint8Array,
  outAt = 0,
): number {
  if (bitWidth > 32) throw new PageError(`bit width ${bitWidth} is over 32`);
  const at = { pos };
  const byteWidth = (bitWidth + 7) >> 3;
  let done = 0;
  while (done < count) {
    const header = varint(buf, at, end);
    if (header & 1) {
      // Bit-packed: (header >> 1) groups of 8 values, LSB first.
      const n = Math.floor(header / 2) * 8;
      const bytes = (n * bitWidth) / 8;
      const take = Math.min(n, count - done);
      if (at.pos + Math.ceil((take * bitWidth) / 8) > end)
        throw new PageError("bit-packed values run past the end of the page");
      unpackBits(buf, at.pos, bitWidth, take, out, outAt + done);
      at.pos += bytes;
      done += take;
    } else {
      const n = Math.floor(header / 2);
      if (n === 0) throw new PageError("an RLE run of length 0");
      if (at.pos + byteWidth > end) throw new PageError("an RLE run runs past the end of the page");
      let v = 0;
      for (let b = 0; b < byteWidth; b++) v += buf[at.pos + b]! * 2 ** (8 * b);
      at.pos += byteWidth;
      const take = Math.min(n, count - done);
      out.fill(v, outAt + done, outAt + done + take);
      done += take;
    }
  }
  return Math.min(at.pos, end);
}

function unpackBits(
  buf: Uint8Array,
  pos: number,
  bitWidth: number,
  n: number,
  out: Int32Array | Uint8Array,
  outAt: number,
): void {
  if (bitWidth === 0) {
    out.fill(0, outAt, outAt + n);
    return;
  }
  if (bitWidth === 1) {
    for (let i = 0; i < n; i++) out[outAt + i] = (buf[pos + (i >> 3)]! >> (i & 7)) & 1;
    return;
  }
  if (bitWidth <= 24) {
    const mask = (1 << bitWidth) - 1;
    let acc = 0;
    let bits = 0;
    let p = pos;
    for (let i = 0; i < n; i++) {
      while (bits < bitWidth) {
        acc |= buf[p++]! << bits;
        bits += 8;
      }
      out[outAt + i] = acc & mask;
      acc >>>= bitWidth;
      bits -= bitWidth;
    }
    return;
  }
  // Wide values: exact arithmetic on doubles.
  let bit = pos * 8;
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (let b = 0; b < bitWidth; b++, bit++) if ((buf[bit >> 3]! >> (bit & 7)) & 1) v += 2 ** b;
    out[outAt + i] = v | 0;
  }
}

/** PLAIN DOUBLE: a byte copy. */
export function plainDouble(
  buf: Uint8Array,
  pos: number,
  end: number,
  n: number,
  out: Float64Array,
  at: number,
) {
  need(pos, end, n * 8);
  if (LITTLE_ENDIAN)
    new Uint8Array(out.buffer, out.byteOffset + at * 8, n * 8).set(buf.subarray(pos, pos + n * 8));
  else {
    const dv = new DataView(buf.buffer, buf.byteOffset + pos, n * 8);
    for (let i = 0; i < n; i++) out[at + i] = dv.getFloat64(i * 8, true);
  }
}

export function plainFloat(
  buf: Uint8Array,
  pos: number,
  end: number,
  n: number,
  out: Float64Array,
  at: number,
) {
  need(pos, end, n * 4);
  const dv = new DataView(buf.buffer, buf.byteOffset + pos, n * 4);
  for (let i = 0; i < n; i++) out[at + i] = dv.getFloat32(i * 4, true);
}

export function plainInt32(
  buf: Uint8Array,
  pos: number,
  end: number,
  n: number,
  out: Int32Array,
  at: number,
) {
  need(pos, end, n * 4);
  if (LITTLE_ENDIAN)
    new Uint8Array(out.buffer, out.byteOffset + at * 4, n * 4).set(buf.subarray(pos, pos + n * 4));
  else {
    const dv = new DataView(buf.buffer, buf.byteOffset + pos, n * 4);
    for (let i = 0; i < n; i++) out[at + i] = dv.getInt32(i * 4, true);
  }
}

/** PLAIN INT64 to doubles, correctly rounded (hi·2³² is exact; adding lo rounds once). */
export function plainInt64(
  buf: Uint8Array,
  pos: number,
  end: number,
  n: number,
  out: Float64Array,
  at: number,
  unsigned: boolean,
) {
  need(pos, end, n * 8);
  const dv = new DataView(buf.buffer, buf.byteOffset + pos, n * 8);
  for (let i = 0; i < n; i++) {
    const lo = dv.getUint32(i * 8, true);
    const hi = unsigned ? dv.getUint32(i * 8 + 4, true) : dv.getInt32(i * 8 + 4, true);
    out[at + i] = hi * 4294967296 + lo;
  }
}

export function plainBoolean(
  buf: Uint8Array,
  pos: number,
  end: number,
  n: number,
  out: Int32Array,
  at: number,
) {
  need(pos, end, Math.ceil(n / 8));
  for (let i = 0; i < n; i++) out[at + i] = (buf[pos + (i >> 3)]! >> (i & 7)) & 1;
}

/** FIXED_LEN_BYTE_ARRAY decimals: big-endian two's complement, divided by 10^scale. */
export function plainFixedDecimal(
  buf: Uint8Array,
  pos: number,
  end: number,
  n: number,
  width: number,
  scale: number,
  out: Float64Array,
  at: number,
) {
  need(pos, end, n * width);
  const div = 10 ** scale;
  for (let i = 0; i < n; i++) out[at + i] = bigEndianSigned(buf, pos + i * width, width) / div;
}

function bigEndianSigned(buf: Uint8Array, pos: number, width: number): number {
  if (width <= 6) {
    let v = 0;
    for (let b = 0; b < width; b++) v = v * 256 + buf[pos + b]!;
    return buf[pos]! & 0x80 ? v - 2 ** (8 * width) : v;
  }
  let v = 0n;
  for (let b = 0; b < width; b++) v = (v << 8n) | BigInt(buf[pos + b]!);
  if (buf[pos]! & 0x80) v -= 1n << BigInt(8 * width);
  return Number(v);
}

/** IEEE half precision (FLOAT16 logical type, 2-byte FIXED_LEN_BYTE_ARRAY). */
export function plainFloat16(
  buf: Uint8Array,
  pos: number,
  end: number,
  n: number,
  out: Float64Array,
  at: number,
) {
  need(pos, end, n * 2);
  for (let i = 0; i < n; i++) {
    const h = buf[pos + 2 * i]! | (buf[pos + 2 * i + 1]! << 8);
    const sign = h & 0x8000 ? -1 : 1;
    const e = (h >> 10) & 0x1f;
    const m = h & 0x3ff;
    out[at + i] =
      e === 0
        ? sign * m * 2 ** -24
        : e === 31
          ? m
            ? NaN
            : sign * Infinity
          : sign * (1 + m / 1024) * 2 ** (e - 15);
  }
}

/** BYTE_STREAM_SPLIT: byte k of value i is at stream k, position i. `width` bytes per value. */
export function byteStreamSplit(
  buf: Uint8Array,
  pos: number,
  end: number,
  n: number,
  width: number,
): Uint8Array {
  need(pos, end, n * width);
  const joined = new Uint8Array(n * width);
  for (let k = 0; k < width; k++) {
    const s = pos + k * n;
    for (let i = 0; i < n; i++) joined[i * width + k] = buf[s + i]!;
  }
  return joined;
}

/**
 * DELTA_BINARY_PACKED: `n` integers as doubles (exact to 2^53; 64-bit columns are summed in
 * BigInt). Returns the position after the block data used.
 */
export function deltaBinaryPacked(
  buf: Uint8Array,
  pos: number,
  end: number,
  n: number,
  out: Float64Array | Int32Array,
  at: number,
  wide: boolean,
): number {
  const cur = { pos };
  const blockSize = varint(buf, cur, end);
  const miniblocks = varint(buf, cur, end);
  const total = varint(buf, cur, end);
  if (
    miniblocks === 0 ||
    blockSize % 128 !== 0 ||
    blockSize % miniblocks !== 0 ||
    (blockSize / miniblocks) % 32 !== 0
  )
    throw new PageError(`bad DELTA_BINARY_PACKED header (block ${blockSize}, ${miniblocks} miniblocks)`);
  if (total < n) throw new PageError(`DELTA_BINARY_PACKED holds ${total} values, ${n} expected`);
  const perMini = blockSize / miniblocks;
  let value = zigzagBig(buf, cur, end);
  const mod = wide ? 64 : 32;
  const wrap = (v: bigint) => BigInt.asIntN(mod, v);
  if (n > 0) out[at] = Number(value);
  let done = 1;
  const scratch = new Int32Array(perMini);
  while (done < total) {
    const minDelta = zigzagBig(buf, cur, end);
    need(cur.pos, end, miniblocks);
    const widths = buf.subarray(cur.pos, cur.pos + miniblocks);
    cur.pos += miniblocks;
    for (let m = 0; m < miniblocks && done < total; m++) {
      const w = widths[m]!;
      const bytes = (perMini * w) / 8;
      need(cur.pos, end, Math.min(bytes, Math.ceil(((total - done) * w) / 8)));
      const take = Math.min(perMini, total - done);
      if (w <= 32) {
        unpackUnsigned(buf, cur.pos, w, take, scratch);
        for (let i = 0; i < take; i++) {
          value = wrap(value + minDelta + BigInt(scratch[i]! >>> 0));
          if (done < n) out[at + done] = Number(value);
          done++;
        }
      } else {
        let bit = cur.pos * 8;
        for (let i = 0; i < take; i++) {
          let d = 0n;
          for (let b = 0; b < w; b++, bit++) if ((buf[bit >> 3]! >> (bit & 7)) & 1) d |= 1n << BigInt(b);
          value = wrap(value + minDelta + d);
          if (done < n) out[at + done] = Number(value);
          done++;
        }
      }
      cur.pos += bytes;
    }
  }
  return Math.min(cur.pos, end);
}

function unpackUnsigned(buf: Uint8Array, pos: number, w: number, n: number, out: Int32Array): void {
  if (w <= 24) {
    unpackBits(buf, pos, w, n, out, 0);
    return;
  }
  let bit = pos * 8;
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (let b = 0; b < w; b++, bit++) if ((buf[bit >> 3]! >> (bit & 7)) & 1) v += 2 ** b;
    out[i] = v | 0;
  }
}

/**
 * Interns byte strings of one column into codes. Values are keyed by their raw bytes (as a latin1
 * string, cheap to make) and decoded as UTF-8 once per distinct key; two keys that decode to the
 * same text (invalid bytes become U+FFFD) share one code.
 */
export class StringPool {
  readonly values: string[] = [];
  /** One raw key per code (latin1 of the bytes that first made it). */
  readonly keys: string[] = [];
  private readonly byKey = new Map<string, number>();
  private readonly byText = new Map<string, number>();
  private static readonly decoder = new TextDecoder("utf-8");

  intern(buf: Buffer, start: number, end: number): number {
    const key = buf.toString("latin1", start, end);
    const code = this.byKey.get(key);
    return code !== undefined ? code : this.add(key, buf, start, end);
  }

  /** Interns a key made by another pool (a worker's). */
  internKey(key: string): number {
    const code = this.byKey.get(key);
    if (code !== undefined) return code;
    const bytes = Buffer.from(key, "latin1");
    return this.add(key, bytes, 0, bytes.length);
  }

  private add(key: string, buf: Buffer, start: number, end: number): number {
    let ascii = true;
    for (let i = start; i < end; i++)
      if (buf[i]! > 0x7f) {
        ascii = false;
        break;
      }
    const text = ascii ? key : StringPool.decoder.decode(buf.subarray(start, end));
    let code = this.byText.get(text);
    if (code === undefined) {
      code = this.values.length;
      this.values.push(text);
      this.keys.push(key);
      this.byText.set(text, code);
    }
    this.byKey.set(key, code);
    return code;
  }
}

/** PLAIN BYTE_ARRAY: 4-byte length + bytes per value, interned to codes. */
export function plainByteArray(
  buf: Buffer,
  pos: number,
  end: number,
  n: number,
  pool: StringPool,
  out: Int32Array,
  at: number,
): number {
  let p = pos;
  for (let i = 0; i < n; i++) {
    need(p, end, 4);
    const len = buf.readUInt32LE(p);
    p += 4;
    need(p, end, len);
    out[at + i] = pool.intern(buf, p, p + len);
    p += len;
  }
  return p;
}

/** DELTA_LENGTH_BYTE_ARRAY: the lengths (delta-packed), then all bytes back to back. */
export function deltaLengthByteArray(
  buf: Buffer,
  pos: number,
  end: number,
  n: number,
  pool: StringPool,
  out: Int32Array,
  at: number,
): number {
  const lengths = new Int32Array(n);
  let p = deltaBinaryPacked(buf, pos, end, n, lengths, 0, false);
  for (let i = 0; i < n; i++) {
    const len = lengths[i]!;
    if (len < 0) throw new PageError("a negative string length");
    need(p, end, len);
    out[at + i] = pool.intern(buf, p, p + len);
    p += len;
  }
  return p;
}

/** DELTA_BYTE_ARRAY: prefix lengths and suffix lengths (delta-packed), then the suffixes. */
export function deltaByteArray(
  buf: Buffer,
  pos: number,
  end: number,
  n: number,
  pool: StringPool,
  out: Int32Array,
  at: number,
): number {
  const prefix = new Int32Array(n);
  const suffix = new Int32Array(n);
  let p = deltaBinaryPacked(buf, pos, end, n, prefix, 0, false);
  p = deltaBinaryPacked(buf, p, end, n, suffix, 0, false);
  let prev = Buffer.alloc(0);
  for (let i = 0; i < n; i++) {
    const pre = prefix[i]!;
    const len = suffix[i]!;
    if (pre < 0 || len < 0 || pre > prev.length) throw new PageError("a bad DELTA_BYTE_ARRAY prefix");
    need(p, end, len);
    const value = Buffer.allocUnsafe(pre + len);
    prev.copy(value, 0, 0, pre);
    buf.copy(value, pre, p, p + len);
    p += len;
    out[at + i] = pool.intern(value, 0, value.length);
    prev = value;
  }
  return p;
}

function need(pos: number, end: number, bytes: number): void {
  if (pos + bytes > end) throw new PageError(`the page ends ${pos + bytes - end} byte(s) early`);
}
