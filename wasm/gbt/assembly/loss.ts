// The gradient job: one task per block of rows (a fixed size, so partial sums never depend on the
// thread count). Adds the previous tree to rows outside its sample, then writes each row's
// gradient and hessian of the weighted log-loss, and the block's loss and sampled totals.
//
// exp and log1p below work on f64x2 lanes, for the ranges the log-loss needs. Pure IEEE
// arithmetic, so every machine and every thread gets the same bits (Math.exp may differ between
// engines). Accuracy: within 2 ulp of the correctly rounded result (test/gbt-kernels.test.ts).
//
// Polynomials use Estrin's scheme (a dependency chain of 5 steps instead of Horner's 13: the
// gradient loop runs at the latency of this chain) with coefficients loaded from linear memory:
// V8 builds a v128 constant with three or four instructions at every use, a load is one.

import { walkTree } from "./rows";
import {
  ptr,
  word,
  J_BLOCK_OUT,
  J_CUR_MASK,
  J_PREV_MASK,
  J_RESET_ROWS,
  J_WALK_TREE,
  X_BLOCK_ROWS,
  X_CODES,
  X_GH,
  X_LABELS,
  X_N,
  X_ROWS,
  X_SCORES,
  X_WEIGHTS,
} from "./layout";

// Scalars used by the kernels, each twice (one v128): see ec() for why they live in memory.
// prettier-ignore
const K = memory.data<f64>([
  -746.0, -746.0, // below this exp(x) rounds to 0 anyway
  46.16624130844683, 46.16624130844683, // 32 / ln 2
  // ln 2 / 32 split so that k * hi is exact for |k| < 2^17 (hi has 30 significant bits)
  0.021660849393811077, 0.021660849393811077,
  -1.312785960212839e-12, -1.312785960212839e-12,
  0.6931471805599453, 0.6931471805599453, // ln 2
  0.5, 0.5,
  1.0, 1.0,
  2.0, 2.0,
]);
const K_MIN_X = 0;
const K_32_OVER_LN2 = 1;
const K_LN2_32_HI = 2;
const K_LN2_32_LO = 3;
const K_LN2 = 4;
const K_HALF = 5;
const K_ONE = 6;
const K_TWO = 7;
/** The exponent bias of f64, in both i64 lanes. */
const BIAS = memory.data<i64>([1023, 1023]);

function kk(i: i32): v128 {
  return v128.load(K + ((<usize>i) << 4));
}

/** 1/k!, k = 0..13, each twice (one v128 per coefficient). */
const EXP_COEF = memory.data<f64>([
  1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.16666666666666666, 0.16666666666666666, 0.041666666666666664,
  0.041666666666666664, 0.008333333333333333, 0.008333333333333333, 0.001388888888888889,
  0.001388888888888889, 0.0001984126984126984, 0.0001984126984126984, 2.48015873015873e-5,
  2.48015873015873e-5, 2.7557319223985893e-6, 2.7557319223985893e-6, 2.755731922398589e-7,
  2.755731922398589e-7, 2.505210838544172e-8, 2.505210838544172e-8, 2.08767569878681e-9, 2.08767569878681e-9,
  1.6059043836821613e-10, 1.6059043836821613e-10,
]);
/** 1/(2k+1), k = 0..12: log(1+f) = 2s (1 + z/3 + z^2/5 + ...) with z = s^2. */
const LOG_COEF = memory.data<f64>([
  1.0, 1.0, 0.3333333333333333, 0.3333333333333333, 0.2, 0.2, 0.14285714285714285, 0.14285714285714285,
  0.1111111111111111, 0.1111111111111111, 0.09090909090909091, 0.09090909090909091, 0.07692307692307693,
  0.07692307692307693, 0.06666666666666667, 0.06666666666666667, 0.058823529411764705, 0.058823529411764705,
  0.05263157894736842, 0.05263157894736842, 0.047619047619047616, 0.047619047619047616, 0.043478260869565216,
  0.043478260869565216, 0.04, 0.04,
]);

function ec(k: i32): v128 {
  return v128.load(EXP_COEF + ((<usize>k) << 4));
}

function lc(k: i32): v128 {
  return v128.load(LOG_COEF + ((<usize>k) << 4));
}

/** a + b x */
function lin(a: v128, b: v128, x: v128): v128 {
  return f64x2.add(a, f64x2.mul(b, x));
}

/** 2^(j/32), j = 0..31, correctly rounded. */
const EXP2_TABLE = memory.data<f64>([
  1.0, 1.0218971486541166, 1.0442737824274138, 1.0671404006768237, 1.0905077326652577, 1.1143867425958924,
  1.1387886347566916, 1.1637248587775775, 1.189207115002721, 1.215247359980469, 1.241857812073484,
  1.2690509571917332, 1.2968395546510096, 1.3252366431597413, 1.3542555469368927, 1.383909881963832,
  1.4142135623730951, 1.4451808069770467, 1.4768261459394993, 1.5091644275934228, 1.5422108254079407,
  1.5759808451078865, 1.6104903319492543, 1.645755478153965, 1.681792830507429, 1.718619298122478,
  1.7562521603732995, 1.7947090750031072, 1.8340080864093424, 1.8741676341103, 1.9152065613971474,
  1.9571441241754002,
]);

/**
 * exp(x) for x <= 0 (any x <= 0, including values far below the underflow limit):
 * x = (32 m + j) ln2 / 32 + r with |r| <= ln2 / 64, exp(x) = 2^m 2^(j/32) exp(r), exp(r) by its
 * Taylor series to degree 6 (truncation below 1e-17), 2^(j/32) from a table, 2^m applied in two
 * steps so that subnormal results round once.
 */
function expNonPositive(x: v128): v128 {
  x = f64x2.pmax(x, kk(K_MIN_X));
  const k = f64x2.nearest(f64x2.mul(x, kk(K_32_OVER_LN2)));
  const r = f64x2.sub(f64x2.sub(x, f64x2.mul(k, kk(K_LN2_32_HI))), f64x2.mul(k, kk(K_LN2_32_LO)));
  const r2 = f64x2.mul(r, r);
  const r4 = f64x2.mul(r2, r2);
  const low = lin(lin(ec(0), ec(1), r), lin(ec(2), ec(3), r), r2);
  const high = lin(lin(ec(4), ec(5), r), ec(6), r2);
  const p = lin(low, high, r4);
  const ki = i32x4.trunc_sat_f64x2_s_zero(k);
  const t0 = load<f64>(EXP2_TABLE + ((<usize>(i32x4.extract_lane(ki, 0) & 31)) << 3));
  const t1 = load<f64>(EXP2_TABLE + ((<usize>(i32x4.extract_lane(ki, 1) & 31)) << 3));
  const t = f64x2.replace_lane(f64x2.splat(t0), 1, t1);
  // 2^m = 2^m1 * 2^m2 with m1 = floor(m / 2): both factors are normal numbers down to m = -1077.
  const m = i32x4.shr_s(ki, 5);
  const m1 = i32x4.shr_s(m, 1);
  const m2 = i32x4.sub(m, m1);
  const bias = v128.load(BIAS);
  const s1 = i64x2.shl(i64x2.add(i64x2.extend_low_i32x4_s(m1), bias), 52);
  const s2 = i64x2.shl(i64x2.add(i64x2.extend_low_i32x4_s(m2), bias), 52);
  return f64x2.mul(f64x2.mul(f64x2.mul(p, t), s1), s2);
}

/**
 * log(1 + e) for 0 <= e <= 1: 1 + e = 2^k (1 + f) with f = e (k = 0) or f = (e - 1) / 2 (k = 1,
 * e >= 1/2, exact by Sterbenz), and log(1 + f) = 2 atanh(s), s = f / (2 + f), |s| <= 0.2, by its
 * series to s^25 (truncation below 1e-17).
 */
function log1pUnit(e: v128): v128 {
  const big = f64x2.ge(e, kk(K_HALF));
  const f = v128.bitselect(f64x2.mul(f64x2.sub(e, kk(K_ONE)), kk(K_HALF)), e, big);
  const s = f64x2.div(f, f64x2.add(kk(K_TWO), f));
  const z = f64x2.mul(s, s);
  const z2 = f64x2.mul(z, z);
  const z4 = f64x2.mul(z2, z2);
  const z8 = f64x2.mul(z4, z4);
  // z p(z) = z/3 + z^2/5 + ... + z^12/25
  const b0 = lin(lin(lc(1), lc(2), z), lin(lc(3), lc(4), z), z2);
  const b1 = lin(lin(lc(5), lc(6), z), lin(lc(7), lc(8), z), z2);
  const b2 = lin(lin(lc(9), lc(10), z), lin(lc(11), lc(12), z), z2);
  const zp = f64x2.mul(z, lin(lin(b0, b1, z4), b2, z8));
  // 2 s (1 + z p): the leading term exactly, the small correction rounded.
  const twoS = f64x2.add(s, s);
  const l = f64x2.add(twoS, f64x2.mul(twoS, zp));
  return v128.bitselect(f64x2.add(l, kk(K_LN2)), l, big);
}

export function gradientTask(ctx: usize, job: usize, block: i32): void {
  const n = word(ctx, X_N);
  const blockRows = word(ctx, X_BLOCK_ROWS);
  const start = block * blockRows;
  const end = min(n, start + blockRows);
  const scores = ptr(ctx, X_SCORES);
  const tree = ptr(job, J_WALK_TREE);
  if (tree != 0) {
    const prev = ptr(job, J_PREV_MASK);
    const codes = ptr(ctx, X_CODES);
    for (let r = start; r < end; r++) {
      if (load<u8>(prev + <usize>r) == 0) {
        const p = scores + ((<usize>r) << 3);
        store<f64>(p, load<f64>(p) + walkTree(tree, codes, n, r));
      }
    }
  }
  if (word(job, J_RESET_ROWS) != 0) {
    const rows = ptr(ctx, X_ROWS);
    for (let r = start; r < end; r++) store<i32>(rows + ((<usize>r) << 2), r);
  }
  const gh = ptr(ctx, X_GH);
  const labels = ptr(ctx, X_LABELS);
  const weights = ptr(ctx, X_WEIGHTS);
  const mask = ptr(job, J_CUR_MASK);
  const zero = f64x2.splat(0);
  const one = kk(K_ONE);
  let loss = zero;
  // Three passes over the block (8192 rows: the arrays stay in cache): exp(-|s|) parked in the
  // rows' gradient slots, then the gradient, hessian and loss, then the sampled rows' totals.
  // One loop doing all of it needs more registers than V8 has and runs a third slower.
  // Two rows per step; the arrays are padded to an even length with a zero-weight row.
  for (let r = start; r < end; r += 2) {
    const o = (<usize>r) << 3;
    v128.store(gh + (o << 1), expNonPositive(f64x2.neg(f64x2.abs(v128.load(scores + o)))));
  }
  for (let r = start; r < end; r += 2) {
    const o = (<usize>r) << 3;
    const s = v128.load(scores + o);
    const w = v128.load(weights + o);
    const y = f64x2.replace_lane(
      f64x2.splat(<f64>load<u8>(labels + <usize>r)),
      1,
      <f64>load<u8>(labels + <usize>r, 1),
    );
    const e = v128.load(gh + (o << 1));
    // p = sigmoid(s) without overflow: 1 / (1 + e) for s >= 0, e / (1 + e) below.
    const p = f64x2.div(v128.bitselect(one, e, f64x2.ge(s, zero)), f64x2.add(one, e));
    // log(1 + exp(s)) - y s = max(s, 0) + log1p(e) - y s
    const l = f64x2.sub(f64x2.add(f64x2.pmax(s, zero), log1pUnit(e)), f64x2.mul(y, s));
    loss = f64x2.add(loss, f64x2.mul(w, l));
    const g = f64x2.mul(w, f64x2.sub(p, y));
    const h = f64x2.mul(f64x2.mul(w, p), f64x2.sub(one, p));
    // Rows interleaved as (gradient, hessian) pairs: one 16-byte load per row in the histograms.
    v128.store(gh + (o << 1), v128.shuffle<f64>(g, h, 0, 2));
    v128.store(gh + (o << 1), v128.shuffle<f64>(g, h, 1, 3), 16);
  }
  // Totals of the sampled rows (the root's), in row order.
  let tg = zero;
  const last = mask == 0 ? end : start; // every row of the block is sampled: no mask to read
  for (let r = start; r < last; r++) tg = f64x2.add(tg, v128.load(gh + ((<usize>r) << 4)));
  if (mask != 0) {
    for (let r = start; r < end; r++) {
      if (load<u8>(mask + <usize>r) != 0) tg = f64x2.add(tg, v128.load(gh + ((<usize>r) << 4)));
    }
  }
  const out = ptr(job, J_BLOCK_OUT) + ((<usize>block) << 5);
  store<f64>(out, f64x2.extract_lane(loss, 0) + f64x2.extract_lane(loss, 1));
  v128.store(out, tg, 8);
}
