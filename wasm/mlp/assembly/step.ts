// The end of a training step, split into items that threads share: each item is a range of the
// parameter block (a few rows of one dense kernel, or a stretch of biases / batchnorm
// parameters) whose chunk gradients it sums (in chunk order), then updates with the optimizer,
// then (kernel rows) copies into the transposed kernel used by the input-gradient product. Items
// never overlap, and each does exactly what the whole-block functions do to its elements, so the
// result does not depend on how items are spread over threads.

import { adam, sgd } from "./optim";
import { H_GRAD, H_SLOTS, H_SLOTSTRIDE, L_INPAD, L_OUT, L_W, L_WT, layerAt, wi, wp } from "./net";

// Item record (i32 words).
const I_START = 0; // first parameter (floats into the parameter block)
const I_COUNT = 1; // parameters (a multiple of 4)
const I_LAYER = 2; // dense layer whose kernel rows these are, or -1
const I_ROW = 3; // first kernel row (a multiple of 4)
const I_ROWS = 4; // kernel rows (a multiple of 4)
const I_KERNEL = 5; // 1 when the range is kernel parameters (the L2 term applies)
export const ITEM_BYTES = 32;

// Optimizer record (words; f32 unless noted).
const O_KIND = 0; // i32: 0 sum the gradients only, 1 sgd, 2 adam
const O_A = 1; // sgd: learning rate; adam: alpha
const O_B1 = 2; // sgd: momentum; adam: beta1
const O_B2 = 3; // adam: beta2
const O_EPS = 4; // adam: epsilon
const O_DECAY = 5; // adam: decoupled weight decay
const O_NESTEROV = 6; // i32
const O_L2 = 7;

export const OPT_SUM = 0;
export const OPT_SGD = 1;
export const OPT_ADAM = 2;

function f(p: usize, i: i32): f32 {
  return load<f32>(p + ((<usize>i) << 2));
}

export function stepItem(
  net: usize,
  item: usize,
  chunks: i32,
  grad: usize,
  params: usize,
  opt1: usize,
  opt2: usize,
  opt: usize,
): void {
  const start = (<usize>wi(item, I_START)) << 2;
  const count = wi(item, I_COUNT);
  const n = (<usize>count) << 2;
  // Chunk gradients summed in chunk order, plus 2 l2 w on kernels (as reduceGradients).
  const base = wp(net, H_SLOTS) + wp(net, H_GRAD) + start;
  const stride = wp(net, H_SLOTSTRIDE);
  const l2 = f(opt, O_L2);
  const twoL2 = f32x4.splat(2 * l2);
  const kernel = wi(item, I_KERNEL) != 0 && l2 != 0;
  for (let i: usize = 0; i < n; i += 16) {
    let acc = v128.load(base + i);
    for (let c = 1; c < chunks; c++) acc = f32x4.add(acc, v128.load(base + <usize>c * stride + i));
    if (kernel) acc = f32x4.add(acc, f32x4.mul(twoL2, v128.load(params + start + i)));
    v128.store(grad + start + i, acc);
  }
  const kind = wi(opt, O_KIND);
  if (kind == OPT_SUM) return;
  if (kind == OPT_SGD) {
    sgd(params + start, grad + start, opt1 + start, count, f(opt, O_A), f(opt, O_B1), wi(opt, O_NESTEROV));
  } else {
    adam(
      params + start,
      grad + start,
      opt1 + start,
      opt2 + start,
      count,
      f(opt, O_A),
      f(opt, O_B1),
      f(opt, O_B2),
      f(opt, O_EPS),
      f(opt, O_DECAY),
    );
  }
  const l = wi(item, I_LAYER);
  if (l >= 0) transposeRows(layerAt(net, l), wi(item, I_ROW), wi(item, I_ROWS));
}

/** wt[j, i] = w[i, j] for kernel rows i in [r0, r0 + rows), by 4 x 4 blocks of lane shuffles. */
export function transposeRows(L: usize, r0: i32, rows: i32): void {
  const inW = <usize>wi(L, L_INPAD);
  const outW = <usize>wi(L, L_OUT);
  const w = wp(L, L_W);
  const wt = wp(L, L_WT);
  for (let i = <usize>r0; i < <usize>(r0 + rows); i += 4) {
    const src = w + ((i * outW) << 2);
    for (let j: usize = 0; j < outW; j += 4) {
      const s = src + (j << 2);
      const a = v128.load(s);
      const b = v128.load(s + (outW << 2));
      const c = v128.load(s + (outW << 3));
      const d = v128.load(s + (outW << 3) + (outW << 2));
      // (a0 b0 a1 b1), (a2 b2 a3 b3), (c0 d0 c1 d1), (c2 d2 c3 d3)
      const ab01 = v128.shuffle<f32>(a, b, 0, 4, 1, 5);
      const ab23 = v128.shuffle<f32>(a, b, 2, 6, 3, 7);
      const cd01 = v128.shuffle<f32>(c, d, 0, 4, 1, 5);
      const cd23 = v128.shuffle<f32>(c, d, 2, 6, 3, 7);
      const o = wt + ((j * inW + i) << 2);
      v128.store(o, v128.shuffle<f32>(ab01, cd01, 0, 1, 4, 5));
      v128.store(o + (inW << 2), v128.shuffle<f32>(ab01, cd01, 2, 3, 6, 7));
      v128.store(o + (inW << 3), v128.shuffle<f32>(ab23, cd23, 0, 1, 4, 5));
      v128.store(o + (inW << 3) + (inW << 2), v128.shuffle<f32>(ab23, cd23, 2, 3, 6, 7));
    }
  }
}
