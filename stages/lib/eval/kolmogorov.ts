/**
 * Distribution functions of Kolmogorov–Smirnov statistics, written to reproduce scipy 1.10:
 *
 * - `kolmogorovSf(x)`: the limiting two-sided distribution P(√n·D > x) (scipy.special.kolmogorov,
 *   scipy.stats.kstwobign.sf). Two Jacobi-theta series, switching at x = 0.82 like cephes.
 * - `smirnovSf(n, x)`: the exact one-sided P(D⁺ₙ ≥ x) (scipy.special.smirnov), the Smirnov /
 *   Birnbaum–Tingey sum. Terms are summed in log space from exactly split n·x = ⌊n·x⌋ + α. In the
 *   tail that kstwo uses (n·x² ≥ 2.2 or x ≥ 0.5) this agrees with cephes' double-double evaluation
 *   to 1e-10; in the bulk with n near 10⁶ (10⁶ terms) rounding grows to ~1e-9 relative.
 * - `kstwoSf(x, n)`: the exact two-sided P(Dₙ ≥ x) (scipy.stats.kstwo.sf), Simard & L'Ecuyer's
 *   choice between Ruben–Gambino, Durbin matrix, Pomeranz, Pelz–Good and 2·smirnov (see kstwo.ts).
 */

const EPS = 2.220446049250313e-16;
/** cephes MINLOG: log(2^-1075); exp() of anything below is 0. */
const MINLOG = -745.1332191019412;
const LN2 = Math.LN2;

const clip01 = (p: number): number => (p < 0 ? 0 : p > 1 ? 1 : p);

/** P(√n·D > x) for the limiting Kolmogorov distribution. */
export function kolmogorovSf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  // Below π/√(8·746) the first term of the small-x series underflows: the CDF is 0.
  if (x <= Math.PI / Math.sqrt(746 * 8)) return 1;
  if (x <= 0.82) {
    // CDF = √(2π)/x · u · (1 + u⁸ + u²⁴ + u⁴⁸ + …), u = exp(-π²/(8x²)).
    const w = Math.sqrt(2 * Math.PI) / x;
    const logu8 = (-Math.PI * Math.PI) / (x * x);
    const u = Math.exp(logu8 / 8);
    let cdf: number;
    if (u === 0) cdf = Math.exp(logu8 / 8 + Math.log(w));
    else {
      const u8 = Math.exp(logu8);
      let p = 1;
      p = 1 + u8 * u8 * u8 * p;
      p = 1 + u8 * u8 * p;
      p = 1 + u8 * p;
      cdf = w * u * p;
    }
    return clip01(1 - cdf);
  }
  // SF = 2(v − v⁴ + v⁹ − v¹⁶ …), v = exp(-2x²), nested as 2v(1 − v³(1 − v⁵(1 − v⁷))).
  const v = Math.exp(-2 * x * x);
  const v3 = v * v * v;
  let p = 1;
  p = 1 - v3 * v3 * v * p;
  p = 1 - v3 * v * v * p;
  p = 1 - v3 * p;
  return clip01(2 * v * p);
}

/** The exact product a·b as hi + lo (Dekker/Veltkamp; no FMA in JavaScript). */
function twoProduct(a: number, b: number): [number, number] {
  const hi = a * b;
  const split = (v: number): [number, number] => {
    const c = 134217729 * v; // 2^27 + 1
    const h = c - (c - v);
    return [h, v - h];
  };
  const [ah, al] = split(a);
  const [bh, bl] = split(b);
  const lo = ah * bh - hi + ah * bl + al * bh + al * bl;
  return [hi, lo];
}

/** ⌊n·x⌋ and the remainder α ∈ [0, 1), computed from the exact product. */
function splitNX(n: number, x: number): { fl: number; alpha: number } {
  const [hi, lo] = twoProduct(n, x);
  let fl = Math.floor(hi);
  let alpha = hi - fl + lo;
  if (alpha < 0) {
    fl -= 1;
    alpha += 1;
  }
  if (alpha >= 1) {
    fl += 1;
    alpha = 0;
  }
  return { fl, alpha };
}

/** P(D⁺ₙ ≥ x): scipy.special.smirnov(n, x). */
export function smirnovSf(n: number, x: number): number {
  if (!(n > 0 && x >= 0 && x <= 1)) return NaN;
  if (n === 1) return 1 - x;
  if (x === 0) return 1;
  if (x === 1) return 0;
  const { fl, alpha } = splitNX(n, x);
  let n1mxfl = n - fl - (alpha === 0 ? 0 : 1);
  let n1mxceil = n - fl;
  if (alpha === 0) {
    n1mxfl -= 1;
    n1mxceil += 1;
  }
  if (fl === 0 || (fl === 1 && alpha === 0)) {
    // x ≤ 1/n: CDF = x(1+x)^(n-1).
    return clip01(1 - x * Math.exp((n - 1) * Math.log1p(x)));
  }
  if (-2 * n * x * x < MINLOG) return 0;
  if (fl >= n - 1) return clip01(Math.exp(n * Math.log1p(-x)));
  if (n > 1_000_000) {
    // cephes switches to this approximation above 10⁶ events: p ≈ exp(-(6nx+1)²/(18n)).
    const logp = -Math.pow(6 * n * x + 1, 2) / 18 / n;
    return clip01(logp < -LN2 ? Math.exp(logp) : 1 + Math.expm1(logp));
  }
  const nUpper = n - n1mxceil + 1;
  const useUpper = (nUpper <= 1 && x < 0.5) || (n >= 10 && nUpper <= 3 && x <= 0.5 / Math.sqrt(n));
  const logn = Math.log(n);
  // log of (x + v/n) and |1 − x − v/n|, from the exact split n·x = fl + α. In the upper sum
  // 1 − x − v/n is negative, so its terms alternate in sign.
  const logUp = (v: number): number => Math.log(fl + v + alpha) - logn;
  const logDown = (v: number): number => {
    const y = (fl + v + alpha) / n;
    return y < 0.5 ? Math.log1p(-y) : Math.log(Math.abs(n - v - fl - alpha)) - logn;
  };
  const term = (v: number, logC: number): number => {
    const k = n - v;
    const negative = k % 2 === 1 && n - v - fl - alpha < 0;
    const t = Math.exp(logC + (k === 0 ? 0 : k * logDown(v)) + (v === 1 ? 0 : (v - 1) * logUp(v)));
    return negative ? -t : t;
  };
  let sum = Math.exp(useUpper ? (n - 1) * Math.log1p(x) : n * Math.log1p(-x) - Math.log(x));
  let logC = 0;
  const nTerms = useUpper ? nUpper : n1mxfl + 1;
  const vmid = Math.floor(n / 2);
  for (let j = 1; j < nTerms; j++) {
    logC += Math.log((n - j + 1) / j);
    const a = term(useUpper ? n - j : j, logC);
    if (Number.isFinite(a)) sum += a;
    if (a !== 0) {
      if (4 * (nTerms - j) * Math.abs(a) < EPS * sum && j !== nTerms - 1) break;
    } else if (j > vmid) break;
  }
  const prob = x * sum;
  return clip01(useUpper ? 1 - prob : prob);
}
