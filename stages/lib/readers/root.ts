/**
 * `format: root` — ROOT files: a TTree or an RNTuple, read through jsroot's file, streamer and
 * tree code and Quiver's basket decoder (stages/lib/root/). Its params choose the tree, the
 * branches (names or globs), new names, and the rule for each jagged branch; a `files:` entry may
 * set its own. Files are read in place, never gunzipped (ROOT compresses its data internally).
 */
import { p, type Infer } from "../../../core/schema.js";
import { StageError, type ParamProblem } from "../../../core/stage.js";
import { REDUCERS, type JaggedRule } from "../root/rules.js";
import { defineReader, readEach } from "./reader.js";

const jaggedRule = p.object({
  pad: p.optional(
    p.integer({ min: 1, description: "Keep the first N values as <branch>_0 … <branch>_{N-1}." }),
  ),
  fill: p.optional(p.number({ description: "pad: the value for missing entries (default NaN)." })),
  reduce: p.optional(
    p.array(p.enum(REDUCERS), {
      minItems: 1,
      description: "Per-event summaries as <branch>_<name>: count, sum, min, max, mean, first, last.",
    }),
  ),
  explode: p.optional(
    p.boolean({ description: "One row per value, other columns repeated, with an `entry` column." }),
  ),
});

type JaggedParam = Infer<typeof jaggedRule>;

const params = p.object({
  tree: p.optional(
    p.string({ description: "ROOT: the TTree or RNTuple to read (default: the only one in the file)." }),
  ),
  branches: p.optional(
    p.array(p.string(), {
      minItems: 1,
      description: "ROOT: branches to read, by name or glob (Muon_*); default all top-level branches.",
    }),
  ),
  rename: p.optional(p.map(p.string(), { description: "ROOT: new names for branches, {old: new}." })),
  jagged: p.optional(
    p.map(jaggedRule, {
      description:
        "ROOT: how to flatten branches with a variable number of values per event, by name or glob: " +
        "{pad: N, fill}, {reduce: [count, sum, min, max, mean, first, last]} or {explode: true}.",
    }),
  ),
});

/** The rule a `jagged:` entry gives; `check` has made sure exactly one of pad/reduce/explode is set. */
function ruleOf(r: JaggedParam): JaggedRule {
  if (r.pad !== undefined) return { kind: "pad", length: r.pad, fill: r.fill ?? NaN };
  if (r.reduce !== undefined) return { kind: "reduce", reducers: r.reduce };
  return { kind: "explode" };
}

// "root", then the big-endian format version: its first byte is 0 in every ROOT file, and never
// in a text file that happens to start with the word "root".
const MAGIC = "root";

export const rootReader = defineReader({
  name: "root",
  title: "ROOT",
  extensions: [".root"],
  sniff: (head) =>
    head.length > 4 && [...MAGIC].every((ch, i) => head[i] === ch.charCodeAt(0)) && head[4] === 0,
  params,
  perFile: ["tree", "branches", "rename", "jagged"],
  check(prm): ParamProblem[] {
    const problems: ParamProblem[] = [];
    for (const [pattern, rule] of Object.entries(prm.jagged ?? {})) {
      const given = (["pad", "reduce", "explode"] as const).filter((k) => rule[k] !== undefined);
      if (given.length !== 1 || rule.explode === false)
        problems.push({
          path: ["jagged", pattern],
          code: "QV_LOAD_JAGGED_RULE",
          message:
            given.length > 1
              ? `jagged rule for "${pattern}" gives ${given.join(" and ")}; give one`
              : `jagged rule for "${pattern}" says neither pad: N, reduce: [...] nor explode: true`,
          hint: "e.g. {pad: 2}, {reduce: [count, max]} or {explode: true}",
        });
      if (rule.fill !== undefined && rule.pad === undefined)
        problems.push({
          path: ["jagged", pattern, "fill"],
          code: "QV_LOAD_JAGGED_RULE",
          message: `fill: only goes with pad:`,
        });
    }
    for (const [from, to] of Object.entries(prm.rename ?? {}))
      if (to === "")
        problems.push({
          path: ["rename", from],
          code: "QV_LOAD_RENAME",
          message: "a new name cannot be empty",
        });
    return problems;
  },
  async read(files, prm, common) {
    const { readRootFile } = await import("../root/read.js");
    const jagged = prm.jagged
      ? Object.fromEntries(Object.entries(prm.jagged).map(([k, r]) => [k, ruleOf(r)]))
      : undefined;
    const notes: string[] = [];
    // Exploded rows carry their event's index within the whole load, counted over all files.
    let events = common.recordsBefore ?? 0;
    const read = await readEach(files, async (f) => {
      if (f.gzip)
        throw new StageError("QV_LOAD_FORMAT", `${f.name}: gzipped ROOT files are not supported`, {
          hint: "gunzip the file (ROOT compresses its data internally)",
          data: { file: f.name },
        });
      const r = await readRootFile(f.path, f.name, {
        tree: prm.tree,
        branches: prm.branches,
        rename: prm.rename,
        jagged,
        firstEvent: events,
      });
      events += r.events;
      notes.push(...r.notes);
      return { table: r.table, details: r.details, records: r.events };
    });
    return { ...read, notes };
  },
});
