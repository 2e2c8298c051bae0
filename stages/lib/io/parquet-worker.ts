/**
 * The worker thread of the Parquet reader (stages/lib/io/parquet.ts): takes row groups from the
 * shared counter, decodes each into fresh arrays and sends them back transferred. Strings go back
 * as codes with the raw key of each code, which the reading thread interns into its own pool.
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
}

export type WorkerColumn =
  | { readonly kind: "f64"; readonly values: Float64Array }
  | { readonly kind: "i32"; readonly values: Int32Array; readonly nulls: Uint8Array | undefined }
  | { readonly kind: "str"; readonly codes: Int32Array; readonly keys: readonly string[] };

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
      const targets: ColumnTarget[] = plan.columns.map((c) =>
        c.out === "f64"
          ? { f64: new Float64Array(rg.rows) }
          : { i32: new Int32Array(rg.rows), pool: c.out === "str" ? new StringPool() : undefined },
      );
      decodeRowGroup(src, plan, rg, targets, 0, scratch, init.file);
      const transfer: ArrayBuffer[] = [];
      const columns = plan.columns.map((c, k): WorkerColumn => {
        const t = targets[k]!;
        if (c.out === "f64") {
          transfer.push(t.f64!.buffer as ArrayBuffer);
          return { kind: "f64", values: t.f64! };
        }
        transfer.push(t.i32!.buffer as ArrayBuffer);
        if (c.out === "str") return { kind: "str", codes: t.i32!, keys: t.pool!.keys };
        if (t.nulls) transfer.push(t.nulls.buffer as ArrayBuffer);
        return { kind: "i32", values: t.i32!, nulls: t.nulls };
      });
      const msg: FromWorker = { kind: "rowgroup", index: i, columns };
      port.postMessage(msg, transfer);
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
