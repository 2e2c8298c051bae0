/**
 * Plots as inline SVG with the look of a physics plot: a closed frame, ticks pointing in on all
 * four sides, axis titles at the far end of each axis with their units in brackets, linear or log
 * scales, the experiment label inside the frame at the top left (mplhep/ROOT style), and a legend
 * without a border placed in the corner where it covers the least of what is drawn (never across
 * a marker line). Renders strings, no DOM, so the report is made in Node and opens anywhere.
 *
 * What it does not do: decide what to draw (the stages' presentations do), interaction, or text
 * measurement (widths are estimated from character counts).
 */
import type { Axis, Colour, LegendPlace, PlotBlock, Series } from "../core/present.js";
import { axisTitle } from "../core/present.js";
import { esc, fmtTick, makeScale, r1, type Scale } from "./scale.js";

export { esc };

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
const SIGNAL = "#0072B2";
const BACKGROUND = "#D55E00";
const MUTED = "#888888";
const MARKER = "#222222";

export function colourOf(c: Colour): string {
  if (typeof c === "number") return PALETTE[((c % PALETTE.length) + PALETTE.length) % PALETTE.length]!;
  switch (c) {
    case "signal":
      return SIGNAL;
    case "background":
      return BACKGROUND;
    case "muted":
      return MUTED;
    case "marker":
      return MARKER;
  }
}

/** The experiment label of a pipeline (`report:` in the pipeline file). */
export interface ExperimentLabel {
  readonly label?: string | undefined;
  readonly energy?: string | undefined;
  readonly luminosity?: string | undefined;
}

const FONT = "Helvetica, Arial, sans-serif";
const M = { left: 64, right: 14, top: 12, bottom: 44 };
const SIZES = { small: [320, 240], medium: [440, 310], wide: [500, 310] } as const;

function finite(v: number): boolean {
  return Number.isFinite(v);
}

/** Data range of the series along one axis, ignoring values a log axis cannot show. */
function extent(series: readonly Series[], axis: "x" | "y", log: boolean): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  const add = (v: number) => {
    if (!finite(v) || (log && v <= 0)) return;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  };
  const addAll = (a: ArrayLike<number>) => {
    for (let i = 0; i < a.length; i++) add(a[i]!);
  };
  for (const s of series) {
    switch (s.kind) {
      case "line":
      case "markers":
        addAll(axis === "x" ? s.x : s.y);
        break;
      case "points":
        if (axis === "x") addAll(s.x);
        else
          for (let i = 0; i < s.y.length; i++) {
            const e = s.yerr?.[i] ?? 0;
            add(s.y[i]! + e);
            add(log ? s.y[i]! : s.y[i]! - e);
          }
        break;
      case "band":
        if (axis === "x") addAll(s.x);
        else {
          addAll(s.lo);
          addAll(s.hi);
        }
        break;
      case "step":
        if (axis === "x") addAll(s.edges);
        else {
          addAll(s.values);
          if (!log) add(0);
        }
        break;
      case "stack":
        if (axis === "x") addAll(s.edges);
        else {
          const n = s.edges.length - 1;
          for (let b = 0; b < n; b++) {
            let sum = 0;
            for (const l of s.layers) {
              const v = l.values[b]!;
              if (finite(v)) sum += v;
              add(sum);
            }
          }
          if (!log) add(0);
        }
        break;
      case "vline":
        if (axis === "x") add(s.x);
        break;
    }
  }
  return [lo, hi];
}

/** Polyline in pixel space, lifting the pen at gaps and dropping points within half a pixel. */
function pathOf(
  xs: ArrayLike<number>,
  ys: ArrayLike<number>,
  sx: Scale,
  sy: Scale,
  logX: boolean,
  logY: boolean,
) {
  const parts: string[] = [];
  const pts: [number, number][] = [];
  let px = NaN;
  let py = NaN;
  let pen = false;
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
    pts.push([X, Y]);
    px = X;
    py = Y;
    pen = true;
  }
  return { d: parts.join(""), pts };
}

interface LegendItem {
  readonly name: string;
  readonly swatch: string;
}

/** What the legend must not cover: drawn points (sampled) and vertical marker lines. */
interface Obstacles {
  readonly pts: [number, number][];
  readonly vlines: number[];
}

export interface RenderOptions {
  readonly id: string;
  readonly label?: ExperimentLabel | undefined;
}

/** Renders a plot block as an inline `<svg>` (no xmlns: it lives inside HTML). */
export function renderPlot(p: PlotBlock, opts: RenderOptions): string {
  const [W, H] = SIZES[p.size ?? "medium"];
  const x0 = M.left;
  const x1 = W - M.right;
  const y0 = H - M.bottom;
  const y1 = M.top;
  const clip = `clip-${opts.id.replace(/[^A-Za-z0-9_-]/g, "_")}`;
  const items: LegendItem[] = [];
  // Label block at the top left: the experiment, √s and luminosity, then the plot's annotations.
  const labelLines: string[] = [];
  const lab = opts.label;
  if (lab?.label) {
    const [first, ...rest] = lab.label.split(" ");
    labelLines.push(
      `<tspan font-weight="bold" font-style="italic">${esc(first!)}</tspan>${rest.length ? ` ${esc(rest.join(" "))}` : ""}`,
    );
  }
  const energy = [lab?.energy ? `√s = ${lab.energy}` : "", lab?.luminosity ?? ""].filter(Boolean).join(", ");
  if (energy) labelLines.push(esc(energy));
  for (const a of p.annotations ?? []) labelLines.push(esc(a));
  const lineH = 14;
  const labelHeight = labelLines.length ? labelLines.length * lineH + 6 : 0;
  const labelWidth = Math.max(
    0,
    ...[lab?.label ?? "", energy, ...(p.annotations ?? [])].map((t) => t.length * 6.4),
  );

  for (const s of p.series) {
    if (s.kind === "stack")
      for (const l of s.layers)
        items.push({ name: l.name, swatch: swatch("stack", colourOf(l.colour), clip) });
    else if (
      s.kind === "points" &&
      s.excluded &&
      Array.prototype.every.call(s.excluded, (v: number) => v === 1)
    )
      items.push({ name: s.name, swatch: swatch("excluded", MUTED, clip) });
    else if (s.name) items.push({ name: s.name, swatch: swatch(s.kind, colourOf(s.colour), clip, s) });
    if (
      s.kind === "points" &&
      s.excluded &&
      s.excludedName &&
      s.excluded.length &&
      s.excludedName !== s.name &&
      Array.prototype.some.call(s.excluded, (v: number) => v === 1)
    )
      items.push({ name: s.excludedName, swatch: swatch("excluded", MUTED, clip) });
  }
  // One legend entry per name (markers of several curves share theirs).
  const seenNames = new Set<string>();
  for (let i = 0; i < items.length; i++) {
    if (seenNames.has(items[i]!.name)) {
      items.splice(i--, 1);
      continue;
    }
    seenNames.add(items[i]!.name);
  }
  // Room above the data for the label block and the legend, as physics plots leave it.
  const legendRows = items.length;
  const legendCols = legendColumns(items, x1 - x0);
  const topRoom = Math.max(labelHeight + 14, Math.ceil(Math.min(legendRows, 16) / legendCols) * 15 + 10);
  const share = Math.min(0.55, topRoom / (y0 - y1));
  const sx = makeScale(p.x, extent(p.series, "x", p.x.log === true), x0, x1, 5, 0);
  const sy = makeScale(p.y, extent(p.series, "y", p.y.log === true), y0, y1, 5, share / (1 - share));
  const logX = p.x.log === true;
  const logY = p.y.log === true;
  const out: string[] = [];
  const obstacles: Obstacles = { pts: [], vlines: [] };
  let points = 0;
  out.push(
    "", // the <svg> tag, written last: it carries the count of drawn points
    `<title>${esc(p.title)}</title>`,
    `<defs><clipPath id="${clip}"><rect x="${x0}" y="${y1}" width="${x1 - x0}" height="${y0 - y1}"/></clipPath>`,
    `<pattern id="${clip}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><line x1="0" y1="0" x2="0" y2="6" stroke="${BACKGROUND}" stroke-width="1.2"/></pattern></defs>`,
    `<rect x="0" y="0" width="${W}" height="${H}" fill="#fff"/>`,
    `<g clip-path="url(#${clip})">`,
  );
  const baseY = logY ? y0 : r1(Math.min(y0, Math.max(y1, sy(0))));
  const yOf = (v: number) =>
    !finite(v) || (logY && v <= 0) ? baseY : r1(Math.max(y1 - 2, Math.min(y0 + 2, sy(v))));
  for (const s of p.series) {
    switch (s.kind) {
      case "band": {
        const up: string[] = [];
        const down: string[] = [];
        for (let i = 0; i < s.x.length; i++) {
          const x = s.x[i]!;
          if (!finite(x) || !finite(s.lo[i]!) || !finite(s.hi[i]!)) continue;
          up.push(`${r1(sx(x))} ${yOf(s.hi[i]!)}`);
          down.unshift(`${r1(sx(x))} ${yOf(s.lo[i]!)}`);
          points++;
        }
        if (up.length)
          out.push(
            `<path d="M${[...up, ...down].join("L")}Z" fill="${colourOf(s.colour)}" fill-opacity="0.25" stroke="none" data-series="${esc(s.name)}"/>`,
          );
        break;
      }
      case "stack": {
        const n = s.edges.length - 1;
        const cum = new Float64Array(n);
        for (const l of s.layers) {
          const prev = Float64Array.from(cum);
          for (let b = 0; b < n; b++) {
            const v = l.values[b]!;
            if (finite(v)) cum[b] = cum[b]! + v;
          }
          const topPath: string[] = [];
          const bottomPath: string[] = [];
          for (let b = 0; b < n; b++) {
            const a = r1(sx(s.edges[b]!));
            const c = r1(sx(s.edges[b + 1]!));
            topPath.push(`${a} ${yOf(cum[b]!)}`, `${c} ${yOf(cum[b]!)}`);
            bottomPath.unshift(
              `${c} ${prev[b]! > 0 || !logY ? yOf(prev[b]!) : baseY}`,
              `${a} ${prev[b]! > 0 || !logY ? yOf(prev[b]!) : baseY}`,
            );
            if (l.values[b]! > 0) {
              points++;
              obstacles.pts.push([(a + c) / 2, yOf(cum[b]!)]);
            }
          }
          out.push(
            `<path d="M${[...topPath, ...bottomPath].join("L")}Z" fill="${colourOf(l.colour)}" fill-opacity="0.55" stroke="${colourOf(l.colour)}" stroke-width="0.8" data-series="${esc(l.name)}"/>`,
          );
        }
        break;
      }
      case "step": {
        const parts: string[] = [];
        let lastX = 0;
        for (let i = 0; i < s.values.length; i++) {
          const v = s.values[i]!;
          const a = r1(sx(s.edges[i]!));
          const b = r1(sx(s.edges[i + 1]!));
          const Y = yOf(v);
          if (i === 0) parts.push(`M${a} ${baseY}`);
          parts.push(`L${a} ${Y}L${b} ${Y}`);
          lastX = b;
          if (finite(v) && v !== 0) {
            points++;
            obstacles.pts.push([(a + b) / 2, Y]);
          }
        }
        if (parts.length) parts.push(`L${lastX} ${baseY}`);
        const colour = colourOf(s.colour);
        const fill = s.fill ? (s.hatch ? `url(#${clip}-hatch)` : colour) : "none";
        out.push(
          `<path d="${parts.join("")}" fill="${fill}" fill-opacity="${s.fill && !s.hatch ? 0.35 : 1}" stroke="${colour}" stroke-width="1.5" data-series="${esc(s.name)}"/>`,
        );
        break;
      }
      case "line": {
        const { d, pts } = pathOf(s.x, s.y, sx, sy, logX, logY);
        points += pts.length;
        for (let i = 0; i < pts.length; i += Math.max(1, Math.floor(pts.length / 80)))
          obstacles.pts.push(pts[i]!);
        out.push(
          `<path d="${d}" fill="none" stroke="${colourOf(s.colour)}" stroke-width="1.8"${s.dash ? ' stroke-dasharray="6 3"' : ""} data-series="${esc(s.name)}"/>`,
        );
        break;
      }
      case "points": {
        const colour = colourOf(s.colour);
        const valid: string[] = [];
        const excluded: string[] = [];
        for (let i = 0; i < s.x.length; i++) {
          const x = s.x[i]!;
          const y = s.y[i]!;
          if (!finite(x) || !finite(y) || (logY && y <= 0) || (logX && x <= 0)) continue;
          const X = r1(sx(x));
          const Y = r1(sy(y));
          obstacles.pts.push([X, Y]);
          points++;
          if (s.excluded?.[i] === 1) {
            excluded.push(`<circle cx="${X}" cy="${Y}" r="2.8"/>`);
            continue;
          }
          const e = s.yerr?.[i];
          if (e !== undefined && finite(e) && e > 0) {
            const lo = logY ? Math.max(y - e, y * 1e-3) : y - e;
            valid.push(`<line x1="${X}" y1="${r1(sy(lo))}" x2="${X}" y2="${r1(sy(y + e))}"/>`);
          }
          valid.push(`<circle cx="${X}" cy="${Y}" r="2.4"/>`);
        }
        if (valid.length)
          out.push(
            `<g fill="${colour}" stroke="${colour}" stroke-width="1.2" data-series="${esc(s.name)}">${valid.join("")}</g>`,
          );
        if (excluded.length)
          out.push(
            `<g fill="#fff" stroke="${MUTED}" stroke-width="1.2" data-series="${esc(s.excludedName ?? s.name)}" data-excluded="">${excluded.join("")}</g>`,
          );
        break;
      }
      case "markers": {
        const colour = colourOf(s.colour);
        const parts: string[] = [];
        for (let i = 0; i < s.x.length; i++) {
          const x = s.x[i]!;
          const y = s.y[i]!;
          if (!finite(x) || !finite(y) || (logY && y <= 0) || (logX && x <= 0)) continue;
          const X = r1(sx(x));
          const Y = r1(sy(y));
          obstacles.pts.push([X, Y]);
          points++;
          const tip = s.labels?.[i];
          parts.push(
            `<path d="M${X} ${Y - 4.5}L${X + 4.5} ${Y}L${X} ${Y + 4.5}L${X - 4.5} ${Y}Z">${tip ? `<title>${esc(`${s.name}: ${tip}`)}</title>` : ""}</path>`,
          );
        }
        out.push(
          `<g fill="#fff" stroke="${colour}" stroke-width="1.5" data-series="${esc(s.name)}">${parts.join("")}</g>`,
        );
        break;
      }
      case "vline": {
        if (!finite(s.x) || (logX && s.x <= 0)) break;
        const X = r1(sx(s.x));
        points++;
        obstacles.vlines.push(X);
        out.push(
          `<line x1="${X}" y1="${y0}" x2="${X}" y2="${y1}" stroke="${colourOf(s.colour)}" stroke-width="1.5"${s.dash !== false ? ' stroke-dasharray="4 3"' : ""} data-series="${esc(s.name)}" data-vline=""/>`,
        );
        break;
      }
    }
  }
  out.push("</g>");
  out.push(
    `<rect x="${x0}" y="${y1}" width="${x1 - x0}" height="${y0 - y1}" fill="none" stroke="#000" stroke-width="1"/>`,
  );
  out.push(ticks(sx, sy, x0, x1, y0, y1));
  out.push(
    `<text x="${x1}" y="${H - 8}" text-anchor="end" font-size="12" data-axis="x">${esc(axisTitle(p.x))}</text>`,
    `<text transform="translate(14 ${y1}) rotate(-90)" text-anchor="end" font-size="12" data-axis="y">${esc(axisTitle(p.y))}</text>`,
  );
  if (labelLines.length)
    out.push(
      `<g font-size="12" data-label="">${labelLines.map((l, i) => `<text x="${x0 + 8}" y="${y1 + 16 + i * lineH}">${l}</text>`).join("")}</g>`,
    );
  const labelBox = labelLines.length ? { x: x0, y: y1, w: labelWidth + 12, h: labelHeight + 4 } : undefined;
  out.push(legend(items, p.legend, { x0, x1, y0, y1 }, obstacles, labelBox));
  out.push("</svg>");
  // data-points: how many data points were drawn, for readers that check a plot is not empty.
  out[0] =
    `<svg class="plot" data-plot="${esc(opts.id)}" data-points="${points}" width="${W}" height="${H}" ` +
    `viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(p.title)}" font-family="${FONT}">`;
  return out.join("");
}

function ticks(sx: Scale, sy: Scale, x0: number, x1: number, y0: number, y1: number): string {
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
  return `<path d="${tickParts.join("")}" stroke="#000" stroke-width="1" fill="none"/><g font-size="11">${labels.join("")}</g>`;
}

function swatch(kind: string, colour: string, clip: string, s?: Series): string {
  switch (kind) {
    case "line":
    case "vline": {
      const dash =
        s && (s.kind === "line" || s.kind === "vline") && (s.kind === "vline" ? s.dash !== false : s.dash);
      return `<line x1="0" y1="0" x2="18" y2="0" stroke="${colour}" stroke-width="1.8"${dash ? ' stroke-dasharray="5 3"' : ""}/>`;
    }
    case "step": {
      const fill = s?.kind === "step" && s.fill ? (s.hatch ? `url(#${clip}-hatch)` : colour) : "none";
      const opacity = s?.kind === "step" && s.fill && !s.hatch ? 0.35 : 1;
      return `<rect x="2" y="-5" width="14" height="10" fill="${fill}" fill-opacity="${opacity}" stroke="${colour}" stroke-width="1.5"/>`;
    }
    case "stack":
      return `<rect x="2" y="-5" width="14" height="10" fill="${colour}" fill-opacity="0.55" stroke="${colour}"/>`;
    case "band":
      return `<rect x="2" y="-5" width="14" height="10" fill="${colour}" fill-opacity="0.25"/>`;
    case "points":
      return `<line x1="9" y1="-6" x2="9" y2="6" stroke="${colour}" stroke-width="1.2"/><circle cx="9" cy="0" r="2.4" fill="${colour}"/>`;
    case "excluded":
      return `<circle cx="9" cy="0" r="2.8" fill="#fff" stroke="${colour}" stroke-width="1.2"/>`;
    case "markers":
      return `<path d="M9 -4.5L13.5 0L9 4.5L4.5 0Z" fill="#fff" stroke="${colour}" stroke-width="1.5"/>`;
    default:
      return "";
  }
}

/** Two legend columns for more than five entries, when two fit in the frame. */
function legendColumns(items: readonly LegendItem[], frameWidth: number): number {
  if (items.length <= 5) return 1;
  const colWidth = 30 + 6.2 * Math.max(...items.map((s) => s.name.length));
  return 2 * colWidth <= frameWidth - 10 ? 2 : 1;
}

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

function overlaps(a: Box, b: Box): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

/**
 * The legend in the corner that covers the fewest drawn points, never across a vertical marker
 * line or the label block when another corner avoids them; the requested corner wins ties.
 */
function legend(
  items: readonly LegendItem[],
  wanted: LegendPlace | undefined,
  f: { x0: number; x1: number; y0: number; y1: number },
  obstacles: Obstacles,
  labelBox: Box | undefined,
): string {
  if (!items.length) return "";
  const cols = legendColumns(items, f.x1 - f.x0);
  const colWidth = 30 + 6.2 * Math.max(...items.map((s) => s.name.length));
  const width = Math.min(f.x1 - f.x0 - 10, cols * colWidth);
  const rows = Math.ceil(items.length / cols);
  const height = rows * 15 + 4;
  const boxAt = (pos: LegendPlace): Box => ({
    x: pos.endsWith("left") ? f.x0 + 6 : f.x1 - width - 4,
    y: pos.startsWith("top") ? f.y1 + 6 : f.y0 - 6 - height,
    w: width,
    h: height,
  });
  const order: LegendPlace[] = [
    wanted ?? "top-right",
    "top-right",
    "top-left",
    "bottom-right",
    "bottom-left",
  ];
  let best: { pos: LegendPlace; cost: number; box: Box } | undefined;
  for (const pos of order) {
    let box = boxAt(pos);
    // Below the label block when it shares the top-left corner.
    if (labelBox && pos === "top-left") box = { ...box, y: labelBox.y + labelBox.h + 2 };
    let cost = 0;
    for (const [x, y] of obstacles.pts)
      if (x >= box.x && x <= box.x + box.w && y >= box.y && y <= box.y + box.h) cost++;
    for (const v of obstacles.vlines) if (v >= box.x - 2 && v <= box.x + box.w + 2) cost += 10_000;
    if (labelBox && overlaps(box, labelBox)) cost += 10_000;
    if (box.y + box.h > f.y0 || box.y < f.y1) cost += 1_000;
    if (!best || cost < best.cost) best = { pos, cost, box };
  }
  const { box } = best!;
  const parts: string[] = [
    `<g font-size="11" data-legend="" data-box="${r1(box.x)} ${r1(box.y)} ${r1(box.w)} ${r1(box.h)}">`,
  ];
  items.forEach((it, i) => {
    const cy = box.y + 8 + (i % rows) * 15;
    const cx = box.x + Math.floor(i / rows) * colWidth;
    parts.push(
      `<g transform="translate(${r1(cx)} ${r1(cy)})">${it.swatch}<text x="24" y="4">${esc(it.name)}</text></g>`,
    );
  });
  parts.push("</g>");
  return parts.join("");
}

/** An axis's tick label for a value, for renderers drawing their own axes (bars). */
export function tickLabel(v: number, step: number): string {
  return fmtTick(v, step);
}

export type { Axis };
