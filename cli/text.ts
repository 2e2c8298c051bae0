/**
 * Presentations (core/present.ts) as aligned text for the terminal: headline figures as one
 * table, tables with their columns aligned (numbers right, text left), grouped values as
 * two-column lists, bars and matrices as tables; plots are named (they are drawn in the report).
 * Verdicts are coloured when the stream takes colour.
 */
import type { Block, Cell, Figure, TableBlock, Tone } from "../core/present.js";
import { formatCell, formatQuantity, isQuantity, isVerdict } from "../core/present.js";

const TONES: Record<Tone, string> = { good: "32", warn: "33", bad: "31", neutral: "0" };

function paint(colour: boolean, tone: Tone | undefined, s: string): string {
  return colour && tone && tone !== "neutral" ? `\u001b[${TONES[tone]}m${s}\u001b[0m` : s;
}

/** Visible width of a string (code points; the text we print has no wide characters). */
function width(s: string): number {
  return [...s].length;
}

function pad(s: string, w: number, right: boolean): string {
  const fill = " ".repeat(Math.max(0, w - width(s)));
  return right ? fill + s : s + fill;
}

function isNumeric(c: Cell): boolean {
  return typeof c === "number" || (c !== null && typeof c === "object" && isQuantity(c));
}

/** Rows of cells as aligned columns under a header, with a rule under the header. */
export function alignedTable(
  header: readonly string[],
  rows: readonly (readonly Cell[])[],
  opts: { colour?: boolean; indent?: string; align?: readonly ("left" | "right" | undefined)[] } = {},
): string {
  const indent = opts.indent ?? "  ";
  const text = rows.map((r) => r.map((c) => formatCell(c)));
  const widths = header.map((h, j) => Math.max(width(h), ...text.map((r) => width(r[j] ?? ""))));
  const right = header.map(
    (_, j) =>
      opts.align?.[j] === "right" ||
      (opts.align?.[j] !== "left" &&
        rows.length > 0 &&
        rows.every((r) => r[j] === null || r[j] === undefined || isNumeric(r[j] ?? null))),
  );
  const lines = [
    indent +
      header
        .map((h, j) => pad(h, widths[j]!, right[j]!))
        .join("  ")
        .trimEnd(),
    indent + widths.map((w) => "─".repeat(w)).join("  "),
  ];
  rows.forEach((r, i) => {
    lines.push(
      indent +
        r
          .map((c, j) => {
            const s = pad(text[i]![j] ?? "", widths[j]!, right[j]!);
            return c !== null && typeof c === "object" && isVerdict(c)
              ? paint(opts.colour === true, c.tone, s)
              : s;
          })
          .join("  ")
          .trimEnd(),
    );
  });
  return lines.join("\n");
}

/** Every stage's headline figures as one table: stage, figure, of what, value, verdict, how. */
export function figuresText(
  groups: readonly { stage: string; figures: readonly Figure[] }[],
  colour = false,
): string {
  const rows: Cell[][] = [];
  for (const g of groups)
    g.figures.forEach((f, i) => {
      rows.push([
        i === 0 ? g.stage : "",
        f.name,
        f.subject ?? "",
        formatQuantity(f),
        f.verdict ?? "",
        [f.formula, f.detail].filter(Boolean).join("; "),
      ]);
    });
  return alignedTable(["stage", "figure", "of", "value", "verdict", "how"], rows, {
    colour,
    align: [undefined, undefined, undefined, "right"],
  });
}

function tableText(b: TableBlock, colour: boolean): string {
  const header = b.columns.map((c) => (c.unit ? `${c.name} [${c.unit}]` : c.name));
  const out = alignedTable(header, b.rows, { colour, align: b.columns.map((c) => c.align) });
  const more =
    b.totalRows !== undefined && b.totalRows > b.rows.length
      ? `\n  … ${(b.totalRows - b.rows.length).toLocaleString("en-US")} more rows`
      : "";
  return out + more;
}

/** One block as text: its title, its content, its note. */
export function blockText(b: Block, colour = false): string {
  const lines: string[] = [b.title];
  switch (b.kind) {
    case "table":
      lines.push(tableText(b, colour));
      break;
    case "keyvalue":
      for (const g of b.groups) {
        if (g.title) lines.push(`  ${g.title}`);
        const w = Math.max(0, ...g.entries.map(([k]) => width(k)));
        const ind = g.title ? "    " : "  ";
        for (const [k, v] of g.entries)
          lines.push(
            `${ind}${pad(k, w, false)}  ${isVerdict(v) ? paint(colour, v.tone, v.text) : formatCell(v)}`,
          );
      }
      break;
    case "text":
      lines.push(`  ${paint(colour, b.tone, b.text)}`);
      break;
    case "bars":
      lines.push(
        alignedTable(
          ["", b.axis.unit ? `${b.axis.label} [${b.axis.unit}]` : b.axis.label],
          b.bars.map((x) => [
            x.label,
            { value: x.value, ...(x.error !== undefined ? { error: x.error } : {}) },
          ]),
        ),
      );
      break;
    case "matrix": {
      const n = b.labels.length;
      const rows: Cell[][] = b.labels.map((l, i) => [
        l,
        ...Array.from({ length: n }, (_, j) => {
          const v = b.values[i * n + j]!;
          return Number.isFinite(v) ? v.toFixed(b.digits ?? 2) : null;
        }),
      ]);
      lines.push(
        alignedTable(["", ...b.labels], rows, { align: ["left", ...b.labels.map(() => "right" as const)] }),
      );
      break;
    }
    case "plot":
      lines[0] = `${b.title} (plot: ${b.series.length} series; drawn in the report)`;
      break;
  }
  if (b.note && b.kind !== "plot") lines.push(`  (${b.note})`);
  return lines.join("\n");
}
