/**
 * Correctly rounded decimal → double for the mantissas Clinger's fast path cannot take (16 to 19
 * significant digits, or exponents beyond ±22): m · 10^e computed in double-double arithmetic,
 * then rounded, with a proof of correctness checked at run time and `undefined` (the caller then
 * asks `Number()`) when the check fails.
 *
 * Why it is exact: m < 10^19 is held exactly as a double-double; 10^e comes from a table of
 * double-doubles within 2^-105 of the true power (made once with BigInt); the product is within
 * 2^-101 of m·10^e. The exact value x therefore lies within δ = 2^-97·|r| of the computed r + re.
 * Rounding is monotone, so if r + (re − 2δ) and r + (re + 2δ) round to the same double, so does x
 * (the ±2δ margin also covers the rounding of the margins themselves). When x lies that close to
 * a midpoint between two doubles (about 1 in 2^43 inputs) the check fails and `Number()` decides.
 *
 * The same idea as Eisel–Lemire's (a wide product and a check that the truncation cannot change
 * the rounding), in the arithmetic JavaScript does fast: doubles, no BigInt on the hot path.
 */

/** Exponents the table covers: results stay far from overflow and from subnormals. */
export const MIN_EXP10 = -250;
export const MAX_EXP10 = 280;

let powHi = new Float64Array(0);
let powLo = new Float64Array(0);
// powHi split in halves of 26 bits (Veltkamp), made with the table: one less split per value.
let powHiHigh = new Float64Array(0);
let powHiLow = new Float64Array(0);

/** 10^e as hi + lo for every e in [MIN_EXP10, MAX_EXP10] (made on first use, ~2 ms). */
function makePowers(): void {
  const n = MAX_EXP10 - MIN_EXP10 + 1;
  const hi = new Float64Array(n);
  const lo = new Float64Array(n);
  const bits = new DataView(new ArrayBuffer(8));
  for (let e = MIN_EXP10; e <= MAX_EXP10; e++) {
    const i = e - MIN_EXP10;
    if (e >= 0) {
      const exact = 10n ** BigInt(e);
      const h = Number(exact);
      hi[i] = h;
      lo[i] = Number(exact - BigInt(h));
    } else {
      // 10^e − h = (2^s − M·10^k) / (10^k · 2^s) where h = M·2^-s, k = −e.
      const k = BigInt(-e);
      const h = Number(`1e${e}`);
      bits.setFloat64(0, h);
      const raw = bits.getBigUint64(0);
      const biased = Number((raw >> 52n) & 0x7ffn);
      const mant = (raw & ((1n << 52n) - 1n)) | (1n << 52n);
      const s = 1075 - biased; // h = mant · 2^-s
      const ten = 10n ** k;
      const num = (1n << BigInt(s)) - mant * ten;
      const den = ten << BigInt(s);
      // num/den to ~64 significant bits, then scaled: an error of 2^-60 relative on lo is plenty.
      const shift = BigInt(den.toString(2).length - num.toString(2).length + 64);
      const q = (num << shift) / den;
      hi[i] = h;
      lo[i] = Number(q) * 2 ** -Number(shift);
    }
  }
  powHi = hi;
  powLo = lo;
  powHiHigh = new Float64Array(n);
  powHiLow = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const c = SPLIT * hi[i]!;
    powHiHigh[i] = c - (c - hi[i]!);
    powHiLow[i] = hi[i]! - powHiHigh[i]!;
  }
}

/** The tables per exponent, for the WebAssembly scanner (csv-wasm.ts). */
export function powerTables(): {
  hi: Float64Array;
  lo: Float64Array;
  hiHigh: Float64Array;
  hiLow: Float64Array;
} {
  if (powHi.length === 0) makePowers();
  return { hi: powHi, lo: powLo, hiHigh: powHiHigh, hiLow: powHiLow };
}

const SPLIT = 134217729; // 2^27 + 1, Veltkamp's splitter
const MARGIN = 2 ** -97;

/**
 * The double nearest to `hi · 10^k + lo` · 10^e10 (hi < 10^15, lo < 10^k, k ≤ 4, e10 within the
 * table), or undefined when it cannot be decided here.
 */
export function decimalToDouble(hi: number, lo: number, k: number, e10: number): number | undefined {
  if (e10 < MIN_EXP10 || e10 > MAX_EXP10) return undefined;
  if (powHi.length === 0) makePowers();
  // m = hi·10^k + lo exactly, as mh + ml (every partial error is a small integer, so exact).
  // scale < 2^27 is its own high half (low half 0), which drops three terms of Dekker's product.
  const scale = k === 0 ? 1 : k === 1 ? 10 : k === 2 ? 100 : k === 3 ? 1000 : 10000;
  const a = hi * scale;
  let c = SPLIT * hi;
  let ah = c - (c - hi);
  let al = hi - ah;
  const aErr = -(a - ah * scale - al * scale);
  const s = a + lo;
  const bb = s - a;
  const sErr = a - (s - bb) + (lo - bb);
  const t = sErr + aErr;
  const mh = s + t;
  const ml = t - (mh - s);
  // (mh + ml) · (ph + pl), Dekker's product for mh·ph.
  const at = e10 - MIN_EXP10;
  const ph = powHi[at]!;
  const pl = powLo[at]!;
  const bh = powHiHigh[at]!;
  const bl = powHiLow[at]!;
  const p = mh * ph;
  c = SPLIT * mh;
  ah = c - (c - mh);
  al = mh - ah;
  const pErr = al * bl - (p - ah * bh - al * bh - ah * bl) + (mh * pl + ml * ph + ml * pl);
  const r = p + pErr;
  const re = pErr - (r - p);
  const delta = 2 * MARGIN * Math.abs(r);
  const down = r + (re - delta);
  const up = r + (re + delta);
  return down === up ? down : undefined;
}
