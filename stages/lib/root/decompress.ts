/**
 * Decompresses ROOT's compressed records (baskets, pages). A record is a chain of blocks, each with
 * a 9-byte header: a two-letter algorithm tag, a method byte, then the compressed and uncompressed
 * sizes (3 bytes each, little-endian).
 *
 * zlib blocks ("ZL", by far the most common, ROOT's default before 6.30) go through `node:zlib`,
 * which is native code and several times faster than jsroot's JavaScript inflate; the zlib
 * checksum also catches damaged data. Every other algorithm (LZ4 "L4", ZSTD "ZS", LZMA "XZ" and
 * ROOT's old "CS") goes through jsroot's own `R__unzip`, one block at a time.
 */
import { inflateSync } from "node:zlib";
import { R__unzip } from "jsroot/io";

const HEADER = 9;

export class DecompressError extends Error {}

/** Decompresses `src` (one or more blocks) into exactly `size` bytes. */
export async function unzipRoot(src: Uint8Array, size: number): Promise<Uint8Array> {
  let out: Uint8Array | undefined;
  let at = 0;
  let filled = 0;
  while (filled < size) {
    if (at + HEADER > src.length) throw new DecompressError(`a compressed block header is cut short`);
    const tag = String.fromCharCode(src[at]!, src[at + 1]!);
    const csize = src[at + 3]! | (src[at + 4]! << 8) | (src[at + 5]! << 16);
    const usize = src[at + 6]! | (src[at + 7]! << 8) | (src[at + 8]! << 16);
    if (at + HEADER + csize > src.length || filled + usize > size)
      throw new DecompressError(`a ${algorithmName(tag)} block's sizes do not fit its record`);
    let block: Uint8Array;
    if (tag === "ZL") {
      try {
        block = inflateSync(src.subarray(at + HEADER, at + HEADER + csize));
      } catch (e) {
        throw new DecompressError(`zlib data is damaged (${(e as Error).message})`);
      }
    } else {
      const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
      let res: DataView | null = null;
      try {
        res = await R__unzip(view, usize, true, at);
      } catch (e) {
        throw new DecompressError(`${algorithmName(tag)} data is damaged (${(e as Error).message})`);
      }
      if (!res) throw new DecompressError(`${algorithmName(tag)} data is damaged or of an unknown kind`);
      block = new Uint8Array(res.buffer, res.byteOffset, res.byteLength);
    }
    if (block.length !== usize)
      throw new DecompressError(
        `a ${algorithmName(tag)} block gave ${block.length} bytes instead of the ${usize} its header says`,
      );
    // The usual case, one block for the whole record, needs no copy.
    if (filled === 0 && usize === size) return block;
    out ??= new Uint8Array(size);
    out.set(block, filled);
    filled += usize;
    at += HEADER + csize;
  }
  return out ?? new Uint8Array(0);
}

/** The algorithm of a compressed record, from its first block's tag (for summaries). */
export function algorithmName(tag: string): string {
  switch (tag) {
    case "ZL":
      return "zlib";
    case "L4":
      return "LZ4";
    case "ZS":
      return "ZSTD";
    case "XZ":
      return "LZMA";
    case "CS":
      return "old ROOT zlib";
    default:
      return `unknown (${JSON.stringify(tag)})`;
  }
}
