/**
 * A damaged store: random truncation, bit flips and deletion of objects and manifests. Each trial
 * damages a store that matches a clean run, then checks that (1) no read returns bytes or a
 * manifest that differ from the clean ones, (2) the damage is detected — reported, or its stage
 * recomputed — and (3) after at most two runs the store equals the clean run's again.
 * QUIVER_DAMAGE_TRIALS sets the number of trials (default 60); QUIVER_CHAOS_SEED replays one.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, describe, test } from "node:test";
import { Store, type StoreProblem } from "../cache/store.js";
import type { CacheKey, ContentHash } from "../core/hash.js";
import type { EngineEvent } from "../engine/events.js";
import { main } from "../cli/main.js";
import { tableToArrowIPC } from "../core/arrow-codec.js";
import { makeTable } from "../core/table.js";
import { Rig, storeObjects } from "./support/rig.js";
import { testRegistry } from "./support/test-stages.js";
import {
  auditStore,
  chaosSeed,
  DAMAGE_KINDS,
  damageFile,
  envCount,
  storeFiles,
  withSeed,
  type Damage,
} from "./support/chaos.js";

const TRIALS = envCount("QUIVER_DAMAGE_TRIALS", 60);

/** Real stages with summaries (a flipped digit there must not be shown as a result) and test stages. */
const PIPELINE = `quiver: 1
name: damage
seed: 3
stages:
  events: { type: generate, with: { signal: 60, background: 60 } }
  cuts:   { type: select, inputs: { table: events }, with: { cuts: [{ name: lead, where: "lep1_pt > 25" }] } }
  split:  { type: split, inputs: { table: cuts }, with: { test: 0.5 } }
  scaled: { type: scale, inputs: { fit: split.train, apply: split.test }, with: { method: minmax } }
  ks:     { type: ks, inputs: { train: split.train, test: split.test }, with: { scores: [m_ll] } }
  nums:   { type: source, with: { values: [1, 2, 3, 4, 5] } }
  plus:   { type: add, inputs: { table: nums } }
  h:      { type: halves, inputs: { table: plus } }
  first:  { type: sum, inputs: { table: h.first } }
  second: { type: sum, inputs: { table: h.second } }
`;

/** The parts of a manifest that are results (timestamps and durations legitimately differ). */
function resultPart(m: object): unknown {
  const { createdAt: _c, durationMs: _d, integrity: _i, ...rest } = m as Record<string, unknown>;
  return rest;
}

interface Reference {
  readonly objects: Map<string, Buffer>;
  /** cache key → result part of its manifest */
  readonly manifests: Map<string, unknown>;
  /** cache key → stage id */
  readonly stageOfKey: Map<string, string>;
  /** object hash → stages that produce it (identical outputs share one object) */
  readonly producers: Map<string, Set<string>>;
  readonly refs: { hash: string; size: number }[];
}

const rigs: Rig[] = [];
after(() => rigs.forEach((r) => r.remove()));

async function reference(r: Rig): Promise<Reference> {
  const res = await r.quiver("run", "p.yaml");
  assert.equal(res.code, 0, res.stderr);
  const stageOfKey = new Map<string, string>();
  const producers = new Map<string, Set<string>>();
  const refs: { hash: string; size: number }[] = [];
  for (const e of res.events) {
    if (e.type !== "finished") continue;
    stageOfKey.set(e.key, e.stage);
    for (const ref of Object.values(e.outputs)) {
      if (!producers.has(ref.hash)) refs.push(ref);
      producers.set(ref.hash, (producers.get(ref.hash) ?? new Set()).add(e.stage));
    }
  }
  return {
    objects: storeObjects(r.cacheDir),
    manifests: readManifests(r.cacheDir),
    stageOfKey,
    producers,
    refs,
  };
}

function readManifests(cacheDir: string): Map<string, unknown> {
  const out = new Map<string, unknown>();
  for (const f of storeFiles(cacheDir).filter((x) => x.kind === "manifest"))
    out.set(
      path.basename(f.rel, ".json"),
      resultPart(JSON.parse(fs.readFileSync(path.join(cacheDir, f.rel), "utf8")) as object),
    );
  return out;
}

/** Reads every manifest and object through the store, as run/show/export do; returns the problems. */
async function readEverything(cacheDir: string, ref: Reference): Promise<StoreProblem[]> {
  const problems: StoreProblem[] = [];
  const store = await Store.open(cacheDir, (p) => problems.push(p));
  for (const [key, want] of ref.manifests) {
    const m = await store.readManifest(key as CacheKey);
    if (m) assert.deepEqual(resultPart(m), want, `manifest ${key} read as valid with different content`);
  }
  for (const o of ref.refs) {
    const bytes = await store.getObject({ hash: o.hash as ContentHash, size: o.size });
    if (bytes)
      assert.ok(ref.objects.get(`${o.hash.slice(0, 2)}/${o.hash}`)!.equals(bytes), `object ${o.hash}`);
  }
  return problems;
}

const ran = (events: readonly EngineEvent[]) =>
  new Set(events.flatMap((e) => (e.type === "finished" ? [e.stage] : [])));

describe("damaged store", () => {
  test(`${TRIALS} trials of random truncation, bit flips and deletion: detected, repaired, never read as valid`, async (t) => {
    const seed = chaosSeed();
    await withSeed("store damage", seed, async (rng) => {
      const r = Rig.create({ "p.yaml": PIPELINE });
      rigs.push(r);
      const ref = await reference(r);
      const tally = new Map<string, number>();
      for (let trial = 0; trial < TRIALS; trial++) {
        const files = storeFiles(r.cacheDir);
        const count = 1 + rng.int(3);
        const chosen = new Set<number>();
        while (chosen.size < Math.min(count, files.length)) chosen.add(rng.int(files.length));
        const damages: Damage[] = [...chosen].map((i) =>
          damageFile(r.cacheDir, files[i]!, DAMAGE_KINDS[rng.int(DAMAGE_KINDS.length)]!, rng),
        );
        const what = `trial ${trial}: ${damages.map((d) => `${d.file.rel} ${d.detail}`).join("; ")}`;

        const first = await r.quiver("run", "p.yaml");
        assert.equal(first.code, 0, `${what}\n${first.stderr}`);
        const readProblems = await readEverything(r.cacheDir, ref);
        const second = await r.quiver("run", "p.yaml");
        assert.equal(second.code, 0, `${what}\n${second.stderr}`);

        const recomputed = new Set([...ran(first.events), ...ran(second.events)]);
        const reported = first.stderr + "\n" + readProblems.map((p) => `${p.kind} ${p.what}`).join("\n");
        for (const d of damages) {
          const name = path.basename(d.file.rel, ".json");
          if (d.file.kind === "manifest") {
            const stage = ref.stageOfKey.get(name)!;
            assert.ok(ran(first.events).has(stage), `${what}: ${stage} recomputed by the first run`);
          } else {
            const stages = [...ref.producers.get(name)!];
            assert.ok(
              stages.some((s) => recomputed.has(s)),
              `${what}: a producer of ${name} (${stages.join(", ")}) recomputed`,
            );
            if (d.kind === "bitflip") assert.match(reported, new RegExp(name), `${what}: flip reported`);
          }
          tally.set(`${d.file.kind} ${d.kind}`, (tally.get(`${d.file.kind} ${d.kind}`) ?? 0) + 1);
        }
        assert.deepEqual(storeObjects(r.cacheDir), ref.objects, `${what}: objects restored`);
        assert.deepEqual(readManifests(r.cacheDir), ref.manifests, `${what}: manifests restored`);
        assert.deepEqual(await auditStore(r.cacheDir), [], what);
      }
      t.diagnostic(
        `seed ${seed}: ${[...tally]
          .sort()
          .map(([k, n]) => `${k} ×${n}`)
          .join(", ")}`,
      );
    });
  });

  test("a digit flipped in a manifest's summary is never shown as a result", async () => {
    const r = Rig.create({ "p.yaml": PIPELINE });
    rigs.push(r);
    const res = await r.quiver("run", "p.yaml");
    const key = (res.events.find((e) => e.type === "finished" && e.stage === "events") as { key: string })
      .key;
    const file = path.join(r.cacheDir, "runs", key.slice(0, 2), `${key}.json`);
    const text = fs.readFileSync(file, "utf8");
    assert.match(text, /"rows": 120/);
    fs.writeFileSync(file, text.replace('"rows": 120', '"rows": 130'));
    const out: string[] = [];
    const io = { out: (s: string) => out.push(s), err: (s: string) => out.push(s), color: false };
    const code = await main(["show", r.path("p.yaml"), "events.table", "--rows", "0"], io, testRegistry);
    assert.doesNotMatch(out.join("\n"), /\b130\b/);
    assert.equal(code, 1);
    assert.match(out.join("\n"), /QV_CACHE_CORRUPT_MANIFEST/);
    const again = await r.quiver("run", "p.yaml");
    assert.deepEqual([...ran(again.events)], ["events"], "the damaged entry is recomputed");
  });
});

describe("determinism of stored bytes", () => {
  test("a table's Arrow bytes do not depend on what the process encoded before", async () => {
    const t = () =>
      makeTable([
        ["s", { type: "dict", codes: Int32Array.from([0, 1, -1]), dictionary: ["a", "b"] }],
        ["u", { type: "dict", codes: Int32Array.from([1, 0, 0]), dictionary: ["x", "y"] }],
      ]);
    const first = await tableToArrowIPC(t());
    for (let i = 0; i < 5; i++) await tableToArrowIPC(t());
    assert.ok(Buffer.from(await tableToArrowIPC(t())).equals(Buffer.from(first)));
  });
});
