/**
 * Snappy decompression (the raw format Parquet uses, without framing), written straight into the
 * caller's buffer. Ours rather than a package's: the npm decoders copy literals byte by byte
 * (snappyjs) or through wasm memory and back (hysnappy), and on Parquet's mostly incompressible
 * float pages literal copies are nearly all the work, so here they are one `set()` (a memcpy).
 * Tests check it against snappyjs's compressor and DuckDB's files.
 */
import { PageError } from "./parquet-decode.js";

/** Decompresses `src` into `out`, which must be exactly the declared length. */
export function snappyDecompress(src: Uint8Array, out: Uint8Array): void {
  const n = src.length;
  let pos = 0;
  let declared = 0;
  for (let shift = 0; ; shift += 7) {
    if (pos >= n || shift > 28) throw new PageError("a snappy page has a malformed length header");
    const b = src[pos++]!;
    declared += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
  }
  if (declared !== out.length)
    throw new PageError(`a snappy page declares ${declared} bytes, its header says ${out.length}`);
  const size = out.length;
  let o = 0;
  while (pos < n) {
    const tag = src[pos++]!;
    let len: number;
    let offset: number;
    switch (tag & 3) {
      case 0: {
        len = tag >>> 2;
        if (len >= 60) {
          const bytes = len - 59;
          if (pos + bytes > n) throw new PageError("a snappy literal runs past the page");
          len = 0;
          for (let b = 0; b < bytes; b++) len += src[pos + b]! * 2 ** (8 * b);
          pos += bytes;
        }
        len += 1;
        if (pos + len > n || o + len > size) throw new PageError("a snappy literal runs past the page");
        if (len < 32) for (let i = 0; i < len; i++) out[o + i] = src[pos + i]!;
        else out.set(src.subarray(pos, pos + len), o);
        pos += len;
        o += len;
        continue;
      }
      case 1:
        if (pos >= n) throw new PageError("a snappy copy runs past the page");
        len = ((tag >>> 2) & 7) + 4;
        offset = ((tag >>> 5) << 8) | src[pos++]!;
        break;
      case 2:
        if (pos + 2 > n) throw new PageError("a snappy copy runs past the page");
        len = (tag >>> 2) + 1;
        offset = src[pos]! | (src[pos + 1]! << 8);
        pos += 2;
        break;
      default:
        if (pos + 4 > n) throw new PageError("a snappy copy runs past the page");
        len = (tag >>> 2) + 1;
        offset = (src[pos]! | (src[pos + 1]! << 8) | (src[pos + 2]! << 16)) + src[pos + 3]! * 16777216;
        pos += 4;
        break;
    }
    if (offset === 0 || offset > o || o + len > size)
      throw new PageError("a snappy copy points outside the data");
    const from = o - offset;
    // An overlapping copy (offset < len) repeats a pattern, so it must go byte by byte.
    if (offset >= len && len >= 32) out.copyWithin(o, from, from + len);
    else for (let i = 0; i < len; i++) out[o + i] = out[from + i]!;
    o += len;
  }
  if (o !== size) throw new PageError(`a snappy page decompresses to ${o} bytes, its header says ${size}`);
}
