/**
 * A generated stand-in for the CMS crystal shower-shape file of MIT 8.S50x lesson 14
 * (`xtalTuple_TTbar_PU0.z`, HDF5 dataset `l1pf_egm_reg`): the notebook's 61 columns, from `pt` to
 * `gen_match`, in its order. Signal (gen_match 1, real e/γ) has one narrow electromagnetic shower
 * (electrons with some bremsstrahlung spread in φ); background (gen_match 0, pileup and pions) is a
 * mix of merged π0 → γγ showers (two blobs), broad hadronic deposits with HCAL energy behind them,
 * and a photon-like fraction that overlaps the signal. Every shape variable is computed from the
 * generated 5×5 ECAL crystal energies (`e_<η>_<φ>`, offsets m2..p2) and 3×3 HCAL towers
 * (`h_<η>_<φ>`), so the variables are consistent with each other.
 */
import fs from "node:fs";
import path from "node:path";
import { makeTable, float64Column } from "../../../core/table.js";
import { Rng } from "../random.js";
import { deriveSeed } from "../../../core/seed.js";
import { writeHdf5Matrix } from "../io/hdf5.js";
import { gammaInt } from "./kinematics.js";

const OFF = ["m2", "m1", "p0", "p1", "p2"] as const;
const HOFF = ["m1", "p0", "p1"] as const;

/** The notebook's VARS, in order (8S50x_L14, runcell L14.2-01). */
export const PHOTON_COLUMNS: readonly string[] = [
  "pt",
  "eta",
  "phi",
  "energy",
  "e2x2",
  "e2x5",
  "e3x5",
  "e5x5",
  "e2x2_div_e2x5",
  "e2x2_div_e5x5",
  "e2x5_div_e5x5",
  "hoE",
  "bremStrength",
  "ecalIso",
  "crystalCount",
  "lowerSideLobePt",
  "upperSideLobePt",
  "phiStripContiguous0",
  "phiStripOneHole0",
  "phiStripContiguous3p",
  "phiStripOneHole3p",
  "sihih",
  "sipip",
  "sigetaeta",
  "sigphiphi",
  "sigetaphi",
  ...OFF.flatMap((a) => OFF.map((b) => `e_${a}_${b}`)),
  ...HOFF.flatMap((a) => HOFF.map((b) => `h_${a}_${b}`)),
  "gen_match",
];

/** Full-size row count: enough that the notebook's 100 000 / 10 000 per-class limits bite after the cuts. */
export const PHOTON_ROWS = 160_000;
const PHOTON_SIGNAL_FRACTION = 0.1;
export const PHOTON_DATASET = "l1pf_egm_reg";
// The notebook's file name (an HDF5 file despite the `.z`): a user with the real file drops it in place.
export const PHOTON_FILE = "xtalTuple_TTbar_PU0.z";

const NOISE = 0.04; // GeV per crystal
const ZERO_SUPPRESS = 2 * NOISE;
const CRYSTAL = 0.0174; // barrel crystal size in η and φ

/** Adds a shower of `energy` centred at (x, y) in crystal units with exponential radius `lambda`. */
function addShower(grid: Float64Array, energy: number, x: number, y: number, lambda: number): void {
  let norm = 0;
  const f = new Float64Array(25);
  for (let a = 0; a < 5; a++)
    for (let b = 0; b < 5; b++) {
      const r = Math.hypot(a - 2 - x, b - 2 - y);
      norm += f[a * 5 + b] = Math.exp(-r / lambda);
    }
  for (let i = 0; i < 25; i++) grid[i] = grid[i]! + (energy * f[i]!) / norm;
}

function windowSum(g: Float64Array, a0: number, a1: number, b0: number, b1: number): number {
  let s = 0;
  for (let a = a0; a <= a1; a++) for (let b = b0; b <= b1; b++) s += g[a * 5 + b]!;
  return s;
}

/** Cells above `thr` contiguous along φ from the centre of the central η row; `holes` gaps allowed. */
function phiStrip(g: Float64Array, thr: number, holes: number): number {
  if (g[12]! <= thr) return 0;
  let count = 1;
  for (const dir of [-1, 1]) {
    let left = holes;
    for (let b = 2 + dir; b >= 0 && b < 5; b += dir) {
      if (g[10 + b]! > thr) count++;
      else if (left-- <= 0) break;
    }
  }
  return count;
}

export interface PhotonReport {
  readonly file: string;
  readonly dataset: string;
  readonly rows: number;
  readonly signal: number;
}

export async function writePhotonId(
  outDir: string,
  opts: { scale: number; seed: number },
): Promise<PhotonReport> {
  const rng = new Rng(deriveSeed(opts.seed, "photon-id"));
  const n = Math.max(10, Math.round(PHOTON_ROWS * opts.scale));
  const cols = new Map<string, Float64Array>(PHOTON_COLUMNS.map((c) => [c, new Float64Array(n)]));
  const col = (name: string) => cols.get(name)!;
  const eCols = OFF.flatMap((a) => OFF.map((b) => col(`e_${a}_${b}`)));
  const hCols = HOFF.flatMap((a) => HOFF.map((b) => col(`h_${a}_${b}`)));
  const grid = new Float64Array(25);
  const hcal = new Float64Array(9);
  let signal = 0;

  for (let r = 0; r < n; r++) {
    const sig = rng.uniform() < PHOTON_SIGNAL_FRACTION;
    if (sig) signal++;
    // Background kinds: < 0.4 merged π0, < 0.7 hadronic / pileup, else photon-like fakes.
    const kind = rng.uniform();
    // Real e/γ: prompt (hard) or soft (from b decays, conversions); fakes: soft pileup, and jet
    // fragments whose pT overlaps the signal's.
    const ptv = sig
      ? rng.uniform() < 0.3
        ? 0.4 + rng.exponential(4)
        : 1 + gammaInt(rng, 2, 25)
      : kind < 0.4
        ? 0.3 + rng.exponential(6)
        : kind < 0.7
          ? 0.2 + rng.exponential(2.5)
          : 1 + gammaInt(rng, 2, 12);
    const etav = 2.958 * rng.uniform() - 1.479; // the ECAL barrel
    const phiv = 2 * Math.PI * rng.uniform() - Math.PI;
    const energy = ptv * Math.cosh(etav);
    grid.fill(0);
    hcal.fill(0);
    const x0 = rng.uniform() - 0.5;
    const y0 = rng.uniform() - 0.5;
    let hadFrac = 0.004 * rng.exponential(1);
    let iso = 0;
    if (sig) {
      const contained = 0.97 * energy;
      const lambda = 0.33 + 0.05 * Math.abs(rng.normal());
      // Electrons (about half of the real e/γ) radiate: part of the energy lands along φ.
      const brem = rng.uniform() < 0.5 ? 0.25 * rng.uniform() : 0;
      addShower(grid, contained * (1 - brem), x0, y0, lambda);
      if (brem > 0)
        addShower(grid, contained * brem, x0, y0 + (rng.uniform() < 0.5 ? -1 : 1) * (1 + rng.uniform()), 0.5);
      iso = rng.exponential(0.6) + (rng.uniform() < 0.15 ? rng.exponential(3) : 0);
    } else {
      const contained = 0.9 * energy;
      if (kind < 0.4) {
        // π0 → γγ merged: two showers, separation falling with the π0 momentum.
        const d = Math.min(2, rng.exponential(0.5) + 0.3 * rng.uniform() + 2 / (1 + energy));
        const ang = 2 * Math.PI * rng.uniform();
        const z = 0.15 + 0.7 * rng.uniform();
        addShower(grid, contained * z, x0, y0, 0.36);
        addShower(grid, contained * (1 - z), x0 + d * Math.cos(ang), y0 + d * Math.sin(ang), 0.36);
        iso = rng.exponential(2.5);
      } else if (kind < 0.7) {
        // Hadronic deposit or pileup: broad, with energy in the HCAL behind.
        addShower(grid, contained, x0, y0, 0.6 + 0.4 * Math.abs(rng.normal()));
        hadFrac = 0.05 + rng.exponential(0.25);
        iso = rng.exponential(3.5);
      } else {
        // Photon-like fakes (e.g. a π0 taking most of a jet's energy): single showers barely
        // wider than real ones and a little less isolated; they limit the achievable rejection.
        addShower(grid, 0.95 * energy, x0, y0, 0.34 + 0.06 * Math.abs(rng.normal()));
        iso = rng.exponential(1.0);
      }
    }
    for (let i = 0; i < 25; i++) {
      const v = grid[i]! + NOISE * rng.normal();
      grid[i] = v < ZERO_SUPPRESS ? 0 : v;
    }
    const hTotal = hadFrac * energy;
    for (let i = 0; i < 9; i++) {
      const share = i === 4 ? 0.6 : 0.05;
      const v = hTotal * share + 0.02 * rng.normal();
      hcal[i] = v < 0.04 ? 0 : v;
    }

    const e5x5 = windowSum(grid, 0, 4, 0, 4);
    const e2x2 = Math.max(
      windowSum(grid, 1, 2, 1, 2),
      windowSum(grid, 1, 2, 2, 3),
      windowSum(grid, 2, 3, 1, 2),
      windowSum(grid, 2, 3, 2, 3),
    );
    const e2x5 = Math.max(windowSum(grid, 1, 2, 0, 4), windowSum(grid, 2, 3, 0, 4));
    const e3x5 = windowSum(grid, 1, 3, 0, 4);
    const lower = windowSum(grid, 0, 4, 0, 0);
    const upper = windowSum(grid, 0, 4, 4, 4);
    // Log-weighted second moments (the usual w = max(0, 4.7 + ln(e/E))).
    let sw = 0;
    let ma = 0;
    let mb = 0;
    let count = 0;
    const w = new Float64Array(25);
    for (let i = 0; i < 25; i++) {
      const e = grid[i]!;
      if (e > 0.1) count++;
      w[i] = e > 0 && e5x5 > 0 ? Math.max(0, 4.7 + Math.log(e / e5x5)) : 0;
      sw += w[i]!;
      ma += w[i]! * (Math.floor(i / 5) - 2);
      mb += w[i]! * ((i % 5) - 2);
    }
    let saa = 0;
    let sbb = 0;
    let sab = 0;
    if (sw > 0) {
      ma /= sw;
      mb /= sw;
      for (let i = 0; i < 25; i++) {
        const da = Math.floor(i / 5) - 2 - ma;
        const db = (i % 5) - 2 - mb;
        saa += w[i]! * da * da;
        sbb += w[i]! * db * db;
        sab += w[i]! * da * db;
      }
      saa /= sw;
      sbb /= sw;
      sab /= sw;
    }
    let hSum = 0;
    for (let i = 0; i < 9; i++) hSum += hcal[i]!;

    const set = (name: string, v: number) => (col(name)[r] = v);
    set("pt", ptv);
    set("eta", etav);
    set("phi", phiv);
    set("energy", energy);
    set("e2x2", e2x2);
    set("e2x5", e2x5);
    set("e3x5", e3x5);
    set("e5x5", e5x5);
    set("e2x2_div_e2x5", e2x5 > 0 ? e2x2 / e2x5 : 0);
    set("e2x2_div_e5x5", e5x5 > 0 ? e2x2 / e5x5 : 0);
    set("e2x5_div_e5x5", e5x5 > 0 ? e2x5 / e5x5 : 0);
    set("hoE", hSum / energy);
    set("bremStrength", e5x5 > 0 ? 1 - windowSum(grid, 0, 4, 1, 3) / e5x5 + 0.5 * sbb : 0);
    set("ecalIso", iso);
    set("crystalCount", count);
    set("lowerSideLobePt", lower / Math.cosh(etav));
    set("upperSideLobePt", upper / Math.cosh(etav));
    set("phiStripContiguous0", phiStrip(grid, 0, 0));
    set("phiStripOneHole0", phiStrip(grid, 0, 1));
    set("phiStripContiguous3p", phiStrip(grid, 3 * NOISE, 0));
    set("phiStripOneHole3p", phiStrip(grid, 3 * NOISE, 1));
    set("sihih", Math.sqrt(saa));
    set("sipip", Math.sqrt(sbb));
    set("sigetaeta", Math.sqrt(saa) * CRYSTAL);
    set("sigphiphi", Math.sqrt(sbb) * CRYSTAL);
    set("sigetaphi", sab * CRYSTAL * CRYSTAL);
    for (let i = 0; i < 25; i++) eCols[i]![r] = grid[i]!;
    for (let i = 0; i < 9; i++) hCols[i]![r] = hcal[i]!;
    set("gen_match", sig ? 1 : 0);
  }

  const table = makeTable(PHOTON_COLUMNS.map((c) => [c, float64Column(col(c))] as const));
  fs.mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, PHOTON_FILE);
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    // The notebook reads a plain 2-D matrix and names the columns itself; write the same layout.
    await writeHdf5Matrix(tmp, PHOTON_DATASET, table);
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  return { file, dataset: PHOTON_DATASET, rows: n, signal };
}
