/** The part of snappyjs (a test-only reference compressor) the tests use; it ships no types. */
declare module "snappyjs" {
  export function compress(data: Uint8Array): Uint8Array;
  export function uncompress(data: Uint8Array, maxLength?: number): Uint8Array;
}
