/**
 * A small SVG plotting module with the look of a physics plot: a closed frame, ticks pointing in,
 * axis titles at the far end of each axis, linear or log scales, step histograms, points with error
 * bars, lines, vertical marker lines and a legend without a border. It renders strings (no DOM), so
 * the report is produced in Node and opens anywhere without scripts.
 *
 * What it does not do: interaction, text measurement (widths are estimated from character counts),
 * or data reduction beyond dropping points closer than half a pixel on lines.
 */

export interface Axis {
  readonly label: string;
  readonly log?: boolean;
  readonly min?: number;
  readonly max?: number;
  /** Ticks only at integers (epochs, counts). */
  readonly integer?: boolean;
}

export type Series =
  | {
      readonly kind: "line";
      readonly name: string;
      readonly x: ArrayLike<number>;
      readonly y: ArrayLike<number>;
      readonly color: string;
      readonly dash?: boolean;
    }
  /** A step histogram: `edges` has one more entry than `values`. */
  | {
      readonly kind: "step";
      readonly name: string;
      readonly edges: ArrayLike<number>;
      readonly values: ArrayLike<number>;
      readonly color: string;
      readonly fill?: boolean;
      readonly hatch?: boolean;
    }
  | {
      readonly kind: "points";
      readonly name: string;
      readonly x: ArrayLike<number>;
      readonly y: ArrayLike<number>;
      readonly yerr?: ArrayLike<number>;
      readonly color: string;
    }
  | { readonly kind: "vline"; readonly name: string; readonly x: number; readonly color: string };

export interface Plot {
  /** Stable id, written as `data-plot` so tests and readers can find the plot. */
  readonly id: string;
  readonly title: string;
  readonly x: Axis;
  readonly y: Axis;
  readonly series: readonly Series[];
  readonly width?: number;
  readonly height?: number;
  readonly legend?: "top-right" | "top-left" | "bottom-right";
}

const FONT = "Helvetica, Arial, sans-serif";
const M = { left: 62, right: 14, top: 26, bottom: 44 };

/** Colours readable on white and for the common colour-vision deficiencies (Okabe–Ito). */
export const PALETTE = [
  "#0072B2",
  "#D55E00",
  "#009E73",
  "#CC79A7",
  "#E69F00",
  "#56B4E9",
  "#000000",
  "#F0E442",
];
export const SIGNAL = "#0072B2";
export const BACKGROUND = "#D55E00";

interface Scale {
  (v: number): number;
  readonly ticks: readonly { v: number; label: string; major: boolean }[];
}

function finite(v: number): boolean {
  return Number.isFinite(v);
}

/** Data range of a series along one axis, ignoring values a log axis cannot show. */
function extent(series: readonly Series[], axis: "x" | "y", log: boolean): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  const add = (v: number) => {
    if (!finite(v) || (log && v <= 0)) return;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  };
  for (const s of series) {
    switch (s.kind) {
      case "line":
      case "points": {
        const arr = axis === "x" ? s.x : s.y;
        for (let i = 0; i < arr.length; i++) {
          if (axis === "y" && s.kind === "points" && s.yerr) {
            add(arr[i]! + s.yerr[i]!);
            add(arr[i]! - s.yerr[i]!);
          } else add(arr[i]!);
        }
        break;
      }
      case "step":
        if (axis === "x") for (let i = 0; i < s.edges.length; i++) add(s.edges[i]!);
        else for (let i = 0; i < s.values.length; i++) add(s.values[i]!);
        if (axis === "y" && !log) add(0);
        break;
      case "vline":
        if (axis === "x") add(s.x);
        break;
    }
  }
  return [lo, hi];
}

function fmtTick(v: number, step: number): string {
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

function logScale(lo: number, hi: number, a: number, b: number): Scale {
  if (!(lo > 0)) lo = 1e-3;
  if (!(hi > lo)) hi = lo * 10;
  const l0 = Math.log10(lo);
  const l1 = Math.log10(hi);
  const f = (v: number) => a + ((Math.log10(v) - l0) / (l1 - l0)) * (b - a);
  const ticks: { v: number; label: string; major: boolean }[] = [];
  for (let d = Math.floor(l0); d <= Math.ceil(l1); d++) {
    for (let m = 1; m < 10; m++) {
      const v = m * 10 ** d;
      if (v < lo * (1 - 1e-9) || v > hi * (1 + 1e-9)) continue;
      ticks.push({ v, label: m === 1 ? superscriptPower(d) : "", major: m === 1 });
    }
  }
  return Object.assign(f, { ticks });
}

function superscriptPower(d: number): string {
  if (d === 0) return "1";
  if (d === 1) return "10";
  const sup: Record<string, string> = {
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
  return "10" + [...String(d)].map((c) => sup[c] ?? c).join("");
}

function makeScale(
  axis: Axis,
  data: [number, number],
  a: number,
  b: number,
  nTicks: number,
  padTop: number,
): Scale {
  let lo = axis.min ?? data[0];
  let hi = axis.max ?? data[1];
  if (!finite(lo) || !finite(hi)) {
    lo = axis.log ? 0.1 : 0;
    hi = axis.log ? 10 : 1;
  }
  if (axis.log) {
    if (axis.max === undefined)
      hi = 10 ** (Math.log10(hi) + (Math.log10(hi) - Math.log10(lo > 0 ? lo : hi / 10)) * padTop);
    return logScale(lo, hi, a, b);
  }
  if (axis.max === undefined && padTop > 0) hi = hi + (hi - lo) * padTop;
  return linearScale(lo, hi, a, b, nTicks, axis.integer === true);
}

export function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

const r1 = (v: number) => Math.round(v * 10) / 10;

/** Polyline points in pixel space, dropping points within half a pixel of the last kept one. */
function pathOf(
  xs: ArrayLike<number>,
  ys: ArrayLike<number>,
  sx: Scale,
  sy: Scale,
  logX: boolean,
  logY: boolean,
): { d: string; n: number } {
  const parts: string[] = [];
  let px = NaN;
  let py = NaN;
  let pen = false;
  let n = 0;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!;
    const y = ys[i]!;
    if (!finite(x) || !finite(y) || (logX && x <= 0) || (logY && y <= 0)) {
      pen = false;
      continue;
    }
    const X = r1(sx(x));
    const Y = r1(sy(y));
    if (pen && Math.abs(X - px) < 0.5 && Math.abs(Y - py) < 0.5 && i !== xs.length - 1) continue;
    parts.push(`${pen ? "L" : "M"}${X} ${Y}`);
    px = X;
    py = Y;
    pen = true;
    n++;
  }
  return { d: parts.join(""), n };
}

/** Renders a plot as an inline `<svg>` (no xmlns: it lives inside HTML). */
export function renderPlot(p: Plot): string {
  const W = p.width ?? 440;
  const H = p.height ?? 300;
  const x0 = M.left;
  const x1 = W - M.right;
  const y0 = H - M.bottom;
  const y1 = M.top;
  const legendRows = p.series.filter((s) => s.name).length;
  // Headroom above the data for the legend, as physics plots leave it: the legend's share of the frame.
  const share = Math.min(0.6, legendRows ? (legendRows * 15 + 14) / (y0 - y1) : 0.04);
  const sx = makeScale(p.x, extent(p.series, "x", p.x.log === true), x0, x1, 5, 0);
  // Room at the top for the legend, as physics plots leave it.
  const sy = makeScale(p.y, extent(p.series, "y", p.y.log === true), y0, y1, 5, share / (1 - share));
  const out: string[] = [];
  let points = 0;
  const clip = `clip-${p.id.replace(/[^A-Za-z0-9_-]/g, "_")}`;
  out.push(
    "", // the <svg> tag, written last: it carries the count of drawn points
    `<title>${esc(p.title)}</title>`,
    `<defs><clipPath id="${clip}"><rect x="${x0}" y="${y1}" width="${x1 - x0}" height="${y0 - y1}"/></clipPath>`,
    `<pattern id="${clip}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" stroke="${BACKGROUND}" stroke-width="1.2"/></pattern></defs>`,
    `<rect x="0" y="0" width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${x0}" y="${y1 - 8}" font-size="12" font-weight="bold">${esc(p.title)}</text>`,
  );
  out.push(`<g clip-path="url(#${clip})">`);
  for (const s of p.series) {
    switch (s.kind) {
      case "step": {
        const parts: string[] = [];
        const base = p.y.log ? y0 : r1(Math.min(y0, sy(0)));
        let started = false;
        let lastX = 0;
        for (let i = 0; i < s.values.length; i++) {
          const v = s.values[i]!;
          const a = r1(sx(s.edges[i]!));
          const b = r1(sx(s.edges[i + 1]!));
          const Y = !finite(v) || (p.y.log && v <= 0) ? base : r1(sy(v));
          if (!started) {
            parts.push(`M${a} ${base}`);
            started = true;
          }
          parts.push(`L${a} ${Y}L${b} ${Y}`);
          lastX = b;
          if (finite(v) && v !== 0) points++;
        }
        if (started) parts.push(`L${lastX} ${base}`);
        const fill = s.fill ? (s.hatch ? `url(#${clip}-hatch)` : s.color) : "none";
        out.push(
          `<path d="${parts.join("")}" fill="${fill}" fill-opacity="${s.fill && !s.hatch ? 0.35 : 1}" stroke="${s.color}" stroke-width="1.5" data-series="${esc(s.name)}"/>`,
        );
        break;
      }
      case "line": {
        const { d, n } = pathOf(s.x, s.y, sx, sy, p.x.log === true, p.y.log === true);
        points += n;
        out.push(
          `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.8"${s.dash ? ' stroke-dasharray="6 3"' : ""} data-series="${esc(s.name)}"/>`,
        );
        break;
      }
      case "points": {
        const parts: string[] = [];
        for (let i = 0; i < s.x.length; i++) {
          const x = s.x[i]!;
          const y = s.y[i]!;
          if (!finite(x) || !finite(y) || (p.y.log && y <= 0)) continue;
          const X = r1(sx(x));
          const Y = r1(sy(y));
          const e = s.yerr?.[i];
          if (e !== undefined && finite(e) && e > 0) {
            const lo = p.y.log ? Math.max(y - e, y * 1e-3) : y - e;
            parts.push(`<line x1="${X}" y1="${r1(sy(lo))}" x2="${X}" y2="${r1(sy(y + e))}"/>`);
          }
          parts.push(`<circle cx="${X}" cy="${Y}" r="2.4"/>`);
          points++;
        }
        out.push(
          `<g fill="${s.color}" stroke="${s.color}" stroke-width="1.2" data-series="${esc(s.name)}">${parts.join("")}</g>`,
        );
        break;
      }
      case "vline": {
        if (!finite(s.x)) break;
        const X = r1(sx(s.x));
        points++;
        out.push(
          `<line x1="${X}" y1="${y0}" x2="${X}" y2="${y1}" stroke="${s.color}" stroke-width="1.5" stroke-dasharray="4 3" data-series="${esc(s.name)}"/>`,
        );
        break;
      }
    }
  }
  out.push("</g>");
  // Frame and ticks (inward, on all four sides, as ROOT and matplotlib's HEP styles draw them).
  out.push(
    `<rect x="${x0}" y="${y1}" width="${x1 - x0}" height="${y0 - y1}" fill="none" stroke="#000" stroke-width="1"/>`,
  );
  const tickParts: string[] = [];
  const labels: string[] = [];
  for (const t of sx.ticks) {
    const X = r1(sx(t.v));
    if (X < x0 - 0.5 || X > x1 + 0.5) continue;
    const len = t.major ? 7 : 4;
    tickParts.push(`M${X} ${y0}v${-len}M${X} ${y1}v${len}`);
    if (t.label) labels.push(`<text x="${X}" y="${y0 + 15}" text-anchor="middle">${esc(t.label)}</text>`);
  }
  for (const t of sy.ticks) {
    const Y = r1(sy(t.v));
    if (Y < y1 - 0.5 || Y > y0 + 0.5) continue;
    const len = t.major ? 7 : 4;
    tickParts.push(`M${x0} ${Y}h${len}M${x1} ${Y}h${-len}`);
    if (t.label) labels.push(`<text x="${x0 - 5}" y="${Y + 4}" text-anchor="end">${esc(t.label)}</text>`);
  }
  out.push(`<path d="${tickParts.join("")}" stroke="#000" stroke-width="1" fill="none"/>`);
  out.push(`<g font-size="11">${labels.join("")}</g>`);
  out.push(
    `<text x="${x1}" y="${H - 8}" text-anchor="end" font-size="12">${esc(p.x.label)}</text>`,
    `<text transform="translate(14 ${y1}) rotate(-90)" text-anchor="end" font-size="12">${esc(p.y.label)}</text>`,
  );
  out.push(legend(p, x0, x1, y1, y0, clip));
  out.push("</svg>");
  // data-points: how many data points were drawn, for readers that check a plot is not empty.
  out[0] =
    `<svg class="plot" data-plot="${esc(p.id)}" data-points="${points}" width="${W}" height="${H}" ` +
    `viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(p.title)}" font-family="${FONT}">`;
  return out.join("");
}

function legend(p: Plot, x0: number, x1: number, y1: number, y0: number, clip: string): string {
  const items = p.series.filter((s) => s.name);
  if (!items.length) return "";
  const width = Math.min(x1 - x0 - 10, 30 + 6 * Math.max(...items.map((s) => s.name.length)));
  const pos = p.legend ?? "top-right";
  const lx = pos === "top-left" ? x0 + 8 : x1 - width - 4;
  let ly = pos === "bottom-right" ? y0 - 8 - items.length * 15 : y1 + 8;
  const parts: string[] = [`<g font-size="11" data-legend="">`];
  for (const s of items) {
    const cy = ly + 6;
    switch (s.kind) {
      case "line":
      case "vline":
        parts.push(
          `<line x1="${lx}" y1="${cy}" x2="${lx + 18}" y2="${cy}" stroke="${s.color}" stroke-width="1.8"${s.kind === "vline" || s.dash ? ' stroke-dasharray="5 3"' : ""}/>`,
        );
        break;
      case "step":
        parts.push(
          `<rect x="${lx + 2}" y="${cy - 5}" width="14" height="10" fill="${s.fill ? (s.hatch ? `url(#${clip}-hatch)` : s.color) : "none"}" fill-opacity="${s.fill && !s.hatch ? 0.35 : 1}" stroke="${s.color}" stroke-width="1.5"/>`,
        );
        break;
      case "points":
        parts.push(
          `<line x1="${lx + 9}" y1="${cy - 6}" x2="${lx + 9}" y2="${cy + 6}" stroke="${s.color}" stroke-width="1.2"/><circle cx="${lx + 9}" cy="${cy}" r="2.4" fill="${s.color}"/>`,
        );
        break;
    }
    parts.push(`<text x="${lx + 24}" y="${cy + 4}">${esc(s.name)}</text>`);
    ly += 15;
  }
  parts.push("</g>");
  return parts.join("");
}
