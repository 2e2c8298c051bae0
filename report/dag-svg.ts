/**
 * The stage graph as an inline SVG: layered top to bottom (a stage sits one layer below its
 * deepest input), ordered within a layer by the mean position of its inputs, each box coloured by
 * what happened to the stage in this run and linking to its section of the report.
 */
import type { PipelineSpec } from "../engine/pipeline/spec.js";
import type { StageInfo, StageState } from "./collect.js";
import { esc } from "./svg.js";

export const STATE_COLOURS: Record<StageState, { fill: string; stroke: string; label: string }> = {
  ran: { fill: "#cfe8ff", stroke: "#1d4ed8", label: "ran" },
  cached: { fill: "#dcfce7", stroke: "#15803d", label: "cached" },
  failed: { fill: "#fee2e2", stroke: "#b91c1c", label: "failed" },
  skipped: { fill: "#f3f4f6", stroke: "#6b7280", label: "skipped" },
  "not-run": { fill: "#ffffff", stroke: "#9ca3af", label: "not run" },
};

const BOX_W = 168;
const BOX_H = 58;
const GAP_X = 24;
const GAP_Y = 34;

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return "";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function renderDagSvg(spec: PipelineSpec, stages: ReadonlyMap<string, StageInfo>): string {
  const parents = new Map<string, string[]>(spec.order.map((id) => [id, []]));
  for (const e of spec.graph.edges) parents.get(e.to)?.push(e.from);
  const layer = new Map<string, number>();
  for (const id of spec.order)
    layer.set(id, Math.max(-1, ...parents.get(id)!.map((p) => layer.get(p) ?? 0)) + 1);
  // Edges that skip layers pass through narrow virtual nodes, so they are routed between boxes.
  const chains: { edge: (typeof spec.graph.edges)[number]; via: string[] }[] = [];
  const virtualParent = new Map<string, string>();
  const layers: string[][] = [];
  for (const id of spec.order) (layers[layer.get(id)!] ??= []).push(id);
  for (const [ei, e] of spec.graph.edges.entries()) {
    const a = layer.get(e.from);
    const b = layer.get(e.to);
    if (a === undefined || b === undefined) continue;
    const via: string[] = [];
    for (let l = a + 1; l < b; l++) {
      const v = `\u0000${ei}:${l}`;
      virtualParent.set(v, via[via.length - 1] ?? e.from);
      (layers[l] ??= []).push(v);
      via.push(v);
    }
    chains.push({ edge: e, via });
  }
  const ups = (id: string): string[] => {
    const v = virtualParent.get(id);
    if (v !== undefined) return [v];
    // A real node's inputs: the last virtual node of each long edge, or the producer itself.
    return chains.filter((c) => c.edge.to === id).map((c) => c.via[c.via.length - 1] ?? c.edge.from);
  };
  // Order within layers by the barycentre of inputs: fewer crossings; a few sweeps are plenty here.
  const pos = new Map<string, number>();
  layers.forEach((l) => l.forEach((id, i) => pos.set(id, i)));
  const downs = new Map<string, string[]>();
  for (const id of [...pos.keys()])
    for (const u of ups(id)) (downs.get(u) ?? downs.set(u, []).get(u)!).push(id);
  const reorder = (l: string[], near: (id: string) => string[]) => {
    const bary = (id: string) => {
      const ps = near(id);
      return ps.length ? ps.reduce((s, p) => s + pos.get(p)!, 0) / ps.length : pos.get(id)!;
    };
    const b = new Map(l.map((id, i) => [id, bary(id) + i * 1e-6]));
    l.sort((x, y) => b.get(x)! - b.get(y)!);
    l.forEach((id, i) => pos.set(id, i));
  };
  for (let sweep = 0; sweep < 4; sweep++) {
    for (const l of layers.slice(1)) reorder(l, ups);
    for (const l of layers.slice(0, -1).reverse()) reorder(l, (id) => downs.get(id) ?? []);
  }
  for (const l of layers.slice(1)) reorder(l, ups);
  const isVirtual = (id: string) => virtualParent.has(id);
  const widthOf = (id: string) => (isVirtual(id) ? 14 : BOX_W + GAP_X);
  const rowWidth = (l: string[]) => l.reduce((s, id) => s + widthOf(id), 0);
  const W = Math.max(...layers.map(rowWidth)) + GAP_X;
  const H = layers.length * (BOX_H + GAP_Y) + GAP_Y - 10;
  const xy = new Map<string, { x: number; y: number }>();
  layers.forEach((l, li) => {
    let x = (W - rowWidth(l)) / 2 + GAP_X / 2;
    for (const id of l) {
      xy.set(id, { x: isVirtual(id) ? x + 7 - BOX_W / 2 : x, y: GAP_Y / 2 + li * (BOX_H + GAP_Y) });
      x += widthOf(id);
    }
  });
  const parts: string[] = [
    `<svg class="dag" data-stages="${spec.order.length}" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="stage graph" font-family="Helvetica, Arial, sans-serif">`,
    `<defs><marker id="dag-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="#555"/></marker></defs>`,
  ];
  for (const { edge, via } of chains) {
    const pts = [edge.from, ...via, edge.to].map((id) => xy.get(id)!);
    const d: string[] = [];
    for (let i = 0; i + 1 < pts.length; i++) {
      const a = pts[i]!;
      const b = pts[i + 1]!;
      const x1 = a.x + BOX_W / 2;
      const y1 = a.y + BOX_H;
      const x2 = b.x + BOX_W / 2;
      const y2 = i + 2 === pts.length ? b.y - 2 : b.y;
      const my = (y1 + y2) / 2;
      d.push(`${i === 0 ? `M${x1} ${y1}` : ""}C${x1} ${my} ${x2} ${my} ${x2} ${y2}`);
      // Through a virtual node: straight down the height of its layer.
      if (i + 2 < pts.length) d.push(`L${x2} ${b.y + BOX_H}`);
    }
    parts.push(
      `<path d="${d.join("")}" fill="none" stroke="#555" stroke-width="1.2" marker-end="url(#dag-arrow)"><title>${esc(edge.label)}</title></path>`,
    );
  }
  for (const id of spec.order) {
    const { x, y } = xy.get(id)!;
    const info = stages.get(id);
    const state = info?.state ?? "not-run";
    const c = STATE_COLOURS[state];
    const line2 = [spec.stages.get(id)!.def.type, c.label, formatDuration(info?.durationMs)]
      .filter(Boolean)
      .join(" · ");
    const key = info?.key ? info.key : "";
    parts.push(
      `<a href="#stage-${esc(id)}" class="dag-node" data-stage="${esc(id)}" data-state="${state}">`,
      `<title>${esc(`${id} (${spec.stages.get(id)!.def.type}): ${c.label}${key ? `, cache key ${key}` : ""}`)}</title>`,
      `<rect x="${x}" y="${y}" width="${BOX_W}" height="${BOX_H}" rx="7" fill="${c.fill}" stroke="${c.stroke}" stroke-width="1.5"/>`,
      `<text x="${x + BOX_W / 2}" y="${y + 18}" text-anchor="middle" font-size="13" font-weight="bold">${esc(clip(id, 22))}</text>`,
      `<text x="${x + BOX_W / 2}" y="${y + 34}" text-anchor="middle" font-size="11">${esc(line2)}</text>`,
      key
        ? `<text x="${x + BOX_W / 2}" y="${y + 49}" text-anchor="middle" font-size="10" fill="#555" font-family="monospace">${esc(key)}</text>`
        : "",
      `</a>`,
    );
  }
  parts.push("</svg>");
  return parts.join("");
}

function clip(s: string, n: number): string {
  return s.length > n ? s.slice(0, n - 1) + "…" : s;
}
