/**
 * Which TTree or RNTuple of a file to read, from the ones the file holds and `tree:` (if given):
 * the only one by default; with several, or a name that is not there, an error that lists them.
 * Pure: the listing comes from the file (read.ts), so this is testable without a file.
 */
import { didYouMean } from "../../../core/diagnostics.js";
import { StageError } from "../../../core/stage.js";

/** `trees`: name (`folder/name` inside folders) → ROOT class name, in the file's key order. */
export function pickTree(
  trees: ReadonlyMap<string, string>,
  wanted: string | undefined,
  file: string,
): string {
  const names = [...trees.keys()];
  const quoted = names.map((n) => `"${n}" (${trees.get(n) === "TTree" ? "TTree" : "RNTuple"})`).join(", ");
  // `/events;1` as ROOT prints it names the same tree as `events`.
  const name = wanted?.replace(/^\/+/, "").replace(/;\d+$/, "");
  if (name === undefined) {
    if (names.length === 0)
      throw new StageError("QV_LOAD_ROOT_TREE", `${file}: the file holds no TTree or RNTuple`, {
        hint: "Quiver reads trees of numbers; histograms and other objects are not tables",
        data: { file },
      });
    if (names.length > 1)
      throw new StageError("QV_LOAD_ROOT_TREE", `${file} holds ${names.length} trees: ${quoted}; say which`, {
        param: ["tree"],
        hint: `add tree: ${names[0]} (or another of them)`,
        data: { file },
      });
    return names[0]!;
  }
  if (!trees.has(name)) {
    const near = didYouMean(name, names);
    throw new StageError("QV_LOAD_ROOT_TREE", `${file} has no TTree or RNTuple "${name}"`, {
      param: ["tree"],
      hint: names.length
        ? `${near ? `did you mean "${near}"? ` : ""}it holds: ${quoted}`
        : "it holds no tree",
      data: { file },
    });
  }
  return name;
}
