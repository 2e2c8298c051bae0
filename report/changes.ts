/**
 * "What changed": the latest results against the previous run whose results differ (the run
 * history skips reruns that changed nothing, so a no-op rerun or `verify` never hides it): which
 * stages have another result and why, from their fingerprints, and the metric values that moved.
 */
import { own } from "../core/dict.js";
import { isJsonObject, type JsonValue } from "../core/json.js";
import { formatNumber } from "../core/present.js";
import { describeFingerprintDiffs, inputsFromOf } from "../engine/lock-file.js";
import type { ReportData } from "./collect.js";
import { esc } from "./scale.js";

/** Numeric leaves of a metrics object by dotted path (arrays left out: curves, per-fold lists). */
function numericLeaves(m: JsonValue, p = "", out = new Map<string, number>()): Map<string, number> {
  if (typeof m === "number") out.set(p, m);
  else if (isJsonObject(m))
    for (const [k, v] of Object.entries(m)) numericLeaves(v, p ? `${p}.${k}` : k, out);
  return out;
}

export async function changesSection(data: ReportData): Promise<string> {
  const parts: string[] = [`<section id="changes"><h2>What changed</h2>`];
  const last = data.last;
  const prev = data.previousDistinct;
  if (!last) return `${parts.join("")}<p class="dim">The pipeline has not run here.</p></section>`;
  if (!prev)
    return `${parts.join("")}<p class="dim">No earlier run with different results is recorded in this store, so there is nothing to compare with.</p></section>`;
  const ran = [...data.stages.values()].filter((s) => s.state === "ran").length;
  parts.push(
    `<p>Compared with the run of ${esc(prev.at)}, the previous run whose results differ.` +
      (data.events.length && ran === 0 ? ` The latest run (${esc(last.at)}) reran nothing.` : "") +
      `</p>`,
  );
  const rows: string[] = [];
  const metricRows: string[] = [];
  let missing = 0;
  for (const id of data.spec.order) {
    const cur = own(last.stages, id)?.key;
    const old = own(prev.stages, id);
    if (cur === old) continue;
    let detail: string;
    if (!old) detail = "not in the earlier run";
    else if (!cur) detail = "not in the latest run";
    else {
      const [a, b] = await Promise.all([data.manifest(old), data.manifest(cur)]);
      if (!a || !b) {
        detail = "its earlier result is no longer in the store (collected by gc)";
        missing++;
      } else {
        detail = describeFingerprintDiffs(a.fingerprint, b.fingerprint, {
          inputsFrom: inputsFromOf(data.spec, id),
          max: 4,
        });
        for (const [port, kind] of Object.entries(b.kinds)) {
          if (kind !== "metrics") continue;
          const [before, now] = await Promise.all([
            data.resultArtifact(old, port),
            data.resultArtifact(cur, port),
          ]);
          if (before?.kind !== "metrics" || now?.kind !== "metrics") continue;
          const x = numericLeaves(before.metrics);
          for (const [k, v] of numericLeaves(now.metrics)) {
            const o = x.get(k);
            if (o === undefined || o === v || /seconds|_ms$|time/.test(k)) continue;
            const d = v - o;
            metricRows.push(
              `<tr><th>${esc(`${id}.${port}`)}</th><td>${esc(k)}</td><td class="num">${esc(formatNumber(o))}</td><td class="num">${esc(formatNumber(v))}</td>` +
                `<td class="num ${d > 0 ? "up" : "down"}">${d > 0 ? "+" : "−"}${esc(formatNumber(Math.abs(d)))}</td></tr>`,
            );
          }
        }
      }
    }
    rows.push(`<li><a href="#stage-${esc(id)}">${esc(id)}</a>: ${esc(detail)}</li>`);
  }
  parts.push(rows.length ? `<ul>${rows.join("")}</ul>` : `<p>Every stage has the same result.</p>`);
  if (metricRows.length) {
    const table = `<table class="grid"><thead><tr><th>metrics</th><th>value</th><th>before</th><th>now</th><th>Δ</th></tr></thead><tbody>${metricRows.join("")}</tbody></table>`;
    parts.push(
      metricRows.length > 30
        ? `<details><summary>${metricRows.length} metric values changed</summary>${table}</details>`
        : table,
    );
  } else if (rows.length) parts.push(`<p>No metric value changed.</p>`);
  if (missing) parts.push(`<p class="dim">${missing} earlier result(s) are no longer in the store.</p>`);
  parts.push(`</section>`);
  return parts.join("");
}
