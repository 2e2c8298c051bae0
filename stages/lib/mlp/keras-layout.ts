/**
 * Conversions between the trainer's padded parameter blocks and Keras' weight lists: per dense
 * layer the kernel [in, out] row-major and the bias [out]; per batchnorm layer gamma, beta,
 * moving mean, moving variance.
 */
import { Rng } from "../random.js";
import { deriveSeed } from "../../../core/seed.js";
import { KIND_BATCHNORM, KIND_DENSE, type Plan } from "./layout.js";

export function kerasShapes(plan: Plan): number[][] {
  const shapes: number[][] = [];
  for (const l of plan.layers) {
    if (l.kind === KIND_DENSE) shapes.push([l.inValid, l.valid], [l.valid]);
    else if (l.kind === KIND_BATCHNORM) shapes.push([l.valid], [l.valid], [l.valid], [l.valid]);
  }
  return shapes;
}

/**
 * Keras arrays from a parameter block (and the state block for batchnorm moving statistics; pass
 * undefined to get trainable arrays only, e.g. for gradients).
 */
export function toKeras(plan: Plan, params: Float32Array, state: Float32Array | undefined): Float32Array[] {
  const out: Float32Array[] = [];
  for (const l of plan.layers) {
    if (l.kind === KIND_DENSE) {
      const k = new Float32Array(l.inValid * l.valid);
      for (let i = 0; i < l.inValid; i++) {
        k.set(params.subarray(l.pW + i * l.outPad, l.pW + i * l.outPad + l.valid), i * l.valid);
      }
      out.push(k, params.slice(l.pB, l.pB + l.valid));
    } else if (l.kind === KIND_BATCHNORM) {
      out.push(params.slice(l.pW, l.pW + l.valid), params.slice(l.pB, l.pB + l.valid));
      if (state) out.push(state.slice(l.sA, l.sA + l.valid), state.slice(l.sB, l.sB + l.valid));
    }
  }
  return out;
}

/** Checks Keras arrays against the plan's shapes; returns a message for the first mismatch. */
export function kerasMismatch(plan: Plan, weights: readonly ArrayLike<number>[]): string | undefined {
  const shapes = kerasShapes(plan);
  if (weights.length !== shapes.length) return `expected ${shapes.length} arrays, got ${weights.length}`;
  for (const [i, s] of shapes.entries()) {
    const n = s.reduce((a, b) => a * b, 1);
    const got = weights[i]?.length ?? 0;
    if (got !== n) return `array ${i} should have ${n} values [${s.join(", ")}], got ${got}`;
  }
  for (const [i, a] of weights.entries()) {
    for (let j = 0; j < a.length; j++) {
      if (!Number.isFinite(a[j])) return `array ${i} value ${j} is not a finite number (${a[j]})`;
    }
  }
  return undefined;
}

/** Writes Keras arrays (already checked) into the blocks; padding stays zero (variance one). */
export function fromKeras(
  plan: Plan,
  weights: readonly ArrayLike<number>[],
  params: Float32Array,
  state: Float32Array,
): void {
  params.fill(0);
  let k = 0;
  const next = (): ArrayLike<number> => weights[k++] ?? [];
  for (const l of plan.layers) {
    if (l.kind === KIND_DENSE) {
      const kernel = next();
      for (let i = 0; i < l.inValid; i++) {
        for (let j = 0; j < l.valid; j++) params[l.pW + i * l.outPad + j] = kernel[i * l.valid + j] ?? 0;
      }
      const bias = next();
      for (let j = 0; j < l.valid; j++) params[l.pB + j] = bias[j] ?? 0;
    } else if (l.kind === KIND_BATCHNORM) {
      const [gamma, beta, mean, variance] = [next(), next(), next(), next()];
      for (let j = 0; j < l.outPad; j++) {
        const v = j < l.valid;
        params[l.pW + j] = v ? (gamma[j] ?? 0) : 0;
        params[l.pB + j] = v ? (beta[j] ?? 0) : 0;
        state[l.sA + j] = v ? (mean[j] ?? 0) : 0;
        state[l.sB + j] = v ? (variance[j] ?? 1) : 1;
      }
    }
  }
}

/** Keras' default initial weights: glorot-uniform kernels, zero biases, identity batchnorm. */
export function initialWeights(plan: Plan, seed: number): Float32Array[] {
  const rng = new Rng(deriveSeed(seed, "glorot-uniform"));
  const weights: Float32Array[] = [];
  for (const l of plan.layers) {
    if (l.kind === KIND_DENSE) {
      const limit = Math.sqrt(6 / (l.inValid + l.valid));
      const k = new Float32Array(l.inValid * l.valid);
      for (let i = 0; i < k.length; i++) k[i] = (2 * rng.uniform() - 1) * limit;
      weights.push(k, new Float32Array(l.valid));
    } else if (l.kind === KIND_BATCHNORM) {
      weights.push(
        new Float32Array(l.valid).fill(1),
        new Float32Array(l.valid),
        new Float32Array(l.valid),
        new Float32Array(l.valid).fill(1),
      );
    }
  }
  return weights;
}
