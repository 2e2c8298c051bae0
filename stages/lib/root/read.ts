/**
 * Reads one ROOT file into a flat table: chooses the TTree or RNTuple (`tree:`), selects branches
 * (`branches:`, names or globs), checks every selected branch can be read and every jagged one has
 * a rule, reads them, and flattens them (jagged.ts). Every problem is a StageError naming the file
 * and the branch, raised before any data is read where it can be: never a half-loaded table.
 */
import { didYouMean } from "../../../core/diagnostics.js";
import { StageError } from "../../../core/stage.js";
import { makeTable, type Table } from "../../../core/table.js";
import { TBuffer, type JsRootFile } from "jsroot/io";
import { isGlob, matchesGlob } from "../../../core/glob.js";
import { flatten, type NamedColumn } from "./jagged.js";
import type { JaggedRule } from "./rules.js";
import { decodeKeys, decodeTree, type BranchLayout, type TreeInfo } from "./objects.js";
import { describeTuple, readFields, type TupleInfo } from "./rntuple.js";
import { DecompressError, unzipRoot } from "./decompress.js";
import { corrupt, RootSource } from "./source.js";
import { newStats, readBranch, type RawColumn } from "./ttree.js";
import { pickTree } from "./pick-tree.js";

export interface RootReadOptions {
  readonly tree?: string;
  readonly branches?: readonly string[];
  readonly rename?: Readonly<Record<string, string>>;
  /** Branch name or glob → rule. */
  readonly jagged?: Readonly<Record<string, JaggedRule>>;
  /** Index of this file's first event within the whole load (for exploded rows). */
  readonly firstEvent?: number;
  /** Name of the event index column that `explode` adds. */
  readonly indexName?: string;
}

export interface RootRead {
  readonly table: Table;
  /** Events (entries) in the file's tree; the table has more rows when a branch is exploded. */
  readonly events: number;
  readonly details: Readonly<Record<string, string>>;
  /** File size in bytes. */
  readonly bytes: number;
  /** What the user should hear about: values dropped by `pad`. */
  readonly notes: readonly string[];
}

/** The three jagged rules, shown on `name` (the first branch that needs one) so they can be pasted. */
function jaggedRulesHint(name: string): string {
  const cut = name.indexOf("_");
  const pattern = cut > 0 ? `${name.slice(0, cut + 1)}*` : name;
  const object = cut > 0 ? name.slice(0, cut).toLowerCase() : "object";
  const rows: [string, string][] = [
    [`jagged: { ${name}: { pad: 2 } }`, `${name}_0, ${name}_1 (NaN when missing; fill: sets it)`],
    [`jagged: { ${name}: { reduce: [count, max] } }`, `${name}_count, ${name}_max`],
    [`jagged: { "${pattern}": { explode: true } }`, `one row per ${object}, with an event index column`],
  ];
  const width = Math.max(...rows.map(([rule]) => rule.length)) + 2;
  return (
    "give each a rule under jagged:, e.g.\n" +
    rows.map(([rule, what]) => `  ${rule.padEnd(width)}# ${what}\n`).join("") +
    "or leave the branch out of branches:"
  );
}

/** Reads `absPath`; `file` is how messages name it. */
export async function readRootFile(absPath: string, file: string, opts: RootReadOptions): Promise<RootRead> {
  const source = await RootSource.open(absPath, file);
  let jsfile: JsRootFile | undefined;
  try {
    jsfile = await source.jsroot();
    const target = await chooseTree(jsfile, source, file, opts.tree);
    const stats = newStats();
    let info: TreeInfo | TupleInfo;
    let plan: Plan<Selectable>;
    let raws: RawColumn[] = [];
    if (target.className === "TTree") {
      const tree = decodeTree(target.object, target.name, file);
      const treePlan = prepare(
        tree.branches,
        tree.branches.filter((b) => !b.nested),
        opts,
        file,
        tree,
      );
      for (const b of treePlan.selected) raws.push(await readBranch(source, jsfile, b, tree.entries, stats));
      info = tree;
      plan = treePlan;
    } else {
      const tuple = await describeTuple(target.object, target.name, file);
      const tuplePlan = prepare(tuple.fields, tuple.fields, opts, file, tuple);
      raws = await readFields(tuple, tuplePlan.selected, file);
      info = tuple;
      plan = tuplePlan;
    }
    const { selected, rules, names } = plan;

    const named: NamedColumn[] = selected.map((b, i) => ({
      name: names[i]!,
      branch: b.name,
      raw: raws[i]!,
      rule: rules.get(b.name),
    }));
    const flat = flatten(named, info.entries, {
      file,
      firstEvent: opts.firstEvent ?? 0,
      indexName: opts.indexName ?? "entry",
    });
    const dup = flat.columns.find(([n], i) => flat.columns.findIndex(([m]) => m === n) !== i);
    if (dup)
      throw new StageError("QV_LOAD_DUPLICATE_COLUMN", `${file}: two columns would be named "${dup[0]}"`, {
        param: ["rename"],
        hint: "rename: one of the branches, or choose another explode index name",
        data: { file, column: dup[0] },
      });
    const details: Record<string, string> = {
      [info.kind === "TTree" ? "tree" : "rntuple"]: info.name,
      entries: String(info.entries),
      branches: String(selected.length),
    };
    if (info.kind === "TTree") details.compression = [...stats.algorithms].sort().join(", ") || "none";
    // One note per file and pad length: "42 events had more than 2 values in Muon_E, Muon_Px, …".
    const byLength = new Map<string, string[]>();
    for (const [b, n] of Object.entries(flat.truncated)) {
      const rule = rules.get(b) as Extract<JaggedRule, { kind: "pad" }>;
      const key = `${n} event(s) had more than ${rule.length} value(s)`;
      byLength.set(key, [...(byLength.get(key) ?? []), b]);
    }
    const notes = [...byLength].map(
      ([what, branches]) =>
        `${file}: ${what} in ${branches.join(", ")}; pad kept the first ones and dropped the rest`,
    );
    return { table: makeTable(flat.columns), events: info.entries, details, bytes: source.size, notes };
  } finally {
    jsfile?.delete();
    await source.close();
  }
}

interface TreeTarget {
  readonly name: string;
  readonly className: "TTree" | "ROOT::RNTuple";
  readonly object: unknown;
}

const TREE_CLASSES = new Set([
  "TTree",
  "TNtuple",
  "TNtupleD",
  "ROOT::RNTuple",
  "ROOT::Experimental::RNTuple",
]);
const DIR_CLASSES = new Set(["TDirectory", "TDirectoryFile"]);

/** Trees and RNTuples in the file (and its folders, as `folder/name`), highest cycle only. */
async function listTrees(jsfile: JsRootFile, file: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const visit = async (keys: readonly unknown[], prefix: string, depth: number) => {
    for (const k of decodeKeys(keys)) {
      const full = prefix + k.name;
      if (TREE_CLASSES.has(k.className)) found.set(full, k.className);
      else if (DIR_CLASSES.has(k.className) && depth < 4) {
        const dir = await readObject(jsfile, full, "folder", file);
        const sub = typeof dir === "object" && dir !== null ? (dir as { fKeys?: unknown }).fKeys : undefined;
        if (Array.isArray(sub)) await visit(sub, full + "/", depth + 1);
      }
    }
  };
  await visit(jsfile.fKeys, "", 0);
  return found;
}

async function chooseTree(
  jsfile: JsRootFile,
  source: RootSource,
  file: string,
  wanted: string | undefined,
): Promise<TreeTarget> {
  const trees = await listTrees(jsfile, file);
  const name = pickTree(trees, wanted, file);
  const className = trees.get(name)!;
  const isTuple = className.includes("RNTuple");
  // A TTree's metadata is read with jsroot's streamers but decompressed through node:zlib
  // (readTreeObject); an RNTuple anchor is small and goes through jsroot entirely.
  const object = isTuple
    ? await readObject(jsfile, name, "RNTuple", file)
    : await readTreeObject(jsfile, source, name, className, file);
  return { name, className: className.includes("RNTuple") ? "ROOT::RNTuple" : "TTree", object };
}

/** jsroot's readObject, with damage in the object's bytes reported as such. */
async function readObject(jsfile: JsRootFile, name: string, what: string, file: string): Promise<unknown> {
  try {
    return await jsfile.readObject(name);
  } catch (e) {
    if (e instanceof StageError) throw e;
    throw corrupt(file, `the ${what} "${name}" cannot be decoded (${(e as Error).message})`);
  }
}

/**
 * Reads a TTree object the way jsroot's `readObject` does (its key, then jsroot's streamer for the
 * class), except that the record is decompressed through node:zlib (decompress.ts): a tree's
 * metadata (every branch with its basket tables) is often larger than a small file's data.
 */
async function readTreeObject(
  jsfile: JsRootFile,
  source: RootSource,
  name: string,
  className: string,
  file: string,
): Promise<unknown> {
  const key = await jsfile.getKey(name, -1).catch(() => undefined);
  const k = (typeof key === "object" && key !== null ? key : {}) as Record<string, unknown>;
  const n = (f: string) => (typeof k[f] === "number" ? k[f] : NaN);
  const seek = n("fSeekKey");
  const keylen = n("fKeylen");
  const nbytes = n("fNbytes");
  const objlen = n("fObjlen");
  if (![seek, keylen, nbytes, objlen].every((x) => Number.isInteger(x) && x >= 0) || keylen > nbytes)
    throw corrupt(file, `the key of TTree "${name}" is not valid`);
  const stored = await source.read(seek + keylen, nbytes - keylen, `TTree "${name}"`);
  let bytes = stored;
  if (objlen > stored.length) {
    try {
      bytes = await unzipRoot(stored, objlen);
    } catch (e) {
      if (e instanceof DecompressError) throw corrupt(file, `TTree "${name}": ${e.message}`);
      throw e;
    }
  }
  try {
    const buf = new TBuffer(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0, jsfile);
    buf.fTagOffset = keylen;
    const obj = {};
    buf.mapObject(1, obj);
    buf.classStreamer(obj, className);
    return obj;
  } catch (e) {
    throw corrupt(file, `the TTree "${name}" cannot be decoded (${(e as Error).message})`);
  }
}

interface Plan<B extends Selectable> {
  readonly selected: B[];
  readonly rules: Map<string, JaggedRule>;
  readonly names: string[];
}

/** Everything decided before reading: which branches, their rules, their output names. */
function prepare<B extends Selectable>(
  all: readonly B[],
  topLevel: readonly B[],
  opts: RootReadOptions,
  file: string,
  info: TreeInfo | TupleInfo,
): Plan<B> {
  const selected = selectBranches(all, topLevel, opts.branches, file, info);
  checkReadable(selected, file, info);
  const rules = resolveRules(selected, opts.jagged ?? {}, file, info);
  const names = outputNames(selected, opts.rename ?? {}, file);
  return { selected, rules, names };
}

interface Selectable {
  readonly name: string;
  readonly typeName: string;
  readonly layout: BranchLayout;
}

function selectBranches<B extends Selectable>(
  all: readonly B[],
  topLevel: readonly B[],
  patterns: readonly string[] | undefined,
  file: string,
  info: TreeInfo | TupleInfo,
): B[] {
  if (!patterns) return [...topLevel];
  const what = info.kind === "TTree" ? "branch" : "field";
  const out: B[] = [];
  const seen = new Set<string>();
  patterns.forEach((pattern, i) => {
    const hits = isGlob(pattern)
      ? topLevel.filter((b) => matchesGlob(pattern, b.name))
      : all.filter((b) => b.name === pattern);
    if (hits.length === 0) {
      const near = isGlob(pattern)
        ? undefined
        : didYouMean(
            pattern,
            all.map((b) => b.name),
          );
      throw new StageError(
        "QV_LOAD_UNKNOWN_BRANCH",
        `${file}: ${info.kind} "${info.name}" has no ${what} ${isGlob(pattern) ? "matching " : ""}"${pattern}"`,
        {
          param: ["branches", i],
          hint: `${near ? `did you mean "${near}"? ` : ""}its ${what}es: ${topLevel
            .slice(0, 40)
            .map((b) => b.name)
            .join(", ")}${topLevel.length > 40 ? ", …" : ""}`,
          data: { file, column: pattern },
        },
      );
    }
    for (const b of hits)
      if (!seen.has(b.name)) {
        seen.add(b.name);
        out.push(b);
      }
  });
  return out;
}

function checkReadable(selected: readonly Selectable[], file: string, info: TreeInfo | TupleInfo): void {
  const bad = selected.filter((b) => b.layout.kind === "unsupported");
  if (bad.length === 0) return;
  const first = bad[0]!;
  const layout = first.layout as Extract<BranchLayout, { kind: "unsupported" }>;
  const others =
    bad.length > 1
      ? ` (and ${bad.length - 1} more: ${bad
          .slice(1, 8)
          .map((b) => `"${b.name}"`)
          .join(", ")}${bad.length > 8 ? ", …" : ""})`
      : "";
  throw new StageError(
    "QV_LOAD_ROOT_UNSUPPORTED",
    `${file}: ${info.kind === "TTree" ? "branch" : "field"} "${first.name}" of type ${first.typeName} cannot be loaded: ${layout.why}${others}`,
    {
      param: ["branches"],
      hint: `${layout.instead}; or leave it out of branches:`,
      data: { file, column: first.name },
    },
  );
}

function resolveRules(
  selected: readonly Selectable[],
  rules: Readonly<Record<string, JaggedRule>>,
  file: string,
  info: TreeInfo | TupleInfo,
): Map<string, JaggedRule> {
  const jagged = selected.filter((b) => b.layout.kind === "counted" || b.layout.kind === "vector");
  const out = new Map<string, JaggedRule>();
  const used = new Set<string>();
  const missing: Selectable[] = [];
  for (const b of jagged) {
    const exact = rules[b.name];
    if (exact) {
      out.set(b.name, exact);
      used.add(b.name);
      continue;
    }
    const globs = Object.keys(rules).filter((p) => isGlob(p) && matchesGlob(p, b.name));
    globs.forEach((g) => used.add(g));
    const distinct = new Set(globs.map((g) => JSON.stringify(rules[g])));
    if (distinct.size > 1)
      throw new StageError(
        "QV_LOAD_JAGGED_AMBIGUOUS",
        `${file}: branch "${b.name}" matches jagged rules ${globs.map((g) => `"${g}"`).join(" and ")}, which differ`,
        {
          param: ["jagged", globs[1]!],
          hint: `give "${b.name}" its own rule, or make the patterns not overlap`,
        },
      );
    if (globs.length) out.set(b.name, rules[globs[0]!]!);
    else missing.push(b);
  }
  if (missing.length) {
    const list = missing
      .slice(0, 12)
      .map((b) => `"${b.name}" (${b.typeName})`)
      .join(", ");
    throw new StageError(
      "QV_LOAD_JAGGED",
      `${file}: ${missing.length === 1 ? "branch" : `${missing.length} branches`} ${list}${missing.length > 12 ? ", …" : ""} ` +
        `${missing.length === 1 ? "has" : "have"} a variable number of values per event, and Quiver tables are flat`,
      {
        param: ["branches"],
        hint: jaggedRulesHint(missing[0]!.name),
        data: { file, column: missing[0]!.name },
      },
    );
  }
  const selectedNames = selected.map((b) => b.name);
  for (const pattern of Object.keys(rules)) {
    if (used.has(pattern)) continue;
    const plainMatch = selected.find((b) => matchesGlob(pattern, b.name));
    throw new StageError(
      "QV_LOAD_JAGGED_UNUSED",
      plainMatch
        ? `${file}: jagged rule "${pattern}" names ${info.kind === "TTree" ? "branch" : "field"} "${plainMatch.name}", which has a fixed number of values`
        : `${file}: jagged rule "${pattern}" matches no selected ${info.kind === "TTree" ? "branch" : "field"}`,
      {
        param: ["jagged", pattern],
        hint: plainMatch
          ? "only jagged branches (counted arrays, vectors) take a rule; remove this one"
          : (() => {
              const near = didYouMean(pattern, selectedNames);
              return near
                ? `did you mean "${near}"?`
                : "select the branch under branches:, or remove the rule";
            })(),
      },
    );
  }
  return out;
}

function outputNames(
  selected: readonly Selectable[],
  rename: Readonly<Record<string, string>>,
  file: string,
): string[] {
  const names = selected.map((b) => b.name);
  for (const from of Object.keys(rename)) {
    if (names.includes(from)) continue;
    const near = didYouMean(from, names);
    throw new StageError(
      "QV_LOAD_UNKNOWN_BRANCH",
      `${file}: rename: names "${from}", which is not a selected branch`,
      {
        param: ["rename", from],
        hint: near ? `did you mean "${near}"?` : `selected: ${names.slice(0, 30).join(", ")}`,
        data: { file, column: from },
      },
    );
  }
  return names.map((n) => rename[n] ?? n);
}
