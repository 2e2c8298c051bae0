/**
 * Confinement: a pipeline reads files only under its own folder and the data roots declared in it
 * (`data_roots:`) or on the command line (`--data-root`). Absolute paths, `..` and symlinks that
 * lead outside are located errors (QV_FILE_OUTSIDE); nothing outside is read. Outputs go only into
 * the store, the pipeline's lock file, and paths named on the command line (`export --to`).
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import type { EngineEvent } from "../engine/events.js";
import { main } from "../cli/main.js";
import { repoRoot, Rig } from "./support/rig.js";
import { testRegistry } from "./support/test-stages.js";
import { STACK_FRAME } from "./support/chaos.js";

const cleanup: (() => void)[] = [];
after(() => cleanup.forEach((c) => c()));

/** A project folder and, beside it, a folder the project must not read unless allowed. */
function setup(): { r: Rig; outside: string } {
  const r = Rig.create({ "data/in.txt": "1 2 3\n" });
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-outside-"));
  fs.writeFileSync(path.join(outside, "secret.txt"), "42 43\n");
  cleanup.push(
    () => r.remove(),
    () => fs.rmSync(outside, { recursive: true, force: true }),
  );
  return { r, outside };
}

function pipeline(file: string, extra = ""): string {
  return `quiver: 1
name: conf
${extra}stages:
  src:   { type: source, with: { file: ${JSON.stringify(file)} } }
  total: { type: sum, inputs: { table: src } }
`;
}

type Failed = Extract<EngineEvent, { type: "failed" }>;
const failures = (events: readonly EngineEvent[]) => events.filter((e): e is Failed => e.type === "failed");

async function expectOutside(r: Rig, file = "p.yaml", ...args: string[]): Promise<void> {
  const res = await r.quiver("run", file, ...args);
  assert.equal(res.code, 1, res.stdout + res.stderr);
  assert.deepEqual(res.ran, [], "nothing ran");
  const f = failures(res.events);
  assert.equal(f.length, 1);
  const d = f[0]!.diagnostics[0]!;
  assert.equal(d.code, "QV_FILE_OUTSIDE");
  assert.equal(d.location?.line, 4, "located at the file param");
  assert.match(d.hint ?? "", /data_roots|--data-root/);
  // The human rendering of the same failure: located, no stack trace.
  const lines: string[] = [];
  const io = { out: (s: string) => lines.push(s), err: (s: string) => lines.push(s), color: false };
  assert.equal(await main(["run", r.path(file), ...args], io, testRegistry), 1);
  assert.match(lines.join("\n"), /p\.yaml:4:\d+ error QV_FILE_OUTSIDE/);
  assert.doesNotMatch(lines.join("\n"), STACK_FRAME);
  assert.doesNotMatch(lines.join("\n"), /42 43/, "the outside file's content is never shown");
}

describe("reading is confined to the pipeline's folder and declared data roots", () => {
  test("a file inside the pipeline's folder is read", async () => {
    const { r } = setup();
    r.write("p.yaml", pipeline("data/in.txt"));
    const res = await r.quiver("run", "p.yaml");
    assert.equal(res.code, 0, res.stderr);
  });

  test("an absolute path outside is QV_FILE_OUTSIDE", async () => {
    const { r, outside } = setup();
    r.write("p.yaml", pipeline(path.join(outside, "secret.txt")));
    await expectOutside(r);
  });

  test("a `..` escape is QV_FILE_OUTSIDE, even through an existing subfolder", async () => {
    const { r, outside } = setup();
    const rel = path.relative(r.dir, path.join(outside, "secret.txt"));
    assert.match(rel, /^\.\./);
    r.write("p.yaml", pipeline(rel));
    await expectOutside(r);
    r.write("p.yaml", pipeline(`data/../${rel}`));
    await expectOutside(r);
  });

  test("a symlink inside the folder pointing outside is QV_FILE_OUTSIDE (file and folder links)", async () => {
    const { r, outside } = setup();
    fs.symlinkSync(path.join(outside, "secret.txt"), r.path("data/link.txt"));
    r.write("p.yaml", pipeline("data/link.txt"));
    await expectOutside(r);
    fs.symlinkSync(outside, r.path("ext"));
    r.write("p.yaml", pipeline("ext/secret.txt"));
    await expectOutside(r);
  });

  test("a sibling folder sharing the root's name as a prefix is outside (`data` vs `data-evil`)", async () => {
    const { r, outside } = setup();
    const root = path.join(outside, "data");
    fs.mkdirSync(root);
    fs.mkdirSync(path.join(outside, "data-evil"));
    fs.writeFileSync(path.join(outside, "data-evil", "x.txt"), "7\n");
    r.write("p.yaml", pipeline(path.join(outside, "data-evil", "x.txt")));
    await expectOutside(r, "p.yaml", "--data-root", root);
  });

  test("allowed when declared: `data_roots:` in the pipeline (relative to it) or `--data-root`", async () => {
    const { r, outside } = setup();
    const rel = path.relative(r.dir, path.join(outside, "secret.txt"));
    r.write("p.yaml", pipeline(rel, `data_roots: [${JSON.stringify(path.relative(r.dir, outside))}]\n`));
    const declared = await r.quiver("run", "p.yaml");
    assert.equal(declared.code, 0, declared.stderr);
    const total = declared.events.find((e) => e.type === "finished" && e.stage === "total");
    assert.ok(total, "the allowed file was read");

    r.write("q.yaml", pipeline(path.join(outside, "secret.txt")));
    const cli = await r.quiver("run", "q.yaml", "--data-root", outside);
    assert.equal(cli.code, 0, cli.stderr);
    // A symlink into an allowed root is fine too: the check is on where it leads.
    fs.symlinkSync(path.join(outside, "secret.txt"), r.path("data/ok-link.txt"));
    r.write("s.yaml", pipeline("data/ok-link.txt"));
    assert.equal((await r.quiver("run", "s.yaml", "--data-root", outside)).code, 0);
  });

  test("a folder where a file is expected, and a missing file, are located errors", async () => {
    const { r } = setup();
    r.write("p.yaml", pipeline("data"));
    const dirRes = await r.quiver("run", "p.yaml");
    assert.equal(failures(dirRes.events)[0]?.diagnostics[0]?.code, "QV_FILE_NOT_FILE");
    r.write("p.yaml", pipeline("data/nope.txt"));
    const missing = await r.quiver("run", "p.yaml");
    assert.equal(failures(missing.events)[0]?.diagnostics[0]?.code, "QV_FILE_MISSING");
    assert.equal(failures(missing.events)[0]?.diagnostics[0]?.location?.line, 4);
  });

  test("status reports the same confinement error without reading the file", async () => {
    const { r, outside } = setup();
    r.write("p.yaml", pipeline(path.join(outside, "secret.txt")));
    const lines: string[] = [];
    const io = { out: (s: string) => lines.push(s), err: (s: string) => lines.push(s), color: false };
    assert.equal(await main(["status", r.path("p.yaml")], io, testRegistry), 1);
    assert.match(lines.join("\n"), /p\.yaml:4:\d+ error QV_FILE_OUTSIDE/);
  });
});

/** Every file under dir (relative paths), skipping the store. */
function listFiles(dir: string, skip: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const abs = path.join(d, e.name);
      if (abs === skip) continue;
      if (e.isDirectory()) walk(abs);
      else out.push(path.relative(dir, abs));
    }
  };
  walk(dir);
  return out.sort();
}

describe("writing is confined to the store and to paths named on the command line", () => {
  test("a run writes only into the store (and the pipeline's lock file); export writes only --to", async () => {
    const { r, outside } = setup();
    r.write("p.yaml", pipeline("data/in.txt"));
    const before = listFiles(r.dir, r.cacheDir);
    const outsideBefore = listFiles(outside, "");
    const res = await r.quiver("run", "p.yaml");
    assert.equal(res.code, 0, res.stderr);
    const added = listFiles(r.dir, r.cacheDir).filter((f) => !before.includes(f));
    assert.ok(
      added.every((f) => f === "p.lock"),
      `a run wrote outside the store: ${added.join(", ")}`,
    );
    const afterRun = listFiles(r.dir, r.cacheDir);

    const target = path.join(outside, "exported.csv");
    const lines: string[] = [];
    const io = { out: (s: string) => lines.push(s), err: (s: string) => lines.push(s), color: false };
    const code = await main(["export", r.path("p.yaml"), "src.table", "--to", target], io, testRegistry);
    assert.equal(code, 0, lines.join("\n"));
    assert.equal(fs.readFileSync(target, "utf8"), "x\n1\n2\n3\n");
    assert.deepEqual(listFiles(outside, ""), [...outsideBefore, "exported.csv"].sort());
    assert.deepEqual(listFiles(r.dir, r.cacheDir), afterRun, "export wrote nothing in the project");
  });
});

/** Every .ts file under the given top-level folders of the repository. */
function sources(...tops: string[]): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const abs = path.join(d, e.name);
      if (e.isDirectory()) walk(abs);
      else if (e.name.endsWith(".ts")) out.push(abs);
    }
  };
  for (const t of tops) if (fs.existsSync(path.join(repoRoot, t))) walk(path.join(repoRoot, t));
  return out;
}

describe("a pipeline never executes code", () => {
  const files = [
    ...sources("core", "engine", "cli", "report", "stages", "cache", "ops"),
    path.join(repoRoot, "api.ts"),
  ].filter((f) => fs.existsSync(f));
  const rel = (f: string) => path.relative(repoRoot, f).split(path.sep).join("/");

  test("no eval, no new Function anywhere in the engine, the stages or the store", (t) => {
    if (files.length === 0) return t.skip("sources not found next to the compiled tests");
    for (const f of files)
      assert.doesNotMatch(fs.readFileSync(f, "utf8"), /\beval\s*\(|new\s+Function\s*\(/, rel(f));
  });

  test("dynamic imports name fixed modules, never a value from a pipeline", (t) => {
    if (files.length === 0) return t.skip("sources not found next to the compiled tests");
    // The one non-literal import: the optional native tfjs package, a constant.
    const allowed = new Set(["stages/lib/nn/backend.ts import(TFJS_NODE)"]);
    for (const f of files)
      for (const m of fs.readFileSync(f, "utf8").matchAll(/\bimport\(\s*([^"'`\s)][^)]*)\)/g))
        assert.ok(allowed.has(`${rel(f)} import(${m[1]!.trim()})`), `${rel(f)}: import(${m[1]})`);
  });

  test("only the subprocess and Slurm runners, `report --open` and `diff --against git:REV` start processes", (t) => {
    if (files.length === 0) return t.skip("sources not found next to the compiled tests");
    const spawning = files.filter((f) => /child_process/.test(fs.readFileSync(f, "utf8"))).map(rel);
    assert.deepEqual(spawning.sort(), [
      "cli/report.ts",
      "engine/runners/slurm.ts",
      "engine/runners/subprocess.ts",
      "ops/diff.ts",
    ]);
  });

  test("no stage type runs shell commands or scripts", () => {
    for (const type of testRegistry.keys())
      assert.doesNotMatch(type, /^(shell|sh|bash|exec|script|python|eval|command|run)$/i);
  });
});
