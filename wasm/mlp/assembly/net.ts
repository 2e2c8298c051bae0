// Forward and backward passes over one chunk of rows, driven by a network descriptor that the
// host writes into linear memory (word layout documented in stages/lib/mlp/layout.ts, which must
// stay in step with the constants here). Each chunk owns a "slot": its input rows, activations,
// masks, gradient ping-pong buffers, its own gradient block and its loss partial. Chunks never
// write outside their slot, so any number of threads can run distinct chunks at once.

import {
  gemm,
  finishActivation,
  maskInPlace,
  multiply,
  columnSums,
  mix32,
  LINEAR,
  SIGMOID,
  EPI_STORE,
  EPI_BIAS_ACT,
  EPI_MASK,
} from "./kernels";

export const DENSE: i32 = 1;
export const DROPOUT: i32 = 2;
export const BATCHNORM: i32 = 3;

// Header words.
const H_NLAYERS = 0;
const H_INPAD = 1;
const H_OUTVALID = 2;
const H_OUTPAD = 3;
export const H_SLOTS = 4;
export const H_SLOTSTRIDE = 5;
const H_IN = 6;
const H_GA = 7;
const H_GB = 8;
export const H_GRAD = 9;
const H_LOSS = 10;
const H_CAP = 11;
/** Slot-relative scratch for the GEMM's packed A (64 bytes per k). */
const H_PACK = 12;
export const HEADER_WORDS = 16;
export const LAYER_WORDS = 24;

// Layer words.
const L_KIND = 0;
export const L_INPAD = 1;
export const L_OUT = 2;
const L_VALID = 3;
const L_ACT = 4;
export const L_W = 5; // dense kernel | batchnorm gamma (absolute)
const L_B = 6; // dense bias | batchnorm beta (absolute)
export const L_WT = 7; // dense transposed kernel | batchnorm moving mean (absolute)
const L_MV = 8; // batchnorm moving variance (absolute)
const L_GW = 9; // byte offset of kernel/gamma inside the parameter block
const L_GB = 10; // byte offset of bias/beta inside the parameter block
const L_OUTREL = 11; // slot-relative output buffer
const L_AUXREL = 12; // slot-relative dropout mask | batchnorm x-hat
const L_STATREL = 13; // slot-relative batchnorm mean and inverse std (2 x width)
const L_RATE = 14; // f32: dropout rate | batchnorm momentum
const L_EPS = 15; // f32: batchnorm epsilon

export function wi(p: usize, i: i32): i32 {
  return load<i32>(p + ((<usize>i) << 2));
}
export function wp(p: usize, i: i32): usize {
  return <usize>load<u32>(p + ((<usize>i) << 2));
}
function wf(p: usize, i: i32): f32 {
  return load<f32>(p + ((<usize>i) << 2));
}
export function layerAt(net: usize, l: i32): usize {
  return net + ((<usize>(HEADER_WORDS + l * LAYER_WORDS)) << 2);
}
function slotAt(net: usize, c: i32): usize {
  return wp(net, H_SLOTS) + <usize>c * wp(net, H_SLOTSTRIDE);
}
/** Activation used inside the network: the output layer keeps logits (the loss applies the sigmoid). */
function innerAct(net: usize, l: i32): i32 {
  return l == wi(net, H_NLAYERS) - 1 ? LINEAR : wi(layerAt(net, l), L_ACT);
}

function forward(net: usize, slot: usize, nr: i32, training: bool, step: u32, seed: u32, r0: i32): void {
  const nL = wi(net, H_NLAYERS);
  const pack = slot + wp(net, H_PACK);
  let inp = slot + wp(net, H_IN);
  let inW = wi(net, H_INPAD);
  for (let l = 0; l < nL; l++) {
    const L = layerAt(net, l);
    const outW = wi(L, L_OUT);
    const valid = wi(L, L_VALID);
    const out = slot + wp(L, L_OUTREL);
    const kind = wi(L, L_KIND);
    if (kind == DENSE) {
      const act = innerAct(net, l);
      gemm(nr, outW, inW, inp, inW, 1, wp(L, L_W), outW, out, outW, EPI_BIAS_ACT, wp(L, L_B), act, 0, pack);
      finishActivation(out, nr, outW, valid, act);
    } else if (kind == DROPOUT) {
      if (training) dropoutForward(L, slot, inp, out, nr, outW, step, seed, r0, l);
      else memory.copy(out, inp, (<usize>(nr * outW)) << 2);
    } else {
      if (training) batchnormTrain(L, slot, inp, out, nr, outW);
      else batchnormInfer(L, inp, out, nr, outW);
    }
    inp = out;
    inW = outW;
  }
}

/** Lane-wise mix32 (the same rounds as kernels.mix32 on each 32-bit lane). */
function mix32x4(x: v128): v128 {
  x = v128.xor(x, i32x4.shr_u(x, 16));
  x = i32x4.mul(x, i32x4.splat(0x7feb352d));
  x = v128.xor(x, i32x4.shr_u(x, 15));
  x = i32x4.mul(x, i32x4.splat(0x846ca68b));
  return v128.xor(x, i32x4.shr_u(x, 16));
}

/**
 * Inverted dropout. Unit j of batch row r is kept when u >= rate, with
 * u = (mix32(rowKey + j * 0x85ebca6b) >>> 8) / 2^24 and rowKey derived from (seed, step, layer, r):
 * a counter-based generator, so masks do not depend on chunking or threads. Padding columns get
 * masks too, but their activations and gradients are zero.
 */
function dropoutForward(
  L: usize,
  slot: usize,
  inp: usize,
  out: usize,
  nr: i32,
  w: i32,
  step: u32,
  seed: u32,
  r0: i32,
  l: i32,
): void {
  const rate = f32x4.splat(wf(L, L_RATE));
  const scale = f32x4.splat(<f32>1 / (<f32>1 - wf(L, L_RATE)));
  const unit = f32x4.splat(<f32>1.0 / <f32>16777216.0);
  const mult = i32x4.splat(0x85ebca6b);
  const lanes = i32x4(0, 1, 2, 3);
  const mask = slot + wp(L, L_AUXREL);
  const key = mix32(mix32(seed ^ mix32(step)) ^ (<u32>l * 0x9e3779b9));
  for (let r = 0; r < nr; r++) {
    const rowKey = i32x4.splat(mix32(key ^ mix32(<u32>(r0 + r))));
    const row = (<usize>(r * w)) << 2;
    for (let j = 0; j < w; j += 4) {
      const col = i32x4.add(i32x4.splat(j), lanes);
      const h = mix32x4(i32x4.add(rowKey, i32x4.mul(col, mult)));
      const u = f32x4.mul(f32x4.convert_i32x4_u(i32x4.shr_u(h, 8)), unit);
      const m = v128.and(f32x4.ge(u, rate), scale);
      const o = row + ((<usize>j) << 2);
      v128.store(mask + o, m);
      v128.store(out + o, f32x4.mul(v128.load(inp + o), m));
    }
  }
}

function batchnormTrain(L: usize, slot: usize, inp: usize, out: usize, nr: i32, w: i32): void {
  const xhat = slot + wp(L, L_AUXREL);
  const stats = slot + wp(L, L_STATREL);
  const gamma = wp(L, L_W);
  const beta = wp(L, L_B);
  const mm = wp(L, L_WT);
  const mv = wp(L, L_MV);
  const mom = f32x4.splat(wf(L, L_RATE));
  const oneMinusMom = f32x4.splat(1 - wf(L, L_RATE));
  const eps = f32x4.splat(wf(L, L_EPS));
  const inv = f32x4.splat(<f32>1 / <f32>nr);
  const ld = (<usize>w) << 2;
  for (let j: usize = 0; j < ld; j += 16) {
    let s = f32x4.splat(0);
    for (let r = 0; r < nr; r++) s = f32x4.add(s, v128.load(inp + <usize>r * ld + j));
    const mean = f32x4.mul(s, inv);
    let q = f32x4.splat(0);
    for (let r = 0; r < nr; r++) {
      const d = f32x4.sub(v128.load(inp + <usize>r * ld + j), mean);
      q = f32x4.add(q, f32x4.mul(d, d));
    }
    const variance = f32x4.mul(q, inv);
    const istd = f32x4.div(f32x4.splat(1), f32x4.sqrt(f32x4.add(variance, eps)));
    v128.store(stats + j, mean);
    v128.store(stats + ld + j, istd);
    const g = v128.load(gamma + j);
    const b = v128.load(beta + j);
    for (let r = 0; r < nr; r++) {
      const o = <usize>r * ld + j;
      const xh = f32x4.mul(f32x4.sub(v128.load(inp + o), mean), istd);
      v128.store(xhat + o, xh);
      v128.store(out + o, f32x4.add(f32x4.mul(g, xh), b));
    }
    v128.store(mm + j, f32x4.add(f32x4.mul(v128.load(mm + j), mom), f32x4.mul(mean, oneMinusMom)));
    v128.store(mv + j, f32x4.add(f32x4.mul(v128.load(mv + j), mom), f32x4.mul(variance, oneMinusMom)));
  }
}

function batchnormInfer(L: usize, inp: usize, out: usize, nr: i32, w: i32): void {
  const eps = f32x4.splat(wf(L, L_EPS));
  const ld = (<usize>w) << 2;
  for (let j: usize = 0; j < ld; j += 16) {
    const istd = f32x4.div(f32x4.splat(1), f32x4.sqrt(f32x4.add(v128.load(wp(L, L_MV) + j), eps)));
    const scale = f32x4.mul(istd, v128.load(wp(L, L_W) + j));
    const mean = v128.load(wp(L, L_WT) + j);
    const b = v128.load(wp(L, L_B) + j);
    for (let r = 0; r < nr; r++) {
      const o = <usize>r * ld + j;
      v128.store(out + o, f32x4.add(f32x4.mul(f32x4.sub(v128.load(inp + o), mean), scale), b));
    }
  }
}

function batchnormBackward(L: usize, slot: usize, dy: usize, dx: usize, grad: usize, nr: i32, w: i32): void {
  const xhat = slot + wp(L, L_AUXREL);
  const stats = slot + wp(L, L_STATREL);
  const gamma = wp(L, L_W);
  const ld = (<usize>w) << 2;
  const n = f32x4.splat(<f32>nr);
  const inv = f32x4.splat(<f32>1 / <f32>nr);
  for (let j: usize = 0; j < ld; j += 16) {
    let sdy = f32x4.splat(0);
    let sdyx = f32x4.splat(0);
    for (let r = 0; r < nr; r++) {
      const o = <usize>r * ld + j;
      const d = v128.load(dy + o);
      sdy = f32x4.add(sdy, d);
      sdyx = f32x4.add(sdyx, f32x4.mul(d, v128.load(xhat + o)));
    }
    v128.store(grad + wp(L, L_GW) + j, sdyx);
    v128.store(grad + wp(L, L_GB) + j, sdy);
    const k = f32x4.mul(f32x4.mul(v128.load(gamma + j), v128.load(stats + ld + j)), inv);
    for (let r = 0; r < nr; r++) {
      const o = <usize>r * ld + j;
      const t = f32x4.sub(
        f32x4.sub(f32x4.mul(n, v128.load(dy + o)), sdy),
        f32x4.mul(v128.load(xhat + o), sdyx),
      );
      v128.store(dx + o, f32x4.mul(k, t));
    }
  }
}

/** Per-sample weighted binary cross-entropy from logits; writes d(loss)/d(logit) and returns sum_r w_r * l_r. */
function lossAndGradient(
  net: usize,
  slot: usize,
  nr: i32,
  idx: usize,
  r0: i32,
  y: usize,
  w: usize,
  invNorm: f64,
): f64 {
  const L = layerAt(net, wi(net, H_NLAYERS) - 1);
  const z = slot + wp(L, L_OUTREL);
  const g = slot + wp(net, H_GA);
  const ld = wi(net, H_OUTPAD);
  const valid = wi(net, H_OUTVALID);
  const perOut: f64 = 1.0 / <f64>valid;
  let total: f64 = 0;
  let correct: f64 = 0;
  for (let r = 0; r < nr; r++) {
    const row = <usize>load<i32>(idx + ((<usize>(r0 + r)) << 2));
    const wt: f64 = w == 0 ? 1.0 : <f64>load<f32>(w + (row << 2));
    let l: f64 = 0;
    for (let j = 0; j < ld; j++) {
      const o = (<usize>(r * ld + j)) << 2;
      if (j < valid) {
        const zz = <f64>load<f32>(z + o);
        const yy = <f64>load<f32>(y + ((row * <usize>valid + <usize>j) << 2));
        l += Math.max(zz, 0) - zz * yy + Math.log1p(Math.exp(-Math.abs(zz)));
        const p = 1.0 / (1.0 + Math.exp(-zz));
        store<f32>(g + o, <f32>(wt * (p - yy) * invNorm * perOut));
        if (p >= 0.5 == yy >= 0.5) correct += 1;
      } else {
        store<f32>(g + o, 0);
      }
    }
    total += wt * l * perOut;
  }
  store<f64>(slot + wp(net, H_LOSS) + 8, correct);
  return total;
}

function backward(net: usize, slot: usize, nr: i32): void {
  const nL = wi(net, H_NLAYERS);
  const pack = slot + wp(net, H_PACK);
  const grad = slot + wp(net, H_GRAD);
  let cur = slot + wp(net, H_GA);
  let other = slot + wp(net, H_GB);
  let isDZ = true; // the loss hands back d/d(logits) of the output layer
  for (let l = nL - 1; l >= 0; l--) {
    const L = layerAt(net, l);
    const kind = wi(L, L_KIND);
    const outW = wi(L, L_OUT);
    const inW = l == 0 ? wi(net, H_INPAD) : wi(layerAt(net, l - 1), L_OUT);
    const inp = l == 0 ? slot + wp(net, H_IN) : slot + wp(layerAt(net, l - 1), L_OUTREL);
    if (kind == DENSE) {
      const act = innerAct(net, l);
      if (!isDZ && act != LINEAR) maskInPlace(cur, slot + wp(L, L_OUTREL), nr, outW, act);
      gemm(inW, outW, nr, inp, 1, inW, cur, outW, grad + wp(L, L_GW), outW, EPI_STORE, 0, 0, 0, pack);
      columnSums(cur, nr, outW, grad + wp(L, L_GB));
      if (l > 0) {
        const prevDense = wi(layerAt(net, l - 1), L_KIND) == DENSE;
        const mode = prevDense ? EPI_MASK : EPI_STORE;
        const pact = prevDense ? innerAct(net, l - 1) : LINEAR;
        gemm(nr, inW, outW, cur, outW, 1, wp(L, L_WT), inW, other, inW, mode, 0, pact, inp, pack);
        isDZ = prevDense;
      }
    } else if (kind == DROPOUT) {
      multiply(other, cur, slot + wp(L, L_AUXREL), nr * outW);
      isDZ = false;
    } else {
      batchnormBackward(L, slot, cur, other, grad, nr, outW);
      isDZ = false;
    }
    const t = cur;
    cur = other;
    other = t;
  }
}

/**
 * One training chunk: rows [c*chunkRows, min((c+1)*chunkRows, batch)) of the batch whose dataset
 * row numbers are at idx. Leaves the chunk's parameter gradient and its loss partial in its slot.
 */
export function trainChunk(
  net: usize,
  c: i32,
  x: usize,
  y: usize,
  w: usize,
  idx: usize,
  batch: i32,
  chunkRows: i32,
  invNorm: f64,
  step: u32,
  seed: u32,
): void {
  const r0 = c * chunkRows;
  const nr = min(chunkRows, batch - r0);
  if (nr <= 0) return;
  const slot = slotAt(net, c);
  const rowBytes = (<usize>wi(net, H_INPAD)) << 2;
  const inp = slot + wp(net, H_IN);
  // A lane loop, not memory.copy: rows are short and memory.copy is a call into the runtime.
  for (let r = 0; r < nr; r++) {
    const src = x + <usize>load<i32>(idx + ((<usize>(r0 + r)) << 2)) * rowBytes;
    const dst = inp + <usize>r * rowBytes;
    for (let o: usize = 0; o < rowBytes; o += 16) v128.store(dst + o, v128.load(src + o));
  }
  forward(net, slot, nr, true, step, seed, r0);
  store<f64>(slot + wp(net, H_LOSS), lossAndGradient(net, slot, nr, idx, r0, y, w, invNorm));
  backward(net, slot, nr);
}

/**
 * Inference on rows [start + c*cap, ...) of a dataset (at most cap rows): sigmoid outputs go to
 * out (rows x outputs), and when y is given the weighted per-row loss goes to lossOut (f64).
 */
export function inferChunk(
  net: usize,
  c: i32,
  x: usize,
  start: i32,
  count: i32,
  out: usize,
  y: usize,
  w: usize,
  lossOut: usize,
): void {
  const cap = wi(net, H_CAP);
  const r0 = start + c * cap;
  const nr = min(cap, start + count - r0);
  if (nr <= 0) return;
  const slot = slotAt(net, c);
  const rowBytes = (<usize>wi(net, H_INPAD)) << 2;
  memory.copy(slot + wp(net, H_IN), x + <usize>r0 * rowBytes, <usize>nr * rowBytes);
  forward(net, slot, nr, false, 0, 0, 0);
  const L = layerAt(net, wi(net, H_NLAYERS) - 1);
  const z = slot + wp(L, L_OUTREL);
  const ld = wi(net, H_OUTPAD);
  const valid = wi(net, H_OUTVALID);
  for (let r = 0; r < nr; r++) {
    const row = <usize>(r0 + r);
    let l: f64 = 0;
    for (let j = 0; j < valid; j++) {
      const zz = <f64>load<f32>(z + ((<usize>(r * ld + j)) << 2));
      const o = (row * <usize>valid + <usize>j) << 2;
      store<f32>(out + o, <f32>(1.0 / (1.0 + Math.exp(-zz))));
      if (y != 0) {
        const yy = <f64>load<f32>(y + o);
        l += Math.max(zz, 0) - zz * yy + Math.log1p(Math.exp(-Math.abs(zz)));
      }
    }
    if (y != 0) {
      const wt: f64 = w == 0 ? 1.0 : <f64>load<f32>(w + (row << 2));
      store<f64>(lossOut + (row << 3), (wt * l) / <f64>valid);
    }
  }
}

/** Loss partials of the first `chunks` slots, summed in chunk order. */
export function sumChunkLosses(net: usize, chunks: i32): f64 {
  let s: f64 = 0;
  for (let c = 0; c < chunks; c++) s += load<f64>(slotAt(net, c) + wp(net, H_LOSS));
  return s;
}

/** Correctly classified outputs (threshold 0.5) of the first `chunks` slots' last batch. */
export function sumChunkCorrect(net: usize, chunks: i32): f64 {
  let s: f64 = 0;
  for (let c = 0; c < chunks; c++) s += load<f64>(slotAt(net, c) + wp(net, H_LOSS) + 8);
  return s;
}

/** Refreshes every dense layer's transposed kernel (used by the input-gradient product). */
export function transposeKernels(net: usize): void {
  const nL = wi(net, H_NLAYERS);
  let inW = wi(net, H_INPAD);
  for (let l = 0; l < nL; l++) {
    const L = layerAt(net, l);
    const outW = wi(L, L_OUT);
    if (wi(L, L_KIND) == DENSE) {
      const w = wp(L, L_W);
      const wt = wp(L, L_WT);
      for (let i = 0; i < inW; i++) {
        for (let j = 0; j < outW; j++) {
          store<f32>(wt + ((<usize>(j * inW + i)) << 2), load<f32>(w + ((<usize>(i * outW + j)) << 2)));
        }
      }
    }
    inW = outW;
  }
}

// Silence "unused" for SIGMOID: the host validates that the output layer is sigmoid.
export const OUTPUT_ACTIVATION: i32 = SIGMOID;
