// SIMD building blocks for the dense-network trainer. Every matrix is row-major f32 with a row
// stride that is a multiple of 4, so rows can be walked in f32x4 lanes. Each output element is
// summed over k in increasing order with a separate multiply and add (no fused multiply-add, no
// relaxed SIMD), so results do not depend on the blocking, the thread count or the hardware.

export const LINEAR: i32 = 0;
export const RELU: i32 = 1;
export const SIGMOID: i32 = 2;
export const TANH: i32 = 3;

/** Plain store of the product. */
export const EPI_STORE: i32 = 0;
/** Add the bias row, then relu if asked (sigmoid/tanh are applied by finishActivation). */
export const EPI_BIAS_ACT: i32 = 1;
/** Multiply by the activation derivative, read from the layer output in `aux` (same stride as C). */
export const EPI_MASK: i32 = 2;

function derivMask(v: v128, a: v128, act: i32): v128 {
  const one = f32x4.splat(1);
  if (act == RELU) return v128.and(v, f32x4.gt(a, f32x4.splat(0)));
  if (act == SIGMOID) return f32x4.mul(v, f32x4.mul(a, f32x4.sub(one, a)));
  if (act == TANH) return f32x4.mul(v, f32x4.sub(one, f32x4.mul(a, a)));
  return v;
}

function epilogue(v: v128, c: usize, bias: usize, aux: usize, mode: i32, act: i32): void {
  if (mode == EPI_BIAS_ACT) {
    v = f32x4.add(v, v128.load(bias));
    if (act == RELU) v = f32x4.max(v, f32x4.splat(0));
  } else if (mode == EPI_MASK) {
    v = derivMask(v, v128.load(aux), act);
  }
  v128.store(c, v);
}

/**
 * C[m, n] = sum_k A(m, k) * B[k, n] with an epilogue. A is addressed by element strides (sAm, sAk)
 * so one kernel serves X·W (forward), dZ·Wᵀ (input gradient, B = Wᵀ) and Xᵀ·dZ (weight gradient).
 * N must be a multiple of 4. Register block: 4 rows x 8 columns (8 accumulators, two B vectors and
 * two temporaries: the 15 xmm registers V8 allocates). Each block of 4 rows of A is first packed
 * into `pack` (K x 64 bytes) with every element already splat across a v128, so the inner loop
 * loads A with plain vector loads instead of a scalar load and a broadcast each: fewer
 * instructions per multiply-add, which is what bounds this loop (V8 adds a stack check and
 * address arithmetic to every iteration). Packing changes no result: each output element is
 * still summed over k in increasing order.
 */
export function gemm(
  M: i32,
  N: i32,
  K: i32,
  a: usize,
  sAm: i32,
  sAk: i32,
  b: usize,
  ldb: i32,
  c: usize,
  ldc: i32,
  mode: i32,
  bias: usize,
  act: i32,
  aux: usize,
  pack: usize,
): void {
  const am = (<usize>sAm) << 2;
  const ak = (<usize>sAk) << 2;
  const lb = (<usize>ldb) << 2;
  const lc = (<usize>ldc) << 2;
  const packEnd = pack + ((<usize>K) << 6);
  let m = 0;
  for (; m + 4 <= M; m += 4) {
    const aRow = a + <usize>m * am;
    const cRow = c + <usize>m * lc;
    const xRow = aux + <usize>m * lc;
    packRows(aRow, am, ak, pack, packEnd);
    let n = 0;
    for (; n + 8 <= N; n += 8) {
      let c00 = f32x4.splat(0);
      let c01 = f32x4.splat(0);
      let c10 = f32x4.splat(0);
      let c11 = f32x4.splat(0);
      let c20 = f32x4.splat(0);
      let c21 = f32x4.splat(0);
      let c30 = f32x4.splat(0);
      let c31 = f32x4.splat(0);
      let pb = b + ((<usize>n) << 2);
      for (let p = pack; p < packEnd; p += 64) {
        const b0 = v128.load(pb);
        const b1 = v128.load(pb, 16);
        const a0 = v128.load(p);
        const a1 = v128.load(p, 16);
        const a2 = v128.load(p, 32);
        const a3 = v128.load(p, 48);
        c00 = f32x4.add(c00, f32x4.mul(a0, b0));
        c01 = f32x4.add(c01, f32x4.mul(a0, b1));
        c10 = f32x4.add(c10, f32x4.mul(a1, b0));
        c11 = f32x4.add(c11, f32x4.mul(a1, b1));
        c20 = f32x4.add(c20, f32x4.mul(a2, b0));
        c21 = f32x4.add(c21, f32x4.mul(a2, b1));
        c30 = f32x4.add(c30, f32x4.mul(a3, b0));
        c31 = f32x4.add(c31, f32x4.mul(a3, b1));
        pb += lb;
      }
      const o = (<usize>n) << 2;
      epilogue(c00, cRow + o, bias + o, xRow + o, mode, act);
      epilogue(c01, cRow + o + 16, bias + o + 16, xRow + o + 16, mode, act);
      epilogue(c10, cRow + lc + o, bias + o, xRow + lc + o, mode, act);
      epilogue(c11, cRow + lc + o + 16, bias + o + 16, xRow + lc + o + 16, mode, act);
      epilogue(c20, cRow + 2 * lc + o, bias + o, xRow + 2 * lc + o, mode, act);
      epilogue(c21, cRow + 2 * lc + o + 16, bias + o + 16, xRow + 2 * lc + o + 16, mode, act);
      epilogue(c30, cRow + 3 * lc + o, bias + o, xRow + 3 * lc + o, mode, act);
      epilogue(c31, cRow + 3 * lc + o + 16, bias + o + 16, xRow + 3 * lc + o + 16, mode, act);
    }
    if (n < N) {
      let c0 = f32x4.splat(0);
      let c1 = f32x4.splat(0);
      let c2 = f32x4.splat(0);
      let c3 = f32x4.splat(0);
      let pb = b + ((<usize>n) << 2);
      for (let p = pack; p < packEnd; p += 64) {
        const b0 = v128.load(pb);
        c0 = f32x4.add(c0, f32x4.mul(v128.load(p), b0));
        c1 = f32x4.add(c1, f32x4.mul(v128.load(p, 16), b0));
        c2 = f32x4.add(c2, f32x4.mul(v128.load(p, 32), b0));
        c3 = f32x4.add(c3, f32x4.mul(v128.load(p, 48), b0));
        pb += lb;
      }
      const o = (<usize>n) << 2;
      epilogue(c0, cRow + o, bias + o, xRow + o, mode, act);
      epilogue(c1, cRow + lc + o, bias + o, xRow + lc + o, mode, act);
      epilogue(c2, cRow + 2 * lc + o, bias + o, xRow + 2 * lc + o, mode, act);
      epilogue(c3, cRow + 3 * lc + o, bias + o, xRow + 3 * lc + o, mode, act);
    }
  }
  for (; m < M; m++) {
    const aRow = a + <usize>m * am;
    const cRow = c + <usize>m * lc;
    const xRow = aux + <usize>m * lc;
    for (let n = 0; n < N; n += 4) {
      let c0 = f32x4.splat(0);
      let pa = aRow;
      let pb = b + ((<usize>n) << 2);
      for (let k = 0; k < K; k++) {
        c0 = f32x4.add(c0, f32x4.mul(f32x4.splat(load<f32>(pa)), v128.load(pb)));
        pa += ak;
        pb += lb;
      }
      const o = (<usize>n) << 2;
      epilogue(c0, cRow + o, bias + o, xRow + o, mode, act);
    }
  }
}

/** pack[k] = (splat A(0, k), splat A(1, k), splat A(2, k), splat A(3, k)) for the 4 rows at aRow. */
function packRows(aRow: usize, am: usize, ak: usize, pack: usize, packEnd: usize): void {
  let pa = aRow;
  if (am == 4) {
    // The rows are adjacent (A is a transposed matrix): one load, four lane splats.
    for (let p = pack; p < packEnd; p += 64) {
      const v = v128.load(pa);
      v128.store(p, v128.shuffle<f32>(v, v, 0, 0, 0, 0));
      v128.store(p, v128.shuffle<f32>(v, v, 1, 1, 1, 1), 16);
      v128.store(p, v128.shuffle<f32>(v, v, 2, 2, 2, 2), 32);
      v128.store(p, v128.shuffle<f32>(v, v, 3, 3, 3, 3), 48);
      pa += ak;
    }
  } else {
    for (let p = pack; p < packEnd; p += 64) {
      v128.store(p, f32x4.splat(load<f32>(pa)));
      v128.store(p, f32x4.splat(load<f32>(pa + am)), 16);
      v128.store(p, f32x4.splat(load<f32>(pa + 2 * am)), 32);
      v128.store(p, f32x4.splat(load<f32>(pa + 3 * am)), 48);
      pa += ak;
    }
  }
}

/** Applies sigmoid/tanh to the first `valid` columns and zeroes the padding columns. */
export function finishActivation(c: usize, rows: i32, ld: i32, valid: i32, act: i32): void {
  for (let r = 0; r < rows; r++) {
    const row = c + ((<usize>(r * ld)) << 2);
    if (act == SIGMOID) {
      for (let j = 0; j < valid; j++) {
        const p = row + ((<usize>j) << 2);
        store<f32>(p, 1 / (1 + Mathf.exp(-load<f32>(p))));
      }
    } else if (act == TANH) {
      for (let j = 0; j < valid; j++) {
        const p = row + ((<usize>j) << 2);
        store<f32>(p, Mathf.tanh(load<f32>(p)));
      }
    }
    for (let j = valid; j < ld; j++) store<f32>(row + ((<usize>j) << 2), 0);
  }
}

/** g *= act'(a), elementwise over rows x ld. */
export function maskInPlace(g: usize, a: usize, rows: i32, ld: i32, act: i32): void {
  const n = (<usize>(rows * ld)) << 2;
  for (let i: usize = 0; i < n; i += 16) {
    v128.store(g + i, derivMask(v128.load(g + i), v128.load(a + i), act));
  }
}

/** out[n] = sum over rows of g[r, n], rows summed in order. */
export function columnSums(g: usize, rows: i32, ld: i32, out: usize): void {
  const lg = (<usize>ld) << 2;
  for (let n: usize = 0; n < lg; n += 16) {
    let acc = f32x4.splat(0);
    let p = g + n;
    for (let r = 0; r < rows; r++) {
      acc = f32x4.add(acc, v128.load(p));
      p += lg;
    }
    v128.store(out + n, acc);
  }
}

/** out = a * b elementwise over `count` floats (count a multiple of 4). */
export function multiply(out: usize, a: usize, b: usize, count: i32): void {
  const n = (<usize>count) << 2;
  for (let i: usize = 0; i < n; i += 16) {
    v128.store(out + i, f32x4.mul(v128.load(a + i), v128.load(b + i)));
  }
}

/** wt[j, i] = w[i, j] for a rows x cols matrix. */
export function transpose(w: usize, wt: usize, rows: i32, cols: i32): void {
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      store<f32>(wt + ((<usize>(j * rows + i)) << 2), load<f32>(w + ((<usize>(i * cols + j)) << 2)));
    }
  }
}

/** Counter-based hash (lowbias32 rounds): dropout masks depend only on (seed, step, layer, row, column). */
export function mix32(x: u32): u32 {
  x ^= x >>> 16;
  x *= 0x7feb352d;
  x ^= x >>> 15;
  x *= 0x846ca68b;
  x ^= x >>> 16;
  return x;
}
