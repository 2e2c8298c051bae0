/**
 * `rng: numpy` against NumPy 1.24 / scikit-learn 1.2 / pandas 1.5 on the same seeds: the fixture
 * test/fixtures/numpy-sampling/sampling.json was written by make.py beside it (run once with the
 * distribution's python3). Every index must be identical; the doubles of random_sample too.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { MT19937 } from "../stages/lib/sampling/mt19937.js";
import { NumpyRandomState, type NumpySeed } from "../stages/lib/sampling/random-state.js";
import { samplePositions, sampleSizeForFrac } from "../stages/lib/sampling/pandas.js";
import { splitStage } from "../stages/split.js";
import { oversampleStage } from "../stages/oversample.js";
import { numpyFoldAssignment } from "../stages/lib/sampling/folds.js";
import { table as tableArtifact } from "../core/stage.js";
import { makeTable, type Column, type Table } from "../core/table.js";
import { runStage } from "./support/stage-harness.js";
import { validate } from "../core/schema.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

interface Fixture {
  versions: Record<string, string>;
  seeding: { seed: NumpySeed; state_head: number[]; words: number[]; random_sample: number[] }[];
  randint: { seed: NumpySeed; calls: [number, number, number][]; values: number[][] }[];
  permutation: { seed: number; n: number; perm: number[] }[];
  choice: { seed: number; n: number; size: number; replace: boolean; idx: number[] }[];
  train_test_split: {
    n: number;
    test: number | null;
    train: number | null;
    seed: number;
    train_rows: number[];
    test_rows: number[];
  }[];
  stratified_train_test_split: {
    y: (number | string)[];
    test: number;
    train: number | null;
    seed: number;
    train_rows: number[];
    test_rows: number[];
  }[];
  shuffle: { n: number; seed: number; order: number[] }[];
  kfold: { n: number; k: number; seed: number; test_folds: number[][] }[];
  stratified_kfold: { y: number[]; k: number; seed: number; test_folds: number[][] }[];
  sample: {
    n: number;
    frac: number;
    replace: boolean;
    seed: number;
    rows: number[];
    rows_global: number[];
  }[];
  oversample: { label: number[]; rate: number; seed: number; rows: number[] };
}

const fx = JSON.parse(
  fs.readFileSync(path.join(repoRoot, "test", "fixtures", "numpy-sampling", "sampling.json"), "utf8"),
) as Fixture;

/** A table with a `row` column (its row number) and, optionally, a class column. */
function rowsTable(n: number, classes?: { name: string; values: (number | string)[] }): Table {
  const cols: [string, Column][] = [
    ["row", { type: "float64", values: Float64Array.from({ length: n }, (_, i) => i) }],
  ];
  if (classes) {
    const v = classes.values;
    if (typeof v[0] === "string") {
      const dictionary = [...new Set(v as string[])];
      cols.push([
        classes.name,
        { type: "dict", dictionary, codes: Int32Array.from(v as string[], (s) => dictionary.indexOf(s)) },
      ]);
    } else cols.push([classes.name, { type: "int32", values: Int32Array.from(v as number[]) }]);
  }
  return makeTable(cols);
}

function rowsOf(r: Awaited<ReturnType<typeof runStage>>, port: string): number[] {
  const a = r.outputs[port];
  assert.ok(a && a.kind === "table");
  const c = a.table.columns.get("row");
  assert.ok(c?.type === "float64");
  return [...c.values];
}

/** Split params as the schema validates them (defaults filled in). */
function splitParams(o: Record<string, unknown>) {
  const { value, issues } = validate(splitStage.params.spec, o);
  assert.deepEqual(issues, []);
  return value as Parameters<NonNullable<typeof splitStage.check>>[0];
}

/** Quiver's size params from scikit-learn's: a float fraction stays, an int count stays. */
function sizeParams(test: number | null, train: number | null): Record<string, number> {
  return { ...(test === null ? {} : { test }), ...(train === null ? {} : { train }) };
}

void describe("NumPy RandomState (MT19937) reproduced", () => {
  void test("the fixture was made with the libraries this mode reproduces", () => {
    assert.equal(fx.versions.numpy, "1.24.2");
    assert.equal(fx.versions.sklearn, "1.2.1");
    assert.equal(fx.versions.pandas, "1.5.3");
  });

  void test("seeding: integer seeds (init_genrand) and array seeds (init_by_array), raw words, random_sample", () => {
    for (const c of fx.seeding) {
      const what = JSON.stringify(c.seed);
      assert.deepEqual(new MT19937(c.seed).stateWords(8), c.state_head, `state of ${what}`);
      const rs = new NumpyRandomState(c.seed);
      assert.deepEqual(
        Array.from({ length: 8 }, () => rs.nextUint32()),
        c.words,
        `words of ${what}`,
      );
      const rs2 = new NumpyRandomState(c.seed);
      // Bit-identical doubles: strict equality, not a tolerance.
      assert.deepEqual(
        Array.from({ length: 6 }, () => rs2.randomSample()),
        c.random_sample,
        `random_sample of ${what}`,
      );
    }
  });

  void test("randint: consecutive calls, 32- and 64-bit ranges, and the one-value range that draws nothing", () => {
    for (const c of fx.randint) {
      const rs = new NumpyRandomState(c.seed);
      c.calls.forEach(([lo, hi, k], i) =>
        assert.deepEqual(
          Array.from(rs.randintArray(lo, hi, k)),
          c.values[i],
          `${JSON.stringify(c.seed)} ${lo}..${hi}`,
        ),
      );
    }
  });

  void test("permutation and choice", () => {
    for (const c of fx.permutation)
      assert.deepEqual(Array.from(new NumpyRandomState(c.seed).permutation(c.n)), c.perm, `${c.seed} ${c.n}`);
    for (const c of fx.choice)
      assert.deepEqual(
        Array.from(new NumpyRandomState(c.seed).choice(c.n, c.size, c.replace)),
        c.idx,
        JSON.stringify({ ...c, idx: undefined }),
      );
  });

  void test("bad seeds are refused as NumPy refuses them", () => {
    assert.throws(() => new NumpyRandomState(-1), /between 0 and 2\*\*32 - 1/);
    assert.throws(() => new NumpyRandomState(2 ** 32), /between 0 and 2\*\*32 - 1/);
    assert.throws(() => new NumpyRandomState(1.5), /between 0 and 2\*\*32 - 1/);
    assert.throws(() => new NumpyRandomState([]), /must not be empty/);
  });
});

void describe("split with rng: numpy is scikit-learn's train_test_split", () => {
  void test("plain: ShuffleSplit's permutation, test first (fractions, counts, train sizes)", async () => {
    for (const c of fx.train_test_split) {
      const r = await runStage(splitStage, {
        params: { ...sizeParams(c.test, c.train), rng: "numpy", random_state: c.seed },
        inputs: { table: tableArtifact(rowsTable(c.n)) },
        seed: 99, // the stage seed plays no part in numpy mode
      });
      const what = JSON.stringify({ n: c.n, test: c.test, train: c.train, seed: c.seed });
      assert.deepEqual(rowsOf(r, "train"), c.train_rows, `train ${what}`);
      assert.deepEqual(rowsOf(r, "test"), c.test_rows, `test ${what}`);
      assert.deepEqual(rowsOf(r, "validation"), []);
    }
  });

  void test("stratified: StratifiedShuffleSplit, classes in sorted order (numbers and text)", async () => {
    for (const c of fx.stratified_train_test_split) {
      const r = await runStage(splitStage, {
        params: { ...sizeParams(c.test, c.train), stratify: "cls", rng: "numpy", random_state: c.seed },
        inputs: { table: tableArtifact(rowsTable(c.y.length, { name: "cls", values: c.y })) },
      });
      const what = JSON.stringify({ n: c.y.length, test: c.test, train: c.train, seed: c.seed });
      assert.deepEqual(rowsOf(r, "train"), c.train_rows, `train ${what}`);
      assert.deepEqual(rowsOf(r, "test"), c.test_rows, `test ${what}`);
    }
  });

  void test("call: shuffle is sklearn.utils.shuffle, then train, validation and test slices", async () => {
    for (const c of fx.shuffle) {
      const train = Math.floor(c.n * 0.6);
      const validation = Math.floor(c.n * 0.2);
      const r = await runStage(splitStage, {
        params: {
          train,
          validation,
          test: c.n - train - validation,
          rng: "numpy",
          random_state: c.seed,
          call: "shuffle",
        },
        inputs: { table: tableArtifact(rowsTable(c.n)) },
      });
      assert.deepEqual(rowsOf(r, "train"), c.order.slice(0, train));
      assert.deepEqual(rowsOf(r, "validation"), c.order.slice(train, train + validation));
      assert.deepEqual(rowsOf(r, "test"), c.order.slice(train + validation));
    }
  });

  void test("what numpy mode cannot express is refused before running", async () => {
    const t = { table: tableArtifact(rowsTable(10)) };
    await assert.rejects(
      runStage(splitStage, { params: { test: 0.3, rng: "numpy" }, inputs: t }),
      /QV_NUMPY_SEED rng: numpy needs random_state/,
    );
    await assert.rejects(
      runStage(splitStage, {
        params: { test: 0.3, validation: 0.2, rng: "numpy", random_state: 1 },
        inputs: t,
      }),
      /QV_NUMPY_CALL train_test_split makes no validation split/,
    );
    await assert.rejects(
      runStage(splitStage, {
        params: { test: 0.3, stratify: "row", rng: "numpy", random_state: 1, call: "shuffle" },
        inputs: t,
      }),
      /QV_NUMPY_CALL sklearn.utils.shuffle does not stratify/,
    );
    const warnings = splitStage.check!(splitParams({ test: 0.3, random_state: 4 }));
    assert.deepEqual(
      warnings.map((w) => [w.code, w.severity, w.path]),
      [["QV_PARAM_UNUSED", "warning", ["random_state"]]],
    );
  });

  void test("shuffle: false draws nothing and needs no random_state (train_test_split(shuffle=False))", async () => {
    const r = await runStage(splitStage, {
      params: { test: 3, shuffle: false, rng: "numpy" },
      inputs: { table: tableArtifact(rowsTable(10)) },
    });
    assert.deepEqual(rowsOf(r, "train"), [0, 1, 2, 3, 4, 5, 6]);
    assert.deepEqual(rowsOf(r, "test"), [7, 8, 9]);
  });

  void test("rng: quiver keeps the fingerprint it had before these params existed", () => {
    const fp = splitStage.fingerprintParams!(splitParams({ test: 0.3 }));
    assert.deepEqual(fp, { test: 0.3, shuffle: true });
    const numpy = splitStage.fingerprintParams!(splitParams({ test: 0.3, rng: "numpy", random_state: 420 }));
    assert.deepEqual(numpy, { test: 0.3, shuffle: true, rng: "numpy", random_state: 420 });
  });
});

void describe("kfold with rng: numpy is scikit-learn's KFold / StratifiedKFold(shuffle=True)", () => {
  const foldsOf = (assignment: Int32Array, k: number) =>
    Array.from({ length: k }, (_, f) => [...assignment.keys()].filter((r) => assignment[r] === f));

  void test("KFold", () => {
    for (const c of fx.kfold)
      assert.deepEqual(
        foldsOf(numpyFoldAssignment(c.n, c.k, new NumpyRandomState(c.seed), undefined), c.k),
        c.test_folds,
        JSON.stringify({ n: c.n, k: c.k, seed: c.seed }),
      );
  });

  void test("StratifiedKFold (classes by first appearance)", () => {
    for (const c of fx.stratified_kfold)
      assert.deepEqual(
        foldsOf(
          numpyFoldAssignment(c.y.length, c.k, new NumpyRandomState(c.seed), Int32Array.from(c.y)),
          c.k,
        ),
        c.test_folds,
        JSON.stringify({ n: c.y.length, k: c.k, seed: c.seed }),
      );
  });
});

void describe("oversample with rng: numpy is pandas' DataFrame.sample", () => {
  void test("sample(frac, replace, random_state=s) and the global state after np.random.seed(s) agree", () => {
    for (const c of fx.sample) {
      assert.deepEqual(c.rows_global, c.rows, "the fixture's two forms differ");
      const size = sampleSizeForFrac(c.frac, c.n);
      const got = samplePositions(c.n, size, c.replace, new NumpyRandomState(c.seed));
      assert.deepEqual(Array.from(got), c.rows, JSON.stringify({ n: c.n, frac: c.frac, seed: c.seed }));
    }
  });

  void test("the stage: the class's rows sampled with frac = rate, appended after the table", async () => {
    const o = fx.oversample;
    const r = await runStage(oversampleStage, {
      params: { rate: o.rate, rng: "numpy", random_state: o.seed },
      inputs: { table: tableArtifact(rowsTable(o.label.length, { name: "label", values: o.label })) },
    });
    assert.deepEqual(rowsOf(r, "table"), o.rows);
    const info = r.outputs.info;
    assert.ok(info?.kind === "metrics");
    assert.equal(info.metrics.rng, "numpy");
    assert.equal(info.metrics.random_state, o.seed);
  });
});
