/**
 * HTML for presentation blocks (core/present.ts): tables, grouped values, text, bar charts,
 * matrices and plots, each a `<figure data-block>` with its title and caption; folded blocks
 * inside `<details>`. Data in, markup out: no stage names, no rules about what the numbers mean.
 */
import type { BarsBlock, Block, Cell, MatrixBlock, TableBlock } from "../core/present.js";
import { axisTitle, formatCell, isQuantity, isVerdict } from "../core/present.js";
import { esc, fmtTick, makeScale, r1 } from "./scale.js";
import { PALETTE, renderPlot, type ExperimentLabel } from "./svg.js";

export interface BlockContext {
  /** The stage the block belongs to (ids in the page are `<stage>:<block id>`). */
  readonly stage: string;
  readonly label?: ExperimentLabel | undefined;
}

function cellHtml(c: Cell, header: boolean): string {
  const tag = header ? "th" : "td";
  const text = esc(formatCell(c));
  if (c !== null && typeof c === "object" && isVerdict(c))
    return `<${tag} class="tone-${c.tone}">${text}</${tag}>`;
  const numeric = typeof c === "number" || (c !== null && typeof c === "object" && isQuantity(c));
  return `<${tag}${numeric && !header ? ' class="num"' : ""}>${text}</${tag}>`;
}

function tableHtml(b: TableBlock): string {
  const head = b.columns.map((c) => `<th>${esc(c.unit ? `${c.name} [${c.unit}]` : c.name)}</th>`).join("");
  const body = b.rows
    .map((r) => `<tr>${r.map((c, j) => cellHtml(c, j === 0 && b.rowHeaders === true)).join("")}</tr>`)
    .join("");
  const more =
    b.totalRows !== undefined && b.totalRows > b.rows.length
      ? `<p class="dim">first ${b.rows.length} of ${b.totalRows.toLocaleString("en-US")} rows</p>`
      : "";
  return `<div class="scroll"><table class="grid"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>${more}`;
}

function barsSvg(b: BarsBlock, id: string): string {
  const labelW = Math.min(180, 12 + 6.6 * Math.max(4, ...b.bars.map((x) => x.label.length)));
  const W = Math.max(420, labelW + 300);
  const rowH = 18;
  const top = 8;
  const H = top + b.bars.length * rowH + 44;
  const x0 = labelW;
  const x1 = W - 16;
  let lo = 0;
  let hi = 0;
  for (const x of b.bars) {
    const e = x.error ?? 0;
    if (Number.isFinite(x.value)) {
      lo = Math.min(lo, x.value - e);
      hi = Math.max(hi, x.value + e);
    }
  }
  if (!(hi > lo)) hi = lo + 1;
  const sx = makeScale({ label: "" }, [lo, hi], x0, x1, 5, 0);
  const zero = r1(sx(0));
  const parts: string[] = [];
  let points = 0;
  b.bars.forEach((x, i) => {
    const y = top + i * rowH;
    parts.push(`<text x="${x0 - 6}" y="${y + 13}" text-anchor="end" font-size="11">${esc(x.label)}</text>`);
    if (!Number.isFinite(x.value)) return;
    points++;
    const X = r1(sx(x.value));
    parts.push(
      `<rect x="${Math.min(zero, X)}" y="${y + 3}" width="${Math.max(0.5, Math.abs(X - zero))}" height="${rowH - 6}" fill="${PALETTE[0]}" fill-opacity="0.7"><title>${esc(`${x.label}: ${formatCell({ value: x.value, ...(x.error !== undefined ? { error: x.error } : {}) })}`)}</title></rect>`,
    );
    if (x.error !== undefined && x.error > 0) {
      const a = r1(sx(x.value - x.error));
      const c = r1(sx(x.value + x.error));
      const cy = y + rowH / 2;
      parts.push(
        `<path d="M${a} ${cy}H${c}M${a} ${cy - 4}v8M${c} ${cy - 4}v8" stroke="#000" stroke-width="1" fill="none"/>`,
      );
    }
  });
  const yAxis = top + b.bars.length * rowH;
  const ticks = sx.ticks
    .filter((t) => t.major)
    .map((t) => {
      const X = r1(sx(t.v));
      return `<path d="M${X} ${yAxis}v-5" stroke="#000"/><text x="${X}" y="${yAxis + 14}" text-anchor="middle" font-size="11">${esc(t.label || fmtTick(t.v, 1))}</text>`;
    })
    .join("");
  return (
    `<svg class="plot bars" data-plot="${esc(id)}" data-points="${points}" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(b.title)}" font-family="Helvetica, Arial, sans-serif">` +
    `<title>${esc(b.title)}</title><rect x="0" y="0" width="${W}" height="${H}" fill="#fff"/>${parts.join("")}` +
    `<path d="M${x0} ${top}V${yAxis}H${x1}" stroke="#000" fill="none"/><path d="M${zero} ${top}V${yAxis}" stroke="#888" stroke-dasharray="2 2"/>${ticks}` +
    `<text x="${x1}" y="${H - 6}" text-anchor="end" font-size="12" data-axis="x">${esc(axisTitle(b.axis))}</text></svg>`
  );
}

/** A value in [-1, 1] (diverging) or [0, 1] (sequential) as a colour: blue − white − red. */
function heat(t: number, diverging: boolean): string {
  if (!Number.isFinite(t)) return "#eeeeee";
  const c = Math.max(-1, Math.min(1, t));
  const mix = (a: number[], k: number) => a.map((v) => Math.round(255 + (v - 255) * k));
  const rgb = c >= 0 || !diverging ? mix([178, 24, 43], Math.abs(c)) : mix([33, 102, 172], -c);
  return `rgb(${rgb.join(",")})`;
}

function matrixSvg(b: MatrixBlock, id: string): string {
  const n = b.labels.length;
  const cell = Math.max(14, Math.min(34, Math.floor(420 / Math.max(1, n))));
  const labelW = Math.min(150, 10 + 6.2 * Math.max(...b.labels.map((l) => l.length)));
  const W = labelW + n * cell + 10;
  const H = labelW + n * cell + 10;
  const x0 = labelW;
  const y0 = labelW;
  const parts: string[] = [];
  const digits = b.digits ?? 2;
  const showText = cell >= 22;
  for (let i = 0; i < n; i++) {
    parts.push(
      `<text x="${x0 - 4}" y="${y0 + i * cell + cell / 2 + 4}" text-anchor="end" font-size="10">${esc(b.labels[i]!)}</text>`,
    );
    const cx = x0 + i * cell + cell / 2;
    parts.push(
      `<text transform="translate(${cx + 3} ${y0 - 4}) rotate(-60)" font-size="10">${esc(b.labels[i]!)}</text>`,
    );
    for (let j = 0; j < n; j++) {
      const v = b.values[i * n + j]!;
      const t = b.scale === "diverging" ? v / b.range : v / b.range;
      const fill = heat(t, b.scale === "diverging");
      const text = Number.isFinite(v) ? v.toFixed(digits) : "";
      parts.push(
        `<rect x="${x0 + j * cell}" y="${y0 + i * cell}" width="${cell}" height="${cell}" fill="${fill}" stroke="#fff" stroke-width="0.5"><title>${esc(`${b.labels[i]} × ${b.labels[j]}: ${text || "undefined"}`)}</title></rect>`,
      );
      if (showText && text)
        parts.push(
          `<text x="${x0 + j * cell + cell / 2}" y="${y0 + i * cell + cell / 2 + 3}" text-anchor="middle" font-size="9" fill="${Math.abs(t) > 0.6 ? "#fff" : "#111"}">${esc(text)}</text>`,
        );
    }
  }
  return (
    `<svg class="plot matrix" data-plot="${esc(id)}" data-points="${n * n}" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(b.title)}" font-family="Helvetica, Arial, sans-serif">` +
    `<title>${esc(b.title)}</title><rect x="0" y="0" width="${W}" height="${H}" fill="#fff"/>${parts.join("")}</svg>`
  );
}

function bodyOf(b: Block, ctx: BlockContext, id: string): string {
  switch (b.kind) {
    case "table":
      return tableHtml(b);
    case "keyvalue":
      return b.groups
        .map(
          (g) =>
            `<table class="kv">${g.title ? `<caption>${esc(g.title)}</caption>` : ""}${g.entries
              .map(([k, v]) => `<tr><th>${esc(k)}</th>${cellHtml(v, false)}</tr>`)
              .join("")}</table>`,
        )
        .join("");
    case "text":
      return `<p class="${b.tone ? `tone-${b.tone}` : ""}">${esc(b.text)}</p>`;
    case "bars":
      return barsSvg(b, id);
    case "matrix":
      return matrixSvg(b, id);
    case "plot":
      return renderPlot(b, { id, label: ctx.label });
  }
}

/** One block as a figure; `id` is the page-wide id (`stage:block`). */
export function blockHtml(b: Block, ctx: BlockContext, id = `${ctx.stage}:${b.id}`): string {
  const drawn = b.kind === "plot" || b.kind === "bars" || b.kind === "matrix";
  const note = b.note ? `<figcaption class="note">${esc(b.note)}</figcaption>` : "";
  const cls = `block ${b.kind}${drawn ? " drawn" : ""}`;
  if (b.folded)
    return `<details class="${cls}" data-block="${esc(id)}"><summary>${esc(b.title)}</summary>${bodyOf(b, ctx, id)}${note}</details>`;
  return `<figure class="${cls}" data-block="${esc(id)}"><div class="title">${esc(b.title)}</div>${bodyOf(b, ctx, id)}${note}</figure>`;
}
