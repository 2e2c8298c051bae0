/**
 * The notebooks' own rows on the real data: pipelines/dark-matter.yaml and pipelines/four-top.yaml
 * (rng: numpy) against what the notebooks' code gives on the same CSVs, computed once by
 * test/fixtures/numpy-sampling/make.py with numpy 1.24, scikit-learn 1.2 and pandas 1.5.
 *
 * Each pipeline runs up to its split; its tables are exported and compared column by column with the
 * rows the notebook selects (oversampled copies, train/test(/validation) order), and the test
 * split's weight sums with the notebook's. Skips where ../shared/data is absent.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse as parseYaml } from "yaml";
import { main } from "../cli/main.js";
import { tableFromArrowIPC } from "../core/arrow-codec.js";
import { numericValues, type Table } from "../core/table.js";
import { NumpyRandomState } from "../stages/lib/sampling/random-state.js";
import { numpyFoldAssignment } from "../stages/lib/sampling/folds.js";
import { run } from "./support/real-pipeline.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const dataDir = path.resolve(repoRoot, "..", "shared", "data");
const fixtureDir = path.join(repoRoot, "test", "fixtures", "numpy-sampling");

interface SplitSums {
  rows: number;
  signal_rows: number;
  background_rows: number;
  signal_weight: number;
  background_weight: number;
}

async function exportTable(pipeline: string, cache: string, ref: string, dir: string): Promise<Table> {
  const file = path.join(dir, `${ref.replace(".", "_")}.arrow`);
  const err: string[] = [];
  const code = await main(["export", pipeline, ref, "--to", file, "--cache-dir", cache], {
    out: () => {},
    err: (s) => err.push(s),
    color: false,
  });
  assert.equal(code, 0, err.join("\n"));
  return tableFromArrowIPC(new Uint8Array(fs.readFileSync(file)));
}

function column(t: Table, name: string): Float64Array {
  const c = t.columns.get(name);
  assert.ok(c, `no column ${name}`);
  return numericValues(c);
}

/** Every listed column of `got` equals `source` taken at `rows`, value for value. */
function assertRows(
  got: Table,
  source: Table,
  rows: readonly number[],
  columns: string[],
  what: string,
): void {
  assert.equal(got.numRows, rows.length, `${what}: row count`);
  for (const name of columns) {
    const g = column(got, name);
    const s = column(source, name);
    for (let i = 0; i < rows.length; i++)
      if (g[i] !== s[rows[i]!])
        assert.fail(`${what}: ${name} of row ${i} is ${g[i]}, the notebook's is ${s[rows[i]!]}`);
  }
}

function sums(t: Table): SplitSums {
  const label = column(t, "label");
  const w = column(t, "totalWeight");
  const out = { rows: t.numRows, signal_rows: 0, background_rows: 0, signal_weight: 0, background_weight: 0 };
  for (let i = 0; i < t.numRows; i++)
    if (label[i] === 1) {
      out.signal_rows++;
      out.signal_weight += w[i]!;
    } else {
      out.background_rows++;
      out.background_weight += w[i]!;
    }
  return out;
}

function close(a: number, b: number, rel: number, what: string): void {
  assert.ok(Math.abs(a - b) <= rel * Math.abs(b), `${what}: ${a} vs ${b}`);
}

/** A stage's `with:` block as written in a pipeline file. */
function stageWith(file: string, stage: string): Record<string, unknown> {
  const doc = parseYaml(fs.readFileSync(file, "utf8")) as {
    stages: Record<string, { with?: Record<string, unknown> }>;
  };
  return doc.stages[stage]?.with ?? {};
}

void describe("dark-matter pipeline in numpy mode: the notebook's rows", () => {
  const pipeline = path.join(repoRoot, "pipelines", "dark-matter.yaml");
  void test("oversampled table, train/test split and test weight sums equal the notebook's", async (t) => {
    if (!fs.existsSync(path.join(dataDir, "atlas_dm_ml_notebook", "DM_300.csv"))) {
      t.skip("data not present: ../shared/data/atlas_dm_ml_notebook (see ../shared/data/README.md)");
      return;
    }
    const fx = JSON.parse(fs.readFileSync(path.join(fixtureDir, "dark-matter.json"), "utf8")) as {
      rows_before: number;
      oversample_rows: number[];
      train_rows: number[];
      test_rows: number[];
      train: SplitSums;
      test: SplitSums & { z_no_cut: number };
    };
    assert.deepEqual(stageWith(pipeline, "oversampled"), {
      rate: 4,
      rng: "numpy",
      random_state: "${sampling_seed}",
    });
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-dm-numpy-"));
    try {
      const cache = path.join(tmp, "store");
      const r = await run(pipeline, cache, "--until", "split", "--until", "fixed_oversampled");
      assert.equal(r.code, 0, r.stderr);
      const prepared = await exportTable(pipeline, cache, "prepared.table", tmp);
      const oversampled = await exportTable(pipeline, cache, "oversampled.table", tmp);
      const train = await exportTable(pipeline, cache, "split.train", tmp);
      const test = await exportTable(pipeline, cache, "split.test", tmp);
      assert.equal(prepared.numRows, fx.rows_before);

      const cols = ["totalWeight", "lead_lep_pt", "sublead_lep_pt", "mll", "ETmiss", "processID", "label"];
      // pd.concat([All_processes_df, sig_temp.sample(frac=4.0, replace=True)], ignore_index=True)
      const overRows = [...Array.from({ length: fx.rows_before }, (_, i) => i), ...fx.oversample_rows];
      assertRows(oversampled, prepared, overRows, cols, "oversampled");
      // train_df, test_df = train_test_split(All_processes_df, test_size=0.33, random_state=420)
      assertRows(train, oversampled, fx.train_rows, cols, "train");
      assertRows(test, oversampled, fx.test_rows, cols, "test");

      for (const [got, want, what] of [
        [sums(train), fx.train, "train"],
        [sums(test), fx.test, "test"],
      ] as const) {
        assert.equal(got.rows, want.rows, what);
        assert.equal(got.signal_rows, want.signal_rows, what);
        assert.equal(got.background_rows, want.background_rows, what);
        // Same events, summed in another order than pandas' pairwise sum: agreement to rounding.
        close(got.signal_weight, want.signal_weight, 1e-13, `${what} signal Σw`);
        close(got.background_weight, want.background_weight, 1e-13, `${what} background Σw`);
      }
      const s = sums(test);
      close(
        s.signal_weight / 5 / Math.sqrt(s.background_weight + 0.001),
        fx.test.z_no_cut,
        1e-13,
        "no-cut Z",
      );
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

void describe("four-top pipeline in numpy mode: the books' rows", () => {
  const pipeline = path.join(repoRoot, "pipelines", "four-top.yaml");
  void test("shuffle(X, y, random_state=10) slices and the StratifiedKFold(5, random_state=101) folds", async (t) => {
    if (!fs.existsSync(path.join(dataDir, "acquaviva_4top_vs_ttbar", "Features_lim_2.csv"))) {
      t.skip("data not present: ../shared/data/acquaviva_4top_vs_ttbar (see ../shared/data/README.md)");
      return;
    }
    const fx = JSON.parse(fs.readFileSync(path.join(fixtureDir, "four-top.json"), "utf8")) as {
      order: number[];
      test_positives: number;
      test_always_ttbar_accuracy: number;
      cv_test_folds: number[][];
    };
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-4top-numpy-"));
    try {
      const cache = path.join(tmp, "store");
      const r = await run(pipeline, cache, "--until", "split");
      assert.equal(r.code, 0, r.stderr);
      const events = await exportTable(pipeline, cache, "events.table", tmp);
      const cols = ["ID", "MET", "P1", "Total_b", "label"];
      const parts = { train: [0, 3000], validation: [3000, 4000], test: [4000, 5000] } as const;
      for (const [port, [a, b]] of Object.entries(parts))
        assertRows(
          await exportTable(pipeline, cache, `split.${port}`, tmp),
          events,
          fx.order.slice(a, b),
          cols,
          port,
        );
      const testLabels = column(await exportTable(pipeline, cache, "split.test", tmp), "label");
      const positives = testLabels.reduce((a, v) => a + v, 0);
      assert.equal(positives, fx.test_positives);
      assert.equal((1000 - positives) / 1000, fx.test_always_ttbar_accuracy);

      // The cv stage's folds: the pipeline asks for StratifiedKFold(5, shuffle=True, random_state=101)
      // on the label, which the fold assignment gives for these labels.
      const cv = stageWith(pipeline, "cv");
      assert.equal(cv.rng, "numpy");
      assert.equal(cv.random_state, "${folds_seed}");
      assert.equal(cv.stratify, true);
      const labels = Int32Array.from(column(events, "label"));
      const folds = numpyFoldAssignment(labels.length, 5, new NumpyRandomState(101), labels);
      fx.cv_test_folds.forEach((rows, f) =>
        assert.deepEqual(
          [...folds.keys()].filter((i) => folds[i] === f),
          rows,
          `fold ${f}`,
        ),
      );
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});
