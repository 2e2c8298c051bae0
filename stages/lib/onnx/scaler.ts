/**
 * A model's preprocessing (a chain of fitted scalers) in an ONNX graph: as nodes on the input
 * (networks), or as the exact float64 function Quiver applies, for kinds that fold it into their
 * parameters (trees fold it into their thresholds, stages/lib/onnx/trees.ts).
 */
import type { FittedScaler } from "../scaler-artifact.js";
import { transformMinMax, transformStandard } from "../scalers.js";
import type { OnnxGraph } from "./graph.js";

/**
 * Nodes that apply the chain to `input` ([N, features] float32), each scaler as Sub+Div
 * (standard: (x − mean) / scale, as Quiver computes it) or Mul+Add (minmax: x·scale + min, then
 * Clip when the scaler clips); features a scaler does not know pass through (0 and 1).
 */
export function scalerNodes(
  g: OnnxGraph,
  input: string,
  features: readonly string[],
  chain: readonly FittedScaler[],
): string {
  let x = input;
  const d = features.length;
  chain.forEach((s, k) => {
    const at = (name: string) => features.indexOf(name);
    if (s.method === "standard") {
      const mean = new Float64Array(d);
      const scale = new Float64Array(d).fill(1);
      for (const c of s.columns) {
        const j = at(c.name);
        if (j < 0) continue;
        mean[j] = c.mean;
        scale[j] = c.scale;
      }
      x = g.node("Sub", [x, g.constant(`scaler${k}_mean`, [d], mean)]);
      x = g.node("Div", [x, g.constant(`scaler${k}_scale`, [d], scale)]);
      return;
    }
    const mul = new Float64Array(d).fill(1);
    const add = new Float64Array(d);
    const scaled: number[] = [];
    for (const c of s.columns) {
      const j = at(c.name);
      if (j < 0) continue;
      mul[j] = c.scale;
      add[j] = c.min;
      scaled.push(j);
    }
    x = g.node("Mul", [x, g.constant(`scaler${k}_scale`, [d], mul)]);
    x = g.node("Add", [x, g.constant(`scaler${k}_min`, [d], add)]);
    if (s.clip) {
      // Max/Min against per-feature bounds: ±∞ for the features this scaler leaves alone.
      const lo = new Float64Array(d).fill(-Infinity);
      const hi = new Float64Array(d).fill(Infinity);
      for (const j of scaled) {
        lo[j] = s.lo;
        hi[j] = s.hi;
      }
      x = g.node("Max", [x, g.constant(`scaler${k}_lo`, [d], lo)]);
      x = g.node("Min", [x, g.constant(`scaler${k}_hi`, [d], hi)]);
    }
  });
  return x;
}

/**
 * Quiver's float64 preprocessing of one feature value, exactly as `predict` applies it. Every
 * scaler is non-decreasing in its input (scale > 0; clipping keeps order), so the chain is too.
 */
export function featureTransform(chain: readonly FittedScaler[], feature: string): (x: number) => number {
  const steps: ((x: Float64Array) => Float64Array)[] = [];
  for (const s of chain) {
    const c = s.columns.find((col) => col.name === feature);
    if (!c) continue;
    if (s.method === "standard")
      steps.push((x) => transformStandard(x, c as Parameters<typeof transformStandard>[1]));
    else {
      const clip = s.clip ? { lo: s.lo, hi: s.hi } : undefined;
      steps.push((x) => transformMinMax(x, c as Parameters<typeof transformMinMax>[1], clip));
    }
  }
  const one = new Float64Array(1);
  return (x) => {
    one[0] = x;
    let v: Float64Array = one;
    for (const step of steps) v = step(v);
    return v[0]!;
  };
}
