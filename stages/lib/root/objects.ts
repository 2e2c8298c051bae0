/**
 * Decodes the untyped objects jsroot reads from a ROOT file (keys, TTree, TBranch, TLeaf, RNTuple
 * descriptors) into the typed descriptions the reader works with. This is the one place that
 * knows jsroot's object shapes; everything downstream is typed.
 *
 * A branch's `layout` says how its baskets are laid out, and so whether Quiver can read it:
 * - `fixed`: a number (or a fixed-size array of `width` numbers) per entry, back to back;
 * - `counted`: a C array whose length is another branch (`Muon_pt[nMuon]`), values back to back;
 * - `vector`: a `std::vector<number>`, each entry with a 10-byte header then the values;
 * - `string`: a C string, `std::string` or `TString`, each entry a length-prefixed string;
 * - `unsupported`: anything else, with why and what to do instead.
 */
import { StageError } from "../../../core/stage.js";

export type Primitive =
  | "bool"
  | "int8"
  | "uint8"
  | "int16"
  | "uint16"
  | "int32"
  | "uint32"
  | "int64"
  | "uint64"
  | "float32"
  | "float64";

export const PRIMITIVE_SIZE: Readonly<Record<Primitive, number>> = {
  bool: 1,
  int8: 1,
  uint8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  int64: 8,
  uint64: 8,
  float32: 4,
  float64: 8,
};

/** Types whose every value fits an int32 column; the others become float64. */
export function fitsInt32(t: Primitive): boolean {
  return t === "bool" || t === "int8" || t === "uint8" || t === "int16" || t === "uint16" || t === "int32";
}

export type BranchLayout =
  | { readonly kind: "fixed"; readonly type: Primitive; readonly width: number }
  | { readonly kind: "counted"; readonly type: Primitive; readonly counter: string }
  | { readonly kind: "vector"; readonly type: Primitive }
  | { readonly kind: "string" }
  | { readonly kind: "unsupported"; readonly why: string; readonly instead: string };

/** A basket stored in its own record of the file. */
export interface FileBasket {
  readonly kind: "file";
  readonly seek: number;
  readonly bytes: number;
  readonly firstEntry: number;
}

/** A basket written inside the TTree object itself (jsroot has already decoded it). */
export interface EmbeddedBasket {
  readonly kind: "embedded";
  readonly firstEntry: number;
  readonly entries: number;
  /** The basket's data, from its first entry to its end (`fLast`). */
  readonly data: Uint8Array;
  /** Entry start offsets relative to `data`, when the branch has them. */
  readonly offsets: Int32Array | undefined;
}

export type BasketRef = FileBasket | EmbeddedBasket;

export interface BranchInfo {
  readonly name: string;
  /** The branch's type as ROOT users write it: `float`, `float[3]`, `float[nMuon]`, `vector<float>`. */
  readonly typeName: string;
  readonly layout: BranchLayout;
  readonly entries: number;
  readonly baskets: readonly BasketRef[];
  /** A sub-branch of a split object; only top-level branches are selected by default. */
  readonly nested: boolean;
}

export interface TreeInfo {
  readonly kind: "TTree";
  readonly name: string;
  readonly entries: number;
  /** Every branch, sub-branches after their parent, in file order. */
  readonly branches: readonly BranchInfo[];
}

export interface KeyInfo {
  readonly name: string;
  readonly className: string;
  readonly cycle: number;
}

type Obj = Readonly<Record<string, unknown>>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null;
}

function field(o: Obj, k: string): unknown {
  return o[k];
}

function num(o: Obj, k: string): number {
  const v = field(o, k);
  if (typeof v === "number") return v;
  if (typeof v === "bigint") return Number(v);
  return NaN;
}

function str(o: Obj, k: string): string {
  const v = field(o, k);
  return typeof v === "string" ? v : "";
}

function list(o: Obj, k: string): unknown[] {
  const v = field(o, k);
  if (isObj(v) && Array.isArray(v.arr)) return v.arr as unknown[];
  return [];
}

function numbers(o: Obj, k: string): ArrayLike<number> {
  const v = field(o, k);
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return v as unknown as ArrayLike<number>;
  return [];
}

export function decodeKeys(keys: readonly unknown[]): KeyInfo[] {
  const out: KeyInfo[] = [];
  for (const k of keys) {
    if (!isObj(k)) continue;
    out.push({ name: str(k, "fName"), className: str(k, "fClassName"), cycle: num(k, "fCycle") });
  }
  return out;
}

export function decodeTree(obj: unknown, name: string, file: string): TreeInfo {
  if (!isObj(obj) || !Number.isFinite(num(obj, "fEntries")))
    throw new StageError("QV_LOAD_ROOT_CORRUPT", `${file}: the TTree "${name}" cannot be decoded`, {
      hint: "the file may be damaged; copy it again",
      data: { file },
    });
  const branches: BranchInfo[] = [];
  const leafOwner = new Map<string, string>();
  const walk = (list_: unknown[], nested: boolean) => {
    for (const b of list_) {
      if (!isObj(b)) continue;
      for (const leaf of list(b, "fLeaves"))
        if (isObj(leaf)) leafOwner.set(str(leaf, "fName"), str(b, "fName"));
      branches.push(decodeBranch(b, nested, leafOwner));
      walk(list(b, "fBranches"), true);
    }
  };
  walk(list(obj, "fBranches"), false);
  return { kind: "TTree", name, entries: num(obj, "fEntries"), branches };
}

function decodeBranch(b: Obj, nested: boolean, leafOwner: ReadonlyMap<string, string>): BranchInfo {
  const name = str(b, "fName");
  const entries = num(b, "fEntries");
  const described = describeLayout(b, leafOwner);
  return { name, ...described, entries, baskets: basketsOf(b), nested };
}

function describeLayout(
  b: Obj,
  leafOwner: ReadonlyMap<string, string>,
): { typeName: string; layout: BranchLayout } {
  const leaves = list(b, "fLeaves").filter(isObj);
  const subBranches = list(b, "fBranches");
  if (str(b, "fFileName") !== "")
    return unsupported("?", "its data is in another file", "load that file instead");
  if (str(b, "_typename") === "TBranchElement") return describeElement(b, subBranches.length > 0);
  if (str(b, "_typename") !== "TBranch")
    return unsupported(str(b, "_typename"), "it is a special kind of branch", "select plain branches");
  if (leaves.length !== 1) {
    const names = leaves.map((l) => str(l, "fName")).join(", ");
    return unsupported(
      `leaf list (${names})`,
      "it packs several leaves into one branch",
      "write each leaf as its own branch",
    );
  }
  const leaf = leaves[0]!;
  const leafType = str(leaf, "_typename");
  if (leafType === "TLeafC") return { typeName: "char*", layout: { kind: "string" } };
  const type = leafPrimitive(leafType, field(leaf, "fIsUnsigned") === true);
  if (!type)
    return unsupported(
      leafType,
      "its values are stored in a packed or object form Quiver does not read",
      "store them as float or double",
    );
  const width = num(leaf, "fLen");
  const counter = field(leaf, "fLeafCount");
  if (isObj(counter)) {
    const counterLeaf = str(counter, "fName");
    const counterBranch = leafOwner.get(counterLeaf) ?? counterLeaf;
    if (width !== 1)
      return unsupported(
        `${cType(type)}[${counterBranch}][${width}]`,
        "it is a variable-length array of fixed-size arrays",
        "store one branch per inner index",
      );
    return {
      typeName: `${cType(type)}[${counterBranch}]`,
      layout: { kind: "counted", type, counter: counterBranch },
    };
  }
  if (!Number.isInteger(width) || width < 1)
    return unsupported(leafType, "its array length cannot be read", "store it as a plain number");
  return {
    typeName: width === 1 ? cType(type) : `${cType(type)}[${width}]`,
    layout: { kind: "fixed", type, width },
  };
}

function describeElement(b: Obj, hasChildren: boolean): { typeName: string; layout: BranchLayout } {
  const className = str(b, "fClassName").replace(/\s+/g, " ").trim();
  const clean = className.replace(/^std::/, "");
  if (clean === "string" || clean === "TString") return { typeName: className, layout: { kind: "string" } };
  const vec = /^vector<\s*(.+?)\s*>$/.exec(clean);
  if (vec && !hasChildren) {
    const inner = vec[1]!.replace(/^std::/, "");
    const type = cppPrimitive(inner);
    if (type) return { typeName: `vector<${inner}>`, layout: { kind: "vector", type } };
    if (/^(vector|set|map|list|deque)</.test(inner))
      return unsupported(
        className,
        "it is a nested container (a vector of vectors, sets or maps)",
        "write it as one vector branch per inner index, or as counted arrays",
      );
    return unsupported(
      className,
      `it is a vector of objects (${inner})`,
      "write the members you need as vector<float>/vector<int> branches, or as counted arrays",
    );
  }
  if (/^(set|map|multimap|multiset|unordered_map|unordered_set|list|deque)</.test(clean))
    return unsupported(
      className,
      "it is an associative or linked container",
      "write the values as vector branches",
    );
  if (str(b, "fClassName") === "" || num(b, "fID") >= 0)
    return unsupported(
      className || "object member",
      "it is a member of a split object",
      "write the members you need as plain branches (float, int, vector<float>)",
    );
  return unsupported(
    className,
    `it holds ${className} objects`,
    className === "TLorentzVector"
      ? "write its components as plain branches (pt, eta, phi, E), or as vector<float> branches"
      : "write the members you need as plain branches (float, int, vector<float>)",
  );
}

function unsupported(
  typeName: string,
  why: string,
  instead: string,
): { typeName: string; layout: BranchLayout } {
  return { typeName, layout: { kind: "unsupported", why, instead } };
}

function leafPrimitive(leafType: string, unsigned: boolean): Primitive | undefined {
  switch (leafType) {
    case "TLeafO":
      return "bool";
    case "TLeafB":
      return unsigned ? "uint8" : "int8";
    case "TLeafS":
      return unsigned ? "uint16" : "int16";
    case "TLeafI":
      return unsigned ? "uint32" : "int32";
    case "TLeafL":
    case "TLeafG":
      return unsigned ? "uint64" : "int64";
    case "TLeafF":
      return "float32";
    case "TLeafD":
      return "float64";
    default:
      return undefined;
  }
}

const CPP_TYPES: Readonly<Record<string, Primitive>> = {
  bool: "bool",
  Bool_t: "bool",
  char: "int8",
  Char_t: "int8",
  "signed char": "int8",
  int8_t: "int8",
  "unsigned char": "uint8",
  UChar_t: "uint8",
  uint8_t: "uint8",
  short: "int16",
  Short_t: "int16",
  int16_t: "int16",
  "unsigned short": "uint16",
  UShort_t: "uint16",
  uint16_t: "uint16",
  int: "int32",
  Int_t: "int32",
  int32_t: "int32",
  "unsigned int": "uint32",
  UInt_t: "uint32",
  uint32_t: "uint32",
  long: "int64",
  "long long": "int64",
  Long_t: "int64",
  Long64_t: "int64",
  int64_t: "int64",
  "unsigned long": "uint64",
  "unsigned long long": "uint64",
  ULong_t: "uint64",
  ULong64_t: "uint64",
  uint64_t: "uint64",
  float: "float32",
  Float_t: "float32",
  double: "float64",
  Double_t: "float64",
};

export function cppPrimitive(name: string): Primitive | undefined {
  return CPP_TYPES[name.replace(/^std::/, "")];
}

function cType(t: Primitive): string {
  switch (t) {
    case "bool":
      return "bool";
    case "int8":
      return "char";
    case "uint8":
      return "unsigned char";
    case "int16":
      return "short";
    case "uint16":
      return "unsigned short";
    case "int32":
      return "int";
    case "uint32":
      return "unsigned int";
    case "int64":
      return "long";
    case "uint64":
      return "unsigned long";
    case "float32":
      return "float";
    case "float64":
      return "double";
  }
}

function basketsOf(b: Obj): BasketRef[] {
  const out: BasketRef[] = [];
  const written = num(b, "fWriteBasket");
  const seeks = numbers(b, "fBasketSeek");
  const bytes = numbers(b, "fBasketBytes");
  const firsts = numbers(b, "fBasketEntry");
  for (let k = 0; k < written; k++) {
    const len = bytes[k] ?? 0;
    if (len <= 0) continue;
    out.push({ kind: "file", seek: seeks[k] ?? NaN, bytes: len, firstEntry: firsts[k] ?? NaN });
  }
  // The basket being filled when the tree was written is stored inside the TTree object.
  const embedded = list(b, "fBaskets");
  for (let k = written; k < embedded.length; k++) {
    const bk = embedded[k];
    if (!isObj(bk) || !(num(bk, "fNevBuf") > 0)) continue;
    const ref = field(bk, "fBufferRef");
    const view = isObj(ref) ? field(ref, "arr") : undefined;
    const keylen = num(bk, "fKeylen");
    const entryOffsets = numbers(bk, "fEntryOffset");
    out.push({
      kind: "embedded",
      firstEntry: firsts[k] ?? NaN,
      entries: num(bk, "fNevBuf"),
      data:
        view instanceof DataView
          ? new Uint8Array(view.buffer, view.byteOffset, view.byteLength)
          : new Uint8Array(0),
      offsets: entryOffsets.length ? Int32Array.from(entryOffsets, (o) => o - keylen) : undefined,
    });
  }
  return out;
}
