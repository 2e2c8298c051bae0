// Sorting float64 values (the sample that bin edges are taken from): LSD radix sort on the IEEE
// bits mapped to unsigned keys that order like the numbers (-0 before +0; no NaN), 11 bits per
// pass, passes over a digit every key shares skipped.

/** Sorts a[0..n) in place, using tmp (n f64) and counts (2048 u32) as scratch. */
export function sortFloat64(a: usize, tmp: usize, counts: usize, n: i32): void {
  const bytes = (<usize>n) << 3;
  for (let p: usize = 0; p < bytes; p += 8) {
    const v = load<u64>(a + p);
    // Negative numbers: flip every bit; others: set the sign bit.
    store<u64>(a + p, <i64>v < 0 ? ~v : v | 0x8000000000000000);
  }
  let src = a;
  let dst = tmp;
  for (let shift: u64 = 0; shift < 64; shift += 11) {
    memory.fill(counts, 0, 2048 * 4);
    for (let p: usize = 0; p < bytes; p += 8) {
      const c = counts + ((<usize>((load<u64>(src + p) >> shift) & 0x7ff)) << 2);
      store<u32>(c, load<u32>(c) + 1);
    }
    const first = load<u32>(counts + ((<usize>((load<u64>(src) >> shift) & 0x7ff)) << 2));
    if (first == <u32>n) continue; // every key has this digit
    let sum: u32 = 0;
    for (let d: usize = 0; d < 2048 * 4; d += 4) {
      const c = load<u32>(counts + d);
      store<u32>(counts + d, sum);
      sum += c;
    }
    for (let p: usize = 0; p < bytes; p += 8) {
      const k = load<u64>(src + p);
      const c = counts + ((<usize>((k >> shift) & 0x7ff)) << 2);
      const at = load<u32>(c);
      store<u32>(c, at + 1);
      store<u64>(dst + ((<usize>at) << 3), k);
    }
    const t = src;
    src = dst;
    dst = t;
  }
  for (let p: usize = 0; p < bytes; p += 8) {
    const k = load<u64>(src + p);
    store<u64>(a + p, <i64>k < 0 ? k & 0x7fffffffffffffff : ~k);
  }
}
