/**
 * How the benchmarks find the Python interpreter that measures their peer (bench/peer.ts), with
 * fake interpreters: shell scripts in a temp dir that answer the import probe as a Python without
 * (or with) the modules would. No Python is needed.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { findPeer, pythonCandidates } from "../bench/peer.js";

const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "bench");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-peer-test-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const dir = fs.mkdtempSync(path.join(tmp, "bin-"));
  const file = path.join(dir, name);
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return file;
}

/** Imports nothing: fails on the first module it is asked for, in Python's words. */
const withoutModules = script(
  "python3",
  [
    "shift 2 # -c <probe>",
    'echo "Traceback (most recent call last):" >&2',
    `echo "ModuleNotFoundError: No module named '$1'" >&2`,
    "exit 1",
  ].join("\n"),
);
/** Has every module asked for, at version 9.9. */
const withModules = script(
  "python3",
  [
    "shift 2",
    'out=""',
    'for m in "$@"; do out="$out${out:+, }\\"$m\\": \\"9.9\\""; done',
    'echo "{$out}"',
  ].join("\n"),
);
const silent = script("python3", "exit 0");

void describe("finding the peer's interpreter", () => {
  void test("the first candidate that imports every module wins; the others say why not", () => {
    const absent = path.join(tmp, "no-such-python");
    const r = findPeer(["sklearn", "scipy"], [absent, withoutModules, silent, withModules]);
    assert.deepEqual(r.found, { python: withModules, versions: { sklearn: "9.9", scipy: "9.9" } });
    assert.deepEqual(
      r.tried.map((t) => t.python),
      [absent, withoutModules, silent],
    );
    assert.equal(r.tried[0]!.problem, "not found");
    assert.equal(r.tried[1]!.problem, "ModuleNotFoundError: No module named 'sklearn'");
    assert.match(r.tried[2]!.problem, /other than the module versions/);
  });

  void test("none works: nothing found, every attempt reported", () => {
    const r = findPeer(["torch"], [withoutModules]);
    assert.equal(r.found, undefined);
    assert.deepEqual(r.tried, [
      { python: withoutModules, problem: "ModuleNotFoundError: No module named 'torch'" },
    ]);
  });

  void test("PYTHON, when set, is the only candidate; otherwise python3 on PATH comes first", () => {
    assert.deepEqual(pythonCandidates({ PYTHON: withoutModules, PATH: path.dirname(withModules) }), [
      withoutModules,
    ]);
    const fromPath = pythonCandidates({ PATH: path.dirname(withModules) });
    assert.equal(fromPath[0], withModules);
    assert.ok(fromPath.length <= 2 && (fromPath.length === 1 || fromPath[1] === "/usr/bin/python3"));
  });
});

/** Each benchmark with a Python half, with arguments that keep it small, and the modules it needs. */
const BENCHES: { file: string; args: string[]; missing: string }[] = [
  { file: "eval.js", args: ["2000", "1"], missing: "scikit-learn, scipy and numpy" },
  { file: "mlp.js", args: [], missing: "PyTorch and numpy" },
  { file: "gbt.js", args: ["--rows", "1000", "--features", "3"], missing: "XGBoost, scikit-learn and numpy" },
  { file: "train.js", args: ["1000"], missing: "PyTorch" },
  { file: "scale.js", args: ["--rows", "1000", "--cols", "2"], missing: "scikit-learn and numpy" },
  { file: "transform.js", args: ["--rows", "1000", "--cols", "8", "--reps", "1"], missing: "numpy" },
];

void describe("a benchmark without a working peer fails loudly", () => {
  for (const b of BENCHES)
    void test(b.file, () => {
      const r = spawnSync(process.execPath, [path.join(benchDir, b.file), ...b.args], {
        encoding: "utf8",
        env: { ...process.env, PYTHON: withoutModules },
        timeout: 120_000,
      });
      assert.equal(r.status, 2, `exit status (stderr: ${r.stderr})`);
      assert.ok(r.stderr.includes(`no Python interpreter with ${b.missing} was found`), r.stderr);
      assert.ok(r.stderr.includes(`${withoutModules}: ModuleNotFoundError: No module named`), r.stderr);
      assert.ok(r.stderr.includes("--no-peer"), r.stderr);
      assert.doesNotMatch(r.stdout, /\|/, "no table was written");
    });

  void test("--no-peer: the table is written, saying the peer was not measured", () => {
    const r = spawnSync(process.execPath, [path.join(benchDir, "eval.js"), "2000", "1", "--no-peer"], {
      encoding: "utf8",
      env: { ...process.env, PYTHON: withoutModules },
      timeout: 120_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const rows = r.stdout
      .split("\n")
      .filter((l) => l.startsWith("| ROC") || l.startsWith("| KS") || l.startsWith("| 1000"));
    assert.equal(rows.length, 4, r.stdout);
    for (const row of rows) assert.match(row, /peer not measured/);
  });
});
