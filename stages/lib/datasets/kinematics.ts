/**
 * Four-vector helpers for the generators: two-body decays in the rest frame, Lorentz boosts, and
 * lab-frame observables. A four-vector is [E, px, py, pz] in GeV, stored in a Float64Array slot
 * of 4 so events allocate nothing.
 */
import type { Rng } from "../random.js";

export type Vec4 = Float64Array;

export function vec4(): Vec4 {
  return new Float64Array(4);
}

/** A particle of mass m with transverse momentum pt, rapidity y and azimuth phi. */
export function fromPtYPhiM(out: Vec4, pt: number, y: number, phi: number, m: number): Vec4 {
  const mt = Math.sqrt(m * m + pt * pt);
  out[0] = mt * Math.cosh(y);
  out[1] = pt * Math.cos(phi);
  out[2] = pt * Math.sin(phi);
  out[3] = mt * Math.sinh(y);
  return out;
}

/** A massless-ish particle from pt, pseudorapidity eta and phi. */
export function fromPtEtaPhiM(out: Vec4, pt: number, eta: number, phi: number, m: number): Vec4 {
  const pz = pt * Math.sinh(eta);
  out[0] = Math.sqrt(pt * pt + pz * pz + m * m);
  out[1] = pt * Math.cos(phi);
  out[2] = pt * Math.sin(phi);
  out[3] = pz;
  return out;
}

/**
 * Decays `parent` (mass M) isotropically in its rest frame into masses m1 and m2, writing the
 * lab-frame daughters into d1 and d2. Requires m1 + m2 <= M.
 */
export function twoBodyDecay(rng: Rng, parent: Vec4, m1: number, m2: number, d1: Vec4, d2: Vec4): void {
  const M = mass(parent);
  const a = M * M - (m1 + m2) * (m1 + m2);
  const b = M * M - (m1 - m2) * (m1 - m2);
  const p = Math.sqrt(Math.max(0, a * b)) / (2 * M);
  const cos = 2 * rng.uniform() - 1;
  const sin = Math.sqrt(Math.max(0, 1 - cos * cos));
  const phi = 2 * Math.PI * rng.uniform();
  const px = p * sin * Math.cos(phi);
  const py = p * sin * Math.sin(phi);
  const pz = p * cos;
  d1[0] = Math.sqrt(p * p + m1 * m1);
  d1[1] = px;
  d1[2] = py;
  d1[3] = pz;
  d2[0] = Math.sqrt(p * p + m2 * m2);
  d2[1] = -px;
  d2[2] = -py;
  d2[3] = -pz;
  boost(d1, parent);
  boost(d2, parent);
}

/** Boosts v (given in the rest frame of `frame`) into the frame where `frame` has its momentum. */
function boost(v: Vec4, frame: Vec4): void {
  const E = frame[0]!;
  const bx = frame[1]! / E;
  const by = frame[2]! / E;
  const bz = frame[3]! / E;
  const b2 = bx * bx + by * by + bz * bz;
  if (b2 <= 0) return;
  const gamma = 1 / Math.sqrt(1 - b2);
  const bp = bx * v[1]! + by * v[2]! + bz * v[3]!;
  const g2 = (gamma - 1) / b2;
  const e = v[0]!;
  v[1] = v[1]! + g2 * bp * bx + gamma * bx * e;
  v[2] = v[2]! + g2 * bp * by + gamma * by * e;
  v[3] = v[3]! + g2 * bp * bz + gamma * bz * e;
  v[0] = gamma * (e + bp);
}

export function mass(v: Vec4): number {
  const m2 = v[0]! * v[0]! - v[1]! * v[1]! - v[2]! * v[2]! - v[3]! * v[3]!;
  return m2 > 0 ? Math.sqrt(m2) : 0;
}

export function pt(v: Vec4): number {
  return Math.hypot(v[1]!, v[2]!);
}

export function eta(v: Vec4): number {
  const t = pt(v);
  if (t === 0) return v[3]! >= 0 ? 10 : -10;
  return Math.asinh(v[3]! / t);
}

export function phi(v: Vec4): number {
  return Math.atan2(v[2]!, v[1]!);
}

/** Invariant mass of the sum of a list of four-vectors. */
export function massOfSum(...vs: Vec4[]): number {
  let e = 0;
  let x = 0;
  let y = 0;
  let z = 0;
  for (const v of vs) {
    e += v[0]!;
    x += v[1]!;
    y += v[2]!;
    z += v[3]!;
  }
  const m2 = e * e - x * x - y * y - z * z;
  return m2 > 0 ? Math.sqrt(m2) : 0;
}

/** Relativistic Breit–Wigner (Cauchy in m) draw, re-drawn until inside [lo, hi]. */
export function breitWigner(rng: Rng, m0: number, width: number, lo: number, hi: number): number {
  for (let i = 0; i < 1000; i++) {
    const m = m0 + (width / 2) * Math.tan(Math.PI * (rng.uniform() - 0.5));
    if (m >= lo && m <= hi) return m;
  }
  return Math.min(hi, Math.max(lo, m0));
}

/** Gamma(k, theta) for integer-ish small k via a sum of exponentials (k rounded up to >= 1). */
export function gammaInt(rng: Rng, k: number, mean: number): number {
  const n = Math.max(1, Math.round(k));
  let s = 0;
  for (let i = 0; i < n; i++) s += rng.exponential(mean / n);
  return s;
}

export function poisson(rng: Rng, mean: number): number {
  const l = Math.exp(-mean);
  let k = 0;
  let p = rng.uniform();
  while (p > l && k < 50) {
    k++;
    p *= rng.uniform();
  }
  return k;
}
