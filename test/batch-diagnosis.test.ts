/**
 * How a batch job that ended without a word of its own is diagnosed: Slurm's end states (a node
 * that died, memory, the time limit, someone else's scancel, ...) become located failures with a
 * clear message, from the pure functions the batch runner uses (batch-system.ts `endedFailure`,
 * slurm.ts `explain`) and the head's locating (stage-errors.ts). No cluster is needed: the cluster
 * tests (slurm*.test.ts) check the states a one-node Slurm can produce for real (cancelled, timeout).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { endedFailure, type EndedJob } from "../engine/runners/batch-system.js";
import { slurmSystem } from "../engine/runners/slurm.js";
import { failureDiagnostic } from "../engine/stage-errors.js";
import { loadPipeline } from "../ops/load.js";
import { Rig } from "./support/rig.js";
import { testRegistry } from "./support/test-stages.js";

const PIPELINE = `quiver: 1
name: diag
resources: { time: 30m }
stages:
  src:  { type: source, with: { values: [1, 2] } }
  big:  { type: add, inputs: { table: src }, resources: { memory: 2G, cpus: 2 } }
`;

const slurm = slurmSystem();

function ended(state: string, more: Partial<EndedJob> = {}): EndedJob {
  return {
    id: "4711",
    state: { phase: "ended", state, node: "wn042" },
    resources: { memory: 2048, time: 1800, cpus: 2 },
    started: true,
    hasLog: true,
    tail: "line one\nline two",
    log: "/store/jobs/k/log",
    store: "/store",
    ...more,
  };
}

describe("a batch job that ended without a word", () => {
  const r = Rig.create({ "p.yaml": PIPELINE });
  const { spec } = loadPipeline(r.path("p.yaml"), { registry: testRegistry });
  const big = spec.stages.get("big")!;
  r.remove();

  const diagnose = (j: EndedJob) => failureDiagnostic(endedFailure(slurm, j), big, "/store");

  test("out of memory: at the line of memory:, naming the limit and the node", () => {
    const d = diagnose(ended("OUT_OF_MEMORY"));
    assert.equal(d.code, "QV_JOB_OUT_OF_MEMORY");
    assert.equal(d.location?.line, 6, "the stage's own resources line");
    assert.match(d.message, /^big: Slurm job 4711 ran out of memory \(2G\) on wn042/);
    assert.match(d.message, /its log ends:\nline one\nline two/);
    assert.match(d.message, /\(log: \/store\/jobs\/k\/log\)/);
    assert.match(d.hint ?? "", /resources\.memory/);
  });

  test("time limit: at the line of time: (the pipeline's default here)", () => {
    const d = diagnose(ended("TIMEOUT"));
    assert.equal(d.code, "QV_JOB_TIMEOUT");
    assert.equal(d.location?.line, 3);
    assert.match(d.message, /reached its time limit of 30m on wn042 and was stopped/);
    const none = failureDiagnostic(
      endedFailure(slurm, ended("TIMEOUT", { resources: {} })),
      spec.stages.get("src")!,
    );
    assert.match(none.hint ?? "", /partition's default time limit/);
  });

  test("a node that failed: named, with what to do", () => {
    const d = diagnose(ended("NODE_FAIL"));
    assert.equal(d.code, "QV_JOB_NODE_FAIL");
    assert.match(d.message, /the node wn042 running Slurm job 4711 failed/);
    assert.match(d.hint ?? "", /run again/);
    assert.equal(d.location?.line, 6, "at the stage");
  });

  test("the other end states each have their own code", () => {
    const codes = ["CANCELLED", "PREEMPTED", "BOOT_FAIL", "DEADLINE", "FAILED", "SPECIAL_EXIT"].map(
      (s) => diagnose(ended(s)).code,
    );
    assert.deepEqual(codes, [
      "QV_JOB_CANCELLED",
      "QV_JOB_PREEMPTED",
      "QV_JOB_BOOT_FAIL",
      "QV_JOB_DEADLINE",
      "QV_EXEC_FAILED",
      "QV_JOB_FAILED",
    ]);
    assert.match(diagnose(ended("CANCELLED")).message, /not by this run/);
    assert.equal(slurm.explain("1", { phase: "ended", state: "COMPLETED" }, {}), undefined);
  });

  test("nothing in the store at all: the store is not shared with the nodes", () => {
    const d = diagnose(ended("FAILED", { started: false, hasLog: false, tail: "" }));
    assert.equal(d.code, "QV_STORE_NOT_SHARED");
    assert.match(d.message, /without writing anything to the store \/store/);
    // A job cancelled before it started has no log either, and is no proof of that.
    assert.equal(diagnose(ended("CANCELLED", { started: false, hasLog: false })).code, "QV_JOB_CANCELLED");
  });

  test("a log but no start: quiver exec did not start on the node", () => {
    const d = diagnose(ended("COMPLETED", { started: false }));
    assert.equal(d.code, "QV_EXEC_FAILED");
    assert.match(d.message, /quiver exec did not start in Slurm job 4711 on wn042/);
    assert.match(d.hint ?? "", /same Quiver/);
  });

  test("a job the batch system forgot: lost, with its log", () => {
    const d = diagnose(ended("COMPLETED", { state: undefined }));
    assert.equal(d.code, "QV_JOB_LOST");
    assert.match(d.message, /Slurm no longer knows Slurm job 4711/);
  });
});
