/**
 * Resources (`resources: { cpus, memory, time, partition, local, pack }`) and the site settings of batch
 * runners: parsed with located errors, merged stage > pipeline > site, and never part of a cache key
 * — moving a stage to a bigger node reruns nothing. No batch system is needed here.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { main } from "../cli/main.js";
import { parseDuration, parseMemory, slurmTime } from "../engine/pipeline/resources.js";
import { readSiteSettings, SiteConfigError } from "../engine/runners/site.js";
import { loadPipeline } from "../ops/load.js";
import { CHAIN_PIPELINE, chainRig } from "./support/chain.js";
import { Rig } from "./support/rig.js";
import { testRegistry } from "./support/test-stages.js";

const WITH_RESOURCES = CHAIN_PIPELINE.replace(
  "params: { amount: 1, max: 100 }",
  "params: { amount: 1, max: 100 }\nresources: { cpus: 2, memory: 4G, time: 2h, partition: short }",
).replace(
  'plus:  { type: add, inputs: { table: src }, with: { amount: "${amount}" } }',
  'plus:  { type: add, inputs: { table: src }, with: { amount: "${amount}" }, resources: { cpus: 8, memory: 512M, local: true } }',
);

async function quiver(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    argv,
    { out: (s) => out.push(s), err: (s) => err.push(s), color: false },
    testRegistry,
  );
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("resources", () => {
  test("sizes and durations in the units Slurm users write", () => {
    assert.equal(parseMemory("4G"), 4096);
    assert.equal(parseMemory("512M"), 512);
    assert.equal(parseMemory("1.5GB"), 1536);
    assert.equal(parseMemory("2TiB"), 2 * 1024 * 1024);
    assert.equal(parseMemory(2048), 2048, "a number is MiB, as --mem");
    assert.equal(parseMemory("lots"), undefined);
    assert.equal(parseMemory(0), undefined);
    assert.equal(parseDuration("90s"), 90);
    assert.equal(parseDuration("30m"), 1800);
    assert.equal(parseDuration("2h"), 7200);
    assert.equal(parseDuration("1d"), 86400);
    assert.equal(parseDuration(45), 2700, "a number is minutes, as --time");
    assert.equal(parseDuration("1:30:00"), 5400);
    assert.equal(parseDuration("10:00"), 600, "MM:SS");
    assert.equal(parseDuration("2-12"), 2 * 86400 + 12 * 3600);
    assert.equal(parseDuration("1-00:30:00"), 86400 + 1800);
    assert.equal(parseDuration("soon"), undefined);
    assert.equal(slurmTime(90), "0-00:02:00", "rounded up to Slurm's whole minutes");
    assert.equal(slurmTime(86400 + 3600), "1-01:00:00");
  });

  test("stage resources override the pipeline's field by field", () => {
    const r = Rig.create({ "p.yaml": WITH_RESOURCES, "data/numbers.txt": "1 2 3\n" });
    const { spec } = loadPipeline(r.path("p.yaml"), { registry: testRegistry });
    assert.deepEqual(spec.stages.get("plus")!.resources, {
      cpus: 8,
      memory: 512,
      time: 7200,
      partition: "short",
      local: true,
    });
    assert.deepEqual(spec.stages.get("clip")!.resources, {
      cpus: 2,
      memory: 4096,
      time: 7200,
      partition: "short",
    });
    // A failure about a resource points at the line that sets it: the stage's own, else the default.
    assert.equal(spec.stages.get("plus")!.locateResource("memory").line, 8);
    assert.equal(spec.stages.get("plus")!.locateResource("time").line, 5);
    assert.equal(spec.stages.get("clip")!.locateResource("cpus").line, 5);
    r.remove();
  });

  test("never part of a cache key: the same keys, and changing them reruns nothing", async () => {
    const plain = chainRig();
    const dressed = Rig.create({ "p.yaml": WITH_RESOURCES, "data/numbers.txt": "1 2 3 4\n" });
    const a = await plain.quiver("run", "p.yaml");
    const b = await dressed.quiver("run", "p.yaml");
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(dressed.read("p.lock"), plain.read("p.lock"), "byte-identical lock files");
    dressed.write(
      "p.yaml",
      WITH_RESOURCES.replace("cpus: 8, memory: 512M", "cpus: 1, memory: 64G, time: 5m"),
    );
    const again = await dressed.quiver("run", "p.yaml");
    assert.deepEqual(again.ran, []);
    assert.equal(again.cached.length, 5);
    plain.remove();
    dressed.remove();
  });

  test("bad resources are located errors with stable codes", async () => {
    const r = Rig.create({
      "p.yaml": `quiver: 1
name: bad
resources: { cpu: 2 }
stages:
  src: { type: source, with: { values: [1] }, resources: { memory: lots, time: soon, cpus: 0, pack: 0 } }
`,
    });
    const res = await quiver("status", r.path("p.yaml"), "--cache-dir", r.cacheDir);
    assert.equal(res.code, 2);
    const located = [...res.err.matchAll(/p\.yaml:(\d+):(\d+) error (QV_\w+): (.*)/g)].map((m) => [
      Number(m[1]),
      Number(m[2]),
      m[3],
      m[4]!.split(",")[0],
    ]);
    assert.deepEqual(located, [
      [3, 14, "QV_RESOURCES", 'resources: unknown resource "cpu"'],
      [5, 68, "QV_RESOURCES", "src: resources: memory must be a size such as 4G or 512M"],
      [5, 80, "QV_RESOURCES", "src: resources: time must be a duration such as 30m"],
      [5, 92, "QV_RESOURCES", "src: resources: cpus must be a whole number from 1 to 4096"],
      [
        5,
        101,
        "QV_RESOURCES",
        "src: resources: pack must be a whole number from 1 to 1000 (stages per batch job)",
      ],
    ]);
    assert.match(res.err, /did you mean "cpus"\?/);
    r.remove();
  });
});

describe("site settings", () => {
  const site = (text: string) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-site-"));
    fs.writeFileSync(path.join(dir, "site.yaml"), text);
    return path.join(dir, "site.yaml");
  };

  test("read from the site file, the environment winning", () => {
    const file = site(`slurm:
  account: atlas
  partition: short
  flags: ["--qos=normal"]
  resources: { memory: 2G, time: 1h }
  poll: 3s
  max_array: 500
  pack_wait: 500ms
`);
    const s = readSiteSettings("slurm", {
      QUIVER_SITE: file,
      QUIVER_SLURM_PARTITION: "long",
      QUIVER_SLURM_FLAGS: "--exclusive  --constraint=avx2",
    });
    assert.equal(s.account, "atlas");
    assert.equal(s.partition, "long");
    assert.deepEqual(s.flags, ["--qos=normal", "--exclusive", "--constraint=avx2"]);
    assert.deepEqual(s.resources, { memory: 2048, time: 3600 });
    assert.equal(s.pollMs, 3000);
    assert.equal(s.maxArray, 500);
    assert.equal(s.packWaitMs, 500);
    assert.equal(
      readSiteSettings("slurm", { QUIVER_SITE: site("slurm: { pack_wait: 1.5 }\n") }).packWaitMs,
      1500,
    );
    const none = readSiteSettings("slurm", { HOME: path.dirname(file), XDG_CONFIG_HOME: path.dirname(file) });
    assert.deepEqual(none.flags, [], "no site file: nothing set");
  });

  test("a bad site file is an error located in it, before anything runs", async () => {
    const file = site(`slurm:
  acount: atlas
  resources: { memory: lots }
  pack_wait: soon
`);
    assert.throws(() => readSiteSettings("slurm", { QUIVER_SITE: file }), SiteConfigError);
    const r = chainRig();
    process.env.QUIVER_SITE = file;
    try {
      const res = await quiver("run", r.path("p.yaml"), "--executor", "slurm", "--cache-dir", r.cacheDir);
      assert.equal(res.code, 1);
      assert.match(res.err, /site\.yaml:2:3 error QV_SITE_CONFIG: unknown slurm setting "acount"/);
      assert.match(res.err, /did you mean "account"\?/);
      assert.match(res.err, /site\.yaml:3:24 error QV_RESOURCES/);
      assert.match(
        res.err,
        /site\.yaml:4:14 error QV_SITE_CONFIG: slurm\.pack_wait must be a duration such as 2s or 500ms/,
      );
      assert.ok(!fs.existsSync(path.join(r.cacheDir, "jobs")), "nothing was handed to a runner");
    } finally {
      delete process.env.QUIVER_SITE;
      r.remove();
    }
  });
});

describe("executors on the command line", () => {
  test("run, sweep and verify document --isolate and --executor in their --help, and accept them", async () => {
    for (const cmd of ["run", "sweep", "verify"]) {
      const help = await quiver(cmd, "--help");
      assert.equal(help.code, 0);
      assert.match(help.out, /--isolate\b/, `${cmd} --help names --isolate`);
      assert.match(help.out, /--executor NAME/, `${cmd} --help names --executor`);
    }
    // (That --isolate runs stages in child processes with the same results: engine-process.test.ts.)
    const r = chainRig();
    try {
      const clash = await quiver("run", r.path("p.yaml"), "--isolate", "--executor", "slurm");
      assert.equal(clash.code, 2);
      assert.match(clash.err, /--isolate runs stages with the subprocess executor, not "slurm"/);
      const unknown = await quiver("run", r.path("p.yaml"), "--executor", "condor");
      assert.equal(unknown.code, 2);
      assert.match(unknown.err, /condor/);
    } finally {
      r.remove();
    }
  });
});
