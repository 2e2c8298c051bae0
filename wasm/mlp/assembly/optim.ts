// Optimizer updates over the whole (padded) parameter block. Padding entries have zero gradient
// and zero value, so they stay zero under every rule here.

/**
 * Adam in the Keras form: alpha = lr * sqrt(1 - beta2^t) / (1 - beta1^t) (computed by the host),
 * w -= alpha * m / (sqrt(v) + eps). decay > 0 gives AdamW (w -= lr * weightDecay * w first).
 */
export function adam(
  w: usize,
  g: usize,
  m: usize,
  v: usize,
  count: i32,
  alpha: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  decay: f32,
): void {
  const n = (<usize>count) << 2;
  const b1 = f32x4.splat(beta1);
  const c1 = f32x4.splat(1 - beta1);
  const b2 = f32x4.splat(beta2);
  const c2 = f32x4.splat(1 - beta2);
  const a = f32x4.splat(alpha);
  const e = f32x4.splat(eps);
  const d = f32x4.splat(decay);
  for (let i: usize = 0; i < n; i += 16) {
    const gi = v128.load(g + i);
    const mi = f32x4.add(f32x4.mul(b1, v128.load(m + i)), f32x4.mul(c1, gi));
    const vi = f32x4.add(f32x4.mul(b2, v128.load(v + i)), f32x4.mul(c2, f32x4.mul(gi, gi)));
    let wi = v128.load(w + i);
    if (decay != 0) wi = f32x4.sub(wi, f32x4.mul(d, wi));
    wi = f32x4.sub(wi, f32x4.div(f32x4.mul(a, mi), f32x4.add(f32x4.sqrt(vi), e)));
    v128.store(m + i, mi);
    v128.store(v + i, vi);
    v128.store(w + i, wi);
  }
}

/**
 * SGD with momentum in the Keras form: vel = momentum * vel - lr * g; then w += vel, or with
 * Nesterov momentum w += momentum * vel - lr * g.
 */
export function sgd(w: usize, g: usize, vel: usize, count: i32, lr: f32, momentum: f32, nesterov: i32): void {
  const n = (<usize>count) << 2;
  const mo = f32x4.splat(momentum);
  const l = f32x4.splat(lr);
  for (let i: usize = 0; i < n; i += 16) {
    const step = f32x4.mul(l, v128.load(g + i));
    const vi = f32x4.sub(f32x4.mul(mo, v128.load(vel + i)), step);
    v128.store(vel + i, vi);
    const d = nesterov != 0 ? f32x4.sub(f32x4.mul(mo, vi), step) : vi;
    v128.store(w + i, f32x4.add(v128.load(w + i), d));
  }
}

/** Sum of squares in float64, in index order (the L2 term of the reported loss). */
export function sumSquares(p: usize, count: i32): f64 {
  let s: f64 = 0;
  for (let i = 0; i < count; i++) {
    const x = <f64>load<f32>(p + ((<usize>i) << 2));
    s += x * x;
  }
  return s;
}
