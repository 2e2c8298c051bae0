/** Writes a Table to HDF5 as one compound dataset (used by data generators). */
import type { Table } from "../../../core/table.js";
import { h5wasm } from "./hdf5-columns.js";

type H5Group = InstanceType<Awaited<ReturnType<typeof h5wasm>>["h5"]["Group"]>;

/**
 * Writes `table` as a 1-D compound dataset `datasetName` (intermediate groups are created).
 * `mode: "w"` replaces the file, `"a"` adds to it. Dictionary columns become fixed-length UTF-8
 * strings as long as their longest value; missing strings are written as "".
 */
export async function writeHdf5Table(
  absPath: string,
  datasetName: string,
  table: Table,
  mode: "w" | "a" = "w",
): Promise<void> {
  const { h5 } = await h5wasm();
  if (table.columns.size === 0) throw new Error("writeHdf5Table: the table has no columns");
  const data = new Map<string, Float64Array | Int32Array | string[]>();
  const dtype: [string, string][] = [];
  for (const [name, c] of table.columns) {
    switch (c.type) {
      case "float64":
        data.set(name, c.values);
        dtype.push([name, "<d"]);
        break;
      case "int32":
        data.set(name, c.values);
        dtype.push([name, "<i"]);
        break;
      case "dict": {
        const strings = Array.from(c.codes, (code) => (code < 0 ? "" : (c.dictionary[code] ?? "")));
        const width = Math.max(1, ...c.dictionary.map((s) => Buffer.byteLength(s, "utf8")));
        data.set(name, strings);
        dtype.push([name, `S${width}`]);
        break;
      }
    }
  }
  const f = new h5.File(absPath, mode);
  try {
    const parts = datasetName.split("/").filter((s) => s !== "");
    let g: H5Group = f;
    for (const part of parts.slice(0, -1)) {
      const child = g.get(part);
      g = child instanceof h5.Group ? child : g.create_group(part);
    }
    g.create_dataset({ name: parts[parts.length - 1] ?? datasetName, data, shape: [table.numRows], dtype });
  } finally {
    f.close();
  }
}

/**
 * Writes the numeric columns of `table` as one 2-D float64 dataset (rows × columns, row-major),
 * the layout of a plain numpy matrix saved with h5py: the file carries no column names.
 */
export async function writeHdf5Matrix(absPath: string, datasetName: string, table: Table): Promise<void> {
  const { h5 } = await h5wasm();
  const cols = [...table.columns.values()];
  const k = cols.length;
  const n = table.numRows;
  const data = new Float64Array(n * k);
  cols.forEach((c, j) => {
    if (c.type === "dict") throw new Error("writeHdf5Matrix: text columns cannot go in a numeric matrix");
    for (let r = 0, i = j; r < n; r++, i += k) data[i] = c.values[r]!;
  });
  const f = new h5.File(absPath, "w");
  try {
    f.create_dataset({ name: datasetName, data, shape: [n, k], dtype: "<d" });
  } finally {
    f.close();
  }
}
