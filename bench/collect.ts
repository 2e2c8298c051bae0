/**
 * Writes BENCHMARKS.md from bench/results/*.md, so the summary page can never drift from the
 * tables each benchmark wrote (it did: the evaluation section once kept figures two runs old).
 *
 *   node dist/bench/collect.js          rewrite BENCHMARKS.md
 *   node dist/bench/collect.js --check  exit 1 when BENCHMARKS.md is not what it would write
 *
 * Each results file becomes one section: its title turns into a level-2 heading and its own
 * headings move down one level. `summary.md` (the headline ratios) comes first, then the files in
 * SECTION_ORDER, then any other results file in name order, so a new benchmark cannot be left out.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const SECTION_ORDER = [
  "summary.md",
  "noop.md",
  "analyses-real.md",
  "analyses-generated.md",
  "share.md",
  "report.md",
  "readers.md",
  "load.md",
  "root.md",
  "chunked.md",
  "stage-memory.md",
  "transform.md",
  "scale.md",
  "mlp.md",
  "train.md",
  "gbt.md",
  "eval.md",
  "slurm.md",
];

const INTRO = `# Benchmarks

Every figure is a ratio against a peer (scikit-learn, scipy, numpy, PyTorch, XGBoost, DuckDB, pandas,
Snakemake, plain Node start-up, ...) measured in the same run on the same machine, with the command that
produced it and the machine's load average while it ran (2 cores, Node 20). This page is generated:
each benchmark writes its table to \`bench/results/NAME.md\`, and \`npm run build && node
dist/bench/collect.js\` copies them here (a test checks the copy is current). Rerun any benchmark with
\`npm run build\` and then \`node dist/bench/NAME.js\`.
`;

function title(markdown: string, file: string): string {
  const first = markdown.split("\n", 1)[0] ?? "";
  if (!first.startsWith("# ")) throw new Error(`bench/results/${file} must start with a "# " title line`);
  return first.slice(2).trim();
}

function anchor(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, "")
    .trim()
    .replace(/ /g, "-");
}

/** The file's body with every heading one level deeper, outside fenced code blocks. */
function demote(markdown: string): string {
  let fenced = false;
  return markdown
    .split("\n")
    .slice(1)
    .map((line) => {
      if (line.startsWith("```")) fenced = !fenced;
      return !fenced && /^#{1,5} /.test(line) ? `#${line}` : line;
    })
    .join("\n")
    .trim();
}

export function collect(resultsDir: string): string {
  const present = readdirSync(resultsDir).filter((name) => name.endsWith(".md"));
  const ordered = [
    ...SECTION_ORDER.filter((name) => present.includes(name)),
    ...present.filter((name) => !SECTION_ORDER.includes(name)).sort(),
  ];
  const sections = ordered.map((file) => {
    const markdown = readFileSync(join(resultsDir, file), "utf8");
    return { file, title: title(markdown, file), body: demote(markdown) };
  });
  const contents = sections.map((s) => `- [${s.title}](#${anchor(s.title)}) — \`bench/results/${s.file}\``);
  const parts = [INTRO.trim(), "## Contents\n\n" + contents.join("\n")];
  for (const s of sections)
    parts.push(`## ${s.title}\n\n_From [bench/results/${s.file}](bench/results/${s.file})._\n\n${s.body}`);
  return parts.join("\n\n") + "\n";
}

function main(): void {
  const root = process.cwd();
  const expected = collect(join(root, "bench", "results"));
  const target = join(root, "BENCHMARKS.md");
  if (process.argv.includes("--check")) {
    const actual = readFileSync(target, "utf8");
    if (actual !== expected) {
      console.error("BENCHMARKS.md is not current: run `node dist/bench/collect.js` and commit it");
      process.exit(1);
    }
    return;
  }
  writeFileSync(target, expected);
}

if (import.meta.url === `file://${process.argv[1]}`) main();
