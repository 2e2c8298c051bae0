/**
 * Stages as Slurm batch jobs, on a real (one-node) cluster: test/support/slurm/start.sh starts it
 * and .ci/run exports its SLURM_CONF; without one these tests skip and say why. The head runs as a
 * child process (its node binary and CLI are what the nodes run), with the engine-test stages.
 *
 * The time-limit test is in slurm-timeout.test.ts, so that its minute runs beside these.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test, type TestContext } from "node:test";
import type { EngineEvent } from "../engine/events.js";
import { Rig, repoRoot, storeObjects } from "./support/rig.js";
import {
  jobsNamed,
  leftInQueue,
  runHead,
  slurmUnavailable,
  stillInQueue,
  stopHeads,
  watch,
} from "./support/slurm.js";

const unavailable = slurmUnavailable();
const dataDir = path.resolve(repoRoot, "..", "shared", "data", "atlas_dm_ml_notebook");

function skipped(t: TestContext): boolean {
  if (unavailable) t.skip(`no Slurm cluster: ${unavailable}`);
  return unavailable !== undefined;
}

const located = (events: EngineEvent[]) =>
  events.flatMap((e) =>
    e.type === "failed"
      ? e.diagnostics.map((d) => [e.stage, d.code, d.location?.line, d.location?.col] as const)
      : [],
  );

const SLOW = `quiver: 1
name: slow
stages:
  a: { type: source, with: { values: [1], sleep_ms: 120000 } }
  b: { type: source, with: { values: [2], sleep_ms: 120000 } }
  c: { type: source, with: { values: [3], sleep_ms: 120000 } }
  after: { type: add, inputs: { table: a } }
`;

// Two groups side by side: stages that compute (their jobs share the cluster's cores), and the
// queue's behaviour (slow jobs cancelled one way or another), one test at a time so that their
// sleeping jobs never hold every core while another test waits for one.
// Bounded: a test over its time limit fails, and the heads it left are stopped (their jobs cancelled).
after(stopHeads);

describe("stages as Slurm jobs", { concurrency: true, timeout: 12 * 60_000 }, () => {
  describe("results", { concurrency: true }, () => {
    test("demo: the same lock and objects as a local run, a second run submits nothing", async (t) => {
      if (skipped(t)) return;
      const local = Rig.create({
        "demo.yaml": fs.readFileSync(path.join(repoRoot, "pipelines", "demo.yaml"), "utf8"),
      });
      const cluster = Rig.create({ "demo.yaml": local.read("demo.yaml") });
      try {
        const [a, b] = await Promise.all([
          runHead(local, "run", "demo.yaml"),
          runHead(cluster, "run", "demo.yaml", "--executor", "slurm"),
        ]);
        assert.equal(a.code, 0, a.stderr);
        assert.equal(b.code, 0, b.stderr);
        const queued = b.events.filter((e) => e.type === "queued");
        assert.equal(queued.length, b.ran.length, "every stage that ran was a Slurm job");
        assert.ok(
          queued.some((e) => e.type === "queued" && e.id.includes("_")),
          "siblings went out as an array",
        );
        assert.equal(cluster.read("demo.lock"), local.read("demo.lock"), "byte-identical lock files");
        assert.equal(
          cluster.read("demo.lock"),
          fs.readFileSync(path.join(repoRoot, "pipelines", "demo.lock"), "utf8"),
        );
        assert.deepEqual(
          storeObjects(cluster.cacheDir),
          storeObjects(local.cacheDir),
          "byte-identical objects",
        );
        assert.deepEqual(
          fs.readdirSync(path.join(cluster.cacheDir, "jobs")),
          [],
          "no job folder left behind",
        );
        const again = await runHead(cluster, "run", "demo.yaml", "--executor", "slurm");
        assert.equal(again.code, 0, again.stderr);
        assert.deepEqual(again.ran, []);
        assert.equal(
          again.events.filter((e) => e.type === "queued").length,
          0,
          "a cached run submits nothing",
        );
      } finally {
        local.remove();
        cluster.remove();
      }
    });

    test("dark-matter: the committed lock, computed on the cluster", async (t) => {
      if (skipped(t)) return;
      if (!fs.existsSync(path.join(dataDir, "DM_300.csv"))) {
        t.skip(`data not present: ${path.relative(repoRoot, dataDir)} (see ../shared/data/README.md)`);
        return;
      }
      // The pipeline reads ../../shared/data from its folder: a copy two levels below a folder where
      // `shared` leads to the real one finds the same files (same content hashes, same keys).
      const r = Rig.create({
        "x/pipelines/dark-matter.yaml": fs.readFileSync(
          path.join(repoRoot, "pipelines", "dark-matter.yaml"),
          "utf8",
        ),
      });
      fs.symlinkSync(path.resolve(repoRoot, "..", "shared"), r.path("shared"));
      try {
        const res = await runHead(r, "run", "x/pipelines/dark-matter.yaml", "--executor", "slurm");
        assert.equal(res.code, 0, res.stderr);
        assert.equal(res.ran.length, 32, "every stage of the pipeline ran, as a Slurm job");
        assert.equal(
          r.read("x/pipelines/dark-matter.lock"),
          fs.readFileSync(path.join(repoRoot, "pipelines", "dark-matter.lock"), "utf8"),
          "byte-identical to the lock of a local run",
        );
      } finally {
        r.remove();
      }
    });

    test("a stage failing on a node reads as it does here: its code and location", async (t) => {
      if (skipped(t)) return;
      const pipeline = `quiver: 1
name: failing
stages:
  events: { type: generate, with: { signal: 200, background: 200 } }
  cuts:   { type: select, inputs: { table: events }, with: { cuts: [{ name: c, where: "lep1_pt > 20 && nope > 1" }] } }
  bad:    { type: fail, inputs: { table: events }, with: { message: "no good" } }
  boom:   { type: crash, inputs: { table: events }, with: { code: 3 } }
`;
      const local = Rig.create({ "p.yaml": pipeline.replace(/\n {2}boom:.*\n/, "\n") });
      const isolated = Rig.create({ "p.yaml": pipeline });
      const cluster = Rig.create({ "p.yaml": pipeline });
      try {
        const [a, b, c] = await Promise.all([
          runHead(local, "run", "p.yaml", "--keep-going"),
          runHead(isolated, "run", "p.yaml", "--keep-going", "--isolate"),
          runHead(cluster, "run", "p.yaml", "--keep-going", "--executor", "slurm"),
        ]);
        assert.equal(c.code, 1);
        const byStage = (r: typeof a) => new Map(located(r.events).map((l) => [l[0], l]));
        // A StageError: exactly as in-process (the expression's column, the param's line).
        assert.deepEqual(byStage(c).get("cuts"), ["cuts", "QV_EXPR_UNKNOWN_COLUMN", 5, 104]);
        assert.deepEqual(byStage(c).get("cuts"), byStage(a).get("cuts"));
        assert.deepEqual(byStage(c).get("bad"), byStage(a).get("bad"));
        // A process that dies (exit 3): as under --isolate, with the last lines of its log.
        assert.deepEqual(byStage(c).get("boom"), byStage(b).get("boom"));
        assert.deepEqual(byStage(c).get("boom"), ["boom", "QV_EXEC_FAILED", 7, 3]);
        const boom = c.events.find((e) => e.type === "failed" && e.stage === "boom");
        assert.ok(boom?.type === "failed");
        assert.match(boom.diagnostics[0]!.message, /crash stage boom: exiting with 3/);
        // The failed jobs keep their folders (failure record, events, log) until the next attempt or gc.
        const kept = fs.readdirSync(path.join(cluster.cacheDir, "jobs")).filter((n) => !n.startsWith("@"));
        assert.equal(kept.length, 3);
        const gc = await runHead(cluster, "gc", "p.yaml");
        assert.equal(gc.code, 0, gc.stderr);
        // --json: the text goes to standard error, the counts are in the document on standard output.
        assert.match(gc.stderr, /3 finished job folder\(s\)/);
        const gcDoc = JSON.parse(gc.stdout) as { stores: { jobs: number }[] };
        assert.equal(gcDoc.stores[0]?.jobs, 3);
        assert.deepEqual(fs.readdirSync(path.join(cluster.cacheDir, "jobs")), []);
      } finally {
        local.remove();
        isolated.remove();
        cluster.remove();
      }
    });

    test("cpus reach the stage as its threads; its progress and notes come back through the store", async (t) => {
      if (skipped(t)) return;
      const r = Rig.create({
        "p.yaml": `quiver: 1
name: threads
stages:
  one: { type: threads, with: { tag: one } }
  two: { type: threads, with: { tag: two }, resources: { cpus: 2 } }
  here: { type: threads, with: { tag: here }, resources: { local: true, cpus: 2 } }
`,
      });
      try {
        const res = await runHead(r, "run", "p.yaml", "--executor", "slurm", "--jobs", "3");
        assert.equal(res.code, 0, res.stderr);
        const metrics = async (stage: string) => {
          const show = await runHead(r, "show", "p.yaml", `${stage}.metrics`);
          const { value } = JSON.parse(show.stdout) as { value: { jobs: number; cpus: number } };
          return { jobs: value.jobs, cpus: value.cpus };
        };
        assert.deepEqual(await metrics("one"), { jobs: 1, cpus: 1 });
        assert.deepEqual(await metrics("two"), { jobs: 2, cpus: 2 });
        assert.deepEqual(
          await metrics("here"),
          { jobs: 3, cpus: 0 },
          "a local stage runs in the head with --jobs",
        );
        assert.deepEqual(
          res.events
            .filter((e) => e.type === "queued")
            .map((e) => e.stage)
            .sort(),
          ["one", "two"],
        );
        for (const stage of ["one", "two"]) {
          assert.ok(
            res.events.some((e) => e.type === "note" && e.stage === stage && /running with/.test(e.message)),
          );
          assert.ok(res.events.some((e) => e.type === "progress" && e.stage === stage && e.fraction === 0.5));
        }
      } finally {
        r.remove();
      }
    });

    test("a sweep of 10 points: stages ready together go out as arrays, with the results of a local sweep", async (t) => {
      if (skipped(t)) return;
      const pipeline = `quiver: 1
name: arrays
params: { amount: 1 }
stages:
  src:   { type: source, with: { values: [1, 2, 3] } }
  plus:  { type: add, inputs: { table: src }, with: { amount: "\${amount}" } }
  total: { type: sum, inputs: { table: plus } }
`;
      const local = Rig.create({ "p.yaml": pipeline });
      const cluster = Rig.create({ "p.yaml": pipeline });
      const before = new Set(jobsNamed("quiver-arrays-").keys());
      try {
        const [a, b] = await Promise.all([
          runHead(local, "sweep", "p.yaml", "--grid", "amount=1..10"),
          runHead(cluster, "sweep", "p.yaml", "--grid", "amount=1..10", "--executor", "slurm"),
        ]);
        assert.equal(a.code, 0, a.stderr);
        assert.equal(b.code, 0, b.stderr);
        // The metrics table of each sweep, without its wall time (a cluster's is longer).
        const table = (out: string) => {
          const line = out.split("\n").find((l) => l.includes('"sweep-metrics"'));
          if (line === undefined) return undefined;
          const doc = JSON.parse(line) as { durationMs?: number };
          delete doc.durationMs;
          return JSON.stringify(doc);
        };
        assert.equal(table(b.stdout), table(a.stdout));
        assert.match(table(b.stdout) ?? "", /"point":"amount=10","cells":\[\{"mean":36,/);
        assert.deepEqual(storeObjects(cluster.cacheDir), storeObjects(local.cacheDir));
        // 1 src + 10 plus + 10 total jobs under one name; the plus jobs, ready together, as arrays.
        const jobs = new Map([...jobsNamed("quiver-arrays-")].filter(([id]) => !before.has(id)));
        assert.equal(new Set(jobs.values()).size, 1, "one job name for the whole sweep");
        assert.equal(jobs.size, 21);
        const tasks = new Map<string, number>();
        for (const id of jobs.keys()) tasks.set(id.split("_")[0]!, (tasks.get(id.split("_")[0]!) ?? 0) + 1);
        assert.ok(
          Math.max(...tasks.values()) >= 3,
          `submissions of ${[...tasks.values()].join(", ")} job(s)`,
        );
      } finally {
        local.remove();
        cluster.remove();
      }
    });

    test("pack: stages ready together share batch jobs; one failing in a pack reads as it does alone", async (t) => {
      if (skipped(t)) return;
      // Ten stages ready together with the same request and pack: 4 → three batch jobs (4, 3, 3),
      // each running its stages one after another in one `quiver exec`; one of them fails.
      const adds = Array.from(
        { length: 9 },
        (_, i) =>
          `  a${i}: { type: add, inputs: { table: src }, with: { amount: ${i} }, resources: { pack: 4, time: 2m } }`,
      );
      const pipeline = `quiver: 1
name: packs
stages:
  src: { type: source, with: { values: [1, 2, 3] } }
${adds.join("\n")}
  bad: { type: fail, inputs: { table: src }, with: { message: "no good" }, resources: { pack: 4, time: 2m } }
`;
      const local = Rig.create({ "p.yaml": pipeline });
      const cluster = Rig.create({ "p.yaml": pipeline });
      try {
        const [a, b] = await Promise.all([
          runHead(local, "run", "p.yaml", "--keep-going"),
          runHead(cluster, "run", "p.yaml", "--keep-going", "--executor", "slurm"),
        ]);
        assert.equal(a.code, 1);
        assert.equal(b.code, 1, b.stderr);
        const where = (r: typeof a) => located(r.events).find((l) => l[0] === "bad");
        assert.deepEqual(where(b), where(a));
        assert.equal(where(b)?.[1], "QV_TEST_FAIL");
        assert.deepEqual(b.ran.sort(), a.ran.sort(), "every other stage of the packs finished");
        assert.deepEqual(storeObjects(cluster.cacheDir), storeObjects(local.cacheDir));
        const ids = new Map<string, number>();
        for (const e of b.events)
          if (e.type === "queued" && e.stage !== "src") ids.set(e.id, (ids.get(e.id) ?? 0) + 1);
        assert.deepEqual(
          [...ids.values()].sort(),
          [3, 3, 4],
          `batch jobs ${JSON.stringify([...ids])}: ten stages in three, as one array`,
        );
        assert.equal(new Set([...ids.keys()].map((id) => id.split("_")[0])).size, 1);
        // A batch job runs its stages one after another: its time limit covers all of them (one
        // array, one limit: the largest pack's, 4 × 2 minutes).
        const limits = spawnSync(
          "squeue",
          ["-h", "-r", "-t", "all", "-j", [...ids.keys()].join(","), "-o", "%i|%l"],
          {
            encoding: "utf8",
          },
        );
        const lines = limits.stdout.trim().split("\n");
        assert.equal(lines.length, 3, limits.stdout + limits.stderr);
        for (const line of lines) assert.equal(line.split("|")[1], "8:00", line);
      } finally {
        local.remove();
        cluster.remove();
      }
    });

    test("the first job proves the nodes see the store, or says they do not", (t) => {
      if (skipped(t)) return;
      // The head in its own mount namespace, with the store on a tmpfs only it sees.
      const probe = spawnSync("unshare", ["-m", "--propagation", "private", "true"]);
      if (probe.status !== 0) {
        t.skip("cannot make a private mount namespace here (unshare -m needs root)");
        return;
      }
      const r = Rig.create({ "p.yaml": SLOW.replace(/sleep_ms: 120000/g, "sleep_ms: 0") });
      const hidden = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-hidden-"));
      try {
        const res = spawnSync(
          "unshare",
          [
            "-m",
            "--propagation",
            "private",
            "sh",
            "-c",
            `mount -t tmpfs tmpfs "$1" && exec "$2" "$3" run "$4" --json --executor slurm --cache-dir "$1/store"`,
            "sh",
            hidden,
            process.execPath,
            path.join(repoRoot, "dist", "test", "support", "test-cli.js"),
            r.path("p.yaml"),
          ],
          { encoding: "utf8" },
        );
        assert.equal(res.status, 1, res.stderr);
        const events = res.stdout
          .split("\n")
          .filter((l) => l.startsWith("{"))
          .map((l) => JSON.parse(l) as EngineEvent);
        const codes = located(events).map((l) => l[1]);
        assert.ok(codes.length >= 1 && codes.every((c) => c === "QV_STORE_NOT_SHARED"), codes.join(", "));
        const failed = events.find((e) => e.type === "failed");
        assert.ok(failed?.type === "failed");
        assert.match(failed.diagnostics[0]!.message, new RegExp(`the store ${hidden}/store`));
      } finally {
        fs.rmSync(hidden, { recursive: true, force: true });
        r.remove();
      }
    });
  });

  describe("the queue", { concurrency: 1 }, () => {
    test("resources and site flags reach sbatch; a job cancelled from outside (scancel) is reported as cancelled", async (t) => {
      if (skipped(t)) return;
      // The cluster's default partition, named explicitly as a stage would at a site.
      const partition = spawnSync("sinfo", ["-h", "-o", "%P"], { encoding: "utf8" })
        .stdout.split("\n")
        .find((p) => p.endsWith("*"))!
        .slice(0, -1);
      const r = Rig.create({
        "p.yaml": `quiver: 1
name: slow
resources: { time: 7m }
stages:
  a: { type: source, with: { values: [1], sleep_ms: 120000 }, resources: { memory: 300M, partition: ${partition} } }
`,
      });
      try {
        const run = watch(["run", r.path("p.yaml"), "--json", "--executor", "slurm"], {
          env: { QUIVER_SLURM_FLAGS: "--comment=from-the-site --nice=10" },
        });
        await run.until((es) => es.some((e) => e.type === "queued"));
        const [id] = run.queuedIds();
        const job = spawnSync("scontrol", ["show", "job", "-o", id!], { encoding: "utf8" }).stdout;
        const field = (name: string) => new RegExp(`\\b${name}=(\\S+)`).exec(job)?.[1];
        assert.deepEqual(
          {
            time: field("TimeLimit"),
            memory: field("MinMemoryNode"),
            partition: field("Partition"),
            cpus: field("CPUs/Task"),
            comment: field("Comment"),
            nice: field("Nice"),
          },
          {
            time: "00:07:00",
            memory: "300M",
            partition,
            cpus: "1",
            comment: "from-the-site",
            nice: "10",
          },
          job,
        );
        spawnSync("scancel", [id!]);
        const res = await run.done;
        assert.equal(res.code, 1, res.stdout + res.stderr);
        assert.deepEqual(located(res.events), [["a", "QV_JOB_CANCELLED", 5, 3]]);
        assert.deepEqual(await leftInQueue([id!]), []);
      } finally {
        r.remove();
      }
    });

    for (const signal of ["SIGINT", "SIGTERM"] as const)
      test(`${signal} on the head takes every job of the run out of the queue, and the run's record says so`, async (t) => {
        if (skipped(t)) return;
        const r = Rig.create({ "p.yaml": SLOW });
        try {
          const run = watch(["run", r.path("p.yaml"), "--json", "--executor", "slurm"]);
          await run.until((es) => es.filter((e) => e.type === "queued").length === 3);
          const ids = run.queuedIds();
          assert.ok(stillInQueue(ids).length > 0, "the jobs are in the queue");
          run.child.kill(signal);
          const res = await run.done;
          assert.equal(res.code, 130, res.stdout + res.stderr);
          assert.deepEqual(await leftInQueue(ids), [], "nothing left pending or running");
          assert.deepEqual(res.ran, [], res.stdout + res.stderr);
          // Every stage is skipped; those whose job was in the queue name the job that was cancelled.
          const skips = (events: EngineEvent[]) =>
            events
              .flatMap((e) => {
                if (e.type !== "skipped") return [];
                const r = e.reason;
                const id =
                  r.kind === "interrupted" || r.kind === "stopped" ? (r.cancelled?.id ?? null) : null;
                return [[e.stage, id] as const];
              })
              .sort();
          const queued = new Map(res.events.flatMap((e) => (e.type === "queued" ? [[e.stage, e.id]] : [])));
          const expected = [
            ["a", queued.get("a")],
            ["after", null],
            ["b", queued.get("b")],
            ["c", queued.get("c")],
          ];
          assert.deepEqual(skips(res.events), expected, "each job's cancellation, with its Slurm id");
          const recordDir = path.join(r.cacheDir, "records");
          const file = fs.readdirSync(recordDir).find((f) => f.startsWith("events-slow"));
          assert.ok(file, "the run's events are recorded in the store");
          const recorded = JSON.parse(fs.readFileSync(path.join(recordDir, file), "utf8")) as {
            events: EngineEvent[];
          };
          assert.deepEqual(skips(recorded.events), expected);
        } finally {
          r.remove();
        }
      });

    test("a failure without --keep-going cancels the run's other jobs", async (t) => {
      if (skipped(t)) return;
      // The slow job is queued first; `bad` fails a few seconds later, beside it (one core each).
      const r = Rig.create({
        "p.yaml": `quiver: 1
name: stop
stages:
  src:   { type: source, with: { values: [1] } }
  slow:  { type: add, inputs: { table: src }, with: { sleep_ms: 120000 } }
  after: { type: add, inputs: { table: slow } }
  wait:  { type: source, with: { values: [2], sleep_ms: 4000 } }
  bad:   { type: fail, inputs: { table: wait } }
`,
      });
      try {
        const run = watch(["run", r.path("p.yaml"), "--json", "--executor", "slurm"]);
        const res = await run.done;
        assert.equal(res.code, 1, res.stderr);
        assert.deepEqual(res.failed, ["bad"]);
        const slow = res.events.find((e) => e.type === "queued" && e.stage === "slow");
        assert.ok(slow?.type === "queued", "the slow job was submitted before bad failed");
        assert.deepEqual(await leftInQueue([slow.id]), [], "and cancelled when it did");
        assert.deepEqual(res.skipped.sort(), ["after", "slow"]);
      } finally {
        r.remove();
      }
    });

    test("clean refuses while jobs of a run are queued; gc keeps their folders", async (t) => {
      if (skipped(t)) return;
      const r = Rig.create({ "p.yaml": SLOW });
      try {
        const run = watch(["run", r.path("p.yaml"), "--json", "--until", "a", "--executor", "slurm"]);
        await run.until((es) => es.some((e) => e.type === "queued"));
        // The head is killed outright (it cannot cancel): its job stays in the queue.
        run.child.kill("SIGKILL");
        await run.done;
        const [id] = run.queuedIds();
        assert.deepEqual(stillInQueue([id!]), [id]);
        const clean = await runHead(r, "clean", "p.yaml", "--yes");
        assert.equal(clean.code, 1);
        assert.match(clean.stderr, /QV_JOBS_QUEUED/);
        assert.match(clean.stderr, /scancel --name=quiver-slow-/);
        assert.ok(fs.existsSync(r.cacheDir), "the store is still there");
        // Queued, gc keeps the job's folder; once the job runs, its `quiver exec` is registered as
        // using the store and gc waits its turn (QV_STORE_BUSY). Either way the folder stays.
        const gc = await runHead(r, "gc", "p.yaml");
        if (gc.code !== 0) assert.match(gc.stderr, /QV_STORE_BUSY: .*quiver exec/, gc.stderr);
        assert.equal(
          fs.readdirSync(path.join(r.cacheDir, "jobs")).length,
          1,
          "the queued job's folder is kept",
        );
        spawnSync("scancel", [id!]);
        for (let i = 0; i < 40 && stillInQueue([id!]).length; i++)
          await new Promise((res) => setTimeout(res, 250));
        const gc2 = await runHead(r, "gc", "p.yaml");
        assert.equal(gc2.code, 0, gc2.stderr);
        assert.deepEqual(fs.readdirSync(path.join(r.cacheDir, "jobs")), []);
        const clean2 = await runHead(r, "clean", "p.yaml", "--yes");
        assert.equal(clean2.code, 0, clean2.stderr);
        assert.ok(!fs.existsSync(r.cacheDir));
      } finally {
        r.remove();
      }
    });
  });
});
