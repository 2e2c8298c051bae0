/**
 * The sorts every evaluation stage is built on: radix sorts over the IEEE-754 bits of float64
 * values, turned into unsigned 64-bit keys whose integer order is the numeric order (flip all bits
 * of a negative value, the sign bit of a positive one).
 *
 * Only the bits that differ between the values are sorted on: a score in (0, 1) varies in ~56 of
 * its 64 bits, one that came from float32 in ~27. Those bits are cut into digits of at most 8 bits
 * (256 scatter targets: in V8 an 8-bit pass over 10M keys is twice as fast as an 11-bit one, whose
 * 2048 targets thrash the TLB). The sort is most-significant digit first: one pass over all the
 * data splits it into buckets, and each bucket is sorted on the lower digits on its own, soon
 * small enough to stay in cache; buckets of a few dozen keys are finished by insertion sort. A
 * digit that is the same for a whole bucket costs one histogram and no move. The sorts are stable.
 * NaN must be removed by the caller; -0 and +0 sort as equal (and -0 comes back as +0).
 *
 * `sortWithPayload` moves a float64 payload (weights) with the values, so that nothing has to be
 * gathered through a permutation afterwards: with 10M events, each random-access gather costs as
 * much as two radix passes.
 */

const MAX_DIGIT_BITS = 8;
/** Buckets up to this size are finished by insertion sort. */
const SMALL = 40;

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

/** Stable insertion sort of keys [from, to) by the whole key, with their payload. */
function insertionSortKeys(k: Uint32Array, pay: Float64Array | undefined, from: number, to: number): void {
  for (let i = from + 1; i < to; i++) {
    const l = k[2 * i]!;
    const h = k[2 * i + 1]!;
    const w = pay === undefined ? 0 : pay[i]!;
    let j = i - 1;
    while (j >= from && (k[2 * j + 1]! > h || (k[2 * j + 1] === h && k[2 * j]! > l))) {
      k[2 * j + 2] = k[2 * j]!;
      k[2 * j + 3] = k[2 * j + 1]!;
      if (pay !== undefined) pay[j + 1] = pay[j]!;
      j--;
    }
    k[2 * j + 2] = l;
    k[2 * j + 3] = h;
    if (pay !== undefined) pay[j + 1] = w;
  }
}

/**
 * Most-significant-digit-first radix sort of the keys in `keys` (and `pay`), with `spare` and
 * `sparePay` (same sizes) as scratch. The result is in `keys` and `pay`.
 */
function msdSort(
  plan: DigitPlan,
  keys: Uint32Array,
  pay: Float64Array | undefined,
  spare: Uint32Array,
  sparePay: Float64Array | undefined,
): void {
  const { starts: digitStarts, mask, buckets } = plan;
  // Bucket starts and ends, one pair of arrays per digit (the recursion goes one digit deep per level).
  const startsAt = digitStarts.map(() => new Uint32Array(buckets));
  const endsAt = digitStarts.map(() => new Uint32Array(buckets));

  /**
   * Sorts [from, to) of `ak` on digits p, p−1, …, 0 (the higher ones are equal in the range), with
   * the same range of `bk` as scratch; the result lands in `ak` when `intoA`, else in `bk`.
   */
  const sort = (
    ak: Uint32Array,
    ap: Float64Array | undefined,
    bk: Uint32Array,
    bp: Float64Array | undefined,
    from: number,
    to: number,
    p: number,
    intoA: boolean,
  ): void => {
    const size = to - from;
    if (p < 0 || size <= SMALL) {
      if (p >= 0) insertionSortKeys(ak, ap, from, to);
      if (!intoA) {
        for (let i = 2 * from; i < 2 * to; i++) bk[i] = ak[i]!;
        if (ap !== undefined && bp !== undefined) for (let i = from; i < to; i++) bp[i] = ap[i]!;
      }
      return;
    }
    const s = digitStarts[p]!;
    const start = startsAt[p]!;
    const end = endsAt[p]!;
    start.fill(0);
    for (let i = from; i < to; i++) start[digit(ak[2 * i]!, ak[2 * i + 1]!, s) & mask]!++;
    let sum = from;
    for (let d = 0; d < buckets; d++) {
      const c = start[d]!;
      if (c === size) {
        sort(ak, ap, bk, bp, from, to, p - 1, intoA); // one bucket holds the whole range: nothing to move
        return;
      }
      start[d] = sum;
      end[d] = sum;
      sum += c;
    }
    if (ap !== undefined && bp !== undefined) {
      for (let i = from; i < to; i++) {
        const l = ak[2 * i]!;
        const h = ak[2 * i + 1]!;
        const q = end[digit(l, h, s) & mask]!++;
        bk[2 * q] = l;
        bk[2 * q + 1] = h;
        bp[q] = ap[i]!;
      }
    } else {
      for (let i = from; i < to; i++) {
        const l = ak[2 * i]!;
        const h = ak[2 * i + 1]!;
        const q = end[digit(l, h, s) & mask]!++;
        bk[2 * q] = l;
        bk[2 * q + 1] = h;
      }
    }
    for (let d = 0; d < buckets; d++) {
      const f = start[d]!;
      const t = end[d]!;
      if (t > f) sort(bk, bp, ak, ap, f, t, p - 1, !intoA);
    }
  };
  sort(keys, pay, spare, sparePay, 0, keys.length / 2, digitStarts.length - 1, true);
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
  if (n <= SMALL) {
    insertionSort(values, payload);
    return;
  }
  // Little-endian (every platform Node runs on): word 2i is the low half of value i.
  const keys = new Uint32Array(values.buffer, values.byteOffset, 2 * n);
  const plan = toKeys(keys, n);
  if (plan !== undefined) {
    msdSort(plan, keys, payload, new Uint32Array(2 * n), payload ? new Float64Array(n) : undefined);
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
