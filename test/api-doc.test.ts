/**
 * docs/api.md cannot rot: its example is extracted from the page and run as it is written, importing
 * the package by its name (Node resolves a package's own name from inside it through `exports`).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { repoRoot } from "./support/rig.js";

/** The first ```js block after the `## Example` heading. */
export function exampleOf(markdown: string): string {
  const at = markdown.indexOf("\n## Example");
  assert.ok(at >= 0, "docs/api.md has an Example section");
  const m = /\n```js\n([\s\S]*?)\n```/.exec(markdown.slice(at));
  assert.ok(m, "the Example section has a ```js block");
  return m[1]!;
}

test("the example in docs/api.md runs and does what it says", () => {
  const code = exampleOf(fs.readFileSync(path.join(repoRoot, "docs", "api.md"), "utf8"));
  assert.match(code, /from "quiver-hep"/);
  const file = path.join(repoRoot, "dist", `api-example-${process.pid}.mjs`);
  fs.writeFileSync(file, code);
  try {
    const r = spawnSync(process.execPath, [file], { cwd: repoRoot, encoding: "utf8", timeout: 120_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^events: run$/m, "status planned the first stage to run");
    assert.match(r.stdout, /ran 13 stages; the ROC stage's result is [0-9a-f]{16}/);
    assert.match(r.stdout, /13 of 13 stages cached/);
    assert.match(r.stdout, /the cuts keep \d+ of 7000 events/);
  } finally {
    fs.rmSync(file, { force: true });
  }
});
