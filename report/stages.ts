/** The stage overview of a report: each stage's state in this run, time, key and why it ran. */
import { describeReasons } from "../engine/explain.js";
import type { ReportData, StageInfo } from "./collect.js";
import { formatDuration, STATE_COLOURS } from "./dag-svg.js";
import { esc } from "./scale.js";

export function stateBadge(state: StageInfo["state"]): string {
  const c = STATE_COLOURS[state];
  return `<span class="badge" style="background:${c.fill};border-color:${c.stroke}">${c.label}</span>`;
}

export function why(info: StageInfo): string {
  switch (info.state) {
    case "ran":
      return info.reasons.length ? describeReasons(info.reasons) : "";
    case "failed":
      return info.diagnostics.map((d) => `${d.code}: ${d.message}`).join("; ");
    case "skipped":
      return skipText(info.skipReason);
    case "cached":
    case "not-run":
      return "";
  }
}

function skipText(r: StageInfo["skipReason"]): string {
  if (!r) return "";
  const cancelled =
    "cancelled" in r && r.cancelled ? `; ${r.cancelled.system} job ${r.cancelled.id} cancelled` : "";
  switch (r.kind) {
    case "upstream-failed":
      return `upstream ${r.upstream} failed`;
    case "stopped":
      return `stopped after ${r.after}${cancelled}`;
    case "interrupted":
      return `run interrupted${cancelled}`;
  }
}

export function stageTable(data: ReportData): string {
  const rows = [...data.stages.values()].map(
    (s) =>
      `<tr><th><a href="#stage-${esc(s.id)}">${esc(s.id)}</a></th><td>${esc(s.spec.def.type)}</td><td>${stateBadge(s.state)}</td>` +
      `<td class="num">${esc(formatDuration(s.durationMs))}</td><td><code>${esc(s.key ?? "")}</code></td><td>${esc(why(s))}</td></tr>`,
  );
  return `<table class="grid stages"><thead><tr><th>stage</th><th>type</th><th>this run</th><th>time</th><th>cache key</th><th>why it ran</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}
