/**
 * End-to-end timing of the `train` (and `kfold`) stages inside the real pipelines
 * (pipelines/dark-matter.yaml: NN 10 epochs, batch 32; pipelines/four-top.yaml: NN 100 epochs,
 * batch 200, and its 5-fold CV), with the default trainer (WebAssembly SIMD) against
 * `trainer: tfjs`, in the same process and run, plus the accuracy/AUC each reaches.
 *
 * Each pipeline is copied to a temporary directory with `trainer:` set on its network stages and
 * absolute data paths, and run once from an empty store (every stage, --jobs 2: the figures).
 * Then each timed stage is run alone (--until STAGE) REPS times with a new pipeline seed each time,
 * so it really trains (kfold memoises its folds per seed); the median duration is reported.
 * Runs alternate between the trainers so that machine load hits both alike.
 *
 *   node dist/bench/train.js --stages
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseDocument } from "yaml";
import { main as quiverMain } from "../cli/main.js";
import type { EngineEvent } from "../engine/events.js";

const REPS = 3;

interface Case {
  readonly pipeline: string;
  readonly dataDir: string;
  /** Stages timed (network training). */
  readonly timed: readonly string[];
  /** Figures read after the first run: label → [artifact ref, key path]. */
  readonly figures: Readonly<Record<string, readonly [string, readonly string[]]>>;
}

const CASES: readonly Case[] = [
  {
    pipeline: "dark-matter.yaml",
    dataDir: "atlas_dm_ml_notebook",
    timed: ["nn"],
    figures: {
      "NN test AUC (weighted)": ["roc.metrics", ["scores", "nn", "auc"]],
      "NN test AUC (unweighted, the notebook's)": ["roc_unweighted.metrics", ["scores", "nn", "auc"]],
      "NN best significance Z": ["significance_nn.metrics", ["best", "z"]],
    },
  },
  {
    pipeline: "four-top.yaml",
    dataDir: "acquaviva_4top_vs_ttbar",
    timed: ["net", "cv"],
    figures: {
      "test accuracy": ["test_metrics.metrics", ["scores", "net", "accuracy"]],
      "test AUC": ["roc.metrics", ["scores", "net", "auc"]],
      "5-fold val accuracy (mean)": ["cv.metrics", ["val_accuracy", "mean"]],
      "5-fold val accuracy (std)": ["cv.metrics", ["val_accuracy", "std"]],
    },
  },
];

async function quiver(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await quiverMain(args, { out: (s) => out.push(s), err: (s) => err.push(s), color: false });
  return { code, out, err };
}

function events(out: string[]): EngineEvent[] {
  return out
    .join("\n")
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as EngineEvent);
}

/** The pipeline with absolute data paths and `trainer` set on every network stage. */
function variant(src: string, sharedData: string, dataDir: string, trainer: string): string {
  const doc = parseDocument(fs.readFileSync(src, "utf8"));
  doc.set("data_roots", [sharedData]);
  doc.setIn(["params", "data"], path.join(sharedData, dataDir));
  const stages = doc.get("stages") as { items: { key: { value: string }; value: unknown }[] };
  for (const item of stages.items) {
    const id = item.key.value;
    const type = doc.getIn(["stages", id, "type"]);
    const kind = doc.getIn(["stages", id, "with", "model", "kind"]);
    if ((type === "train" || type === "kfold") && kind === "nn")
      doc.setIn(["stages", id, "with", "trainer"], trainer);
  }
  return doc.toString();
}

function dig(o: unknown, keys: readonly string[]): number {
  const v = keys.reduce<unknown>((x, k) => (x as Record<string, unknown> | undefined)?.[k], o);
  return typeof v === "number" ? v : NaN;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

interface Measured {
  first: Record<string, number>;
  reps: Record<string, number[]>;
  figures: Record<string, number>;
  summary: Record<string, unknown>;
}

export async function stageTimings(repoRoot: string): Promise<void> {
  const sharedData = path.resolve(repoRoot, "..", "shared", "data");
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-bench-train-"));
  const trainers = ["auto", "tfjs"] as const;
  try {
    for (const c of CASES) {
      const data = path.join(sharedData, c.dataDir);
      if (!fs.existsSync(data)) {
        console.log(`${c.pipeline}: skipped, data not present (${data})`);
        continue;
      }
      const results: Record<string, Measured> = {};
      const files: Record<string, { file: string; cache: string }> = {};
      for (const trainer of trainers) {
        const file = path.join(tmp, `${trainer}-${c.pipeline}`);
        fs.writeFileSync(
          file,
          variant(path.join(repoRoot, "pipelines", c.pipeline), sharedData, c.dataDir, trainer),
        );
        files[trainer] = { file, cache: path.join(tmp, `store-${trainer}-${c.pipeline}`) };
        results[trainer] = { first: {}, reps: {}, figures: {}, summary: {} };
      }
      const timedOf = (out: string[]) => {
        const t: Record<string, number> = {};
        const s: Record<string, unknown> = {};
        for (const e of events(out))
          if (e.type === "finished" && c.timed.includes(e.stage)) {
            t[e.stage] = e.durationMs / 1000;
            s[e.stage] = e.summary;
          }
        return { t, s };
      };
      const run = async (args: string[], trainer: string) => {
        const r = await quiver(args);
        if (r.code !== 0) throw new Error(`${c.pipeline} (${trainer}) failed:\n${r.err.join("\n")}`);
        return r;
      };
      for (let rep = -1; rep < REPS; rep++) {
        for (const trainer of trainers) {
          const { file, cache } = files[trainer]!;
          const m = results[trainer]!;
          const args = ["run", file, "--json", "--no-lock", "--cache-dir", cache, "--jobs", "2"];
          if (rep >= 0)
            for (const stage of c.timed) {
              const r = await run([...args, "--until", stage, "--set", `seed=${1000 + rep}`], trainer);
              const sec = timedOf(r.out).t[stage];
              if (sec === undefined) throw new Error(`${c.pipeline}: ${stage} did not run`);
              (m.reps[stage] ??= []).push(sec);
            }
          else {
            const { t, s } = timedOf((await run(args, trainer)).out);
            m.first = t;
            m.summary = s;
            for (const [label, [ref, keys]] of Object.entries(c.figures)) {
              const shown = await quiver(["show", file, ref, "--json", "--cache-dir", cache]);
              const json = shown.out.find((l) => l.startsWith("{"));
              m.figures[label] = json ? dig(JSON.parse(json), keys) : NaN;
            }
          }
        }
      }
      console.log(
        `\n${c.pipeline} (--jobs 2; median of ${REPS} runs of the stage alone, in brackets: within the first full run)`,
      );
      for (const stage of c.timed) {
        const w = results.auto!;
        const f = results.tfjs!;
        const mw = median(w.reps[stage] ?? []);
        const mf = median(f.reps[stage] ?? []);
        console.log(
          `  ${stage}: default trainer ${mw.toFixed(2)} s [${(w.first[stage] ?? NaN).toFixed(2)}], ` +
            `tfjs ${mf.toFixed(2)} s [${(f.first[stage] ?? NaN).toFixed(2)}]: tfjs / default = ${(mf / mw).toFixed(1)}×`,
        );
        console.log(`    summary default ${JSON.stringify(w.summary[stage])}`);
        console.log(`    summary tfjs    ${JSON.stringify(f.summary[stage])}`);
      }
      for (const label of Object.keys(c.figures))
        console.log(
          `  ${label}: default ${results.auto!.figures[label]!.toFixed(4)}, tfjs ${results.tfjs!.figures[label]!.toFixed(4)}`,
        );
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
