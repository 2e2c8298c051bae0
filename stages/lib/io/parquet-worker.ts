/**
 * The worker thread of the Parquet reader (stages/lib/io/parquet.ts): takes row groups from the
 * shared counter and decodes each straight into the table's shared arrays. Text columns are
 * written as codes of the worker's own pool, whose raw keys go back for the reading thread to
 * map; int32 nulls go back as a mask of the row group.
 */
import { parentPort, workerData } from "node:worker_threads";
import { StageError } from "../../../core/stage.js";
import { loadCodecs } from "./parquet-codecs.js";
import { Scratch, type ColumnTarget } from "./parquet-column.js";
import { StringPool } from "./parquet-decode.js";
import type { ReadPlan } from "./parquet-plan.js";
import { decodeRowGroup, fileSource } from "./parquet-rowgroup.js";

export interface ToWorker {
  readonly path: string;
  readonly file: string;
  readonly plan: Omit<ReadPlan, "codecs"> & { readonly codecs: readonly number[] };
  readonly counter: Int32Array;
  /** The table's arrays (shared memory), one per planned column: Float64Array or Int32Array. */
  readonly arrays: readonly (Float64Array | Int32Array)[];
}

/** What the reading thread must still do for a column of a row group the worker wrote. */
export type WorkerColumn =
  | { readonly kind: "f64" }
  | { readonly kind: "i32"; readonly nulls: Uint8Array | undefined }
  | { readonly kind: "str"; readonly keys: readonly string[] };

export type FromWorker =
  | { readonly kind: "rowgroup"; readonly index: number; readonly columns: readonly WorkerColumn[] }
  | {
      readonly kind: "error";
      readonly code: string;
      readonly message: string;
      readonly hint: string | undefined;
      readonly data: { file?: string; row?: number; column?: string } | undefined;
    }
  | { readonly kind: "done" };

async function main(port: NonNullable<typeof parentPort>, init: ToWorker): Promise<void> {
  const plan: ReadPlan = { ...init.plan, codecs: new Set(init.plan.codecs) };
  await loadCodecs(plan.codecs);
  const src = fileSource(init.path);
  const scratch = new Scratch();
  try {
    for (;;) {
      const i = Atomics.add(init.counter, 0, 1);
      if (i >= plan.rowGroups.length) break;
      const rg = plan.rowGroups[i]!;
      const targets: ColumnTarget[] = plan.columns.map((c, k) => {
        const array = init.arrays[k]!;
        if (c.out === "f64") return { f64: array as Float64Array };
        return { i32: array as Int32Array, pool: c.out === "str" ? new StringPool() : undefined };
      });
      decodeRowGroup(src, plan, rg, targets, rg.row, scratch, init.file);
      const columns = plan.columns.map((c, k): WorkerColumn => {
        const t = targets[k]!;
        if (c.out === "f64") return { kind: "f64" };
        if (c.out === "str") return { kind: "str", keys: t.pool!.keys };
        return { kind: "i32", nulls: t.nulls?.slice(rg.row, rg.row + rg.rows) };
      });
      const msg: FromWorker = { kind: "rowgroup", index: i, columns };
      port.postMessage(msg);
    }
  } finally {
    src.close();
  }
  port.postMessage({ kind: "done" } satisfies FromWorker);
}

if (parentPort) {
  const port = parentPort;
  main(port, workerData as ToWorker).catch((e: unknown) => {
    const msg: FromWorker =
      e instanceof StageError
        ? { kind: "error", code: e.code, message: e.message, hint: e.hint, data: e.data }
        : {
            kind: "error",
            code: "",
            message: String(e instanceof Error ? e.stack : e),
            hint: undefined,
            data: undefined,
          };
    port.postMessage(msg);
  });
}
