/**
 * Golden output of rendered validation errors: one pipeline per error kind in test/golden/, the
 * exact text `quiver status` prints next to it in `<name>.txt`. Run with UPDATE_GOLDEN=1 to
 * rewrite the .txt files after an intended change of wording, then review the diff.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { main } from "../cli/main.js";
import { repoRoot } from "./support/rig.js";
import { testRegistry } from "./support/test-stages.js";

const goldenDir = path.join(repoRoot, "test", "golden");

async function statusOutput(file: string): Promise<{ code: number; text: string }> {
  const lines: string[] = [];
  const io = { out: (s: string) => lines.push(s), err: (s: string) => lines.push(s), color: false };
  const cwd = process.cwd();
  process.chdir(repoRoot);
  try {
    const code = await main(
      ["status", path.relative(repoRoot, file), "--cache-dir", path.join(goldenDir, ".quiver-unused")],
      io,
      testRegistry,
    );
    return { code, text: lines.join("\n") + "\n" };
  } finally {
    process.chdir(cwd);
  }
}

const expectCodes: Record<string, string[]> = {
  "yaml-syntax": ["QV_YAML_"],
  "duplicate-key": ["QV_DUPLICATE_KEY"],
  "unknown-type": ["QV_UNKNOWN_STAGE_TYPE"],
  "bad-params": ["QV_UNKNOWN_PARAM", "QV_PARAM_TYPE", "QV_MISSING_PARAM"],
  // `path:` beside `files:`: the hint says where a file goes, not "did you mean …".
  "misplaced-param": ["QV_UNKNOWN_PARAM", "files are listed under files:"],
  "bad-refs": [
    "QV_UNKNOWN_STAGE_REF",
    "QV_UNKNOWN_PORT",
    "QV_AMBIGUOUS_REF",
    "QV_UNKNOWN_INPUT",
    "QV_MISSING_INPUT",
  ],
  "kind-mismatch": ["QV_PORT_KIND"],
  cycle: ["QV_CYCLE"],
  "unused-output": ["QV_UNUSED_OUTPUT"],
  "unknown-param-ref": ["QV_UNKNOWN_PARAM_REF"],
};

describe("validation errors (golden)", () => {
  for (const [name, codes] of Object.entries(expectCodes)) {
    test(name, async () => {
      const yamlFile = path.join(goldenDir, `${name}.yaml`);
      const { code, text } = await statusOutput(yamlFile);
      for (const c of codes) assert.ok(text.includes(c), `${name}: expected code ${c} in:\n${text}`);
      assert.ok(!/\n\s+at .+\(.+:\d+:\d+\)/.test(text), "no stack trace");
      if (name === "unused-output") assert.equal(code, 0, "a warning does not fail");
      else assert.equal(code, 2, "validation errors exit with 2");
      const goldenFile = path.join(goldenDir, `${name}.txt`);
      if (process.env.UPDATE_GOLDEN || !fs.existsSync(goldenFile)) fs.writeFileSync(goldenFile, text);
      assert.equal(text, fs.readFileSync(goldenFile, "utf8"));
    });
  }

  test("every problem is reported at once, sorted by position", async () => {
    const { text } = await statusOutput(path.join(goldenDir, "bad-refs.yaml"));
    const lines = [...text.matchAll(/^test\/golden\/bad-refs\.yaml:(\d+):(\d+) /gm)].map((m) => Number(m[1]));
    assert.ok(lines.length >= 5, text);
    assert.deepEqual(
      lines,
      [...lines].sort((a, b) => a - b),
    );
  });
});
