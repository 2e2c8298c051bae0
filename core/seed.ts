/**
 * The one seed mixer of the project. The engine derives each stage's seed from the pipeline seed
 * and the stage id; stages derive their sub-streams (one per fold, tree, layer, ...) from their
 * own seed and a label. Adding a stage or a fold never changes the others' seeds, and two labels
 * never share a stream.
 *
 * FNV-1a over the label's UTF-16 code units, started from the seed, then murmur3's 32-bit
 * finaliser so that labels differing in one character give unrelated seeds.
 */
export function deriveSeed(seed: number, label: string): number {
  let h = (seed ^ 0x811c9dc5) >>> 0;
  for (let i = 0; i < label.length; i++) {
    h ^= label.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}
