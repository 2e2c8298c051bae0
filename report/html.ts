/**
 * `quiver report`: one self-contained HTML file (inline CSS and SVG; no scripts, fonts, images or
 * links outside the file). It leads with the results — the headline figures every stage declares
 * and the blocks stages put in the summary (plots sharing a `merge` key drawn as one) —, then what
 * changed since the previous different run, the stage graph (folded), and the details per stage.
 * Everything drawn comes from the stages' presentations (report/present.ts); this file lays them
 * out and knows no stage names.
 */
import type { Store } from "../cache/store.js";
import type { Block, Colour, Figure, PlotBlock, Series } from "../core/present.js";
import { formatNumber, formatQuantity } from "../core/present.js";
import type { EngineEvent } from "../engine/events.js";
import type { LastRun } from "../engine/records.js";
import type { PipelineSpec } from "../engine/pipeline/spec.js";
import { blockHtml, type BlockContext } from "./blocks.js";
import { changesSection } from "./changes.js";
import { collectReport, type ReportData, type StageInfo } from "./collect.js";
import { formatDuration, renderDagSvg, STATE_COLOURS } from "./dag-svg.js";
import { presentStage, type StagePresentation } from "./present.js";
import { esc } from "./scale.js";
import { CSS } from "./style.js";
import { stageTable, stateBadge, why } from "./stages.js";

export interface ReportOptions {
  readonly store: Store;
  readonly spec: PipelineSpec;
  /** The events of the run that just finished (`quiver run --report`); else the stored record is read. */
  readonly run?: { readonly events: readonly EngineEvent[]; readonly previous: LastRun | undefined };
  readonly now?: Date;
}

export interface Report {
  readonly html: string;
  /** `data-plot` ids of everything drawn (plots, bars, matrices), in page order. */
  readonly plots: readonly string[];
  /** Why expected plots are missing. */
  readonly notes: readonly string[];
  /** The headline figures, per stage. */
  readonly figures: readonly { readonly stage: string; readonly figures: readonly Figure[] }[];
}

interface Placed {
  readonly stage: string;
  readonly block: Block;
}

export async function generateReport(opts: ReportOptions): Promise<Report> {
  const data = await collectReport(opts.store, opts.spec, opts.run);
  const spec = opts.spec;
  const presented: StagePresentation[] = [];
  for (const id of spec.order) presented.push(await presentStage(data, data.stages.get(id)!));
  const label = spec.report;
  const ctxOf = (stage: string): BlockContext => ({ stage, label });

  // The summary: summary blocks in rank order, plots with a merge key from several stages as one.
  const summaryBlocks: Placed[] = [];
  for (const p of presented)
    for (const b of p.blocks) if (b.summary) summaryBlocks.push({ stage: p.stage, block: b });
  const summaryHtml: string[] = [];
  const done = new Set<string>();
  // Blocks drawn as they are in the summary are not drawn again in their stage's details.
  const inSummary = new Set<Block>();
  const sorted = [...summaryBlocks].sort((a, b) => a.block.summary!.rank - b.block.summary!.rank);
  for (const placed of sorted) {
    const merge = placed.block.summary?.merge;
    if (merge !== undefined && placed.block.kind === "plot") {
      if (done.has(merge)) continue;
      done.add(merge);
      const group = sorted.filter((x) => x.block.summary?.merge === merge && x.block.kind === "plot");
      if (group.length > 1) {
        const merged = mergePlots(group.map((g) => ({ stage: g.stage, block: g.block as PlotBlock })));
        summaryHtml.push(blockHtml(merged, ctxOf("summary"), `summary:${merge}`));
        continue;
      }
    }
    inSummary.add(placed.block);
    // In the summary a block names its stage: several stages draw the same kind of plot.
    summaryHtml.push(
      blockHtml({ ...placed.block, title: `${placed.stage}: ${placed.block.title}` }, ctxOf(placed.stage)),
    );
  }

  const figures = presented
    .filter((p) => p.figures.length)
    .map((p) => ({ stage: p.stage, figures: p.figures }));
  const sections: string[] = [];
  const shared = new Map<string, string>();
  for (const p of presented)
    sections.push(stageSection(data, data.stages.get(p.stage)!, p, shared, ctxOf(p.stage), inSummary));

  const counts = { ran: 0, cached: 0, failed: 0, skipped: 0, "not-run": 0 };
  for (const s of data.stages.values()) counts[s.state]++;
  const when = data.eventsAt ?? data.last?.at;
  const html = [
    "<!doctype html>",
    `<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">`,
    `<title>${esc(spec.name)} · quiver report</title><style>${CSS}</style></head><body>`,
    `<header><h1>${esc(spec.name)}</h1>`,
    spec.description ? `<p>${esc(spec.description)}</p>` : "",
    `<p class="dim">pipeline <code>${esc(spec.file)}</code> · seed ${spec.seed}`,
    Object.keys(spec.params).length
      ? ` · params ${Object.entries(spec.params)
          .map(
            ([k, v]) =>
              `<code>${esc(k)}=${esc(JSON.stringify(v.value))}</code>${v.origin !== "pipeline" ? ` (${v.origin})` : ""}`,
          )
          .join(" ")}`
      : "",
    `<br>run ${when ? esc(when) : "never"} · report ${esc((opts.now ?? new Date()).toISOString())} · `,
    (Object.keys(counts) as (keyof typeof counts)[])
      .filter((k) => counts[k] > 0)
      .map(
        (k) =>
          `<span class="badge" style="background:${STATE_COLOURS[k].fill};border-color:${STATE_COLOURS[k].stroke}">${counts[k]} ${STATE_COLOURS[k].label}</span>`,
      )
      .join(" "),
    `</p></header><main>`,
    `<section id="summary"><h2>Results</h2>`,
    figures.length
      ? headlineTable(figures)
      : `<p class="dim">No stage reports headline figures${data.last ? "" : ": the pipeline has not run"}.</p>`,
    summaryHtml.length ? `<div class="blocks">${summaryHtml.join("")}</div>` : "",
    `</section>`,
    await changesSection(data),
    `<section id="pipeline"><details><summary><h2>Pipeline: ${spec.order.length} stages</h2> <span class="dim">graph, timings, cache keys, why each stage ran</span></summary>`,
    `<div class="overview"><div class="dagbox">${renderDagSvg(spec, data.stages)}</div>${stageTable(data)}</div></details></section>`,
    `<section id="details"><h2>Details per stage</h2>${sections.join("")}</section>`,
    `</main><footer class="dim">Generated by quiver. Normalised histograms have unit area; error bars are √Σw². Entries outside a histogram's range are folded into its edge bins (each plot says when).</footer></body></html>`,
  ].join("");
  const plots = [...html.matchAll(/<svg class="plot[^"]*" data-plot="([^"]+)"/g)].map((m) =>
    m[1]!.replace(/&quot;/g, '"').replace(/&amp;/g, "&"),
  );
  const notes = presented.flatMap((p) => p.notes.map((n) => `${p.stage}: ${n}`));
  return { html, plots, notes, figures };
}

/**
 * One table of every stage's headline figures, compact: one row per stage and figure, the values
 * of each subject side by side (with their verdicts); the formula, and the detail when a row has
 * one value (else in each value's tooltip).
 */
export function headlineTable(groups: readonly { stage: string; figures: readonly Figure[] }[]): string {
  const rows: string[] = [];
  for (const g of groups) {
    const byName = new Map<string, Figure[]>();
    for (const f of g.figures) {
      let list = byName.get(f.name);
      if (!list) byName.set(f.name, (list = []));
      list.push(f);
    }
    [...byName.entries()].forEach(([name, figs], i) => {
      const values = figs
        .map(
          (f) =>
            `<span class="fig" title="${esc(f.detail ?? "")}">${f.subject ? `<span class="dim">${esc(f.subject)}</span> ` : ""}<b>${esc(formatQuantity(f))}</b>` +
            `${f.verdict ? ` <span class="tone-${f.verdict.tone}">${esc(f.verdict.text)}</span>` : ""}</span>`,
        )
        .join("");
      const formulas = [...new Set(figs.map((f) => f.formula).filter((x): x is string => x !== undefined))];
      const details = [...new Set(figs.map((f) => f.detail).filter((x): x is string => x !== undefined))];
      const how = [
        ...formulas.map((f) => `<span class="formula">${esc(f)}</span>`),
        ...(details.length === 1 ? [`<span class="dim">${esc(details[0]!)}</span>`] : []),
      ].join(" ");
      rows.push(
        `<tr>${i === 0 ? `<th rowspan="${byName.size}"><a href="#stage-${esc(g.stage)}">${esc(g.stage)}</a></th>` : ""}` +
          `<td>${esc(name)}</td><td class="values">${values}</td><td>${how}</td></tr>`,
      );
    });
  }
  return `<table class="grid headline" data-headline=""><thead><tr><th>stage</th><th>figure</th><th>values</th><th>how</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

/** Plots of several stages as one: series named after their stage, colours by curve, common series once. */
function mergePlots(parts: readonly { stage: string; block: PlotBlock }[]): PlotBlock {
  const series: Series[] = [];
  const seenCommon = new Set<string>();
  let colour = 0;
  for (const { stage, block } of parts) {
    const remap = new Map<string, number>();
    const colourFor = (c: Colour): Colour => {
      if (typeof c !== "number") return c;
      const k = String(c);
      if (!remap.has(k)) remap.set(k, colour++);
      return remap.get(k)!;
    };
    for (const s of block.series) {
      if (s.kind === "stack") continue;
      if (s.kind === "line" && s.common) {
        if (seenCommon.has(s.name)) continue;
        seenCommon.add(s.name);
        series.push(s);
        continue;
      }
      // Markers keep their name: one legend entry for all of them.
      const name = s.kind === "markers" ? s.name : `${stage}: ${s.name}`;
      const renamed = { ...s, name, colour: colourFor(s.colour) } as Series;
      series.push(renamed);
    }
  }
  const first = parts[0]!.block;
  return {
    ...first,
    id: `merged:${first.id}`,
    title: `${first.title}, ${parts.map((p) => p.stage).join(", ")}`,
    series,
    size: "wide",
    note: `${first.note ?? ""} From the stages ${parts.map((p) => p.stage).join(", ")}.`.trim(),
  };
}

function stageSection(
  data: ReportData,
  info: StageInfo,
  p: StagePresentation,
  shared: Map<string, string>,
  ctx: BlockContext,
  summarised: ReadonlySet<Block>,
): string {
  const s = info.spec;
  const parts: string[] = [
    `<section class="stage" id="stage-${esc(info.id)}"><h3>${esc(info.id)} <span class="kind">${esc(s.def.type)}</span> ${stateBadge(info.state)}`,
    ` <span class="dim">${esc(formatDuration(info.durationMs))}${info.key ? ` · key <code>${esc(info.key)}</code>` : ""}</span></h3>`,
  ];
  const inputs = Object.entries(s.inputs).map(
    ([port, r]) => `${esc(port)} ← <a href="#stage-${esc(r.stage)}">${esc(r.stage)}</a>.${esc(r.port)}`,
  );
  if (inputs.length) parts.push(`<p class="dim">inputs: ${inputs.join(", ")}</p>`);
  const w = why(info);
  if (w) parts.push(`<p class="${info.state === "failed" ? "error" : "dim"}">${esc(w)}</p>`);
  if (!info.manifest) {
    parts.push(`<p class="dim">No stored result for this stage.</p></section>`);
    return parts.join("");
  }
  if (info.manifest.notes.length)
    parts.push(`<ul class="notes">${info.manifest.notes.map((n) => `<li>${esc(n)}</li>`).join("")}</ul>`);
  const drawn: string[] = [];
  const elsewhere = new Map<string, number>();
  const inSummary: string[] = [];
  for (const b of p.blocks) {
    if (summarised.has(b)) {
      inSummary.push(b.title);
      continue;
    }
    if (b.shared !== undefined) {
      const owner = shared.get(b.shared);
      if (owner !== undefined) {
        elsewhere.set(owner, (elsewhere.get(owner) ?? 0) + 1);
        continue;
      }
      shared.set(b.shared, info.id);
    }
    drawn.push(blockHtml(b, ctx));
  }
  if (inSummary.length)
    parts.push(
      `<p class="dim">In the <a href="#summary">results</a> above: ${inSummary.map(esc).join(", ")}.</p>`,
    );
  for (const [owner, n] of elsewhere)
    parts.push(
      `<p class="dim">${n} plot${n === 1 ? "" : "s"} of the same input table (the same values) are drawn with <a href="#stage-${esc(owner)}">${esc(owner)}</a>.</p>`,
    );
  if (drawn.length) parts.push(`<div class="blocks">${drawn.join("")}</div>`);
  for (const n of p.notes) parts.push(`<p class="dim">${esc(n)}</p>`);
  const summary = info.manifest.summary;
  if (Object.keys(summary).length)
    parts.push(
      `<details class="block"><summary>run summary</summary><table class="kv">${Object.entries(summary)
        .map(
          ([k, v]) =>
            `<tr><th>${esc(k)}</th><td>${esc(typeof v === "number" ? formatNumber(v) : typeof v === "string" ? v : JSON.stringify(v))}</td></tr>`,
        )
        .join("")}</table></details>`,
    );
  parts.push(`</section>`);
  return parts.join("");
}
