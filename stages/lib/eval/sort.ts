/**
 * The sorts every evaluation stage is built on: LSD radix sorts over the IEEE-754 bits of float64
 * values, turned into unsigned 64-bit keys whose integer order is the numeric order (flip all bits
 * of a negative value, the sign bit of a positive one).
 *
 * Only the bits that differ between the values are sorted on: a score in (0, 1) varies in ~56 of
 * its 64 bits, one that came from float32 in ~27. Those bits are cut into digits of at most 8 bits
 * (7 passes for 56 bits, 4 for 27): in V8 an 8-bit pass over 10M keys is about twice as fast as an
 * 11-bit one (2048 scatter targets thrash the TLB), so more, narrower passes win. A pass whose digit
 * is the same for every value is skipped. The sorts are stable. NaN must be removed by the caller;
 * -0 and +0 sort as equal (and -0 comes back as +0).
 *
 * `sortWithPayload` moves a float64 payload (weights) with the values, so that nothing has to be
 * gathered through a permutation afterwards: with 10M events, each random-access gather costs as
 * much as two radix passes.
 */

const MAX_DIGIT_BITS = 8;
/** Below this many values the histograms cost more than a comparison sort. */
const SMALL = 64;

/** Digits of the varying bits of `keys` (interleaved lo, hi words), lowest first. */
interface DigitPlan {
  /** Bit position (0..63) where each digit starts. */
  starts: number[];
  mask: number;
  buckets: number;
}

/**
 * Replaces each float64 in `words` (its little-endian lo/hi words) by its sortable key, in place,
 * and plans the digits over the bits that vary. Returns undefined when all keys are equal.
 */
function toKeys(words: Uint32Array, n: number): DigitPlan | undefined {
  let diffLo = 0;
  let diffHi = 0;
  let firstLo = 0;
  let firstHi = 0;
  for (let i = 0; i < n; i++) {
    let l = words[2 * i]!;
    let h = words[2 * i + 1]!;
    if (h >= 0x80000000) {
      if (h === 0x80000000 && l === 0) {
        h = 0x80000000; // -0 sorts (and comes back) as +0
      } else {
        h = ~h >>> 0;
        l = ~l >>> 0;
      }
    } else {
      h = (h | 0x80000000) >>> 0;
    }
    words[2 * i] = l;
    words[2 * i + 1] = h;
    if (i === 0) {
      firstLo = l;
      firstHi = h;
    }
    diffLo |= l ^ firstLo;
    diffHi |= h ^ firstHi;
  }
  if (diffLo === 0 && diffHi === 0) return undefined;
  const top = diffHi !== 0 ? 63 - Math.clz32(diffHi) : 31 - Math.clz32(diffLo);
  const bottom = diffLo !== 0 ? 31 - Math.clz32(diffLo & -diffLo) : 63 - Math.clz32(diffHi & -diffHi);
  const span = top - bottom + 1;
  const passes = Math.ceil(span / MAX_DIGIT_BITS);
  const width = Math.ceil(span / passes);
  const starts: number[] = [];
  for (let p = 0; p < passes; p++) starts.push(bottom + p * width);
  return { starts, mask: (1 << width) - 1, buckets: 1 << width };
}

/** Inverse of toKeys, in place. */
function fromKeys(words: Uint32Array, n: number): void {
  for (let i = 0; i < n; i++) {
    const h = words[2 * i + 1]!;
    if (h >= 0x80000000) {
      words[2 * i + 1] = h & 0x7fffffff;
    } else {
      words[2 * i + 1] = ~h >>> 0;
      words[2 * i] = ~words[2 * i]! >>> 0;
    }
  }
}

/** The digit of key (l, h) that starts at bit s (unmasked; s < 32 may straddle into h). */
function digit(l: number, h: number, s: number): number {
  return s < 32 ? (l >>> s) | ((h << 1) << (31 - s)) : h >>> (s - 32);
}

function histogram(words: Uint32Array, n: number, s: number, mask: number, counts: Uint32Array): void {
  counts.fill(0);
  for (let i = 0; i < n; i++) counts[digit(words[2 * i]!, words[2 * i + 1]!, s) & mask]!++;
}

/** Turns counts into start offsets; false when one bucket holds everything (nothing to move). */
function offsets(counts: Uint32Array, n: number, into: Uint32Array): boolean {
  let sum = 0;
  for (let b = 0; b < counts.length; b++) {
    const c = counts[b]!;
    if (c === n) return false;
    into[b] = sum;
    sum += c;
  }
  return true;
}

/**
 * One stable scatter by the digit at `s`, moving keys (and payload), while counting the digit at
 * `next` (−1: none) into `counts` for the following pass.
 */
function scatter(
  src: Uint32Array,
  dst: Uint32Array,
  srcPay: Float64Array | undefined,
  dstPay: Float64Array | undefined,
  n: number,
  s: number,
  next: number,
  mask: number,
  off: Uint32Array,
  counts: Uint32Array,
): void {
  counts.fill(0);
  if (srcPay !== undefined && dstPay !== undefined) {
    for (let i = 0; i < n; i++) {
      const l = src[2 * i]!;
      const h = src[2 * i + 1]!;
      const q = off[digit(l, h, s) & mask]!++;
      dst[2 * q] = l;
      dst[2 * q + 1] = h;
      dstPay[q] = srcPay[i]!;
      if (next >= 0) counts[digit(l, h, next) & mask]!++;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const l = src[2 * i]!;
      const h = src[2 * i + 1]!;
      const q = off[digit(l, h, s) & mask]!++;
      dst[2 * q] = l;
      dst[2 * q + 1] = h;
      if (next >= 0) counts[digit(l, h, next) & mask]!++;
    }
  }
}

/** Stable insertion sort of small inputs, -0 made +0 like the radix path. */
function insertionSort(values: Float64Array, payload: Float64Array | undefined): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]! + 0;
    const p = payload?.[i];
    let j = i - 1;
    while (j >= 0 && values[j]! > v) {
      values[j + 1] = values[j]!;
      if (payload) payload[j + 1] = payload[j]!;
      j--;
    }
    values[j + 1] = v;
    if (payload && p !== undefined) payload[j + 1] = p;
  }
}

/**
 * Sorts `values` ascending in place (stable) and applies the same permutation to `payload`.
 * NaN must be removed by the caller; -0 becomes +0.
 */
export function sortWithPayload(values: Float64Array, payload?: Float64Array): void {
  const n = values.length;
  if (payload !== undefined && payload.length !== n)
    throw new RangeError(`sortWithPayload: ${n} values but ${payload.length} payload entries`);
  if (n < SMALL) {
    insertionSort(values, payload);
    return;
  }
  // Little-endian (every platform Node runs on): word 2i is the low half of value i.
  let keys: Uint32Array = new Uint32Array(values.buffer, values.byteOffset, 2 * n);
  const plan = toKeys(keys, n);
  if (plan !== undefined) {
    const { starts, mask, buckets } = plan;
    let spare: Uint32Array = new Uint32Array(2 * n);
    let pay = payload;
    let sparePay: Float64Array | undefined = payload ? new Float64Array(n) : undefined;
    let counts = new Uint32Array(buckets);
    let nextCounts = new Uint32Array(buckets);
    const off = new Uint32Array(buckets);
    histogram(keys, n, starts[0]!, mask, counts);
    for (let p = 0; p < starts.length; p++) {
      const next = p + 1 < starts.length ? starts[p + 1]! : -1;
      if (!offsets(counts, n, off)) {
        if (next >= 0) histogram(keys, n, next, mask, counts);
        continue;
      }
      scatter(keys, spare, pay, sparePay, n, starts[p]!, next, mask, off, nextCounts);
      [keys, spare] = [spare, keys];
      [pay, sparePay] = [sparePay, pay];
      [counts, nextCounts] = [nextCounts, counts];
    }
    if (keys.buffer !== values.buffer) {
      new Uint32Array(values.buffer, values.byteOffset, 2 * n).set(keys);
      if (payload && pay) payload.set(pay);
      keys = new Uint32Array(values.buffer, values.byteOffset, 2 * n);
    }
  }
  fromKeys(keys, n);
}

/** Indices that sort `values` ascending (stable). */
export function argsort(values: Float64Array): Uint32Array {
  const n = values.length;
  const sorted = values.slice();
  const index = new Float64Array(n);
  for (let i = 0; i < n; i++) index[i] = i;
  sortWithPayload(sorted, index);
  return Uint32Array.from(index);
}

/** `values[order[i]]` for all i. */
export function gather(values: Float64Array, order: Uint32Array): Float64Array {
  const out = new Float64Array(order.length);
  for (let i = 0; i < order.length; i++) out[i] = values[order[i]!]!;
  return out;
}
