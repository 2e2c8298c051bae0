/**
 * The data-set generators behind `quiver datasets make`: schema (files, columns, order, types as the
 * load stage reads them), determinism from the seed, yields and preselection rates against the
 * course tables, physical plausibility (Z-like pairs, the 125 GeV peak, negative weights, shower
 * widths), and the CLI's errors.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { main } from "../cli/main.js";
import { numericValues, type Table } from "../core/table.js";
import { loadStage } from "../stages/load.js";
import {
  HIGGS_COLUMNS,
  HIGGS_SAMPLES,
  scaledCounts,
  writeHiggsSample,
} from "../stages/lib/datasets/higgs-4l.js";
import {
  PHOTON_COLUMNS,
  PHOTON_DATASET,
  PHOTON_FILE,
  writePhotonId,
} from "../stages/lib/datasets/photon-id.js";
import { runStage } from "./support/stage-harness.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-datasets-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function load(file: string, dataset?: string, names?: readonly string[]): Promise<Table> {
  const r = await runStage(loadStage, {
    params: { files: [file], ...(dataset ? { dataset } : {}), ...(names ? { names } : {}) },
    baseDir: tmp,
  });
  const out = r.outputs.table;
  assert.ok(out && out.kind === "table");
  return out.table;
}

const col = (t: Table, name: string) => numericValues(t.columns.get(name)!);
const median = (xs: Float64Array) => {
  const s = Float64Array.from(xs).sort();
  return s[s.length >> 1]!;
};

describe("higgs-4l generator", () => {
  const spec = (name: string) => HIGGS_SAMPLES.find((s) => s.name === name)!;

  test("same file names and columns as the course's CSVs; int columns stay int", async () => {
    const dir = path.join(tmp, "h-schema");
    const r = writeHiggsSample(spec("Zee"), dir, { scale: 1, seed: 1 });
    assert.equal(path.basename(r.file), "Zee.csv");
    const t = await load(r.file);
    assert.deepEqual([...t.columns.keys()], HIGGS_COLUMNS);
    assert.equal(t.numRows, 898);
    for (const c of ["jet_n", "lep1_pdgId", "lep4_charge"]) assert.equal(t.columns.get(c)!.type, "int32", c);
  });

  test("deterministic from the seed; another seed gives other events", () => {
    const a = writeHiggsSample(spec("ttbar_lep"), path.join(tmp, "h-a"), { scale: 1, seed: 5 });
    const b = writeHiggsSample(spec("ttbar_lep"), path.join(tmp, "h-b"), { scale: 1, seed: 5 });
    const c = writeHiggsSample(spec("ttbar_lep"), path.join(tmp, "h-c"), { scale: 1, seed: 6 });
    assert.ok(fs.readFileSync(a.file).equals(fs.readFileSync(b.file)));
    assert.ok(!fs.readFileSync(a.file).equals(fs.readFileSync(c.file)));
  });

  test("row counts scale, yields do not; the preselection passes the course's fraction", async () => {
    for (const name of ["WH125_ZZ4lep", "Zmumu", "llll"]) {
      const sp = spec(name);
      const scale = name === "llll" ? 0.02 : 0.2;
      const r = writeHiggsSample(sp, path.join(tmp, "h-yields"), { scale, seed: 3 });
      const t = await load(r.file);
      const { rows, pass } = scaledCounts(sp, scale);
      assert.equal(t.numRows, rows);
      const w = col(t, "totalWeight");
      let sumW = 0;
      let passW = 0;
      let passRows = 0;
      let negative = 0;
      for (let i = 0; i < t.numRows; i++) {
        let flavour = 0;
        let charge = 0;
        for (let k = 1; k <= 4; k++) {
          flavour += Math.abs(col(t, `lep${k}_pdgId`)[i]!);
          charge += col(t, `lep${k}_charge`)[i]!;
        }
        const ok = [44, 48, 52].includes(flavour) && charge === 0;
        sumW += w[i]!;
        if (w[i]! < 0) negative++;
        if (ok) {
          passRows++;
          passW += w[i]!;
        }
      }
      assert.equal(passRows, pass, `${name}: rows passing the preselection`);
      assert.ok(Math.abs(sumW - sp.sumW) < 1e-5 * sp.sumW, `${name} Σw ${sumW}`);
      assert.ok(Math.abs(passW - sp.passSumW) < 1e-5 * sp.passSumW, `${name} Σw after ${passW}`);
      assert.ok(Math.abs(pass / rows - sp.passRows / sp.rows) < 1 / rows);
      if (name === "llll")
        assert.ok(Math.abs(negative / rows - sp.negRaw) < 0.02, `negative ${negative / rows}`);
      else if (sp.negRaw === 0) assert.equal(negative, 0);
    }
  });

  test("signal peaks at 125 GeV with a Z-like pair; pT-ordered leptons; pdgId sign follows the charge", async () => {
    const r = writeHiggsSample(spec("ggH125_ZZ4lep"), path.join(tmp, "h-sig"), { scale: 0.02, seed: 2 });
    const t = await load(r.file);
    const m4l = col(t, "lep_m_llll");
    assert.ok(Math.abs(median(m4l) - 125) < 1.5, `median m4l ${median(m4l)}`);
    let zLike = 0;
    for (let i = 0; i < t.numRows; i++) {
      const pairs = ["12", "13", "14", "23", "24", "34"].map((p) => col(t, `lep_m_ll_${p}`)[i]!);
      if (pairs.some((m) => Math.abs(m - 91.19) < 10)) zLike++;
      assert.ok(
        col(t, "lep1_pt")[i]! >= col(t, "lep2_pt")[i]! && col(t, "lep3_pt")[i]! >= col(t, "lep4_pt")[i]!,
      );
      const pdg = col(t, "lep1_pdgId")[i]!;
      assert.equal(Math.sign(pdg), -col(t, "lep1_charge")[i]!); // e⁻ is +11
    }
    assert.ok(zLike / t.numRows > 0.8, `Z-like pair in ${zLike / t.numRows}`);
    // On-shell ZZ background sits above 180 GeV for most events.
    const bg = await load(
      writeHiggsSample(spec("llll"), path.join(tmp, "h-bg"), { scale: 0.005, seed: 2 }).file,
    );
    assert.ok(median(col(bg, "lep_m_llll")) > 160);
  });
});

describe("photon-id generator", () => {
  test("the notebook's 61 columns in order, as a plain matrix in HDF5 dataset l1pf_egm_reg, read by the load stage", async () => {
    const r = await writePhotonId(path.join(tmp, "p"), { scale: 0.02, seed: 4 });
    assert.equal(path.basename(r.file), PHOTON_FILE);
    assert.equal(PHOTON_COLUMNS.length, 61);
    assert.equal(PHOTON_COLUMNS[0], "pt");
    assert.equal(PHOTON_COLUMNS[60], "gen_match");
    // Like the notebook's file, the matrix stores no names: unnamed columns are column_1 … column_61.
    const unnamed = await load(r.file, PHOTON_DATASET);
    assert.equal(unnamed.columns.size, 61);
    assert.ok(unnamed.columns.has("column_61"));
    const t = await load(r.file, PHOTON_DATASET, PHOTON_COLUMNS);
    assert.deepEqual([...t.columns.keys()], PHOTON_COLUMNS);
    assert.equal(t.numRows, r.rows);
    const gm = col(t, "gen_match");
    const sig = gm.reduce((a, b) => a + b, 0) / t.numRows;
    assert.ok(sig > 0.07 && sig < 0.13, `signal fraction ${sig}`);
    // Real e/γ showers are narrower and less hadronic than pileup and pions.
    const mean = (name: string, cls: number) => {
      const v = col(t, name);
      let s = 0;
      let n = 0;
      for (let i = 0; i < t.numRows; i++)
        if (gm[i] === cls) {
          s += v[i]!;
          n++;
        }
      return s / n;
    };
    assert.ok(mean("sihih", 1) < mean("sihih", 0));
    assert.ok(mean("hoE", 1) < mean("hoE", 0));
    assert.ok(mean("e2x2_div_e5x5", 1) > mean("e2x2_div_e5x5", 0));
    // Consistency: e5x5 is the sum of the 25 crystals.
    let sum = 0;
    for (const a of ["m2", "m1", "p0", "p1", "p2"])
      for (const b of ["m2", "m1", "p0", "p1", "p2"]) sum += col(t, `e_${a}_${b}`)[0]!;
    assert.ok(Math.abs(sum - col(t, "e5x5")[0]!) < 1e-9 * Math.max(1, sum));
  });

  test("deterministic from the seed", async () => {
    const a = await writePhotonId(path.join(tmp, "pa"), { scale: 0.005, seed: 9 });
    const b = await writePhotonId(path.join(tmp, "pb"), { scale: 0.005, seed: 9 });
    const ta = await load(a.file, PHOTON_DATASET, PHOTON_COLUMNS);
    const tb = await load(b.file, PHOTON_DATASET, PHOTON_COLUMNS);
    for (const c of PHOTON_COLUMNS) assert.deepEqual(col(ta, c), col(tb, c), c);
  });
});

describe("quiver datasets", () => {
  const run = async (...argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(["datasets", ...argv], {
      out: (s) => out.push(s),
      err: (s) => err.push(s),
      color: false,
    });
    return { code, out: out.join("\n"), err: err.join("\n") };
  };

  test("make writes the files and reports them as JSON", async () => {
    const dir = path.join(tmp, "cli");
    const r = await run("make", "higgs-4l", "--out", dir, "--scale", "0.002", "--seed", "3", "--json");
    assert.equal(r.code, 0, r.err);
    const rep = JSON.parse(r.out) as { files: { file: string; rows: number }[] };
    assert.deepEqual(fs.readdirSync(dir).sort(), HIGGS_SAMPLES.map((s) => `${s.name}.csv`).sort());
    assert.equal(rep.files.length, 8);
  });

  test("list, and usage errors with exit code 2", async () => {
    const l = await run("list");
    assert.equal(l.code, 0);
    assert.match(l.out, /higgs-4l/);
    assert.match(l.out, /photon-id/);
    const typo = await run("make", "higs-4l", "--out", tmp);
    assert.equal(typo.code, 2);
    assert.match(typo.err, /did you mean "higgs-4l"/);
    assert.equal((await run("make", "photon-id")).code, 2);
    assert.equal((await run("make", "photon-id", "--out", tmp, "--scale", "-1")).code, 2);
    assert.equal((await run("make", "photon-id", "--out", tmp, "--seed", "1.5")).code, 2);
  });
});
