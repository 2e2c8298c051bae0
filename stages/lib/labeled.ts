/**
 * Labelled rows as every model kind trains on them: feature columns as float64, 0/1 labels and
 * optional weights, read from a table with the rules of stages/lib/columns.ts.
 */
import type { ParamPath } from "../../core/schema.js";
import { StageError } from "../../core/stage.js";
import type { Table } from "../../core/table.js";
import { binaryLabels, featureColumns, weightValues } from "./columns.js";

export interface LabeledData {
  readonly n: number;
  /** One float64 view per feature (may alias the table's arrays: do not mutate). */
  readonly features: readonly Float64Array[];
  readonly labels: Uint8Array;
  readonly weights: Float64Array | undefined;
}

/**
 * The features (params `features`), label (`label`) and weight (`weightParam`, default `weight`)
 * of `t`, which messages call `what`. Missing feature values are refused unless the model kind
 * accepts them; labels and weights never may be missing.
 */
export function labeledData(
  t: Table,
  cols: { features: readonly string[]; label: string; weight?: string | undefined; weightParam?: ParamPath },
  what: string,
  missing: "allow" | "refuse",
): LabeledData {
  const features = featureColumns(t, cols.features, { what, param: ["features"], missing });
  const labels = binaryLabels(t, cols.label, { what, param: ["label"] });
  const weights =
    cols.weight === undefined
      ? undefined
      : weightValues(t, cols.weight, { what, param: cols.weightParam ?? ["weight"] });
  if (t.numRows === 0) throw new StageError("QV_EMPTY", `the ${what} has no rows`);
  return { n: t.numRows, features, labels, weights };
}

/**
 * A content hash of labelled rows (features, labels, weights, and `extra` arrays such as
 * stratification classes): kfold's memo keys, and the training-data hash a model records.
 */
export async function labeledDataHash(
  data: LabeledData,
  extra: Readonly<Record<string, ArrayBufferView>> = {},
): Promise<string> {
  const { default: xxhash } = await import("xxhash-wasm");
  const h = (await xxhash()).create64();
  const bytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  h.update(`n=${data.n};d=${data.features.length};`);
  for (const f of data.features) h.update(bytes(f));
  h.update("labels;").update(data.labels);
  if (data.weights) h.update("weights;").update(bytes(data.weights));
  for (const [name, a] of Object.entries(extra)) h.update(`${name};`).update(bytes(a));
  return h.digest().toString(16).padStart(16, "0");
}
