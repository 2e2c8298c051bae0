/** Linear and log axis scales with physics-style ticks (minor ticks, 10ⁿ labels), and HTML escaping. */
import type { Axis } from "../core/present.js";

export interface Scale {
  (v: number): number;
  readonly ticks: readonly { v: number; label: string; major: boolean }[];
}

export function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

export const r1 = (v: number): number => Math.round(v * 10) / 10;

export function fmtTick(v: number, step: number): string {
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3)
    return v
      .toExponential(Math.max(0, Math.min(3, -Math.floor(Math.log10(step)) + Math.floor(Math.log10(a)))))
      .replace("e+", "e");
  const decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return v.toFixed(decimals);
}

function linearScale(lo: number, hi: number, a: number, b: number, nTicks: number, integer: boolean): Scale {
  if (!(hi > lo)) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / nTicks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = Math.max(integer ? 1 : 0, ([1, 2, 5, 10].find((m) => m * mag >= raw) ?? 10) * mag);
  const f = (v: number) => a + ((v - lo) / (hi - lo)) * (b - a);
  const ticks: { v: number; label: string; major: boolean }[] = [];
  const minor = integer && step <= 2 ? step : step / 5;
  for (let k = Math.ceil(lo / minor - 1e-9); k * minor <= hi + 1e-9 * step; k++) {
    const v = k * minor;
    const major = Math.abs(v / step - Math.round(v / step)) < 1e-6;
    ticks.push({ v, label: major ? fmtTick(Math.abs(v) < step * 1e-9 ? 0 : v, step) : "", major });
  }
  return Object.assign(f, { ticks });
}

const SUPERSCRIPT: Record<string, string> = {
  "-": "⁻",
  "0": "⁰",
  "1": "¹",
  "2": "²",
  "3": "³",
  "4": "⁴",
  "5": "⁵",
  "6": "⁶",
  "7": "⁷",
  "8": "⁸",
  "9": "⁹",
};

function superscriptPower(d: number): string {
  if (d === 0) return "1";
  if (d === 1) return "10";
  return "10" + [...String(d)].map((c) => SUPERSCRIPT[c] ?? c).join("");
}

function logScale(lo: number, hi: number, a: number, b: number): Scale {
  if (!(lo > 0)) lo = 1e-3;
  if (!(hi > lo)) hi = lo * 10;
  const l0 = Math.log10(lo);
  const l1 = Math.log10(hi);
  const f = (v: number) => a + ((Math.log10(v) - l0) / (l1 - l0)) * (b - a);
  const ticks: { v: number; label: string; major: boolean }[] = [];
  const decades = Math.ceil(l1) - Math.floor(l0);
  // Many decades: label every k-th power and skip minor ticks, or the axis is a smear.
  const every = Math.max(1, Math.ceil(decades / 6));
  for (let d = Math.floor(l0); d <= Math.ceil(l1); d++) {
    for (let m = 1; m < 10; m++) {
      if (m > 1 && every > 1) break;
      const v = m * 10 ** d;
      if (v < lo * (1 - 1e-9) || v > hi * (1 + 1e-9)) continue;
      ticks.push({ v, label: m === 1 && d % every === 0 ? superscriptPower(d) : "", major: m === 1 });
    }
  }
  return Object.assign(f, { ticks });
}

/**
 * The scale of an axis over the data range (or the axis' own min/max), from pixel `a` to `b`,
 * with `padTop` of the range added above the data (room for a legend and a label).
 */
export function makeScale(
  axis: Axis,
  data: [number, number],
  a: number,
  b: number,
  nTicks: number,
  padTop: number,
): Scale {
  let lo = axis.min ?? data[0];
  let hi = axis.max ?? data[1];
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
    lo = axis.log ? 0.1 : 0;
    hi = axis.log ? 10 : 1;
  }
  if (axis.log) {
    if (axis.min === undefined) lo = lo / 2;
    if (axis.max === undefined)
      hi = 10 ** (Math.log10(hi) + (Math.log10(hi) - Math.log10(lo > 0 ? lo : hi / 10)) * padTop);
    return logScale(lo, hi, a, b);
  }
  if (axis.max === undefined && padTop > 0) hi = hi + (hi - lo) * padTop;
  return linearScale(lo, hi, a, b, nTicks, axis.integer === true);
}
