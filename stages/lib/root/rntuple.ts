/**
 * Reads RNTuple (ROOT 6.34+ columnar format, v1) fields through jsroot's `rntuple` module.
 *
 * jsroot reads RNTuple only entry by entry (`rntupleProcess`), so this path runs a small loop per
 * entry and is slower than the TTree path; RNTuple pages are already columnar, so a page-level
 * reader can replace it without changing anything above. Field types map like TTree leaves:
 * numbers and bool are flat, `std::vector<number>` / `ROOT::RVec<number>` jagged, `std::array`
 * fixed-width, `std::string` text; anything else is unsupported, with the reason.
 */
import { readHeaderFooter, rntupleProcess } from "jsroot/rntuple";
import { TSelector } from "jsroot/tree";
import { StageError } from "../../../core/stage.js";
import { allocate, GrowingArray } from "./decode.js";
import { cppPrimitive, type BranchLayout, type Primitive } from "./objects.js";
import type { RawColumn } from "./ttree.js";

export interface FieldInfo {
  readonly name: string;
  readonly typeName: string;
  readonly layout: BranchLayout;
}

export interface TupleInfo {
  readonly kind: "RNTuple";
  readonly name: string;
  readonly entries: number;
  readonly fields: readonly FieldInfo[];
  /** jsroot's descriptor builder and anchor, passed back to `readFields`. */
  readonly handle: unknown;
}

type Obj = Readonly<Record<string, unknown>>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null;

export async function describeTuple(anchor: unknown, name: string, file: string): Promise<TupleInfo> {
  let builder: unknown;
  try {
    builder = await readHeaderFooter(anchor);
  } catch (e) {
    throw new StageError(
      "QV_LOAD_ROOT_CORRUPT",
      `${file}: the RNTuple "${name}" cannot be decoded (${(e as Error).message})`,
      { hint: "the file may be damaged, or written by an RNTuple version newer than 1.x", data: { file } },
    );
  }
  if (!isObj(builder) || !Array.isArray(builder.fieldDescriptors) || !Array.isArray(builder.clusterSummaries))
    throw new StageError("QV_LOAD_ROOT_CORRUPT", `${file}: the RNTuple "${name}" has no readable header`, {
      data: { file },
    });
  const all = builder.fieldDescriptors as unknown[];
  const fields: FieldInfo[] = [];
  all.forEach((f, i) => {
    if (!isObj(f) || f.parentFieldId !== i) return; // top-level fields are their own parent
    const fieldName = typeof f.fieldName === "string" ? f.fieldName : `field${i}`;
    const typeName = typeof f.typeName === "string" ? f.typeName : "?";
    fields.push({ name: fieldName, typeName, layout: fieldLayout(typeName) });
  });
  let entries = 0;
  for (const c of builder.clusterSummaries as unknown[]) if (isObj(c)) entries += Number(c.numEntries);
  return { kind: "RNTuple", name, entries, fields, handle: anchor };
}

function fieldLayout(typeName: string): BranchLayout {
  const t = typeName.replace(/\s+/g, "");
  const prim = cppPrimitive(t);
  if (prim) return { kind: "fixed", type: prim, width: 1 };
  if (t === "std::string") return { kind: "string" };
  const vec = /^(?:std::vector|ROOT::RVec|ROOT::VecOps::RVec)<(.+)>$/.exec(t);
  if (vec) {
    const inner = cppPrimitive(vec[1]!);
    if (inner) return { kind: "vector", type: inner };
    return {
      kind: "unsupported",
      why: `it is a collection of ${vec[1]!}`,
      instead: "write the members you need as std::vector<float>/std::vector<int> fields",
    };
  }
  const arr = /^std::array<(.+),(\d+)>$/.exec(t);
  if (arr) {
    const inner = cppPrimitive(arr[1]!);
    if (inner) return { kind: "fixed", type: inner, width: Number(arr[2]) };
  }
  return {
    kind: "unsupported",
    why: `it holds ${typeName} values`,
    instead: "write the members you need as plain number or std::vector<number> fields",
  };
}

/** Reads the named fields (all of a supported layout) of the whole RNTuple. */
export async function readFields(
  tuple: TupleInfo,
  fields: readonly FieldInfo[],
  file: string,
): Promise<RawColumn[]> {
  const n = tuple.entries;
  const sinks = fields.map((f) => makeSink(f, n));
  const selector = new TSelector();
  for (const f of fields) selector.addBranch(f.name);
  let row = 0;
  selector.Process = function (this: TSelector) {
    for (let k = 0; k < fields.length; k++) sinks[k]!.put(row, this.tgtobj[fields[k]!.name]);
    row++;
  };
  try {
    await rntupleProcess(tuple.handle, selector);
  } catch (e) {
    throw new StageError(
      "QV_LOAD_ROOT_CORRUPT",
      `${file}: the RNTuple "${tuple.name}" cannot be read (${(e as Error).message})`,
      { hint: "the file may be damaged; copy it again", data: { file } },
    );
  }
  if (row !== n)
    throw new StageError(
      "QV_LOAD_ROOT_CORRUPT",
      `${file}: the RNTuple "${tuple.name}" gave ${row} entries, its clusters say ${n}`,
      { data: { file } },
    );
  return sinks.map((s) => s.finish());
}

interface Sink {
  put(row: number, value: unknown): void;
  finish(): RawColumn;
}

function toNumber(v: unknown): number {
  if (typeof v === "number") return v;
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "bigint") return Number(v);
  return NaN;
}

function makeSink(f: FieldInfo, n: number): Sink {
  const layout = f.layout;
  switch (layout.kind) {
    case "fixed": {
      const values = allocate(layout.type, n * layout.width);
      const w = layout.width;
      return {
        put(row, v) {
          if (w === 1) values[row] = toNumber(v);
          else if (Array.isArray(v)) for (let j = 0; j < w; j++) values[row * w + j] = toNumber(v[j]);
        },
        finish: () => ({ kind: "flat", type: layout.type, width: w, values }),
      };
    }
    case "vector":
    case "counted":
      return jaggedSink(layout.type, n);
    case "string": {
      const values = new Array<string>(n);
      return {
        put(row, v) {
          values[row] = typeof v === "string" ? v : "";
        },
        finish: () => ({ kind: "strings", values }),
      };
    }
    case "unsupported":
      throw new Error(`unsupported field ${f.name} reached the reader`);
  }
}

function jaggedSink(type: Primitive, n: number): Sink {
  const offsets = new Int32Array(n + 1);
  const values = new GrowingArray(type, Math.max(16, n));
  return {
    put(row, v) {
      const items = Array.isArray(v) ? (v as unknown[]) : [];
      const { out, at } = values.reserve(items.length);
      for (let j = 0; j < items.length; j++) out[at + j] = toNumber(items[j]);
      offsets[row + 1] = offsets[row]! + items.length;
    },
    finish: () => ({ kind: "jagged", type, offsets, values: values.finish() }),
  };
}
