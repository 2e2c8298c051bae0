/**
 * The draws of NumPy's legacy `numpy.random.RandomState` that select rows, reproduced call for call
 * (NumPy 1.17 and later keep these streams frozen for backward compatibility):
 *
 * - `random_sample()`: 53-bit doubles from two 32-bit words, (a >> 5, b >> 6);
 * - `randint(low, high, size)` with the default int64 dtype: the masked rejection method
 *   (`random_bounded_uint64_fill` with `use_masked`), 32-bit words when high − low − 1 fits in 32
 *   bits, 64-bit words (high word first) otherwise, and no draw at all when the range holds one value;
 * - `shuffle(x)` / `permutation(n)`: Fisher–Yates from the end, j = `random_interval(i)` (masked
 *   rejection again), for i = n−1 … 1;
 * - `choice(n, size, replace)` without probabilities: `randint(0, n, size)` with replacement,
 *   `permutation(n)[:size]` without.
 *
 * `np.random.seed(s)` reseeds the global RandomState exactly as `RandomState(s)` seeds a new one, so a
 * draw through the global state right after the seed is the draw of `RandomState(s)`.
 */
import { MT19937 } from "./mt19937.js";

/** A seed as NumPy takes it: one integer in [0, 2³²), or a non-empty array of them. */
export type NumpySeed = number | readonly number[];

const TWO32 = 0x100000000;

/** Smallest all-ones mask ≥ v, for v < 2³² (numpy's gen_mask). */
function mask32(v: number): number {
  let m = v >>> 0;
  m |= m >>> 1;
  m |= m >>> 2;
  m |= m >>> 4;
  m |= m >>> 8;
  m |= m >>> 16;
  return m >>> 0;
}

export class NumpyRandomState {
  private readonly mt: MT19937;

  constructor(seed: NumpySeed) {
    this.mt = new MT19937(seed);
  }

  /** One 32-bit word of the underlying stream. */
  nextUint32(): number {
    return this.mt.next32();
  }

  /** `random_sample()`: a double in [0, 1) with 53 random bits. */
  randomSample(): number {
    const a = this.mt.next32() >>> 5;
    const b = this.mt.next32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /**
   * One value of `randint(low, high)` (int64), for ranges up to 2⁵³ so results stay exact doubles.
   * The caller's loop over `size` is the same as NumPy's fill loop: one call per element, in order.
   */
  randint(low: number, high: number): number {
    if (!Number.isSafeInteger(low) || !Number.isSafeInteger(high) || high <= low)
      throw new RangeError(`randint: need integers low < high, got ${low}, ${high}`);
    return low + this.bounded(high - low - 1);
  }

  /** `randint(low, high, size)` as an array of doubles (exact integers). */
  randintArray(low: number, high: number, size: number): Float64Array {
    const out = new Float64Array(size);
    for (let i = 0; i < size; i++) out[i] = this.randint(low, high);
    return out;
  }

  /**
   * A uniform integer in [0, rng] by masked rejection: draw, keep the bits under the smallest
   * all-ones mask ≥ rng, retry while above rng. Shared by `randint` and `random_interval`, which
   * differ only in that `randint` draws a full 32-bit word directly when rng = 2³² − 1.
   */
  private bounded(rng: number): number {
    if (rng === 0) return 0;
    if (rng < TWO32) {
      if (rng === TWO32 - 1) return this.mt.next32();
      const mask = mask32(rng);
      for (;;) {
        const v = (this.mt.next32() & mask) >>> 0;
        if (v <= rng) return v;
      }
    }
    return this.bounded64(rng);
  }

  /** The 64-bit path: next_uint64 is (first word << 32) | second word. */
  private bounded64(rng: number): number {
    const rngHi = Math.floor(rng / TWO32);
    const maskHi = mask32(rngHi);
    for (;;) {
      const hi = (this.mt.next32() & maskHi) >>> 0;
      const lo = this.mt.next32();
      const v = hi * TWO32 + lo;
      if (v <= rng) return v;
    }
  }

  /** `random_interval(max)`: uniform in [0, max] (max < 2⁵³), the index draw of `shuffle`. */
  interval(max: number): number {
    if (max === 0) return 0;
    if (max < TWO32) {
      const mask = mask32(max);
      for (;;) {
        const v = (this.mt.next32() & mask) >>> 0;
        if (v <= max) return v;
      }
    }
    return this.bounded64(max);
  }

  /** `shuffle(x)` in place for a one-dimensional array: swaps x[i] and x[random_interval(i)] for i = n−1 … 1. */
  shuffle<T extends Int32Array | Float64Array | Uint32Array | number[]>(x: T): T {
    for (let i = x.length - 1; i > 0; i--) {
      const j = this.interval(i);
      const t = x[i]!;
      x[i] = x[j]!;
      x[j] = t;
    }
    return x;
  }

  /** `permutation(n)`: a shuffled arange(n). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }

  /** `permutation(x)` of an array: a shuffled copy. */
  permuted(x: Int32Array): Int32Array {
    return this.shuffle(x.slice());
  }

  /**
   * `choice(n, size, replace)` with uniform probabilities: indices into 0 … n−1. With replacement
   * it is `randint(0, n, size)`; without, the first `size` entries of `permutation(n)`.
   */
  choice(n: number, size: number, replace: boolean): Int32Array {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`choice: bad population ${n}`);
    if (n === 0 && size > 0)
      throw new RangeError("choice: a must be greater than 0 unless no samples are taken");
    if (replace) {
      const out = new Int32Array(size);
      for (let i = 0; i < size; i++) out[i] = this.randint(0, n);
      return out;
    }
    if (size > n) throw new RangeError(`choice: cannot take ${size} of ${n} without replacement`);
    return this.permutation(n).slice(0, size);
  }
}
