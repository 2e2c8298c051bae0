/**
 * A stage that outlives its time limit on the cluster: Slurm stops it (TIMEOUT) and the run says so
 * at the line of the limit. Slurm's limits are whole minutes and it checks them about every half
 * minute, so this takes one to two minutes of mostly waiting; it is its own file to run beside the
 * other tests. Skips without a cluster (see slurm.test.ts).
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { Rig } from "./support/rig.js";
import { runHead, slurmUnavailable, stopHeads } from "./support/slurm.js";

after(stopHeads);

test(
  "a job over its time limit is reported as a TIMEOUT at the limit's line",
  { timeout: 6 * 60_000 },
  async (t) => {
    const unavailable = slurmUnavailable();
    if (unavailable) {
      t.skip(`no Slurm cluster: ${unavailable}`);
      return;
    }
    const r = Rig.create({
      "p.yaml": `quiver: 1
name: timeout
stages:
  slow:
    type: source
    with: { values: [1], sleep_ms: 300000 }
    resources: { time: 1m }
`,
    });
    try {
      const res = await runHead(r, "run", "p.yaml", "--executor", "slurm");
      assert.equal(res.code, 1);
      const failed = res.events.find((e) => e.type === "failed");
      assert.ok(failed?.type === "failed", res.stderr);
      const d = failed.diagnostics[0]!;
      assert.equal(d.code, "QV_JOB_TIMEOUT");
      assert.deepEqual([d.location?.line, d.location?.col], [7, 24], "at `time: 1m`");
      assert.match(d.message, /reached its time limit of 1m/);
      assert.match(d.message, /DUE TO TIME LIMIT/, "with the last lines of its log");
      assert.match(d.hint ?? "", /raise resources\.time/);
    } finally {
      r.remove();
    }
  },
);
