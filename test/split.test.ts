import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { splitStage, splitSizes } from "../stages/split.js";
import { table as tableArtifact } from "../core/stage.js";
import { makeTable, type Table } from "../core/table.js";
import { runStage } from "./support/stage-harness.js";
import { readTransformsFixture } from "./fixtures/transforms/read.js";

interface SplitsFixture {
  train_test_split: { n: number; test: number; train: number | null; n_train: number; n_test: number }[];
  stratified_train_test_split: {
    class_counts: number[];
    test: number;
    train: number | null;
    outcomes: { train: number[]; test: number[] }[];
  }[];
  stratified_three_way: {
    class_counts: number[];
    test: number;
    validation: number;
    sizes: { train: number; validation: number; test: number };
    outcomes: { train: number[]; validation: number[]; test: number[] }[];
  }[];
}
const fx = readTransformsFixture<SplitsFixture>("splits.json");

/** A table with an `id` column (row number) and a `label` column built from class counts. */
function labelled(counts: number[]): Table {
  const label: number[] = [];
  counts.forEach((c, v) => {
    for (let i = 0; i < c; i++) label.push(v);
  });
  const id = Float64Array.from(label, (_, i) => i);
  return makeTable([
    ["id", { type: "float64", values: id }],
    ["label", { type: "int32", values: Int32Array.from(label) }],
  ]);
}

function out(r: Awaited<ReturnType<typeof runStage>>, port: string): Table {
  const a = r.outputs[port];
  assert.ok(a && a.kind === "table");
  return a.table;
}

function classCounts(t: Table, k: number): number[] {
  const c = t.columns.get("label");
  assert.ok(c?.type === "int32");
  const counts = new Array<number>(k).fill(0);
  for (const v of c.values) counts[v]!++;
  return counts;
}

function ids(t: Table): number[] {
  const c = t.columns.get("id");
  assert.ok(c?.type === "float64");
  return [...c.values];
}

void describe("split sizes", () => {
  void test("two-way sizes match train_test_split", () => {
    for (const c of fx.train_test_split)
      assert.deepEqual(
        splitSizes(c.n, { test: c.test, ...(c.train === null ? {} : { train: c.train }) }),
        { train: c.n_train, validation: 0, test: c.n_test },
        JSON.stringify(c),
      );
  });

  void test("absolute counts: train 3000, validation 1000, the rest is test (4-top notebook)", () => {
    assert.deepEqual(splitSizes(5000, { train: 3000, validation: 1000 }), {
      train: 3000,
      validation: 1000,
      test: 1000,
    });
  });

  void test("fractions of the whole: 30% test, 20% validation, the rest train", () => {
    assert.deepEqual(splitSizes(1001, { test: 0.3, validation: 0.2 }), {
      train: 499,
      validation: 201,
      test: 301,
    });
  });

  void test("too many rows asked for", () => {
    assert.throws(
      () => splitSizes(10, { train: 8, test: 3 }),
      /ask for train 8 \+ test 3 = 11 rows, the table has 10/,
    );
    assert.throws(
      () => splitSizes(3500, { train: 3000, validation: 1000 }),
      /ask for train 3000 \+ validation 1000 = 4000 rows/,
    );
    assert.throws(() => splitSizes(10, { test: 11 }), /asks for 11 rows/);
    assert.throws(() => splitSizes(0, { test: 0.5 }), /no rows/);
    assert.throws(() => splitSizes(2, { test: 0.9 }), /no training rows/);
  });
});

void describe("split stage", () => {
  void test("partitions the rows: every row lands in exactly one split", async () => {
    const t = labelled([600, 400]);
    const r = await runStage(splitStage, {
      params: { test: 0.25, validation: 0.15 },
      inputs: { table: tableArtifact(t) },
      seed: 3,
    });
    const all = [...ids(out(r, "train")), ...ids(out(r, "validation")), ...ids(out(r, "test"))];
    assert.equal(out(r, "train").numRows, 600);
    assert.equal(out(r, "validation").numRows, 150);
    assert.equal(out(r, "test").numRows, 250);
    assert.deepEqual(
      all.sort((a, b) => a - b),
      ids(t),
    );
    const summary = r.summary as { train: { rows: number; classes: Record<string, number> } };
    assert.equal(summary.train.rows, 600);
    assert.equal(
      Object.values(summary.train.classes).reduce((a, b) => a + b),
      600,
    );
  });

  void test("is seeded: same seed same rows, another seed other rows", async () => {
    const t = labelled([50, 50]);
    const run = (seed: number) =>
      runStage(splitStage, { params: { test: 0.3 }, inputs: { table: tableArtifact(t) }, seed });
    assert.deepEqual(ids(out(await run(1), "test")), ids(out(await run(1), "test")));
    assert.notDeepEqual(ids(out(await run(1), "test")), ids(out(await run(2), "test")));
  });

  void test("shuffle: false keeps order: first train, then validation, then test", async () => {
    const t = labelled([10]);
    const r = await runStage(splitStage, {
      params: { train: 5, validation: 2, shuffle: false },
      inputs: { table: tableArtifact(t) },
    });
    assert.deepEqual(ids(out(r, "train")), [0, 1, 2, 3, 4]);
    assert.deepEqual(ids(out(r, "validation")), [5, 6]);
    assert.deepEqual(ids(out(r, "test")), [7, 8, 9]);
  });

  void test("validation is an empty table with the same columns when not requested", async () => {
    const r = await runStage(splitStage, {
      params: { test: 0.5 },
      inputs: { table: tableArtifact(labelled([4, 4])) },
    });
    const v = out(r, "validation");
    assert.equal(v.numRows, 0);
    assert.deepEqual([...v.columns.keys()], ["id", "label"]);
  });

  void test("stratified class counts match train_test_split(stratify=y)", async () => {
    for (const c of fx.stratified_train_test_split) {
      const r = await runStage(splitStage, {
        params: { test: c.test, ...(c.train === null ? {} : { train: c.train }), stratify: "label" },
        inputs: { table: tableArtifact(labelled(c.class_counts)) },
        seed: 9,
      });
      const got = {
        train: classCounts(out(r, "train"), c.class_counts.length),
        test: classCounts(out(r, "test"), c.class_counts.length),
      };
      assert.ok(
        c.outcomes.some((o) => JSON.stringify(o) === JSON.stringify(got)),
        `${JSON.stringify(c.class_counts)} test ${c.test}: got ${JSON.stringify(got)}, want one of ${JSON.stringify(c.outcomes)}`,
      );
    }
  });

  void test("stratified three-way counts match two chained stratified train_test_split calls", async () => {
    for (const c of fx.stratified_three_way) {
      const r = await runStage(splitStage, {
        params: { test: c.test, validation: c.validation, stratify: "label" },
        inputs: { table: tableArtifact(labelled(c.class_counts)) },
        seed: 4,
      });
      const k = c.class_counts.length;
      const got = {
        train: classCounts(out(r, "train"), k),
        validation: classCounts(out(r, "validation"), k),
        test: classCounts(out(r, "test"), k),
      };
      assert.ok(
        c.outcomes.some((o) => JSON.stringify(o) === JSON.stringify(got)),
        `${JSON.stringify(c.class_counts)}: got ${JSON.stringify(got)}, want one of ${JSON.stringify(c.outcomes)}`,
      );
    }
  });

  void test("stratify by a dictionary column reports class names", async () => {
    const t = makeTable([
      [
        "kind",
        {
          type: "dict",
          codes: Int32Array.from({ length: 40 }, (_, i) => (i < 30 ? 0 : 1)),
          dictionary: ["bkg", "sig"],
        },
      ],
    ]);
    const r = await runStage(splitStage, {
      params: { test: 0.5, stratify: "kind" },
      inputs: { table: tableArtifact(t) },
    });
    assert.deepEqual((r.summary as { test: { classes: unknown } }).test.classes, { bkg: 15, sig: 5 });
  });

  void test("errors name the param", async () => {
    const t = tableArtifact(labelled([5, 1]));
    await assert.rejects(
      runStage(splitStage, { params: { test: 0.5, stratify: "lable" }, inputs: { table: t } }),
      (e: { code?: string; hint?: string; param?: unknown[] }) =>
        e.code === "QV_UNKNOWN_COLUMN" && e.hint === 'did you mean "label"?' && e.param?.[0] === "stratify",
    );
    await assert.rejects(
      runStage(splitStage, { params: { test: 0.5, stratify: "label" }, inputs: { table: t } }),
      /class 1 has only 1 row/,
    );
    await assert.rejects(
      runStage(splitStage, { params: {}, inputs: { table: t } }),
      /needs a test size or a train size/,
    );
    await assert.rejects(
      runStage(splitStage, { params: { test: 0.6, validation: 0.5 }, inputs: { table: t } }),
      /add up to 1.1/,
    );
    await assert.rejects(
      runStage(splitStage, { params: { test: 2.5 }, inputs: { table: t } }),
      /whole number of rows/,
    );
    await assert.rejects(
      runStage(splitStage, {
        params: { test: 0.5, stratify: "label", shuffle: false },
        inputs: { table: t },
      }),
      /must shuffle/,
    );
  });
});

void describe("split properties", () => {
  void test("any sizes: the splits are disjoint, have the requested sizes, and stratified counts add up", async () => {
    const fc = await import("fast-check");
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 2, max: 60 }), { minLength: 1, maxLength: 4 }),
        fc.double({ min: 0.05, max: 0.45, noNaN: true }),
        fc.double({ min: 0, max: 0.3, noNaN: true }),
        fc.boolean(),
        fc.integer({ min: 0, max: 2 ** 31 }),
        async (counts, test, validation, stratify, seed) => {
          const t = labelled(counts);
          const n = t.numRows;
          const params = {
            test,
            ...(validation >= 0.05 ? { validation } : {}),
            ...(stratify ? { stratify: "label" } : {}),
          };
          let sizes;
          try {
            sizes = splitSizes(n, params);
          } catch {
            return; // sizes scikit-learn would reject too (e.g. no training rows)
          }
          let r;
          try {
            r = await runStage(splitStage, { params, inputs: { table: tableArtifact(t) }, seed });
          } catch (e) {
            // Stratification limits (a split smaller than the number of classes) are user errors.
            assert.ok(stratify && /fewer than the .* classes/.test(String(e)), String(e));
            return;
          }
          const got = {
            train: ids(out(r, "train")),
            validation: ids(out(r, "validation")),
            test: ids(out(r, "test")),
          };
          assert.deepEqual(
            { train: got.train.length, validation: got.validation.length, test: got.test.length },
            sizes,
          );
          const all = [...got.train, ...got.validation, ...got.test];
          assert.equal(new Set(all).size, all.length);
          if (stratify) {
            const k = counts.length;
            const per = ["train", "validation", "test"].map((p) => classCounts(out(r, p), k));
            counts.forEach((c, j) => assert.ok(per.reduce((a, s) => a + s[j]!, 0) <= c));
          }
        },
      ),
      { numRuns: 150 },
    );
  });
});
