/**
 * Where everything lives in the trainer's linear memory, and the network descriptor the wasm
 * reads. The word offsets below must match the H_* / L_* constants in wasm/mlp/assembly/net.ts.
 *
 * Every width is padded to a multiple of 4 floats (one f32x4 lane group). Padding weights, biases
 * and activations are kept at exactly zero, so padding never changes a result.
 */
import type { ResolvedSpec } from "./spec.js";

export const KIND_DENSE = 1;
export const KIND_DROPOUT = 2;
export const KIND_BATCHNORM = 3;
export const ACT_CODE = { linear: 0, relu: 1, sigmoid: 2, tanh: 3 } as const;

export const HEADER_WORDS = 16;
export const LAYER_WORDS = 24;
export const H = {
  nLayers: 0,
  inPad: 1,
  outValid: 2,
  outPad: 3,
  slots: 4,
  slotStride: 5,
  inRel: 6,
  gaRel: 7,
  gbRel: 8,
  gradRel: 9,
  lossRel: 10,
  cap: 11,
  packRel: 12,
} as const;
export const L = {
  kind: 0,
  inPad: 1,
  outPad: 2,
  valid: 3,
  act: 4,
  w: 5,
  b: 6,
  wt: 7,
  mv: 8,
  gw: 9,
  gb: 10,
  outRel: 11,
  auxRel: 12,
  statRel: 13,
  rate: 14,
  eps: 15,
} as const;

export const pad4 = (n: number): number => Math.ceil(n / 4) * 4;
const align = (n: number, a: number): number => Math.ceil(n / a) * a;

/** Per-layer shapes and offsets (floats) inside the parameter and state blocks. */
export interface LayerPlan {
  kind: number;
  inValid: number;
  inPad: number;
  valid: number;
  outPad: number;
  act: number;
  /** Dense: kernel offset; batchnorm: gamma offset (floats into the parameter block). */
  pW: number;
  /** Dense: bias; batchnorm: beta. */
  pB: number;
  /** Dense: transposed kernel; batchnorm: moving mean (floats into the state block). */
  sA: number;
  /** Batchnorm: moving variance. */
  sB: number;
  rate: number;
  eps: number;
}

export interface Plan {
  inPad: number;
  outValid: number;
  outPad: number;
  maxWidth: number;
  layers: LayerPlan[];
  /** Floats in the trainable parameter block (kernels first, then biases / gamma / beta). */
  paramCount: number;
  /** The first kernelCount parameters are dense kernels (the L2 term applies to them only). */
  kernelCount: number;
  stateCount: number;
  hasBatchNorm: boolean;
}

export function planNetwork(spec: ResolvedSpec): Plan {
  const layers: LayerPlan[] = [];
  let inValid = spec.inputDim;
  let kernelCount = 0;
  let stateCount = 0;
  const pending: { layer: LayerPlan; bias: number }[] = [];
  for (const layer of spec.layers) {
    const valid = layer.kind === "dense" ? layer.units : inValid;
    const p: LayerPlan = {
      kind: layer.kind === "dense" ? KIND_DENSE : layer.kind === "dropout" ? KIND_DROPOUT : KIND_BATCHNORM,
      inValid,
      inPad: pad4(inValid),
      valid,
      outPad: pad4(valid),
      act: layer.kind === "dense" ? ACT_CODE[layer.activation] : 0,
      pW: -1,
      pB: -1,
      sA: -1,
      sB: -1,
      rate: layer.kind === "dropout" ? layer.rate : layer.kind === "batchnorm" ? layer.momentum : 0,
      eps: layer.kind === "batchnorm" ? layer.epsilon : 0,
    };
    if (layer.kind === "dense") {
      p.pW = kernelCount;
      kernelCount += p.inPad * p.outPad;
      p.sA = stateCount;
      stateCount += p.inPad * p.outPad;
      pending.push({ layer: p, bias: 1 });
    } else if (layer.kind === "batchnorm") {
      p.sA = stateCount;
      p.sB = stateCount + p.outPad;
      stateCount += 2 * p.outPad;
      pending.push({ layer: p, bias: 2 });
    }
    layers.push(p);
    inValid = valid;
  }
  let paramCount = kernelCount;
  for (const { layer, bias } of pending) {
    if (bias === 2) {
      layer.pW = paramCount;
      paramCount += layer.outPad;
    }
    layer.pB = paramCount;
    paramCount += layer.outPad;
  }
  const last = layers[layers.length - 1];
  if (!last) throw new Error("planNetwork: no layers");
  return {
    inPad: pad4(spec.inputDim),
    outValid: last.valid,
    outPad: last.outPad,
    maxWidth: Math.max(pad4(spec.inputDim), ...layers.map((l) => l.outPad)),
    layers,
    paramCount,
    kernelCount,
    stateCount,
    hasBatchNorm: layers.some((l) => l.kind === KIND_BATCHNORM),
  };
}

/** Byte offsets inside one chunk slot, for slots holding up to `cap` rows. */
export interface SlotPlan {
  cap: number;
  stride: number;
  gradRel: number;
  inRel: number;
  gaRel: number;
  gbRel: number;
  lossRel: number;
  /** The GEMM's packed rows of A: 64 bytes per k, k up to max(cap, widest layer). */
  packRel: number;
  outRel: number[];
  auxRel: number[];
  statRel: number[];
}

export function planSlot(plan: Plan, cap: number): SlotPlan {
  let off = 0;
  const take = (floats: number): number => {
    const at = off;
    off = align(off + floats * 4, 64);
    return at;
  };
  const gradRel = take(plan.paramCount);
  const inRel = take(cap * plan.inPad);
  const gaRel = take(cap * plan.maxWidth);
  const gbRel = take(cap * plan.maxWidth);
  const outRel: number[] = [];
  const auxRel: number[] = [];
  const statRel: number[] = [];
  for (const l of plan.layers) {
    outRel.push(take(cap * l.outPad));
    auxRel.push(l.kind === KIND_DENSE ? 0 : take(cap * l.outPad));
    statRel.push(l.kind === KIND_BATCHNORM ? take(2 * l.outPad) : 0);
  }
  const lossRel = take(4);
  const packRel = take(16 * Math.max(cap, plan.maxWidth));
  return {
    cap,
    stride: align(off, 64),
    gradRel,
    inRel,
    gaRel,
    gbRel,
    lossRel,
    packRel,
    outRel,
    auxRel,
    statRel,
  };
}

export function descriptorBytes(plan: Plan): number {
  return (HEADER_WORDS + LAYER_WORDS * plan.layers.length) * 4;
}

/** Writes the descriptor at `net` (absolute byte addresses for params, state and slots). */
export function writeDescriptor(
  memory: ArrayBuffer | SharedArrayBuffer,
  net: number,
  plan: Plan,
  slot: SlotPlan,
  slotsBase: number,
  paramsBase: number,
  stateBase: number,
): void {
  const words = new Int32Array(memory, net, HEADER_WORDS + LAYER_WORDS * plan.layers.length);
  const floats = new Float32Array(memory, net, words.length);
  words.fill(0);
  words[H.nLayers] = plan.layers.length;
  words[H.inPad] = plan.inPad;
  words[H.outValid] = plan.outValid;
  words[H.outPad] = plan.outPad;
  words[H.slots] = slotsBase;
  words[H.slotStride] = slot.stride;
  words[H.inRel] = slot.inRel;
  words[H.gaRel] = slot.gaRel;
  words[H.gbRel] = slot.gbRel;
  words[H.gradRel] = slot.gradRel;
  words[H.lossRel] = slot.lossRel;
  words[H.cap] = slot.cap;
  words[H.packRel] = slot.packRel;
  plan.layers.forEach((l, i) => {
    const o = HEADER_WORDS + i * LAYER_WORDS;
    words[o + L.kind] = l.kind;
    words[o + L.inPad] = l.inPad;
    words[o + L.outPad] = l.outPad;
    words[o + L.valid] = l.valid;
    words[o + L.act] = l.act;
    if (l.pW >= 0) {
      words[o + L.w] = paramsBase + 4 * l.pW;
      words[o + L.gw] = 4 * l.pW;
    }
    if (l.pB >= 0) {
      words[o + L.b] = paramsBase + 4 * l.pB;
      words[o + L.gb] = 4 * l.pB;
    }
    if (l.sA >= 0) words[o + L.wt] = stateBase + 4 * l.sA;
    if (l.sB >= 0) words[o + L.mv] = stateBase + 4 * l.sB;
    words[o + L.outRel] = slot.outRel[i] ?? 0;
    words[o + L.auxRel] = slot.auxRel[i] ?? 0;
    words[o + L.statRel] = slot.statRel[i] ?? 0;
    floats[o + L.rate] = l.rate;
    floats[o + L.eps] = l.eps;
  });
}

/**
 * Fixed chunking of a batch: depends on the batch size only (never on the thread count), which is
 * what makes results bit-identical for any number of threads. Batchnorm needs whole-batch
 * statistics, so such networks use one chunk.
 */
export function chunking(batch: number, hasBatchNorm: boolean): { chunkRows: number; chunks: number } {
  if (hasBatchNorm) return { chunkRows: batch, chunks: 1 };
  const chunkRows = Math.max(MIN_CHUNK_ROWS, pad4(Math.ceil(batch / MAX_CHUNKS)));
  return { chunkRows, chunks: Math.ceil(batch / chunkRows) };
}
export const MAX_CHUNKS = 8;
/** Shorter chunks make the weight-gradient products (summed over a chunk's rows) too short to run fast. */
export const MIN_CHUNK_ROWS = 32;
