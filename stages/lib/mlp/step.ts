/**
 * The end of a training step as a job that every thread shares (wasm/mlp/assembly/step.ts): the
 * parameter block cut into items (a few rows of one dense kernel, or a stretch of the other
 * parameters), each summing its chunk gradients, updating with the optimizer and refreshing its
 * rows of the transposed kernel. The items and the optimizer record live in the trainer's memory.
 */
import { KIND_DENSE, type Plan } from "./layout.js";
import type { ResolvedSpec } from "./spec.js";

export const ITEM_BYTES = 32;
export const OPT_WORDS = 8;
const OPT_SUM = 0;
const OPT_SGD = 1;
const OPT_ADAM = 2;
/** Kernel rows per item (a multiple of 4, for the 4 x 4 transposes). */
const ROWS_PER_ITEM = 16;
/** Other parameters per item (a multiple of 4). */
const FLOATS_PER_ITEM = 4096;

/** The items as int32 words: start, count, layer (-1: none), first row, rows, kernel flag. */
export function stepItems(plan: Plan): Int32Array {
  const items: number[][] = [];
  plan.layers.forEach((l, index) => {
    if (l.kind !== KIND_DENSE) return;
    for (let r = 0; r < l.inPad; r += ROWS_PER_ITEM) {
      const rows = Math.min(ROWS_PER_ITEM, l.inPad - r);
      items.push([l.pW + r * l.outPad, rows * l.outPad, index, r, rows, 1]);
    }
  });
  for (let s = plan.kernelCount; s < plan.paramCount; s += FLOATS_PER_ITEM)
    items.push([s, Math.min(FLOATS_PER_ITEM, plan.paramCount - s), -1, 0, 0, 0]);
  const words = new Int32Array((items.length * ITEM_BYTES) / 4);
  items.forEach((it, i) => words.set(it, (i * ITEM_BYTES) / 4));
  return words;
}

/**
 * Writes the optimizer record for step number `t` (1-based), or for summing the gradients only
 * (`t` undefined). Values go through a Float32Array, so they round as the kernels' f32 arguments do.
 */
export function writeOptimizer(
  words: Int32Array,
  floats: Float32Array,
  spec: ResolvedSpec,
  t: number | undefined,
): void {
  const o = spec.optimizer;
  words.fill(0);
  floats[7] = spec.l2;
  if (t === undefined) {
    words[0] = OPT_SUM;
    return;
  }
  if (o.kind === "sgd") {
    words[0] = OPT_SGD;
    floats[1] = o.lr;
    floats[2] = o.momentum;
    words[6] = o.nesterov ? 1 : 0;
  } else {
    words[0] = OPT_ADAM;
    floats[1] = (o.lr * Math.sqrt(1 - Math.pow(o.beta2, t))) / (1 - Math.pow(o.beta1, t));
    floats[2] = o.beta1;
    floats[3] = o.beta2;
    floats[4] = o.epsilon;
    floats[5] = o.kind === "adamw" ? o.lr * o.weightDecay : 0;
  }
}
