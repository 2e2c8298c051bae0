/**
 * BENCHMARKS.md is generated from bench/results/*.md by bench/collect.ts; this keeps the page from
 * drifting from what the benchmarks wrote.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { collect } from "../bench/collect.js";
import { repoRoot } from "./support/rig.js";

test("BENCHMARKS.md is the collection of bench/results (node dist/bench/collect.js)", () => {
  const root = repoRoot;
  const expected = collect(join(root, "bench", "results"));
  const actual = readFileSync(join(root, "BENCHMARKS.md"), "utf8");
  assert.ok(
    actual === expected,
    "BENCHMARKS.md is not current: run `npm run build && node dist/bench/collect.js`",
  );
});
