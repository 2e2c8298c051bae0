/**
 * What the command line prints: the results table at the end of `run` and from `quiver results`,
 * `show` as aligned tables, one JSON document (or NDJSON) and nothing else on standard output for
 * every command's --json, colour by NO_COLOR / FORCE_COLOR / terminal per stream, `diff` against
 * the previous run, stores found the way `run` finds them, and `show` / `results` / `report`
 * straight after `pull`.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { colourFor, main } from "../cli/main.js";
import type { Registry } from "../engine/pipeline/validate.js";
import { registry } from "../stages/index.js";
import { repoRoot } from "./support/rig.js";
import { testRegistry } from "./support/test-stages.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-cli-out-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const bin = path.join(repoRoot, "bin", "quiver.js");

interface Captured {
  code: number;
  out: string[];
  err: string[];
}

async function quiver(args: string[], reg: Registry = registry): Promise<Captured> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (s) => out.push(s), err: (s) => err.push(s), color: false }, reg);
  return { code, out, err };
}

/** Standard output of a --json command: one JSON document per line, nothing else. */
function jsonLines(c: Captured, what: string): Record<string, unknown>[] {
  const lines = c.out
    .join("\n")
    .split("\n")
    .filter((l) => l.length > 0);
  assert.ok(lines.length > 0, `${what}: nothing on standard output`);
  return lines.map((l) => {
    let v: unknown;
    assert.doesNotThrow(
      () => (v = JSON.parse(l)),
      `${what}: not JSON on standard output: ${l.slice(0, 120)}`,
    );
    assert.ok(
      typeof v === "object" && v !== null && !Array.isArray(v),
      `${what}: ${l.slice(0, 80)} is not an object`,
    );
    return v as Record<string, unknown>;
  });
}

/** A small demo: the demo pipeline with few events and one epoch, written in the file (so runs write the lock). */
function smallDemo(dir: string, epochs = 1): string {
  fs.mkdirSync(dir, { recursive: true });
  const text = fs
    .readFileSync(path.join(repoRoot, "pipelines", "demo.yaml"), "utf8")
    .replace(/events: 20000/, "events: 3000")
    .replace(/epochs: 5/, `epochs: ${epochs}`);
  const file = path.join(dir, "demo.yaml");
  fs.writeFileSync(file, text);
  return file;
}

void describe("the answer on the console", () => {
  const dir = path.join(tmp, "demo");
  let file = "";
  let ran: Captured;
  before(async () => {
    file = smallDemo(dir);
    ran = await quiver(["run", file, "--jobs", "2"]);
  });

  void test("run ends with the headline figures, and quiver results prints the same table", async () => {
    assert.equal(ran.code, 0, ran.err.join("\n"));
    const text = ran.out.join("\n");
    const at = text.indexOf("results of demo");
    assert.ok(at > text.indexOf("done:"), "the results come after the run's summary line");
    const table = text.slice(at).split("\n");
    assert.match(table[1]!, /^ {2}stage +figure +of +value +verdict +how$/);
    assert.match(table[2]!, /^ {2}─+ {2}─+/);
    assert.ok(table.some((l) => /^ {2}roc +AUC +nn +0\.\d{4}/.test(l)));
    assert.ok(
      table.some((l) =>
        /^ {2}overtraining +KS p-value +nn · signal +[0-9.e-]+ +(compatible|overtrained\?)/.test(l),
      ),
    );
    assert.ok(table.some((l) => /Z at best cut +bdt +\d+\.\d+ +Z_A = √/.test(l)));
    // The value column is right-aligned: every value ends where the header "value" ends.
    const valueEnd = table[1]!.indexOf("value") + "value".length;
    for (const l of table.slice(3).filter((x) => x.trim())) assert.equal(l[valueEnd], " ", l);
    const results = await quiver(["results", file]);
    assert.equal(results.code, 0);
    assert.deepEqual(
      results.out.join("\n").split("\n").slice(1),
      table.slice(1).filter((l) => l !== ""),
    );
  });

  void test("run --json ends with one results event holding the same figures", async () => {
    const r = await quiver(["run", file, "--json"]);
    const events = jsonLines(r, "run --json");
    const last = events[events.length - 1]!;
    assert.equal(last.type, "results");
    const stages = last.stages as {
      stage: string;
      figures: { name: string; subject?: string; value: number }[];
    }[];
    const roc = stages.find((s) => s.stage === "roc")!;
    assert.deepEqual(
      roc.figures.map((f) => [f.name, f.subject]),
      [
        ["AUC", "nn"],
        ["AUC", "bdt"],
      ],
    );
    assert.ok(roc.figures.every((f) => f.value > 0 && f.value < 1));
    assert.ok(stages.some((s) => s.stage === "significance"));
    assert.ok(stages.some((s) => s.stage === "overtraining"));
  });

  void test("show prints metrics grouped and the cut flow as its table, aligned", async () => {
    const cut = await quiver(["show", file, "cuts.cutflow"]);
    assert.equal(cut.code, 0);
    const lines = cut.out.join("\n").split("\n");
    const head = lines.findIndex((l) => /^ {2}step +selection +events/.test(l));
    assert.ok(head > 0, cut.out.join("\n"));
    // Header, rule and rows share column boundaries: the rule's gaps line up with the header's columns.
    const rule = lines[head + 1]!;
    const starts = [...rule.matchAll(/─+/g)].map((m) => m.index);
    for (const l of [lines[head]!, lines[head + 2]!, lines[head + 3]!]) {
      assert.ok(l.length <= rule.length, `row wider than its rule: ${l}`);
      for (const s of starts.slice(1))
        if (s < l.length) assert.equal(l[s - 1], " ", `column boundary at ${s} in: ${l}`);
    }
    assert.match(lines[head + 2]!, /^ {2}input +7000/);
    assert.match(lines[head + 3]!, /^ {2}leptons +lep1_pt > 25 && lep2_pt > 20/);
    // No flattened dump of the cut flow's 69 values unless asked for.
    assert.doesNotMatch(cut.out.join("\n"), /steps\[0\]\.after/);
    const all = await quiver(["show", file, "cuts.cutflow", "--all"]);
    assert.match(all.out.join("\n"), /steps\[0\]\.after/);
    // The run summary's preformatted cut flow is printed as lines, not a JSON array of strings.
    assert.doesNotMatch(cut.out.join("\n"), /\["cut flow/);

    const roc = await quiver(["show", file, "roc.metrics"]);
    const text = roc.out.join("\n");
    assert.match(text, /^ {2}roc +AUC +nn +0\.\d{4}/m);
    assert.match(text, /working points\n {2}score +fixed +ε_S +ε_B +rejection 1\/ε_B +cut: score >/);
    assert.match(text, /^ {2}nn +ε_B = 0\.01 +0\.\d+ ± 0\.\d+/m);
    const model = await quiver(["show", file, "nn.model"]);
    assert.match(model.out.join("\n"), /^ {2}model +network 7 → 16 → 16 → 1/m);
  });
});

void describe("--json prints JSON only", () => {
  const dir = path.join(tmp, "json");
  const remote = path.join(tmp, "json-remote");
  let file = "";
  before(async () => {
    file = smallDemo(dir);
    assert.equal((await quiver(["run", file, "--jobs", "2"])).code, 0);
    fs.writeFileSync(
      path.join(dir, "broken.yaml"),
      "quiver: 1\nname: broken\nstages:\n  a: { type: nosuch }\n",
    );
  });

  const single =
    (args: () => string[], type: string, code = 0) =>
    async () => {
      const c = await quiver([...args(), "--json"]);
      const docs = jsonLines(c, args().join(" "));
      assert.equal(docs.length, 1, `${args().join(" ")}: ${docs.length} documents`);
      assert.equal(docs[0]!.type, type, JSON.stringify(docs[0]).slice(0, 200));
      assert.equal(c.code, code, c.err.join("\n"));
    };
  const stream = (args: () => string[]) => async () => {
    const c = await quiver([...args(), "--json"]);
    const docs = jsonLines(c, args().join(" "));
    assert.ok(docs.every((d) => typeof d.type === "string"));
    assert.equal(c.code, 0, c.err.join("\n"));
  };

  void test("run and status: NDJSON events", async () => {
    await stream(() => ["run", file])();
    await stream(() => ["status", file])();
  });
  void test("results, dag, show, export, report, diff", async () => {
    await single(() => ["results", file], "results")();
    await single(() => ["dag", file], "dag")();
    await single(() => ["show", file, "cuts.cutflow"], "show")();
    await single(() => ["show", file, "split.train", "--rows", "3"], "show")();
    await single(() => ["show", file, "nn.model"], "show")();
    await single(() => ["show", file, "roc"], "show")();
    await single(() => ["export", file, "roc.metrics", "--to", path.join(dir, "roc.json")], "export")();
    await single(() => ["report", file, "--out", path.join(dir, "r.html")], "report")();
    await single(() => ["diff", file], "diff")();
    const show = jsonLines(await quiver(["show", file, "split.train", "--rows", "3", "--json"]), "show");
    const value = show[0]!.value as { rows: number; head: unknown[] };
    assert.equal(value.head.length, 3);
  });
  void test("verify, sweep, push, pull, gc, clean, datasets", async () => {
    await single(() => ["verify", file, "--sample", "1"], "verify")();
    await single(() => ["sweep", file, "--grid", "epochs=1,2"], "sweep-metrics")();
    await single(() => ["push", file, "--remote", remote], "push")();
    await single(() => ["pull", file, "--remote", remote, "--cache-dir", path.join(dir, "other")], "pull")();
    await single(() => ["gc", file, "--dry-run"], "gc")();
    await single(() => ["clean", "--cache-dir", path.join(dir, "other"), "--yes"], "clean")();
    await single(() => ["datasets", "list"], "datasets")();
  });
  void test("errors are one JSON document too", async () => {
    await single(() => ["run", path.join(dir, "broken.yaml")], "error", 2)();
    await single(() => ["show", file, "nosuch"], "error", 2)();
    await single(() => ["status", path.join(dir, "missing.yaml")], "error", 2)();
    await single(() => ["bogus"], "error", 2)();
    const c = await quiver(["run", path.join(dir, "broken.yaml"), "--json"]);
    const doc = jsonLines(c, "broken")[0]!;
    const d = (doc.diagnostics as { code: string }[])[0]!;
    assert.equal(d.code, "QV_UNKNOWN_STAGE_TYPE");
    assert.match(c.err.join("\n"), /unknown stage type "nosuch"/, "the text still goes to standard error");
  });
});

void describe("colour", () => {
  void test("NO_COLOR turns it off, FORCE_COLOR on, otherwise terminals only", () => {
    assert.equal(colourFor(true, {}), true);
    assert.equal(colourFor(false, {}), false);
    assert.equal(colourFor(true, { NO_COLOR: "1" }), false);
    assert.equal(colourFor(false, { FORCE_COLOR: "1" }), true);
    assert.equal(colourFor(false, { FORCE_COLOR: "" }), true);
    assert.equal(colourFor(true, { FORCE_COLOR: "0" }), false);
    assert.equal(colourFor(true, { FORCE_COLOR: "false" }), false);
    assert.equal(colourFor(false, { NO_COLOR: "1", FORCE_COLOR: "1" }), false);
    assert.equal(colourFor(true, { NO_COLOR: "" }), true, "an empty NO_COLOR is unset");
  });

  void test("a redirected standard error carries no escape codes unless forced", () => {
    const bad = path.join(tmp, "colour.yaml");
    fs.writeFileSync(bad, "quiver: 1\nname: c\nstages:\n  a: { type: nosuch }\n");
    const env = { ...process.env };
    delete env.NO_COLOR;
    delete env.FORCE_COLOR;
    const runIt = (extra: Record<string, string>, ...args: string[]) =>
      spawnSync(process.execPath, [bin, "status", bad, ...args], {
        env: { ...env, ...extra },
        encoding: "utf8",
      });
    const esc = new RegExp(String.fromCharCode(27) + "\\[");
    assert.doesNotMatch(runIt({}).stderr, esc);
    assert.match(runIt({ FORCE_COLOR: "1" }).stderr, esc);
    assert.doesNotMatch(runIt({ FORCE_COLOR: "1", NO_COLOR: "1" }).stderr, esc);
    // --json: standard output is JSON, never coloured.
    const json = runIt({ FORCE_COLOR: "1" }, "--json");
    assert.doesNotMatch(json.stdout, esc);
    assert.equal((JSON.parse(json.stdout) as { type: string }).type, "error");
  });
});

void describe("diff after a run", () => {
  void test("compares with the previous run when the run just rewrote the lock; git:REV reads the committed lock", async (t) => {
    const dir = path.join(tmp, "diff");
    fs.mkdirSync(dir);
    const file = path.join(dir, "p.yaml");
    const write = (amount: number) =>
      fs.writeFileSync(
        file,
        `quiver: 1\nname: d\nstages:\n  numbers: { type: source, with: { values: [1, 2, 3] } }\n  more: { type: add, inputs: { table: numbers }, with: { amount: ${amount} } }\n`,
      );
    write(1);
    assert.equal((await quiver(["run", file], testRegistry)).code, 0);
    const git = (...args: string[]) => spawnSync("git", ["-C", dir, ...args], { encoding: "utf8" });
    const hasGit = git("init", "-q").status === 0;
    if (hasGit) {
      git("-c", "user.email=t@example.org", "-c", "user.name=t", "add", "p.yaml", "p.lock");
      git("-c", "user.email=t@example.org", "-c", "user.name=t", "commit", "-qm", "first");
    }
    // Only one run: nothing earlier to compare with.
    const none = await quiver(["diff", file, "--against", "previous"], testRegistry);
    assert.equal(none.code, 2);
    write(2);
    assert.equal((await quiver(["run", file], testRegistry)).code, 0);
    for (const args of [[], ["--against", "previous"]]) {
      const c = await quiver(["diff", file, ...args, "--json"], testRegistry);
      const doc = jsonLines(c, "diff")[0]! as {
        against: string;
        a: string;
        stages: { stage: string; state: string; detail: string }[];
      };
      assert.equal(doc.against, "previous");
      assert.match(doc.a, /^previous run \(/);
      assert.deepEqual(
        doc.stages.map((s) => [s.stage, s.state]),
        [
          ["numbers", "same"],
          ["more", "changed"],
        ],
      );
      assert.match(doc.stages[1]!.detail, /amount/);
    }
    const text = await quiver(["diff", file], testRegistry);
    assert.match(text.out.join("\n"), /compares with the run before it/);
    // Against the lock the run just wrote: everything the same.
    const lock = jsonLines(
      await quiver(["diff", file, "--against", "lock", "--json"], testRegistry),
      "diff",
    )[0]!;
    assert.ok((lock.stages as { state: string }[]).every((s) => s.state === "same"));
    // A rerun that changes nothing keeps the previous run what it was.
    assert.equal((await quiver(["run", file], testRegistry)).code, 0);
    const again = jsonLines(await quiver(["diff", file, "--json"], testRegistry), "diff")[0]!;
    assert.equal((again.stages as { state: string }[])[1]!.state, "changed");
    if (!hasGit) {
      t.diagnostic("git is not available: git:REV not checked");
      return;
    }
    const committed = jsonLines(
      await quiver(["diff", file, "--against", "git:HEAD", "--json"], testRegistry),
      "diff",
    )[0]!;
    assert.equal(committed.a, "p.lock at HEAD");
    assert.deepEqual(
      (committed.stages as { stage: string; state: string }[]).map((s) => s.state),
      ["same", "changed"],
    );
    const missing = await quiver(["diff", file, "--against", "git:nosuchrev"], testRegistry);
    assert.equal(missing.code, 2);
    assert.match(missing.err.join("\n"), /git:nosuchrev/);
  });
});

void describe("store discovery", () => {
  void test("gc and clean without a pipeline find the stores below the current folder and name them", async () => {
    const root = path.join(tmp, "stores");
    const p1 = path.join(root, "a", "p.yaml");
    const p2 = path.join(root, "b", "c", "q.yaml");
    for (const f of [p1, p2]) {
      fs.mkdirSync(path.dirname(f), { recursive: true });
      fs.writeFileSync(
        f,
        `quiver: 1\nname: ${path.basename(f, ".yaml")}\nstages:\n  n: { type: source, with: { values: [1] } }\n`,
      );
      assert.equal((await quiver(["run", f], testRegistry)).code, 0);
    }
    fs.mkdirSync(path.join(root, "node_modules", ".quiver", "objects"), { recursive: true });
    const cwd = process.cwd();
    const saved = process.env.QUIVER_CACHE;
    delete process.env.QUIVER_CACHE;
    process.chdir(root);
    try {
      const gc = await quiver(["gc", "--dry-run"], testRegistry);
      assert.match(gc.out[0]!, /found 2 store\(s\) below .*: a\/\.quiver, b\/c\/\.quiver/);
      const doc = jsonLines(await quiver(["gc", "--dry-run", "--json"], testRegistry), "gc")[0]!;
      assert.deepEqual(
        (doc.stores as { store: string }[]).map((s) => path.relative(root, s.store)),
        ["a/.quiver", "b/c/.quiver"],
      );
      // A pipeline or --cache-dir picks one store, as for run.
      const one = jsonLines(await quiver(["gc", p1, "--dry-run", "--json"], testRegistry), "gc")[0]!;
      assert.deepEqual(
        (one.stores as { store: string }[]).map((s) => s.store),
        [path.join(root, "a", ".quiver")],
      );
      process.env.QUIVER_CACHE = path.join(root, "b", "c", ".quiver");
      const env = jsonLines(await quiver(["gc", "--dry-run", "--json"], testRegistry), "gc")[0]!;
      assert.equal(env.source, "QUIVER_CACHE");
      delete process.env.QUIVER_CACHE;
      // clean lists and refuses without a choice; --all (confirmed with --yes) removes every store found.
      const listed = await quiver(["clean"], testRegistry);
      assert.equal(listed.code, 2);
      assert.match(listed.out.join("\n"), /a\/\.quiver\n {2}b\/c\/\.quiver/);
      assert.ok(fs.existsSync(path.join(root, "a", ".quiver")));
      const all = jsonLines(await quiver(["clean", "--all", "--yes", "--json"], testRegistry), "clean")[0]!;
      assert.equal((all.removed as string[]).length, 2);
      assert.ok(
        !fs.existsSync(path.join(root, "a", ".quiver")) &&
          !fs.existsSync(path.join(root, "b", "c", ".quiver")),
      );
      const nothing = await quiver(["gc"], testRegistry);
      assert.match(nothing.out.join("\n"), /no store found below/);
    } finally {
      process.chdir(cwd);
      if (saved === undefined) delete process.env.QUIVER_CACHE;
      else process.env.QUIVER_CACHE = saved;
    }
  });
});

void describe("after pull", () => {
  void test("show, results and report work without a run", async () => {
    const a = path.join(tmp, "pull-a");
    const b = path.join(tmp, "pull-b");
    const remote = path.join(tmp, "pull-remote");
    const file = smallDemo(a);
    assert.equal((await quiver(["run", file, "--jobs", "2"])).code, 0);
    assert.equal((await quiver(["push", file, "--remote", remote])).code, 0);
    fs.mkdirSync(b);
    for (const f of ["demo.yaml", "demo.lock"]) fs.copyFileSync(path.join(a, f), path.join(b, f));
    const other = path.join(b, "demo.yaml");
    assert.equal((await quiver(["pull", other, "--remote", remote])).code, 0);
    const show = await quiver(["show", other, "cuts.cutflow"]);
    assert.equal(show.code, 0, show.err.join("\n"));
    const results = await quiver(["results", other]);
    assert.equal(results.code, 0, results.err.join("\n"));
    assert.match(results.out.join("\n"), /roc +AUC +nn/);
    const out = path.join(b, "r.html");
    assert.equal((await quiver(["report", other, "--out", out])).code, 0);
    const html = fs.readFileSync(out, "utf8");
    assert.ok([...html.matchAll(/data-plot="/g)].length > 10, "the pulled results are drawn");
    // And status agrees: every stage cached.
    const status = jsonLines(await quiver(["status", other, "--json"]), "status");
    assert.ok(status.filter((e) => e.type === "planned").every((e) => e.decision === "cached"));
  });
});
