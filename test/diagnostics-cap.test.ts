/**
 * One stray `}` before a long flow list (issue #19, defect 7) made every later token a diagnostic,
 * each printing the whole 100 kB source line: `quiver status` ran out of memory. Diagnostics are
 * capped (the first ones, then "and N more") and long source lines are clipped around the column.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, describe, test } from "node:test";
import {
  MAX_DIAGNOSTICS_SHOWN,
  MAX_EXCERPT_WIDTH,
  renderDiagnostic,
  renderDiagnostics,
  type Diagnostic,
} from "../core/diagnostics.js";
import { Rig, testCli } from "./support/rig.js";
import { STACK_FRAME } from "./support/chaos.js";

const rigs: Rig[] = [];
after(() => rigs.forEach((r) => r.remove()));

/** Runs the CLI in a child with a small heap and a deadline (an unbounded one must not take the suite down). */
function statusOf(r: Rig): Promise<{ code: number | null; signal: string | null; out: string; ms: number }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, ["--max-old-space-size=384", testCli, "status", r.path("p.yaml")], {
    cwd: r.dir,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out.length < 1e6 ? (out += d.toString()) : undefined));
  child.stderr.on("data", (d: Buffer) => (out.length < 1e6 ? (out += d.toString()) : undefined));
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  return new Promise((resolve) =>
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out, ms: performance.now() - t0 });
    }),
  );
}

describe("a stray brace before a long flow list", () => {
  test("status gives the first errors, a count of the rest, clipped lines — in bounded memory", async () => {
    const values = Array.from({ length: 20_000 }, (_, i) => i).join(", ");
    const r = Rig.create({
      "p.yaml": `quiver: 1\nname: big\n}\nstages:\n  src: { type: source, with: { values: [${values}] } }\n  total: { type: sum, inputs: { table: src } }\n`,
    });
    rigs.push(r);
    const res = await statusOf(r);
    assert.equal(
      res.code,
      2,
      `exit ${res.code} / ${res.signal} after ${Math.round(res.ms)} ms: ${res.out.slice(0, 300)}`,
    );
    assert.ok(res.out.length < 20_000, `${res.out.length} characters of output`);
    const shown = res.out.match(/^p\.yaml:\d+:\d+ error /gm) ?? [];
    assert.equal(shown.length, MAX_DIAGNOSTICS_SHOWN);
    assert.match(res.out, /… and \d+ more \(not shown/);
    for (const line of res.out.split("\n"))
      assert.ok(line.length <= MAX_EXCERPT_WIDTH + 20, line.slice(0, 80));
    assert.doesNotMatch(res.out, STACK_FRAME);
  });
});

describe("rendering", () => {
  test("a long line is clipped to a window around the column, the marker under the right character", () => {
    const line = Array.from({ length: 3000 }, (_, i) => String(i % 10)).join("");
    const text = `a: 1\nb: [${line.slice(0, 1500)}X${line.slice(1500)}]\n`;
    const col = 5 + 1500; // "b: [" then 1500 digits
    const d: Diagnostic = {
      severity: "error",
      code: "QV_TEST",
      message: "here",
      location: { file: "f.yaml", line: 2, col, length: 1 },
    };
    const out = renderDiagnostic(d, () => text).split("\n");
    const [src, marker] = [out[1]!, out[2]!];
    assert.ok(src.length <= MAX_EXCERPT_WIDTH + 12, `${src.length}`);
    assert.match(src, /^ {2}2 \| …\d+X\d+…$/);
    assert.equal(src[marker.indexOf("~")], "X", "the marker points at the character");
  });

  test("a short line is printed whole", () => {
    const d: Diagnostic = {
      severity: "error",
      code: "QV_TEST",
      message: "here",
      location: { file: "f.yaml", line: 1, col: 4, length: 2 },
    };
    assert.equal(
      renderDiagnostic(d, () => "ab cd ef"),
      "f.yaml:1:4 error QV_TEST: here\n  1 | ab cd ef\n    |    ~~",
    );
  });

  test("many diagnostics: the first ones, then how many more", () => {
    const many: Diagnostic[] = Array.from({ length: 100 }, (_, i) => ({
      severity: "error",
      code: "QV_TEST",
      message: `problem ${i}`,
      location: { file: "f.yaml", line: i + 1, col: 1, length: 1 },
    }));
    const out = renderDiagnostics(many, () => undefined);
    assert.equal((out.match(/error QV_TEST/g) ?? []).length, MAX_DIAGNOSTICS_SHOWN);
    assert.match(out, /… and 80 more/);
    assert.match(out, /100 errors$/);
  });
});
