/**
 * The operations called directly, as the API does: typed options in, typed results out, events
 * through a sink, nothing printed. The command line's own tests cover the same behaviour through
 * argv; these pin what the CLI cannot show: typed sweep values, which run becomes "the latest",
 * and errors as values.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { EngineEvent } from "../engine/events.js";
import { readLastRun } from "../engine/history.js";
import { OpError, PipelineError, UsageError } from "../ops/errors.js";
import { loadPipeline } from "../ops/load.js";
import { run, status } from "../ops/run.js";
import { planSweep, runSweep } from "../ops/sweep.js";
import { verify } from "../ops/verify.js";
import { openStore } from "../ops/store.js";
import { chainRig } from "./support/chain.js";
import { testRegistry } from "./support/test-stages.js";

const registry = testRegistry;

describe("operations", () => {
  test("run and status: typed results and the same events the CLI prints", async () => {
    const r = chainRig();
    const p = loadPipeline(r.path("p.yaml"), { registry });
    const events: EngineEvent[] = [];
    const first = await run(p, { cacheDir: r.cacheDir, jobs: 2, onEvent: (e) => events.push(e) });
    assert.equal(first.ok, true);
    assert.equal(first.lock.state, "written");
    assert.deepEqual(Object.keys(first.keys).sort(), ["clip", "other", "plus", "src", "total"]);
    assert.deepEqual(events, first.events, "the sink saw every event of the result");
    const changed = loadPipeline(r.path("p.yaml"), { registry, params: { amount: 2 } });
    assert.equal(changed.overridden, true);
    const plan = await status(changed, { cacheDir: r.cacheDir });
    const plus = plan.planned.find((s) => s.stage === "plus")!;
    assert.equal(plus.decision, "run");
    assert.equal(plus.cascade, false);
    assert.deepEqual(
      plan.planned.filter((s) => s.cascade).map((s) => s.stage),
      ["clip", "total"],
    );
    assert.ok(plan.lock && "verdicts" in plan.lock, "compared with the lock the first run wrote");
    const explored = await run(changed, { cacheDir: r.cacheDir });
    assert.deepEqual(explored.lock, { state: "skipped", reason: "overrides" });
    r.remove();
  });

  test("a run with recordAsLatest: false leaves the latest run as it was", async () => {
    const r = chainRig();
    const p = loadPipeline(r.path("p.yaml"), { registry });
    await run(p, { cacheDir: r.cacheDir, lock: "never" });
    const { store } = await openStore(r.cacheDir);
    const before = await readLastRun(store, "chain");
    const other = loadPipeline(r.path("p.yaml"), { registry, params: { amount: 5 } });
    const res = await run(other, { cacheDir: r.cacheDir, recordAsLatest: false });
    assert.equal(res.ok, true);
    assert.deepEqual(await readLastRun(store, "chain"), before);
    r.remove();
  });

  test("sweep: typed values (a string that looks like a number stays a string), the latest run untouched", async () => {
    const r = chainRig();
    await run(loadPipeline(r.path("p.yaml"), { registry }), { cacheDir: r.cacheDir, lock: "never" });
    const { store } = await openStore(r.cacheDir);
    const before = await readLastRun(store, "chain");
    const plan = await planSweep(r.path("p.yaml"), {
      registry,
      grid: [{ name: "amount", values: [1, 2, 3] }],
      cacheDir: r.cacheDir,
      jobs: 2,
    });
    assert.deepEqual(
      plan.points.map((p) => [p.values.amount, p.cached]),
      [
        [1, 5],
        [2, 2],
        [3, 2],
      ],
    );
    const report = await runSweep(plan);
    assert.equal(report.failed, 0);
    assert.deepEqual(
      report.table.rows.map((row) => row.cells[0]?.mean),
      [14, 18, 22],
    );
    assert.deepEqual(await readLastRun(store, "chain"), before, "a sweep is not the latest run");
    await assert.rejects(
      planSweep(r.path("p.yaml"), {
        registry,
        grid: [{ name: "amount", values: ["1"] }],
        cacheDir: r.cacheDir,
      }),
      (err: unknown) =>
        err instanceof PipelineError && err.diagnostics.some((d) => d.code === "QV_PARAM_TYPE"),
    );
    r.remove();
  });

  test("errors are values: PipelineError, UsageError, OpError with codes", async () => {
    const r = chainRig();
    assert.throws(
      () => loadPipeline(r.path("missing.yaml"), { registry }),
      (err: unknown) => err instanceof PipelineError && err.diagnostics[0]?.code === "QV_PIPELINE_READ",
    );
    const p = loadPipeline(r.path("p.yaml"), { registry });
    await assert.rejects(run(p, { cacheDir: r.cacheDir, force: ["nope"] }), UsageError);
    await assert.rejects(run(p, { cacheDir: r.cacheDir, executor: "nowhere" }), UsageError);
    await assert.rejects(
      verify(p, { cacheDir: r.cacheDir }),
      (err: unknown) => err instanceof OpError && err.diagnostics[0]?.code === "QV_NO_LOCK",
    );
    r.remove();
  });
});
