/**
 * Reads TTree branches basket by basket into typed arrays: one read, one decompression and one
 * decoding loop per basket, never a call per entry. jsroot supplies the tree's metadata (basket
 * positions, leaf types) and decodes each basket's header; the data are decompressed through
 * `node:zlib` (see decompress.ts) and decoded here.
 *
 * A basket holds the values of consecutive entries back to back. Branches whose entries differ in
 * size (counted arrays, vectors, strings) also store, after the data, where each entry starts.
 */
import { TBuffer, type JsRootFile } from "jsroot/io";
import { StageError } from "../../../core/stage.js";
import { allocate, decodeInto, GrowingArray, type NumberArray } from "./decode.js";
import { algorithmName, DecompressError, unzipRoot } from "./decompress.js";
import { PRIMITIVE_SIZE, type BasketRef, type BranchInfo, type Primitive } from "./objects.js";
import { corrupt, type RootSource } from "./source.js";

/** A branch's values as read: flat (with `width` values per entry), jagged, or text. */
export type RawColumn =
  | { readonly kind: "flat"; readonly type: Primitive; readonly width: number; readonly values: NumberArray }
  | {
      readonly kind: "jagged";
      readonly type: Primitive;
      /** `entries + 1` positions into `values`: entry i is values[offsets[i] … offsets[i+1]). */
      readonly offsets: Int32Array;
      readonly values: NumberArray;
    }
  | { readonly kind: "strings"; readonly values: readonly string[] };

/** What the read found out about the file, for the load summary. */
export interface ReadStats {
  baskets: number;
  compressedBytes: number;
  uncompressedBytes: number;
  /** Compression algorithms met, by name. */
  readonly algorithms: Set<string>;
}

export function newStats(): ReadStats {
  return { baskets: 0, compressedBytes: 0, uncompressedBytes: 0, algorithms: new Set() };
}

interface BasketData {
  readonly firstEntry: number;
  readonly entries: number;
  /** The entries' data, from the first entry's first byte to the end of the last. */
  readonly data: Uint8Array;
  /** Where each entry starts in `data`, plus the end: `entries + 1` positions. */
  readonly starts: Int32Array | undefined;
  readonly index: number;
}

export async function readBranch(
  source: RootSource,
  jsfile: JsRootFile,
  branch: BranchInfo,
  entries: number,
  stats: ReadStats,
): Promise<RawColumn> {
  const layout = branch.layout;
  if (layout.kind === "unsupported")
    throw new Error(`readBranch called on unsupported branch ${branch.name}`);
  const bad = (what: string) => corrupt(source.file, `branch "${branch.name}": ${what}`, branch.name);
  if (branch.entries !== entries)
    throw new StageError(
      "QV_LOAD_ROOT_ENTRIES",
      `${source.file}: branch "${branch.name}" has ${branch.entries} entries but its tree has ${entries}`,
      {
        hint: "branches added to a tree after it was filled cannot be read with the others; select the rest",
        data: { file: source.file, column: branch.name },
      },
    );
  const needsStarts = layout.kind !== "fixed";
  const baskets: BasketData[] = [];
  let next = 0;
  for (const [index, ref] of branch.baskets.entries()) {
    const b = await loadBasket(source, jsfile, ref, index, needsStarts, stats, bad);
    if (b.firstEntry !== next) throw bad(`basket ${index} starts at entry ${b.firstEntry}, expected ${next}`);
    next += b.entries;
    baskets.push(b);
  }
  if (next !== entries) throw bad(`its baskets hold ${next} entries, the branch ${entries}`);

  switch (layout.kind) {
    case "fixed": {
      const size = PRIMITIVE_SIZE[layout.type];
      const values = allocate(layout.type, entries * layout.width);
      for (const b of baskets) {
        const count = b.entries * layout.width;
        if (b.data.length < count * size)
          throw bad(`basket ${b.index} holds ${b.data.length} bytes, too few for ${b.entries} entries`);
        decodeInto(b.data, 0, count, layout.type, values, b.firstEntry * layout.width);
      }
      return { kind: "flat", type: layout.type, width: layout.width, values };
    }
    case "counted":
    case "vector": {
      const size = PRIMITIVE_SIZE[layout.type];
      const header = layout.kind === "vector" ? 10 : 0;
      const offsets = new Int32Array(entries + 1);
      const values = new GrowingArray(layout.type, Math.max(16, entries));
      for (const b of baskets) {
        const starts = b.starts!;
        if (layout.kind === "counted") {
          const n = (starts[b.entries]! - starts[0]!) / size;
          if (!Number.isInteger(n)) throw bad(`basket ${b.index} holds a partial value`);
          const { out, at } = values.reserve(n);
          decodeInto(b.data, starts[0]!, n, layout.type, out, at);
        }
        for (let i = 0; i < b.entries; i++) {
          const entry = b.firstEntry + i;
          const bytes = starts[i + 1]! - starts[i]! - header;
          const n = bytes / size;
          if (!Number.isInteger(n) || n < 0)
            throw bad(`entry ${entry} holds ${bytes} bytes, not whole values`);
          if (layout.kind === "vector") {
            const view = new DataView(b.data.buffer, b.data.byteOffset + starts[i]!, 10);
            if (view.getInt32(6) !== n)
              throw bad(`entry ${entry}: its vector length does not match its size`);
            const { out, at } = values.reserve(n);
            decodeInto(b.data, starts[i]! + header, n, layout.type, out, at);
          }
          offsets[entry + 1] = offsets[entry]! + n;
        }
      }
      return { kind: "jagged", type: layout.type, offsets, values: values.finish() };
    }
    case "string": {
      const out: string[] = new Array<string>(entries);
      const text = new TextDecoder("utf-8");
      for (const b of baskets) {
        const starts = b.starts!;
        for (let i = 0; i < b.entries; i++) {
          const start = starts[i]!;
          const end = starts[i + 1]!;
          let len = b.data[start] ?? 0;
          let at = start + 1;
          if (len === 255) {
            len = new DataView(b.data.buffer, b.data.byteOffset + at, 4).getInt32(0);
            at += 4;
          }
          if (at + len > end) throw bad(`entry ${b.firstEntry + i}: a string runs past its entry`);
          out[b.firstEntry + i] = text.decode(b.data.subarray(at, at + len));
        }
      }
      return { kind: "strings", values: out };
    }
  }
}

async function loadBasket(
  source: RootSource,
  jsfile: JsRootFile,
  ref: BasketRef,
  index: number,
  needsStarts: boolean,
  stats: ReadStats,
  bad: (what: string) => StageError,
): Promise<BasketData> {
  stats.baskets++;
  if (ref.kind === "embedded") {
    const end = ref.data.length;
    return {
      firstEntry: ref.firstEntry,
      entries: ref.entries,
      data: ref.data,
      starts: needsStarts ? startsOf(ref.offsets, ref.entries, end, 0, index, bad) : undefined,
      index,
    };
  }
  const record = await source.read(ref.seek, ref.bytes, `basket ${index}`);
  const view = new DataView(record.buffer, record.byteOffset, record.byteLength);
  const head = decodeBasketHeader(view, jsfile, index, bad);
  if (head.nbytes !== ref.bytes)
    throw bad(`basket ${index} is ${head.nbytes} bytes, its branch says ${ref.bytes}`);
  let payload: Uint8Array;
  stats.compressedBytes += ref.bytes - head.keylen;
  stats.uncompressedBytes += head.objlen;
  if (head.keylen + head.objlen === head.nbytes) {
    payload = record.subarray(head.keylen);
    stats.algorithms.add("none");
  } else {
    const compressed = record.subarray(head.keylen);
    stats.algorithms.add(algorithmName(String.fromCharCode(compressed[0] ?? 0, compressed[1] ?? 0)));
    try {
      payload = await unzipRoot(compressed, head.objlen);
    } catch (e) {
      if (e instanceof DecompressError) throw bad(`basket ${index} (at byte ${ref.seek}): ${e.message}`);
      throw e;
    }
  }
  const dataEnd = head.last - head.keylen;
  if (dataEnd < 0 || dataEnd > payload.length) throw bad(`basket ${index} has an impossible data length`);
  let starts: Int32Array | undefined;
  if (needsStarts) {
    const v = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    if (dataEnd + 4 > payload.length) throw bad(`basket ${index} lacks its entry offsets`);
    const n = v.getInt32(dataEnd);
    if (n < head.entries || dataEnd + 4 + 4 * n > payload.length)
      throw bad(`basket ${index} has ${n} entry offsets for ${head.entries} entries`);
    const abs = new Int32Array(head.entries);
    for (let i = 0; i < head.entries; i++) abs[i] = v.getInt32(dataEnd + 4 + 4 * i);
    starts = startsOf(abs, head.entries, dataEnd, head.keylen, index, bad);
  }
  return {
    firstEntry: ref.firstEntry,
    entries: head.entries,
    data: payload.subarray(0, dataEnd),
    starts,
    index,
  };
}

/** Entry start positions (absolute, i.e. shifted by `shift`) → relative, with the end appended. */
function startsOf(
  offsets: Int32Array | undefined,
  entries: number,
  end: number,
  shift: number,
  index: number,
  bad: (what: string) => StageError,
): Int32Array {
  const out = new Int32Array(entries + 1);
  if (!offsets) {
    if (entries > 1) throw bad(`basket ${index} lacks its entry offsets`);
    out[1] = end;
    return out;
  }
  for (let i = 0; i < entries; i++) {
    const s = offsets[i]! - shift;
    if (s < (i > 0 ? out[i - 1]! : 0) || s > end) throw bad(`basket ${index} has entry offsets out of order`);
    out[i] = s;
  }
  out[entries] = end;
  return out;
}

interface BasketHeader {
  readonly nbytes: number;
  readonly objlen: number;
  readonly keylen: number;
  readonly entries: number;
  readonly last: number;
}

function decodeBasketHeader(
  view: DataView,
  jsfile: JsRootFile,
  index: number,
  bad: (what: string) => StageError,
): BasketHeader {
  let obj: Record<string, unknown>;
  try {
    obj = {};
    new TBuffer(view, 0, jsfile).classStreamer(obj, "TBasket");
  } catch (e) {
    throw bad(`basket ${index}'s header cannot be decoded (${(e as Error).message})`);
  }
  const n = (k: string) => (typeof obj[k] === "number" ? obj[k] : NaN);
  const head = {
    nbytes: n("fNbytes"),
    objlen: n("fObjlen"),
    keylen: n("fKeylen"),
    entries: n("fNevBuf"),
    last: n("fLast"),
  };
  if (!Object.values(head).every((x) => Number.isInteger(x) && x >= 0) || head.keylen > head.nbytes)
    throw bad(`basket ${index}'s header is not valid`);
  return head;
}
