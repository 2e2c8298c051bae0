/**
 * Names users choose that are also members of every JavaScript object — `constructor`, `toString`,
 * `__proto__`, … (issue #19, defect 8). As stage ids, input ports, output references, columns,
 * cut names, params, units, files and fill maps they are data: a pipeline that refers to one that
 * does not exist gets a located error from `status` (it used to pass validation, then fail at run
 * time with QV_STAGE_BUG), and a valid pipeline using them runs and keeps them as names.
 * QUIVER_FUZZ_RUNS scales the number of generated pipelines (default 200 → 10 runs here).
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { main } from "../cli/main.js";
import type { EngineEvent } from "../engine/events.js";
import { chaosSeed, envCount, STACK_FRAME, withSeed } from "./support/chaos.js";
import { Rig } from "./support/rig.js";
import { testRegistry } from "./support/test-stages.js";

const PROTO = [
  "constructor",
  "toString",
  "__proto__",
  "hasOwnProperty",
  "valueOf",
  "isPrototypeOf",
  "propertyIsEnumerable",
  "toLocaleString",
  "__defineGetter__",
  "__lookupSetter__",
] as const;

const RUNS = Math.max(3, Math.round(envCount("QUIVER_FUZZ_RUNS", 200) / 20));

const rigs: Rig[] = [];
after(() => rigs.forEach((r) => r.remove()));

async function cli(r: Rig, ...args: string[]): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const io = { out: (s: string) => lines.push(s), err: (s: string) => lines.push(s), color: false };
  const [cmd, ...rest] = args;
  return { code: await main([cmd!, r.path("p.yaml"), ...rest], io, testRegistry), out: lines.join("\n") };
}

function noBug(out: string, what: string): void {
  assert.doesNotMatch(out, /QV_STAGE_BUG|internal error|TypeError/, what);
  assert.doesNotMatch(out, STACK_FRAME, what);
}

describe("references to names that do not exist", () => {
  for (const name of ["constructor", "toString", "__proto__", "valueOf"]) {
    test(`${name}: as an upstream stage, an input port, an output port — located errors from status`, async () => {
      const r = Rig.create({
        "p.yaml": `quiver: 1
name: proto
stages:
  a: { type: source, with: { values: [1, 2, 3] } }
  b: { type: add, inputs: { table: ${name} } }
  c: { type: add, inputs: { ${name}: a } }
  d: { type: add, inputs: { table: a.${name} } }
  e: { type: add, inputs: { table: a }, with: { amount: "\${${name}}", ${name}: 1 } }
`,
      });
      rigs.push(r);
      const s = await cli(r, "status");
      assert.equal(s.code, 2, s.out);
      noBug(s.out, name);
      assert.match(
        s.out,
        new RegExp(`p\\.yaml:5:\\d+ error QV_UNKNOWN_STAGE_REF: input "table" refers to a stage "${name}"`),
      );
      assert.match(
        s.out,
        new RegExp(`p\\.yaml:6:\\d+ error QV_UNKNOWN_INPUT: stage type "add" has no input "${name}"`),
      );
      assert.match(
        s.out,
        new RegExp(`p\\.yaml:7:\\d+ error QV_UNKNOWN_PORT: stage "a" \\(source\\) has no output "${name}"`),
      );
      assert.match(
        s.out,
        new RegExp(`p\\.yaml:8:\\d+ error QV_UNKNOWN_PARAM_REF: "\\$\\{${name}\\}" refers to a param`),
      );
      assert.match(
        s.out,
        new RegExp(`p\\.yaml:8:\\d+ error QV_UNKNOWN_PARAM: e: ${name}: unknown parameter "${name}"`),
      );
    });
  }

  test("--set of a param the pipeline does not have, named like an object member", async () => {
    const r = Rig.create({
      "p.yaml": "quiver: 1\nname: p\nstages:\n  a: { type: source, with: { values: [1] } }\n",
    });
    rigs.push(r);
    for (const name of ["constructor", "toString", "__proto__"]) {
      const s = await cli(r, "status", "--set", `${name}=3`);
      assert.equal(s.code, 2, s.out);
      assert.match(s.out, new RegExp(`QV_SET_UNKNOWN: --set ${name}=3: the pipeline has no param "${name}"`));
    }
  });
});

/** A pipeline with a user-chosen name in every slot, drawn from `pick`. */
function pipeline(pick: () => string) {
  const n = {
    col: pick(),
    cut: pick(),
    model: pick(),
    param: pick(),
    csvCol: pick(),
    src: pick(),
  };
  // Stage ids and columns must differ from each other and from the fixed ones.
  const yaml = `quiver: 1
name: ${pick()}
seed: 5
params:
  ${n.param}: 15
units: { ${n.col}: GeV, lep1_pt: GeV }
stages:
  events: { type: generate, with: { signal: 150, background: 150 } }
  defined: { type: define, inputs: { table: events }, with: { columns: { ${n.col}: "lep1_pt * 2" } } }
  cuts:
    type: select
    inputs: { table: defined }
    with: { cuts: [{ name: ${n.cut}, where: "${n.col} > \${${n.param}}" }], weight: weight }
  split: { type: split, inputs: { table: cuts }, with: { test: 0.5, stratify: label } }
  ${n.model}:
    type: train
    inputs: { train: split.train }
    with: { features: [lep1_pt, ${n.col}, m_ll], model: { kind: gbt, num_trees: 4, max_depth: 2 } }
  scored: { type: predict, inputs: { model: ${n.model}.model, table: split.test } }
  scored_train: { type: predict, inputs: { model: ${n.model}.model, table: split.train } }
  roc: { type: roc, inputs: { table: scored }, with: { scores: [${n.model}], weight: weight } }
  ks: { type: ks, inputs: { train: scored_train, test: scored }, with: { scores: [${n.model}] } }
  sig: { type: significance, inputs: { table: scored }, with: { score: ${n.model}, weight: weight } }
  metrics: { type: metrics, inputs: { table: scored }, with: { scores: [${n.model}] } }
  ${n.src}:
    type: load
    with: { files: [data/t.csv], fill: { ${n.csvCol}: 0 }, types: { other: string } }
  total: { type: sum, inputs: { table: ${n.src} } }
`;
  const csv = `${n.csvCol},x,other\n1,,a\n,4,b\n5,6,c\n`;
  return { yaml, csv, names: n };
}

describe("valid pipelines full of such names run and keep them as names", () => {
  test(`${RUNS} generated pipelines: status is clean, the run succeeds, the names are in the results`, async (t) => {
    const seed = chaosSeed();
    await withSeed("proto names", seed, async (rng) => {
      for (let i = 0; i < RUNS; i++) {
        const used = new Set<string>();
        const pick = () => {
          const pool = PROTO.filter((p) => !used.has(p));
          const name = pool[rng.int(pool.length)]!;
          used.add(name);
          return name;
        };
        const { yaml, csv, names } = pipeline(pick);
        const r = Rig.create({ "p.yaml": yaml, "data/t.csv": csv });
        rigs.push(r);
        const what = `pipeline ${i} (${JSON.stringify(names)})`;
        const s = await cli(r, "status");
        noBug(s.out, what);
        assert.equal(s.code, 0, `${what}: ${s.out}`);
        const res = await r.quiver("run", "p.yaml");
        noBug(res.stdout + res.stderr, what);
        assert.equal(res.code, 0, `${what}: ${res.stderr}`);
        const finished = (stage: string) =>
          res.events.find(
            (e): e is Extract<EngineEvent, { type: "finished" }> =>
              e.type === "finished" && e.stage === stage,
          );
        assert.ok(finished(names.model), `${what}: the model stage ran under its own name`);
        const shown = await cli(r, "show", "roc.metrics", "--json");
        assert.equal(shown.code, 0, shown.out);
        const rocDoc = shown.out.split("\n").find((l) => l.startsWith("{")) ?? "{}";
        const rocValue = (JSON.parse(rocDoc) as { value: { scores: Record<string, { auc?: unknown }> } })
          .value;
        assert.ok(Object.hasOwn(rocValue.scores, names.model), `${what}: roc keyed by the model's name`);
        assert.equal(typeof rocValue.scores[names.model]!.auc, "number", `${what}: the model's AUC`);
        // The text view names the model as the subject of its AUC.
        const shownText = await cli(r, "show", "roc.metrics");
        assert.match(shownText.out, new RegExp(`AUC +${names.model} +[0-9.]+`), `${what}: the AUC row`);
        const cutflow = await cli(r, "show", "cuts.cutflow", "--json");
        assert.match(cutflow.out, new RegExp(names.cut), `${what}: the cut keeps its name`);
        const defined = await cli(r, "show", "defined.table", "--rows", "0");
        assert.match(defined.out, new RegExp(`^  ${names.col}: float64$`, "m"), `${what}: the new column`);
        const total = await cli(r, "show", "total.metrics");
        assert.equal(total.code, 0, total.out);
        r.remove();
      }
      t.diagnostic(`seed ${seed}: ${RUNS} pipelines`);
    });
  });
});
