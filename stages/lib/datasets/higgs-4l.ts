/**
 * Generated stand-ins for the eight Monte Carlo CSVs of the TU Dresden "Discover the Higgs with
 * Deep Neural Networks" lab (ATLAS 13 TeV open data, H→ZZ*→4ℓ). Same file names and columns as the
 * course's `input/<sample>.csv`; per-sample row counts, Σ totalWeight, preselection pass rates and
 * negative-weight fractions follow the course notebook's tables (REFERENCE_FIGURES.md §1).
 *
 * Physics model, per event: four leptons as two pairs. Signal: H (125 GeV) → Z Z* → 4ℓ with
 * isotropic decays; llll: qq→ZZ (on-shell pairs), Z→4ℓ and the off-shell continuum; Zee/Zmumu: a Z
 * plus two soft fake leptons; ttbar: two prompt W leptons plus two soft b-decay leptons. Events
 * chosen to fail the preselection get one lepton's flavour or charge flipped, so exactly the
 * intended fraction fails `flavour sum in [44, 48, 52] && charge sum == 0`. Units: GeV.
 */
import path from "node:path";
import { Rng } from "../random.js";
import { deriveSeed } from "../../../core/seed.js";
import {
  breitWigner,
  eta,
  fromPtEtaPhiM,
  fromPtYPhiM,
  gammaInt,
  massOfSum,
  phi,
  poisson,
  pt,
  twoBodyDecay,
  vec4,
  type Vec4,
} from "./kinematics.js";
import { fixed, TextFileWriter } from "./text-writer.js";

type Process = "ggH" | "VBF" | "VH" | "llll" | "Zll" | "ttbar";

export interface HiggsSampleSpec {
  readonly name: string;
  readonly label: 0 | 1;
  readonly process: Process;
  /** Z flavour for Z+jets samples (11 or 13), else 0. */
  readonly zFlavour: number;
  /** The notebook's table at full size: raw rows and Σ totalWeight, before and after preselection. */
  readonly rows: number;
  readonly sumW: number;
  readonly passRows: number;
  readonly passSumW: number;
  /** Fraction of events with negative weight, and their share of Σ|w| (after preselection). */
  readonly negRaw: number;
  readonly negWeighted: number;
  readonly jets: number;
}

/**
 * From REFERENCE_FIGURES.md §1 (course notebook outputs). ZH's Σw before selection is printed as
 * 0.0 (rounded to two decimals); 0.0024 keeps it below 0.005 and above the 0.002 that passes.
 */
export const HIGGS_SAMPLES: readonly HiggsSampleSpec[] = [
  s("ggH125_ZZ4lep", 1, "ggH", 0, 164716, 8.87, 161451, 8.695, 0.0021, 0.0022, 0.5),
  s("VBFH125_ZZ4lep", 1, "VBF", 0, 191126, 0.8, 186870, 0.78, 0.0018, 0.0019, 2.2),
  s("WH125_ZZ4lep", 1, "VH", 0, 15379, 0.35, 9772, 0.219, 0, 0, 1.2),
  s("ZH125_ZZ4lep", 1, "VH", 0, 14485, 0.0024, 11947, 0.002, 0, 0, 1.2),
  s("llll", 0, "llll", 0, 554279, 280.61, 523957, 266.547, 0.1036, 0.3217, 0.4),
  s("Zee", 0, "Zll", 11, 898, 170.33, 243, 43.418, 0.0576, 0.0849, 1.5),
  s("Zmumu", 0, "Zll", 13, 684, 139.34, 257, 52.332, 0.0195, 0.021, 1.5),
  s("ttbar_lep", 0, "ttbar", 0, 1031, 85.66, 334, 28.313, 0, 0, 2.5),
];

function s(
  name: string,
  label: 0 | 1,
  process: Process,
  zFlavour: number,
  rows: number,
  sumW: number,
  passRows: number,
  passSumW: number,
  negRaw: number,
  negWeighted: number,
  jets: number,
): HiggsSampleSpec {
  return { name, label, process, zFlavour, rows, sumW, passRows, passSumW, negRaw, negWeighted, jets };
}

const LEPTON_VARS = ["pt", "eta", "phi", "e", "pdgId", "charge"] as const;
export const HIGGS_COLUMNS: readonly string[] = [
  "totalWeight",
  "jet_n",
  "lep_m_llll",
  "lep_m_ll_12",
  "lep_m_ll_13",
  "lep_m_ll_14",
  "lep_m_ll_23",
  "lep_m_ll_24",
  "lep_m_ll_34",
  ...[1, 2, 3, 4].flatMap((i) => LEPTON_VARS.map((v) => `lep${i}_${v}`)),
];

export interface SampleReport {
  readonly name: string;
  readonly file: string;
  readonly rows: number;
  readonly passRows: number;
  readonly sumW: number;
  readonly passSumW: number;
  readonly bytes: number;
}

const MZ = 91.1876;
const GZ = 2.4952;
const MASS: Record<number, number> = { 11: 0.000511, 13: 0.10566 };

/** Scaled row counts: at least 2 rows, and at least one row in each group the full sample has. */
export function scaledCounts(spec: HiggsSampleSpec, scale: number): { rows: number; pass: number } {
  const rows = Math.max(2, Math.round(spec.rows * scale));
  let pass = Math.round(rows * (spec.passRows / spec.rows));
  if (spec.passRows > 0) pass = Math.max(1, pass);
  if (spec.passRows < spec.rows) pass = Math.min(rows - 1, pass);
  return { rows, pass };
}

/**
 * Event weights for one group (passing or failing events): log-normal magnitudes, a fraction
 * negative (with larger magnitudes, so their share of Σ|w| matches), rescaled to sum to `target`.
 */
function groupWeights(
  rng: Rng,
  n: number,
  target: number,
  negRaw: number,
  negWeighted: number,
): Float64Array {
  const w = new Float64Array(n);
  if (n === 0) return w;
  // k = mean |w| of negative events / mean |w| of positive ones, from the two fractions.
  const k = negRaw > 0 && negWeighted > 0 ? (negWeighted * (1 - negRaw)) / (negRaw * (1 - negWeighted)) : 1;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const mag = Math.exp(0.6 * rng.normal());
    const neg = rng.uniform() < negRaw;
    w[i] = neg ? -k * mag : mag;
    sum += w[i]!;
  }
  if (!(sum > 0)) {
    // A handful of events where the negative ones outweigh the rest: keep the yield positive.
    sum = 0;
    for (let i = 0; i < n; i++) sum += w[i] = Math.abs(w[i]!);
  }
  const f = target / sum;
  for (let i = 0; i < n; i++) w[i] = w[i]! * f;
  return w;
}

/** Per-event scratch: four leptons as two pairs (0,1) and (2,3). */
class EventScratch {
  readonly l = [vec4(), vec4(), vec4(), vec4()] as const;
  readonly flavour = new Int32Array(4);
  readonly charge = new Int32Array(4);
  readonly parent = vec4();
  readonly z1 = vec4();
  readonly z2 = vec4();
  readonly order = [0, 1, 2, 3];
}

function resonant4l(
  rng: Rng,
  ev: EventScratch,
  m4l: number,
  m12: number,
  m34: number,
  ptH: number,
  yH: number,
) {
  fromPtYPhiM(ev.parent, ptH, yH, 2 * Math.PI * rng.uniform() - Math.PI, m4l);
  twoBodyDecay(rng, ev.parent, m12, m34, ev.z1, ev.z2);
  twoBodyDecay(rng, ev.z1, MASS[ev.flavour[0]!]!, MASS[ev.flavour[1]!]!, ev.l[0], ev.l[1]);
  twoBodyDecay(rng, ev.z2, MASS[ev.flavour[2]!]!, MASS[ev.flavour[3]!]!, ev.l[2], ev.l[3]);
}

function zPlusFakes(rng: Rng, ev: EventScratch, fakeMean: number) {
  const mz = breitWigner(rng, MZ, GZ, 66, 116);
  fromPtYPhiM(ev.parent, gammaInt(rng, 2, 20), 1.4 * rng.normal(), 2 * Math.PI * rng.uniform() - Math.PI, mz);
  twoBodyDecay(rng, ev.parent, MASS[ev.flavour[0]!]!, MASS[ev.flavour[1]!]!, ev.l[0], ev.l[1]);
  for (const i of [2, 3]) {
    const ptFake = 5 + rng.exponential(fakeMean);
    fromPtEtaPhiM(
      ev.l[i]!,
      ptFake,
      5 * rng.uniform() - 2.5,
      2 * Math.PI * rng.uniform() - Math.PI,
      MASS[ev.flavour[i]!]!,
    );
  }
}

function kinematics(rng: Rng, ev: EventScratch, proc: Process): void {
  switch (proc) {
    case "ggH":
    case "VBF":
    case "VH": {
      // Detector resolution ~1.8 GeV, with a radiative tail towards low masses.
      const m4l = rng.uniform() < 0.06 ? 125 - rng.exponential(6) : 125 + 1.8 * rng.normal();
      const m12 = breitWigner(rng, MZ, GZ, 50, Math.min(106, m4l - 12.5));
      const hi = m4l - m12 - 0.5;
      const m34 = 12 + (hi - 12) * Math.pow(rng.uniform(), 0.4);
      const ptMean = proc === "ggH" ? 24 : proc === "VBF" ? 60 : 70;
      resonant4l(rng, ev, m4l, m12, m34, gammaInt(rng, 2, ptMean), 1.6 * rng.normal());
      return;
    }
    case "llll": {
      const u = rng.uniform();
      if (u < 0.2) {
        // Z → 4ℓ: one lepton pair radiated off the other.
        const m4l = breitWigner(rng, MZ, GZ, 80, 100) + 1.5 * rng.normal();
        const m12 = 40 + 40 * rng.uniform();
        const m34 = 5 + (Math.min(35, m4l - m12 - 1) - 5) * rng.uniform();
        resonant4l(rng, ev, m4l, m12, Math.max(4, m34), gammaInt(rng, 2, 15), 1.5 * rng.normal());
      } else if (u < 0.35) {
        // Off-shell continuum below the ZZ threshold.
        const m4l = 100 + 80 * rng.uniform();
        const m12 = breitWigner(rng, MZ, GZ, 50, Math.min(106, m4l - 12.5));
        const m34 = 12 + (m4l - m12 - 12.5) * rng.uniform();
        resonant4l(rng, ev, m4l, m12, m34, gammaInt(rng, 2, 25), 1.5 * rng.normal());
      } else {
        // qq → ZZ with both Z on shell.
        const m4l = 182 + gammaInt(rng, 2, 90);
        const m12 = breitWigner(rng, MZ, GZ, 66, 116);
        const m34 = breitWigner(rng, MZ, GZ, 66, Math.min(116, m4l - m12 - 0.5));
        resonant4l(rng, ev, m4l, m12, m34, gammaInt(rng, 2, 30), 1.5 * rng.normal());
      }
      return;
    }
    case "Zll":
      zPlusFakes(rng, ev, 6);
      return;
    case "ttbar": {
      for (let i = 0; i < 4; i++) {
        const p = i < 2 ? 10 + gammaInt(rng, 2, 45) : 5 + rng.exponential(7);
        const e = Math.max(-2.5, Math.min(2.5, 1.1 * rng.normal()));
        fromPtEtaPhiM(ev.l[i]!, p, e, 2 * Math.PI * rng.uniform() - Math.PI, MASS[ev.flavour[i]!]!);
      }
      return;
    }
    default: {
      const never: never = proc;
      throw new Error(`unknown process ${String(never)}`);
    }
  }
}

function accepted(ev: EventScratch): boolean {
  for (const v of ev.l) if (pt(v) < 5 || Math.abs(eta(v)) > 2.5) return false;
  return true;
}

/** Flavours and charges: two same-flavour opposite-charge pairs; a failing event gets one flip. */
function assignFlavours(rng: Rng, ev: EventScratch, spec: HiggsSampleSpec): void {
  const fa = spec.zFlavour || (rng.uniform() < 0.5 ? 11 : 13);
  const fb = rng.uniform() < 0.5 ? 11 : 13;
  const qa = rng.uniform() < 0.5 ? 1 : -1;
  const qb = rng.uniform() < 0.5 ? 1 : -1;
  ev.flavour.set([fa, fa, fb, fb]);
  ev.charge.set([qa, -qa, qb, -qb]);
}

function spoil(rng: Rng, ev: EventScratch): void {
  const k = rng.int(4);
  if (rng.uniform() < 0.5) ev.flavour[k] = ev.flavour[k] === 11 ? 13 : 11;
  else ev.charge[k] = -ev.charge[k]!;
}

/** Writes one sample's CSV; returns what was written. */
export function writeHiggsSample(
  spec: HiggsSampleSpec,
  outDir: string,
  opts: { scale: number; seed: number },
): SampleReport {
  const rng = new Rng(deriveSeed(opts.seed, spec.name));
  const { rows, pass } = scaledCounts(spec, opts.scale);
  const perm = rng.permutation(rows);
  const passes = new Uint8Array(rows);
  for (let i = 0; i < pass; i++) passes[perm[i]!] = 1;
  const wPass = groupWeights(rng, pass, spec.passSumW, spec.negRaw, spec.negWeighted);
  const wFail = groupWeights(rng, rows - pass, spec.sumW - spec.passSumW, spec.negRaw, spec.negWeighted);

  const file = path.join(outDir, `${spec.name}.csv`);
  const out = new TextFileWriter(file);
  const ev = new EventScratch();
  let ip = 0;
  let iff = 0;
  let sumW = 0;
  let passSumW = 0;
  try {
    out.write(HIGGS_COLUMNS.join(",") + "\n");
    for (let r = 0; r < rows; r++) {
      const passing = passes[r] === 1;
      const w = passing ? wPass[ip++]! : wFail[iff++]!;
      sumW += w;
      if (passing) passSumW += w;
      assignFlavours(rng, ev, spec);
      for (let attempt = 0; attempt < 30; attempt++) {
        kinematics(rng, ev, spec.process);
        if (accepted(ev)) break;
      }
      if (!passing) spoil(rng, ev);
      const jets =
        spec.process === "VBF" && rng.uniform() < 0.8 ? 2 + poisson(rng, 0.3) : poisson(rng, spec.jets);
      out.write(eventLine(ev, w, jets));
    }
    out.close();
  } catch (err) {
    out.abort();
    throw err;
  }
  return { name: spec.name, file, rows, passRows: pass, sumW, passSumW, bytes: out.bytes };
}

function eventLine(ev: EventScratch, w: number, jets: number): string {
  const o = ev.order;
  o.sort((a, b) => pt(ev.l[b]!) - pt(ev.l[a]!));
  const l = ev.l;
  const v = [l[o[0]!]!, l[o[1]!]!, l[o[2]!]!, l[o[3]!]!] as const;
  let line = `${w.toPrecision(7)},${jets},${fixed(massOfSum(v[0], v[1], v[2], v[3]), 4)}`;
  for (const [i, j] of PAIRS) line += "," + fixed(massOfSum(v[i], v[j]), 4);
  for (let k = 0; k < 4; k++) {
    const src = o[k]!;
    const p: Vec4 = v[k as 0 | 1 | 2 | 3];
    const pdg = ev.charge[src]! < 0 ? ev.flavour[src]! : -ev.flavour[src]!;
    line += `,${fixed(pt(p), 4)},${fixed(eta(p), 5)},${fixed(phi(p), 5)},${fixed(p[0]!, 4)},${pdg},${ev.charge[src]!}`;
  }
  return line + "\n";
}

const PAIRS = [
  [0, 1],
  [0, 2],
  [0, 3],
  [1, 2],
  [1, 3],
  [2, 3],
] as const;

export function writeHiggs4l(outDir: string, opts: { scale: number; seed: number }): SampleReport[] {
  return HIGGS_SAMPLES.map((spec) => writeHiggsSample(spec, outDir, opts));
}
