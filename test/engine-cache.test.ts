/** Caching behaviour, asserted from the event stream: what ran, what was cached, and why. */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { describe, test } from "node:test";
import { Rig, storeObjects } from "./support/rig.js";
import { chainRig } from "./support/chain.js";
import type { EngineEvent } from "../engine/events.js";

const rig = chainRig;

const sorted = (xs: string[]) => [...xs].sort();

describe("caching", () => {
  test("first run runs everything; a second run runs nothing", async () => {
    const r = rig();
    const first = await r.quiver("run", "p.yaml");
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(sorted(first.ran), ["clip", "other", "plus", "src", "total"]);
    const second = await r.quiver("run", "p.yaml");
    assert.equal(second.code, 0);
    assert.deepEqual(second.ran, []);
    assert.deepEqual(sorted(second.cached), ["clip", "other", "plus", "src", "total"]);
    r.remove();
  });

  test("--set of one param reruns exactly that stage and its dependents, and says why", async () => {
    const r = rig();
    await r.quiver("run", "p.yaml");
    const res = await r.quiver("run", "p.yaml", "--set", "amount=2");
    assert.deepEqual(sorted(res.ran), ["clip", "plus", "total"]);
    assert.deepEqual(sorted(res.cached), ["other", "src"]);
    const started = res.events.find(
      (e): e is Extract<EngineEvent, { type: "started" }> => e.type === "started" && e.stage === "plus",
    )!;
    const reason = started.reasons[0]!;
    assert.equal(reason.kind, "changed");
    if (reason.kind === "changed") {
      assert.equal(reason.cascade, false);
      assert.deepEqual(
        reason.changes.map((c) => [c.path, c.before, c.after]),
        [["params.amount", 1, 2]],
      );
      assert.equal(reason.changes[0]!.location?.line, 7);
    }
    const clipStart = res.events.find(
      (e): e is Extract<EngineEvent, { type: "started" }> => e.type === "started" && e.stage === "clip",
    )!;
    assert.ok(
      clipStart.reasons[0]!.kind === "changed" && clipStart.reasons[0]!.cascade,
      "clip reruns as a cascade of plus",
    );
    r.remove();
  });

  test("early cutoff: a changed param that leaves the output identical reruns only that stage", async () => {
    const r = rig();
    await r.quiver("run", "p.yaml");
    // All values are below 100 and 200, so clip's output bytes do not change.
    const res = await r.quiver("run", "p.yaml", "--set", "max=200");
    assert.deepEqual(res.ran, ["clip"]);
    assert.deepEqual(sorted(res.cached), ["other", "plus", "src", "total"]);
    const fin = res.events.find((e) => e.type === "finished" && e.stage === "clip") as Extract<
      EngineEvent,
      { type: "finished" }
    >;
    assert.equal(fin.sameOutputs, true);
    r.remove();
  });

  test("numbers are normalised: 1e0 and 1.0 are the same param value", async () => {
    const r = rig();
    await r.quiver("run", "p.yaml");
    const res = await r.quiver("run", "p.yaml", "--set", "amount=1e0");
    assert.deepEqual(res.ran, []);
    r.remove();
  });

  test("a changed input file reruns its loader and dependents; touching it reruns nothing", async () => {
    const r = rig();
    await r.quiver("run", "p.yaml");
    const later = new Date(Date.now() + 5000);
    fs.utimesSync(r.path("data/numbers.txt"), later, later);
    const touched = await r.quiver("run", "p.yaml");
    assert.deepEqual(touched.ran, []);
    r.write("data/numbers.txt", "1 2 3 5\n");
    const changed = await r.quiver("run", "p.yaml");
    assert.deepEqual(sorted(changed.ran), ["clip", "other", "plus", "src", "total"]);
    const srcStart = changed.events.find(
      (e): e is Extract<EngineEvent, { type: "started" }> => e.type === "started" && e.stage === "src",
    )!;
    const reason = srcStart.reasons[0]!;
    assert.ok(reason.kind === "changed" && reason.changes.some((c) => c.path === "files.data/numbers.txt"));
    r.remove();
  });

  test("the same pipeline copied to another folder hits the same cache", async () => {
    const a = rig();
    const first = await a.quiver("run", "p.yaml");
    assert.equal(first.ran.length, 5);
    const b = rig();
    const res = await b.quiver("run", "p.yaml", "--cache-dir", a.cacheDir);
    assert.deepEqual(res.ran, []);
    assert.equal(res.cached.length, 5);
    a.remove();
    b.remove();
  });

  test("a truncated object is detected and recomputed", async () => {
    const r = rig();
    await r.quiver("run", "p.yaml");
    const objects = storeObjects(r.cacheDir);
    for (const rel of objects.keys()) {
      const file = path.join(r.cacheDir, "objects", rel);
      fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2));
    }
    const res = await r.quiver("run", "p.yaml");
    assert.equal(res.code, 0, res.stderr);
    // clip's output has the same bytes as plus's (nothing is clipped), so it is the same object:
    // once plus has rewritten it, clip is legitimately cached.
    assert.deepEqual(sorted(res.ran), ["other", "plus", "src", "total"]);
    assert.deepEqual(res.cached, ["clip"]);
    assert.deepEqual(storeObjects(r.cacheDir), objects, "recomputed objects are byte-identical");
    r.remove();
  });

  test("a bit flip in an object is caught when it is read, and the producer is recomputed", async () => {
    const r = rig();
    await r.quiver("run", "p.yaml");
    const objects = storeObjects(r.cacheDir);
    // Flip a byte in plus's output, then force its consumer to read it.
    const before = await r.quiver("status", "p.yaml");
    assert.equal(before.code, 0);
    const keyRes = await r.quiver("run", "p.yaml");
    const plusKey = (keyRes.events.find((e) => e.type === "cached" && e.stage === "plus") as { key: string })
      .key;
    const manifest = JSON.parse(
      fs.readFileSync(path.join(r.cacheDir, "runs", plusKey.slice(0, 2), `${plusKey}.json`), "utf8"),
    ) as {
      objects: { table: { hash: string } };
    };
    const objFile = path.join(
      r.cacheDir,
      "objects",
      manifest.objects.table.hash.slice(0, 2),
      manifest.objects.table.hash,
    );
    const bytes = fs.readFileSync(objFile);
    bytes[bytes.length - 20] = bytes[bytes.length - 20]! ^ 0xff;
    fs.writeFileSync(objFile, bytes);
    const res = await r.quiver("run", "p.yaml", "--force", "clip");
    assert.equal(res.code, 0, res.stderr);
    const repaired = res.events.find((e) => e.type === "started" && e.stage === "plus") as
      Extract<EngineEvent, { type: "started" }> | undefined;
    assert.equal(repaired?.reasons[0]?.kind, "repair");
    assert.match(res.stderr, /QV_CACHE_CORRUPT_OBJECT/);
    assert.deepEqual(storeObjects(r.cacheDir), objects);
    r.remove();
  });

  test("a corrupt manifest is a miss with a warning, not a crash", async () => {
    const r = rig();
    const first = await r.quiver("run", "p.yaml");
    const key = (first.events.find((e) => e.type === "finished" && e.stage === "total") as { key: string })
      .key;
    fs.writeFileSync(path.join(r.cacheDir, "runs", key.slice(0, 2), `${key}.json`), "{ not json");
    const res = await r.quiver("run", "p.yaml");
    assert.equal(res.code, 0);
    assert.deepEqual(res.ran, ["total"]);
    assert.match(res.stderr, /QV_CACHE_CORRUPT_MANIFEST/);
    r.remove();
  });

  test("a failure skips dependents, names the cause, and exits non-zero; --keep-going runs the rest", async () => {
    const r = Rig.create({
      "f.yaml": `quiver: 1
name: failing
stages:
  src:  { type: source, with: { values: [1, 2] } }
  bad:  { type: fail, inputs: { table: src }, with: { message: "no luck" } }
  after: { type: add, inputs: { table: bad } }
  side: { type: add, inputs: { table: src }, with: { sleep_ms: 50 } }
`,
    });
    const res = await r.quiver("run", "f.yaml", "--jobs", "1");
    assert.equal(res.code, 1);
    assert.deepEqual(res.failed, ["bad"]);
    const skip = res.events.find((e) => e.type === "skipped" && e.stage === "after") as Extract<
      EngineEvent,
      { type: "skipped" }
    >;
    assert.deepEqual(skip.reason, { kind: "upstream-failed", upstream: "bad" });
    const fail = res.events.find((e) => e.type === "failed") as Extract<EngineEvent, { type: "failed" }>;
    assert.equal(fail.diagnostics[0]!.code, "QV_TEST_FAIL");
    assert.equal(fail.diagnostics[0]!.location?.line, 5);
    const kg = await r.quiver("run", "f.yaml", "--keep-going", "--jobs", "1");
    assert.equal(kg.code, 1);
    assert.ok([...kg.ran, ...kg.cached].includes("side"), "independent branch ran");
    r.remove();
  });

  test("--until runs only a stage and its ancestors; --force reruns a cached stage", async () => {
    const r = rig();
    const res = await r.quiver("run", "p.yaml", "--until", "plus");
    assert.deepEqual(sorted(res.ran), ["plus", "src"]);
    const forced = await r.quiver("run", "p.yaml", "--until", "plus", "--force", "plus");
    assert.deepEqual(forced.ran, ["plus"]);
    const started = forced.events.find((e) => e.type === "started") as Extract<
      EngineEvent,
      { type: "started" }
    >;
    assert.deepEqual(started.reasons, [{ kind: "forced" }]);
    r.remove();
  });

  test("status explains root causes and cascades without running anything", async () => {
    const r = rig();
    await r.quiver("run", "p.yaml");
    const res = await r.quiver("status", "p.yaml", "--set", "amount=5");
    const planned = res.events.filter(
      (e): e is Extract<EngineEvent, { type: "planned" }> => e.type === "planned",
    );
    const decision = Object.fromEntries(planned.map((e) => [e.stage, e.decision]));
    assert.deepEqual(decision, {
      src: "cached",
      plus: "run",
      clip: "run-if-inputs-change",
      total: "run-if-inputs-change",
      other: "cached",
    });
    assert.deepEqual(res.ran, []);
    r.remove();
  });

  test("gc keeps what the latest run uses and removes the rest", async () => {
    const r = rig();
    // Without a lock file: results a lock references are kept by gc too (test/gc-budget.test.ts).
    await r.quiver("run", "p.yaml", "--no-lock");
    await r.quiver("run", "p.yaml", "--set", "amount=3");
    const before = storeObjects(r.cacheDir).size;
    const { main } = await import("../cli/main.js");
    const out: string[] = [];
    const io = { out: (s: string) => out.push(s), err: (s: string) => out.push(s), color: false };
    assert.equal(await main(["gc", "--cache-dir", r.cacheDir], io), 0);
    assert.ok(storeObjects(r.cacheDir).size < before, out.join("\n"));
    const res = await r.quiver("run", "p.yaml", "--set", "amount=3");
    assert.deepEqual(res.ran, [], "the latest run is still fully cached after gc");
    r.remove();
  });
});
