/**
 * The layers of docs/architecture.md, enforced: the test reads the layer table (`| layer | what it
 * is | may import |`) and fails on any import in the compiled sources that the table does not
 * allow — static, dynamic or type-only — and on any source file that belongs to no layer. It also
 * fails on import cycles between modules. Change the table (and say why) or the import.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { repoRoot } from "./support/rig.js";

interface Layer {
  /** `core/` (a folder) or `api.ts` (a file). */
  readonly name: string;
  readonly mayImport: readonly string[];
}

/** The rows of the table after the `<!-- layers: ... -->` marker. */
function readLayers(doc: string): Layer[] {
  const lines = doc.split("\n");
  const start = lines.findIndex((l) => l.startsWith("<!-- layers"));
  assert.ok(start >= 0, "docs/architecture.md has no <!-- layers --> marker before its table");
  const rows = [];
  for (const line of lines.slice(start + 1)) {
    if (!line.trim()) {
      if (rows.length) break;
      continue;
    }
    if (!line.startsWith("|")) break;
    rows.push(
      line
        .split("|")
        .slice(1, -1)
        .map((c) => c.trim()),
    );
  }
  assert.deepEqual(rows[0], ["layer", "what it is", "may import"], "the layer table's header");
  const code = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
  return rows.slice(2).map((r) => {
    const name = code(r[0] ?? "")[0];
    assert.ok(name, `a layer row without a \`name\`: ${r.join(" | ")}`);
    return { name, mayImport: code(r[2] ?? "") };
  });
}

/** The compiled sources: tsconfig's `include`, without tests and benchmarks. */
function compiledSources(): string[] {
  const config = JSON.parse(fs.readFileSync(path.join(repoRoot, "tsconfig.json"), "utf8")) as {
    include: string[];
  };
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(path.join(repoRoot, dir), { withFileTypes: true })) {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory()) walk(rel);
      else if (e.name.endsWith(".ts")) out.push(rel);
    }
  };
  for (const pattern of config.include) {
    const top = pattern.split("/")[0]!;
    if (top === "test" || top === "bench") continue;
    if (pattern.endsWith(".ts") && !pattern.includes("*")) {
      if (fs.existsSync(path.join(repoRoot, pattern))) out.push(pattern);
    } else if (fs.existsSync(path.join(repoRoot, top))) walk(top);
  }
  return out.sort();
}

/** Repository paths of the project modules a file imports (relative specifiers only). */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(repoRoot, file), "utf8");
  const specs = [
    ...text.matchAll(/(?:^|\s)(?:import|export)\s[^;]*?\sfrom\s+["'](\.[^"']+)["']/g),
    ...text.matchAll(/(?:^|\s)import\s+["'](\.[^"']+)["']/g),
    ...text.matchAll(/\bimport\(\s*["'](\.[^"']+)["']\s*\)/g),
  ].map((m) => m[1]!);
  return specs.map((s) =>
    path.posix.normalize(path.posix.join(path.posix.dirname(file), s)).replace(/\.js$/, ".ts"),
  );
}

const doc = fs.readFileSync(path.join(repoRoot, "docs", "architecture.md"), "utf8");
const layers = readLayers(doc);
const layerOf = (file: string): Layer | undefined =>
  layers
    .filter((l) => (l.name.endsWith("/") ? file.startsWith(l.name) : file === l.name))
    .sort((a, b) => b.name.length - a.name.length)[0];
const allows = (entry: string, target: string) =>
  entry.endsWith("/") ? target.startsWith(entry) : target === entry;

describe("architecture", () => {
  const files = compiledSources();

  test("the layer table reads as the doc describes it", () => {
    assert.ok(layers.length >= 6, `only ${layers.length} layers read`);
    assert.deepEqual(layers.find((l) => l.name === "core/")?.mayImport, []);
  });

  test("every compiled source belongs to a layer", () => {
    assert.ok(files.length > 50, "sources found");
    assert.deepEqual(
      files.filter((f) => !layerOf(f)),
      [],
      "files outside every layer: add their folder to the table",
    );
  });

  test("every import goes where the table allows", () => {
    const broken: string[] = [];
    for (const file of files) {
      const own = layerOf(file)!;
      for (const target of importsOf(file)) {
        const theirs = layerOf(target);
        if (theirs === own) continue;
        if (!own.mayImport.some((e) => allows(e, target)))
          broken.push(
            `${file} imports ${target} (${own.name} may import ${own.mayImport.join(", ") || "nothing"})`,
          );
      }
    }
    assert.deepEqual(broken, []);
  });

  /**
   * Cycles known and being removed elsewhere (issue: registries and stages/lib consolidation);
   * listed so this test guards everything else meanwhile. Delete an entry once it is gone.
   */
  const KNOWN_CYCLES = new Set<string>([]);

  test("no import cycles", () => {
    const graph = new Map(files.map((f) => [f, importsOf(f).filter((t) => files.includes(t))]));
    const cycles: string[] = [];
    const state = new Map<string, "open" | "done">();
    const stack: string[] = [];
    const visit = (f: string) => {
      state.set(f, "open");
      stack.push(f);
      for (const t of graph.get(f) ?? []) {
        if (state.get(t) === "open") cycles.push([...stack.slice(stack.indexOf(t)), t].join(" → "));
        else if (!state.has(t)) visit(t);
      }
      stack.pop();
      state.set(f, "done");
    };
    for (const f of files) if (!state.has(f)) visit(f);
    assert.deepEqual(
      cycles.filter((c) => !KNOWN_CYCLES.has(c)),
      [],
    );
  });

  test("the checker sees imports of every form", () => {
    const dir = fs.mkdtempSync(path.join(repoRoot, "dist", "arch-"));
    const rel = path.relative(repoRoot, dir).split(path.sep).join("/");
    fs.writeFileSync(
      path.join(dir, "x.ts"),
      [
        'import { a } from "../../core/json.js";',
        'import type { B } from "./b.js";',
        'export { c } from "../c.js";',
        'import "./side.js";',
        'const m = await import("../../engine/graph.js");',
      ].join("\n"),
    );
    try {
      assert.deepEqual(
        importsOf(`${rel}/x.ts`).sort(),
        ["core/json.ts", "dist/c.ts", "engine/graph.ts", `${rel}/b.ts`, `${rel}/side.ts`].sort(),
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
