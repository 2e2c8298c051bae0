/**
 * Page decompression for Parquet: SNAPPY (parquet-snappy.ts, straight into the caller's buffer),
 * GZIP and BROTLI (node:zlib), ZSTD (zstddec, wasm: Node 20's zlib has no zstd, and the native
 * npm bindings download binaries at install time), and UNCOMPRESSED. LZO, LZ4 and LZ4_RAW are
 * refused with the codec's name. (The writer, core/parquet-write.ts, compresses with
 * @bokuweb/zstd-wasm.)
 *
 * The wasm codec is loaded once, on first use (`loadCodecs`), so that reading a snappy file
 * never instantiates a zstd module.
 */
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { Codec, CODEC_NAMES } from "./parquet-format.js";
import { PageError } from "./parquet-decode.js";
import { snappyDecompress } from "./parquet-snappy.js";

interface ZstdDecoder {
  decode(src: Uint8Array, size: number): Uint8Array;
}
let zstdDecoder: ZstdDecoder | undefined;

/** Makes the codecs in `codecs` ready for the synchronous `decompress`. */
export async function loadCodecs(codecs: Iterable<number>): Promise<void> {
  for (const c of codecs) {
    if (c === Codec.ZSTD && !zstdDecoder) {
      const { ZSTDDecoder } = await import("zstddec");
      const d = new ZSTDDecoder();
      await d.init();
      zstdDecoder = d;
    }
  }
}

/** Whether the reader can decompress pages written with `codec`. */
export function codecSupported(codec: number): boolean {
  return (
    codec === Codec.UNCOMPRESSED ||
    codec === Codec.SNAPPY ||
    codec === Codec.GZIP ||
    codec === Codec.BROTLI ||
    codec === Codec.ZSTD
  );
}

export function codecName(codec: number): string {
  return CODEC_NAMES[codec] ?? `codec ${codec}`;
}

/**
 * Decompresses `src` into `out` (whose length is the page's declared uncompressed size); returns
 * `out`, or `src` itself when the page is stored uncompressed.
 */
export function decompress(codec: number, src: Uint8Array, out: Uint8Array): Uint8Array {
  switch (codec) {
    case Codec.UNCOMPRESSED:
      if (src.length !== out.length)
        throw new PageError(`an uncompressed page holds ${src.length} bytes, its header says ${out.length}`);
      return src;
    case Codec.SNAPPY:
      snappyDecompress(src, out);
      return out;
    case Codec.GZIP:
      return copyExact(gunzipSync(src), out, "gzip");
    case Codec.BROTLI:
      return copyExact(brotliDecompressSync(src), out, "brotli");
    case Codec.ZSTD: {
      if (!zstdDecoder) throw new Error("zstd is used before loadCodecs");
      return copyExact(zstdDecoder.decode(src, out.length), out, "zstd");
    }
    default:
      throw new PageError(`pages compressed with ${codecName(codec)} are not supported`);
  }
}

function copyExact(got: Uint8Array, out: Uint8Array, what: string): Uint8Array {
  if (got.length !== out.length)
    throw new PageError(`a ${what} page decompresses to ${got.length} bytes, its header says ${out.length}`);
  return got;
}
