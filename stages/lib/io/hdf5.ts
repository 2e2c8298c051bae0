/**
 * HDF5 tables through h5wasm (HDF5 compiled to wasm; in Node it reads the host file system).
 *
 * Layouts read, in the order a default is chosen:
 * - a 1-D compound dataset (h5py / numpy structured arrays, ROOT-to-HDF5 converters): one column
 *   per field; array-valued fields become `<field>_0 … <field>_{k-1}`;
 * - a pandas "fixed" frame (`DataFrame.to_hdf(..., format="fixed")`, pandas' default): a group
 *   with `axis0` (column names) and `block<i>_items` / `block<i>_values` (2-D) datasets;
 * - a group of equal-length 1-D datasets: one column per dataset;
 * - a 2-D numeric dataset (rows × columns, as `h5py` writes a plain numpy matrix): the file has no
 *   column names, so they come from `names:` (or default to column_1 … column_k). The CMS
 *   photon-ID notebook reads its `l1pf_egm_reg` this way and names the 61 columns itself.
 *
 * Compound data is copied out of the wasm heap in chunks and decoded field by field with a
 * DataView, never as one JS array per row (except for variable-length string fields, which
 * h5wasm alone can decode).
 *
 * `writeHdf5Table` writes a Table as one compound dataset (dictionary columns as fixed-length
 * UTF-8 strings; a missing string is written as "" and read back as missing).
 */
import { didYouMean } from "../../../core/diagnostics.js";
import { StageError } from "../../../core/stage.js";
import type { Column, Table } from "../../../core/table.js";
import { errorText } from "./columnar.js";
import {
  checkSupported,
  newBuilder,
  T_ARRAY,
  T_COMPOUND,
  T_ENUM,
  T_FLOAT,
  T_INTEGER,
  T_STRING,
  type Metadata,
  h5wasm,
} from "./hdf5-columns.js";

type H5 = (typeof import("h5wasm/node"))["default"];
type H5Module = Awaited<H5["ready"]>;
type H5File = InstanceType<H5["File"]>;
type H5Group = InstanceType<H5["Group"]>;
type H5Dataset = InstanceType<H5["Dataset"]>;

export type Hdf5Layout = "compound" | "pandas-fixed" | "column-group" | "matrix";

export interface Hdf5Read {
  readonly table: Table;
  /** The dataset or group path that was read. */
  readonly dataset: string;
  readonly layout: Hdf5Layout;
}

/** Reads a table from an HDF5 file; `dataset` defaults to the only table-like object in it. */
export async function readHdf5Table(
  absPath: string,
  file: string,
  dataset?: string,
  names?: readonly string[],
): Promise<Hdf5Read> {
  const { h5, module } = await h5wasm();
  let f: H5File;
  try {
    f = new h5.File(absPath, "r");
  } catch (e) {
    throw new StageError("QV_LOAD_HDF5", `${file}: not a readable HDF5 file: ${errorText(e)}`, {
      data: { file },
    });
  }
  try {
    let candidates: { path: string; layout: Hdf5Layout }[];
    try {
      candidates = findTables(h5, f);
    } catch (e) {
      throw new StageError("QV_LOAD_HDF5", `${file}: the HDF5 file cannot be read: ${errorText(e)}`, {
        data: { file },
      });
    }
    let target: { path: string; layout: Hdf5Layout } | undefined;
    if (dataset !== undefined) {
      const wanted = dataset.startsWith("/") ? dataset : "/" + dataset;
      target = candidates.find((c) => c.path === wanted);
      if (!target) {
        // paths() lists without asking HDF5 for a missing name (which prints a diagnostic).
        const exists = f.paths().includes(wanted);
        const near = didYouMean(
          wanted,
          candidates.map((c) => c.path),
        );
        throw new StageError(
          "QV_LOAD_HDF5_DATASET",
          exists
            ? `${file}: "${wanted}" is not a table (a 1-D compound dataset, a pandas frame or a group of 1-D datasets)`
            : `${file}: there is no dataset "${wanted}"`,
          {
            param: ["dataset"],
            hint: near ? `did you mean "${near}"?` : tableList(candidates),
            data: { file },
          },
        );
      }
    } else {
      const compound = candidates.filter((c) => c.layout === "compound");
      const pool = compound.length > 0 ? compound : candidates;
      if (pool.length !== 1) {
        throw new StageError(
          "QV_LOAD_HDF5_DATASET",
          pool.length === 0
            ? `${file}: the file holds no table (no 1-D compound dataset, pandas frame or group of 1-D datasets)`
            : `${file}: the file holds ${pool.length} tables; say which one with dataset:`,
          { param: ["dataset"], hint: tableList(candidates), data: { file } },
        );
      }
      target = pool[0]!;
    }
    const table = readTarget(h5, module, f, target.path, target.layout, file, names);
    return { table, dataset: target.path, layout: target.layout };
  } finally {
    f.close();
  }
}

function tableList(candidates: readonly { path: string; layout: Hdf5Layout }[]): string {
  if (candidates.length === 0) return "h5ls -r <file> lists what the file holds";
  return "tables in the file: " + candidates.map((c) => `${c.path} (${c.layout})`).join(", ");
}

function findTables(h5: H5, f: H5File): { path: string; layout: Hdf5Layout }[] {
  const out: { path: string; layout: Hdf5Layout }[] = [];
  const visit = (g: H5Group, path: string, depth: number) => {
    if (depth > 16) return;
    const keys = g.keys();
    if (path !== "/" && isPandasFrame(g, keys)) {
      out.push({ path, layout: "pandas-fixed" });
      return;
    }
    let columnLength = -1;
    let allColumns = keys.length > 0;
    for (const key of keys) {
      const child = g.get(key);
      const childPath = (path === "/" ? "" : path) + "/" + key;
      if (child instanceof h5.Group) {
        allColumns = false;
        visit(child, childPath, depth + 1);
      } else if (child instanceof h5.Dataset) {
        const m = child.metadata;
        const shape = m.shape;
        if (m.type === T_COMPOUND && shape?.length === 1) {
          out.push({ path: childPath, layout: "compound" });
          allColumns = false;
        } else if (shape?.length === 2 && (m.type === T_FLOAT || m.type === T_INTEGER)) {
          out.push({ path: childPath, layout: "matrix" });
          allColumns = false;
        } else if (
          shape?.length === 1 &&
          isScalarType(m) &&
          (columnLength === -1 || columnLength === shape[0])
        ) {
          columnLength = shape[0]!;
        } else allColumns = false;
      } else allColumns = false;
    }
    if (allColumns && path !== "/") out.push({ path, layout: "column-group" });
  };
  visit(f, "/", 0);
  return out;
}

function isPandasFrame(g: H5Group, keys: readonly string[]): boolean {
  return keys.includes("axis0") && keys.some((k) => /^block\d+_values$/.test(k));
}

function isScalarType(m: Metadata): boolean {
  return m.type === T_FLOAT || m.type === T_INTEGER || m.type === T_ENUM || m.type === T_STRING;
}

function readTarget(
  h5: H5,
  module: H5Module,
  f: H5File,
  path: string,
  layout: Hdf5Layout,
  file: string,
  names: readonly string[] | undefined,
): Table {
  switch (layout) {
    case "matrix":
      return readMatrix(f.get(path) as H5Dataset, file, names);
    case "compound":
      return readCompound(module, f.get(path) as H5Dataset, file);
    case "pandas-fixed":
      return readPandasFixed(h5, f.get(path) as H5Group, file);
    case "column-group":
      return readColumnGroup(h5, f.get(path) as H5Group, file);
  }
}

/** How one compound field (or one element of an array field) is decoded from a row's bytes. */
interface FieldReader {
  readonly name: string;
  readonly offset: number;
  readonly meta: Metadata;
}

function readCompound(module: H5Module, ds: H5Dataset, file: string): Table {
  const meta = ds.metadata;
  const n = meta.shape![0]!;
  const rowSize = meta.size;
  const members = meta.compound_type!.members;
  const fields: FieldReader[] = [];
  let vlen = false;
  for (const m of members) {
    if (m.type === T_ARRAY && m.array_type) {
      const base = m.array_type;
      const count = (m.array_type.shape ?? m.shape ?? []).reduce((a, b) => a * b, 1);
      for (let k = 0; k < count; k++)
        fields.push({ name: `${m.name}_${k}`, offset: m.offset + k * base.size, meta: base });
    } else fields.push({ name: m.name, offset: m.offset, meta: m });
    if (m.vlen) vlen = true;
  }
  for (const fd of fields) checkSupported(fd.meta, fd.name, file);
  const columns = fields.map((fd) => newBuilder(fd.meta, n));
  if (vlen) {
    // h5wasm decodes variable-length strings itself; go through its row arrays.
    const chunk = 65536;
    for (let start = 0; start < n; start += chunk) {
      const rows = ds.slice([[start, Math.min(n, start + chunk)]]) as unknown[][];
      rows.forEach((row, i) => {
        let fi = 0;
        members.forEach((m, mi) => {
          const v = row[mi];
          if (m.type === T_ARRAY) {
            const arr = Array.isArray(v) ? (v as unknown[]).flat(8) : [];
            for (const x of arr) columns[fi++]!.setValue(start + i, x);
          } else columns[fi++]!.setValue(start + i, v);
        });
      });
    }
  } else {
    const rowsPerChunk = Math.max(1, Math.floor((16 << 20) / Math.max(1, rowSize)));
    for (let start = 0; start < n; start += rowsPerChunk) {
      const count = Math.min(rowsPerChunk, n - start);
      const bytes = count * rowSize;
      const ptr = module._malloc(bytes);
      if (ptr === 0) throw new Error(`h5wasm: cannot allocate ${bytes} bytes`);
      try {
        module.get_dataset_data(ds.file_id, ds.path, [BigInt(count)], [BigInt(start)], [1n], BigInt(ptr));
        // Take the view after the read: the wasm heap may have grown (and moved) during it.
        const view = new DataView(module.HEAPU8.buffer, ptr, bytes);
        fields.forEach((fd, fi) => columns[fi]!.decode(view, count, rowSize, fd.offset, start));
      } finally {
        module._free(ptr);
      }
    }
  }
  return { numRows: n, columns: new Map(fields.map((fd, i) => [fd.name, columns[i]!.finish()])) };
}

function readPandasFixed(h5: H5, g: H5Group, file: string): Table {
  const names = stringsOf(g.get("axis0"));
  const n = (g.get("axis1") as H5Dataset | null)?.shape?.[0] ?? 0;
  const byName = new Map<string, Column>();
  for (const key of g.keys()) {
    const match = /^block(\d+)_values$/.exec(key);
    if (!match) continue;
    const values = g.get(key);
    const items = stringsOf(g.get(`block${match[1]}_items`));
    if (
      !(values instanceof h5.Dataset) ||
      values.shape?.length !== 2 ||
      !isScalarType(values.metadata) ||
      values.metadata.vlen
    ) {
      throw new StageError(
        "QV_LOAD_HDF5_TYPE",
        `${file}: the pandas block "${key}" (columns ${items.join(", ")}) holds Python objects, which only Python can read`,
        {
          hint: 'convert text columns to "category" codes or write with format="table", or load the file as CSV',
          data: { file },
        },
      );
    }
    checkSupported(values.metadata, items[0] ?? key, file);
    const [rows, width] = values.shape as [number, number];
    const flat = values.value as ArrayLike<number | bigint>;
    items.forEach((name, j) => {
      const b = newBuilder(values.metadata, rows);
      for (let r = 0; r < rows; r++) b.setValue(r, flat[r * width + j]);
      byName.set(name, b.finish());
    });
  }
  const columns = new Map<string, Column>();
  for (const name of names) {
    const c = byName.get(name);
    if (!c)
      throw new StageError("QV_LOAD_HDF5", `${file}: pandas frame column "${name}" has no data block`, {
        data: { file },
      });
    columns.set(name, c);
  }
  return { numRows: names.length ? n : 0, columns };
}

function stringsOf(e: unknown): string[] {
  const v = (e as H5Dataset | null)?.value;
  if (Array.isArray(v)) return v.map(String);
  return [];
}

function readColumnGroup(h5: H5, g: H5Group, file: string): Table {
  const columns = new Map<string, Column>();
  let n = 0;
  for (const key of g.keys()) {
    const ds = g.get(key);
    if (!(ds instanceof h5.Dataset)) continue;
    const m = ds.metadata;
    checkSupported(m, key, file);
    n = m.shape![0]!;
    const b = newBuilder(m, n);
    const v = ds.value;
    if (Array.isArray(v) || ArrayBuffer.isView(v)) {
      const arr = v as ArrayLike<unknown>;
      for (let i = 0; i < n; i++) b.setValue(i, arr[i]);
    }
    columns.set(key, b.finish());
  }
  return { numRows: n, columns };
}

/** A rows × columns numeric dataset: one float64 column per matrix column, named by `names`. */
function readMatrix(ds: H5Dataset, file: string, names: readonly string[] | undefined): Table {
  const [rows, cols] = ds.metadata.shape as [number, number];
  if (names !== undefined && names.length !== cols) {
    throw new StageError(
      "QV_LOAD_NAMES",
      `${file}: the dataset has ${cols} columns but names: lists ${names.length}`,
      { param: ["names"], hint: "give one name per matrix column, in order", data: { file } },
    );
  }
  const flat = ds.value as unknown;
  if (!ArrayBuffer.isView(flat))
    throw new StageError("QV_LOAD_HDF5", `${file}: cannot read the matrix`, { data: { file } });
  const src = flat as unknown as ArrayLike<number | bigint>;
  const columns = new Map<string, Column>();
  for (let c = 0; c < cols; c++) {
    const v = new Float64Array(rows);
    for (let r = 0, i = c; r < rows; r++, i += cols) v[r] = Number(src[i]!);
    columns.set(names?.[c] ?? `column_${c + 1}`, { type: "float64", values: v });
  }
  return { numRows: rows, columns };
}

export { writeHdf5Matrix, writeHdf5Table } from "./hdf5-write.js";
