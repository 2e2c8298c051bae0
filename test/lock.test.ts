/** The lock file: written by run, deterministic, compared by status, checked by verify. */
import assert from "node:assert/strict";
import fs from "node:fs";
import { describe, test } from "node:test";
import { main } from "../cli/main.js";
import { headlineMetrics, lockPathFor } from "../engine/lock-file.js";
import { Rig } from "./support/rig.js";
import { CHAIN_PIPELINE, chainRig } from "./support/chain.js";
import { testRegistry } from "./support/test-stages.js";

const PIPELINE = CHAIN_PIPELINE;

const rig = chainRig;

interface Lock {
  stages: Record<
    string,
    { key: string; outputs: Record<string, { hash: string }>; metrics: Record<string, number> }
  >;
}

/** Human-readable output (no --json), in-process. */
async function text(r: Rig, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const [cmd, pipeline, ...rest] = args;
  const code = await main(
    [cmd!, r.path(pipeline!), ...rest],
    { out: (s) => out.push(s), err: (s) => err.push(s), color: false },
    testRegistry,
  );
  return { code, out: out.join("\n"), err: err.join("\n") };
}

function lineOf(out: string, stage: string): string {
  return out.split("\n").find((l) => new RegExp(`^  \\S ${stage}\\s`).test(l)) ?? "";
}

describe("lock file", () => {
  test("lives next to the pipeline with the extension replaced", () => {
    assert.equal(lockPathFor("pipelines/demo.yaml"), "pipelines/demo.lock");
    assert.equal(lockPathFor("a/b.yml"), "a/b.lock");
  });

  test("run writes it; an unchanged rerun leaves the identical file; no times in it", async () => {
    const r = rig();
    assert.equal((await r.quiver("run", "p.yaml")).code, 0);
    const first = r.read("p.lock");
    const lock = JSON.parse(first) as Lock;
    assert.deepEqual(Object.keys(lock.stages).sort(), ["clip", "other", "plus", "src", "total"]);
    assert.deepEqual(lock.stages.total!.metrics, { "metrics.sum": 14 });
    assert.doesNotMatch(first, /\d{4}-\d\d-\d\dT|durationMs|createdAt/);
    assert.doesNotMatch(first, new RegExp(r.dir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")));
    const again = await r.quiver("run", "p.yaml");
    assert.deepEqual(again.ran, []);
    assert.equal(r.read("p.lock"), first);
    // A different store (another machine) computes the identical lock.
    const other = rig();
    await other.quiver("run", "p.yaml");
    assert.equal(other.read("p.lock"), first);
    r.remove();
    other.remove();
  });

  test("overrides, --no-lock and failed runs leave the lock alone; --write-lock records overrides", async () => {
    const r = rig();
    await r.quiver("run", "p.yaml");
    const before = r.read("p.lock");
    const explored = await text(r, "run", "p.yaml", "--set", "amount=3");
    assert.equal(explored.code, 0);
    assert.match(explored.out, /lock file not updated: this run has --set\/--params overrides/);
    assert.equal(r.read("p.lock"), before);
    r.write("p.yaml", PIPELINE.replace("amount: 1,", "amount: 5,"));
    await r.quiver("run", "p.yaml", "--no-lock");
    assert.equal(r.read("p.lock"), before);
    r.write("p.yaml", PIPELINE);
    fs.rmSync(r.path("data/numbers.txt"));
    const failed = await r.quiver("run", "p.yaml", "--set", "amount=4", "--write-lock");
    assert.notEqual(failed.code, 0);
    assert.equal(r.read("p.lock"), before);
    r.write("data/numbers.txt", "1 2 3 4\n");
    await r.quiver("run", "p.yaml", "--set", "amount=4", "--write-lock");
    assert.equal((JSON.parse(r.read("p.lock")) as Lock).stages.total!.metrics["metrics.sum"], 26);
    r.remove();
  });

  test("status compares with the lock: matches, differs (param, upstream), output bytes, not run", async () => {
    const r = rig();
    await r.quiver("run", "p.yaml");
    let s = await text(r, "status", "p.yaml");
    assert.equal(s.code, 0);
    assert.match(s.out, /^params: amount=1 \(pipeline\), max=100 \(pipeline\) · seed 7$/m);
    for (const st of ["src", "plus", "clip", "total", "other"])
      assert.match(lineOf(s.out, st), /matches lock$/);
    assert.match(s.out, /lock .*p\.lock: 5 match$/m);

    s = await text(r, "status", "p.yaml", "--set", "amount=2");
    assert.match(s.out, /amount=2 \(--set\)/);
    assert.match(lineOf(s.out, "plus"), /differs: param amount 1 → 2$/);
    assert.match(lineOf(s.out, "clip"), /differs: upstream plus differs$/);
    assert.match(lineOf(s.out, "src"), /matches lock$/);
    assert.match(s.out, /: 2 match, 3 differ$/m);

    // Same key, other bytes: what a nondeterministic stage looks like.
    const lock = JSON.parse(r.read("p.lock")) as Lock;
    lock.stages.other!.outputs.metrics!.hash = "0123456789abcdef";
    r.write("p.lock", JSON.stringify(lock));
    s = await text(r, "status", "p.yaml");
    assert.match(lineOf(s.out, "other"), /differs: output bytes of metrics/);

    // Another store: nothing run there yet.
    s = await text(r, "status", "p.yaml", "--cache-dir", r.path("elsewhere"));
    assert.match(lineOf(s.out, "src"), /not run \(same fingerprint as the lock/);
    assert.match(lineOf(s.out, "total"), /not run \(waits for clip\)/);
    r.remove();
  });

  test("a lock whose fingerprint was edited is reported, not trusted", async () => {
    const r = rig();
    await r.quiver("run", "p.yaml");
    r.write("p.lock", r.read("p.lock").replace('"amount": 1', '"amount": 5'));
    const s = await text(r, "status", "p.yaml");
    assert.equal(s.code, 0);
    assert.match(s.out, /not compared: .*stage plus: the fingerprint does not hash to key/);
    const v = await text(r, "verify", "p.yaml");
    assert.equal(v.code, 1);
    assert.match(v.err, /QV_LOCK_FILE/);
    r.remove();
  });
});

describe("quiver verify", () => {
  test("reruns every stage: all bit-identical", async () => {
    const r = rig();
    await r.quiver("run", "p.yaml");
    const v = await text(r, "verify", "p.yaml");
    assert.equal(v.code, 0, v.err);
    assert.match(v.out, /rerunning 5 of 5 stage/);
    assert.match(v.out, /5 bit-identical, 0 within tolerance 1e-6, 0 differ/);
    r.remove();
  });

  test("--sample N reruns N stages, the same ones for the same --seed", async () => {
    const r = rig();
    await r.quiver("run", "p.yaml");
    const a = await text(r, "verify", "p.yaml", "--sample", "2", "--seed", "3");
    const b = await text(r, "verify", "p.yaml", "--sample", "2", "--seed", "3");
    assert.match(a.out, /rerunning 2 of 5/);
    const stagesOf = (out: string) => out.split("\n").filter((l) => l.endsWith("bit-identical"));
    assert.equal(stagesOf(a.out).length, 2);
    assert.deepEqual(stagesOf(a.out), stagesOf(b.out));
    r.remove();
  });

  test("metrics within tolerance pass; beyond it, or other bytes, fail", async () => {
    const r = rig();
    await r.quiver("run", "p.yaml");
    const lock = JSON.parse(r.read("p.lock")) as Lock;
    // The lock's full metrics object is not in the store: only its headline numbers are compared.
    lock.stages.total!.outputs.metrics!.hash = "00000000000000aa";
    lock.stages.total!.metrics["metrics.sum"] = 14 * (1 + 1e-9);
    r.write("p.lock", JSON.stringify(lock));
    let v = await text(r, "verify", "p.yaml");
    assert.equal(v.code, 0, v.out);
    assert.match(v.out, /total\s+metrics within tolerance/);
    assert.match(v.out, /4 bit-identical, 1 within tolerance/);

    lock.stages.total!.metrics["metrics.sum"] = 15;
    r.write("p.lock", JSON.stringify(lock));
    v = await text(r, "verify", "p.yaml");
    assert.equal(v.code, 1);
    assert.match(v.out, /total\s+metrics differs \(sum: relative difference/);

    lock.stages.src!.outputs.table!.hash = "00000000000000bb";
    r.write("p.lock", JSON.stringify(lock));
    v = await text(r, "verify", "p.yaml", "--tolerance", "0.1");
    assert.match(v.out, /src\s+table differs/);
    assert.match(v.out, /1 within tolerance 0\.1, 1 differ/);
    r.remove();
  });

  test("without a lock: a clear error", async () => {
    const r = rig();
    const v = await text(r, "verify", "p.yaml");
    assert.equal(v.code, 1);
    assert.match(v.err, /QV_NO_LOCK: no lock file .*p\.lock/);
    r.remove();
  });
});

describe("headline metrics", () => {
  test("numeric leaves outside arrays, timing fields left out, shallowest first when bounded", () => {
    const m = {
      auc: 0.9,
      training_seconds: 3.2,
      curve: [1, 2, 3],
      scores: { nn: { auc: 0.8, deep: { deeper: 1 } } },
      name: "x",
      nan: "NaN",
    };
    assert.deepEqual(headlineMetrics(m, "metrics"), {
      "metrics.auc": 0.9,
      "metrics.scores.nn.auc": 0.8,
      "metrics.scores.nn.deep.deeper": 1,
    });
    assert.deepEqual(Object.keys(headlineMetrics(m, "m", 2)), ["m.auc", "m.scores.nn.auc"]);
  });
});
