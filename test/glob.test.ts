/**
 * Globs in `file` params (`path: "data/*.csv"`): expanded in sorted order, each match confined and
 * hashed like a plain path, so a new matching file reruns the stage and `status` names it; a glob
 * matching nothing is a located error naming the pattern and the folder. Also the matchers alone.
 */
import { spawn } from "node:child_process";
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { globRegExp, matchesGlob } from "../core/glob.js";
import { StageError } from "../core/stage.js";
import type { EngineEvent } from "../engine/events.js";
import { describeReasons } from "../engine/explain.js";
import { expandGlob } from "../engine/files.js";
import { registry } from "../stages/index.js";
import { loadStage } from "../stages/load.js";
import { repoRoot, Rig, waitFor } from "./support/rig.js";
import { runStage } from "./support/stage-harness.js";

const rootData = path.resolve(repoRoot, "..", "shared", "data", "root-testdata");

describe("glob matching", () => {
  test("names", () => {
    assert.ok(matchesGlob("Muon_*", "Muon_pt"));
    assert.ok(!matchesGlob("Muon_*", "nMuon"));
    assert.ok(matchesGlob("Muon_p?", "Muon_pt") && !matchesGlob("Muon_p?", "Muon_phi"));
    assert.ok(globRegExp("[!J]et_*").test("Bet_x") && !globRegExp("[!J]et_*").test("Jet_x"));
    assert.ok(matchesGlob("a.b", "a.b") && !matchesGlob("a.b", "aXb"));
  });

  test("expansion: sorted, files only, no hidden files, ** descends", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-glob-"));
    try {
      for (const f of [
        "data/b.csv",
        "data/a.csv",
        "data/A.csv",
        "data/.hidden.csv",
        "data/sub/c.csv",
        "data/sub/deep/e.csv",
        "data/x.txt",
      ]) {
        fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
        fs.writeFileSync(path.join(dir, f), "a\n1\n");
      }
      fs.mkdirSync(path.join(dir, "data", "d.csv")); // a folder whose name matches is not a file
      assert.deepEqual(expandGlob("data/*.csv", dir), {
        files: ["data/A.csv", "data/a.csv", "data/b.csv"],
        folder: "data",
      });
      assert.deepEqual(expandGlob("data/**/*.csv", dir).files, [
        "data/A.csv",
        "data/a.csv",
        "data/b.csv",
        "data/sub/c.csv",
        "data/sub/deep/e.csv",
      ]);
      assert.deepEqual(expandGlob("data/*/*.csv", dir).files, ["data/sub/c.csv"]);
      assert.deepEqual(expandGlob("nowhere/*.csv", dir), { files: [], folder: "nowhere" });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("globs in a pipeline", () => {
  const pipeline = (pattern: string, extra = "") => `quiver: 1
name: globs
${extra}stages:
  events: { type: load, with: { files: [{ path: ${JSON.stringify(pattern)}, add: { sample: all } }] } }
`;

  test("a new matching file reruns the load, and status names it", async () => {
    const r = Rig.create(
      { "data/a.csv": "x\n1\n2\n", "data/b.csv": "x\n3\n", "p.yaml": pipeline("data/*.csv") },
      registry,
    );
    try {
      const first = await r.quiver("run", "p.yaml");
      assert.equal(first.code, 0, first.stderr + first.stdout);
      assert.deepEqual(first.ran, ["events"]);
      const again = await r.quiver("run", "p.yaml");
      assert.deepEqual(again.cached, ["events"]);
      r.write("data/c.csv", "x\n4\n");
      const status = await r.quiver("status", "p.yaml");
      const planned = status.events.find(
        (e): e is Extract<EngineEvent, { type: "planned" }> => e.type === "planned" && e.stage === "events",
      )!;
      assert.equal(planned.decision, "run");
      const changes = planned.reasons.flatMap((x) => (x.kind === "changed" ? x.changes : []));
      assert.deepEqual(
        changes.map((c) => [c.path, c.before === undefined]),
        [["files.data/c.csv", true]],
      );
      assert.equal(describeReasons(planned.reasons), "new file data/c.csv");
      const third = await r.quiver("run", "p.yaml");
      assert.deepEqual(third.ran, ["events"]);
      const finished = third.events.find(
        (e): e is Extract<EngineEvent, { type: "finished" }> => e.type === "finished" && e.stage === "events",
      )!;
      assert.equal((finished.summary as { rows: number }).rows, 4);
    } finally {
      r.remove();
    }
  });

  test("--isolate: the job carries the matches to the process that reads them", async () => {
    const r = Rig.create(
      { "data/a.csv": "x\n1\n2\n", "data/b.csv": "x\n3\n", "p.yaml": pipeline("data/*.csv") },
      registry,
    );
    try {
      // The real command (the test CLI has only the engine-test stages; an in-process run would
      // start this test file as the stage's process).
      const bin = path.join(repoRoot, "bin", "quiver.js");
      const res = await waitFor(
        spawn(process.execPath, [bin, "run", r.path("p.yaml"), "--json", "--isolate"], {
          cwd: r.dir,
          stdio: ["ignore", "pipe", "pipe"],
        }),
      );
      assert.equal(res.code, 0, res.stderr + res.stdout);
      const finished = res.events.find(
        (e): e is Extract<EngineEvent, { type: "finished" }> => e.type === "finished" && e.stage === "events",
      )!;
      const summary = finished.summary as { rows: number; files: { path: string }[] };
      assert.equal(summary.rows, 3);
      assert.deepEqual(
        summary.files.map((f) => f.path),
        ["data/a.csv", "data/b.csv"],
      );
      fs.rmSync(r.path("data/a.csv"));
      const gone = await r.quiver("status", "p.yaml");
      const planned = gone.events.find(
        (e): e is Extract<EngineEvent, { type: "planned" }> => e.type === "planned" && e.stage === "events",
      )!;
      assert.equal(describeReasons(planned.reasons), "file data/a.csv is gone");
    } finally {
      r.remove();
    }
  });

  test("a glob matching nothing names the pattern and the folder, at its YAML position", async () => {
    const r = Rig.create({ "data/a.csv": "x\n1\n", "p.yaml": pipeline("data/*.root") }, registry);
    try {
      const res = await r.quiver("run", "p.yaml");
      assert.notEqual(res.code, 0);
      const failed = res.events.find((e) => e.type === "failed") as Extract<EngineEvent, { type: "failed" }>;
      const d = failed.diagnostics[0]!;
      assert.equal(d.code, "QV_FILE_GLOB_EMPTY");
      assert.equal(d.message, 'events: no file matches "data/*.root" (looked in data)');
      assert.equal(d.location?.line, 4);
      assert.equal(
        d.hint,
        "globs are supported (`*`, `?`, `[abc]`, `**` for any folders); the pattern matched none of what data holds: a.csv",
      );
    } finally {
      r.remove();
    }
  });

  test("a glob in a missing folder, and a missing plain path, say that globs are supported", async () => {
    const firstFailure = async (pattern: string) => {
      const r = Rig.create({ "data/a.csv": "x\n1\n", "p.yaml": pipeline(pattern) }, registry);
      try {
        const res = await r.quiver("run", "p.yaml");
        assert.notEqual(res.code, 0);
        const failed = res.events.find((e) => e.type === "failed") as Extract<
          EngineEvent,
          { type: "failed" }
        >;
        return failed.diagnostics[0]!;
      } finally {
        r.remove();
      }
    };
    const folder = await firstFailure("nowhere/*.csv");
    assert.equal(folder.code, "QV_FILE_GLOB_EMPTY");
    assert.match(folder.hint ?? "", /^globs are supported .*but the folder nowhere does not exist/);
    const plain = await firstFailure("data/DM_signal.csv");
    assert.equal(plain.code, "QV_FILE_MISSING");
    assert.match(plain.hint ?? "", /a glob \(`data\/\*\.root`, .*\) reads every file it matches/);
  });

  test("matches outside the data roots are refused like any path", async () => {
    const outside = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-glob-out-"));
    fs.writeFileSync(path.join(outside, "s.csv"), "x\n1\n");
    const r = Rig.create({ "p.yaml": pipeline(path.join(outside, "*.csv")) }, registry);
    try {
      const res = await r.quiver("run", "p.yaml");
      const failed = res.events.find((e) => e.type === "failed") as Extract<EngineEvent, { type: "failed" }>;
      assert.equal(failed.diagnostics[0]!.code, "QV_FILE_OUTSIDE");
      assert.match(failed.diagnostics[0]!.message, /matched by/);
    } finally {
      r.remove();
      fs.rmSync(outside, { recursive: true, force: true });
    }
  });
});

describe("a glob for the label file", () => {
  test("one match is the label file; several are an error", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-glob-labels-"));
    try {
      fs.writeFileSync(path.join(dir, "d.csv"), "x\n1\n2\n");
      fs.writeFileSync(path.join(dir, "labels-a.txt"), "0\n1\n");
      const params = { files: ["d.csv"], labels: { path: "labels-*.txt" } };
      const one = await runStage(loadStage, { params, baseDir: dir });
      assert.ok(one.outputs.table?.kind === "table");
      assert.equal((one.summary!.labels as { path: string }).path, "labels-a.txt");
      fs.writeFileSync(path.join(dir, "labels-b.txt"), "1\n0\n");
      await assert.rejects(runStage(loadStage, { params, baseDir: dir }), (e: unknown) => {
        assert.ok(e instanceof StageError);
        assert.equal(e.code, "QV_LOAD_LABELS");
        assert.deepEqual(e.param, ["labels", "path"]);
        return true;
      });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("a glob over ROOT files", () => {
  test("the five Zmumu compressions concatenate to five identical blocks", async (t) => {
    if (!existsSync(rootData)) return t.skip(`data not present: ${path.relative(repoRoot, rootData)}`);
    const r = await runStage(loadStage, { params: { files: ["uproot-Zmumu-*.root"] }, baseDir: rootData });
    assert.ok(r.outputs.table?.kind === "table");
    const table = r.outputs.table.table;
    const files = (r.summary!.files as { path: string; compression: string }[]).map((f) => f.path);
    assert.deepEqual(files, [
      "uproot-Zmumu-lz4.root",
      "uproot-Zmumu-lzma.root",
      "uproot-Zmumu-uncompressed.root",
      "uproot-Zmumu-zlib.root",
      "uproot-Zmumu-zstd.root",
    ]);
    assert.equal(table.numRows, 5 * 2304);
    for (const [name, c] of table.columns) {
      const values = c.type === "dict" ? Array.from(c.codes, (k) => c.dictionary[k]) : Array.from(c.values);
      const block = values.slice(0, 2304);
      for (let k = 1; k < 5; k++)
        assert.deepEqual(values.slice(k * 2304, (k + 1) * 2304), block, `${name} block ${k}`);
    }
  });
});

describe("ROOT in a pipeline", () => {
  test("changing a jagged rule reruns the load and status names the param; the same rule is cached", async (t) => {
    if (!existsSync(rootData)) return t.skip(`data not present: ${path.relative(repoRoot, rootData)}`);
    const hzz = path.join(rootData, "uproot-HZZ.root");
    const p = (rule: string) => `quiver: 1
name: rules
data_roots: [${JSON.stringify(rootData)}]
stages:
  muons: { type: load, with: { files: [${JSON.stringify(hzz)}], branches: [NMuon, Muon_Px], jagged: { Muon_Px: ${rule} } } }
`;
    const r = Rig.create({ "p.yaml": p("{ pad: 2 }") }, registry);
    try {
      const first = await r.quiver("run", "p.yaml");
      assert.equal(first.code, 0, first.stderr + first.stdout);
      assert.deepEqual(first.ran, ["muons"]);
      assert.deepEqual((await r.quiver("run", "p.yaml")).cached, ["muons"]);
      r.write("p.yaml", p("{ pad: 2, fill: 0 }"));
      const status = await r.quiver("status", "p.yaml");
      const planned = status.events.find(
        (e): e is Extract<EngineEvent, { type: "planned" }> => e.type === "planned" && e.stage === "muons",
      )!;
      assert.equal(planned.decision, "run");
      const changed = planned.reasons
        .flatMap((x) => (x.kind === "changed" ? x.changes : []))
        .map((c) => c.path);
      assert.ok(
        changed.some((c) => c.startsWith("params.jagged")),
        changed.join(", "),
      );
      r.write("p.yaml", p("{ reduce: [count] }"));
      const third = await r.quiver("run", "p.yaml");
      assert.deepEqual(third.ran, ["muons"]);
    } finally {
      r.remove();
    }
  });

  test("a wrong tree, a missing branch and a jagged branch without a rule point at their YAML lines", async (t) => {
    if (!existsSync(rootData)) return t.skip(`data not present: ${path.relative(repoRoot, rootData)}`);
    const hzz = path.join(rootData, "uproot-HZZ.root");
    const yaml = `quiver: 1
name: bad
data_roots: [${JSON.stringify(rootData)}]
stages:
  tree:
    type: load
    with:
      files: [${JSON.stringify(hzz)}]
      tree: evnts
  branch:
    type: load
    with:
      files: [${JSON.stringify(hzz)}]
      branches: [NMuon, Muon_Pt]
  rule:
    type: load
    with:
      files: [${JSON.stringify(hzz)}]
      branches: [NMuon, Muon_Px]
`;
    const r = Rig.create({ "p.yaml": yaml }, registry);
    try {
      const res = await r.quiver("run", "p.yaml", "--keep-going");
      assert.notEqual(res.code, 0);
      const failure = (stage: string) =>
        (
          res.events.find((e) => e.type === "failed" && e.stage === stage) as Extract<
            EngineEvent,
            { type: "failed" }
          >
        ).diagnostics[0]!;
      const tree = failure("tree");
      assert.deepEqual([tree.code, tree.location?.line], ["QV_LOAD_ROOT_TREE", 9]);
      assert.equal(tree.hint, 'did you mean "events"? it holds: "events" (TTree)');
      const branch = failure("branch");
      assert.deepEqual([branch.code, branch.location?.line], ["QV_LOAD_UNKNOWN_BRANCH", 14]);
      assert.match(
        branch.hint ?? "",
        /did you mean "Muon_Px"\? its branches: NJet, Jet_Px, .*NMuon, Muon_Px/,
      );
      const rule = failure("rule");
      assert.deepEqual([rule.code, rule.location?.line], ["QV_LOAD_JAGGED", 19]);
      assert.match(rule.hint ?? "", /pad: 2.*reduce: \[count, max\].*explode: true/s);
      // The rules are shown on the user's own branch, ready to paste; the file is named once.
      assert.match(rule.hint ?? "", /jagged: \{ Muon_Px: \{ pad: 2 \} \}.*"Muon_\*": \{ explode: true \}/s);
      assert.equal(rule.message.split("uproot-HZZ.root").length - 1, 1, rule.message);
    } finally {
      r.remove();
    }
  });
});
