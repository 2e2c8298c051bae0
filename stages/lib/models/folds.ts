/**
 * One cross-validation fold as a self-contained task (train on some rows, score the held-out
 * rows), runnable in this thread or in a worker thread. Workers let folds train in parallel (tfjs
 * keeps one single-threaded engine per thread, so parallel folds need one thread each). A worker
 * finds the model kind by name among Quiver's own kinds.
 */
import type { Table } from "../../../core/table.js";
import { Worker } from "node:worker_threads";
import type { JsonObject } from "../../../core/json.js";
import { StageError, type ModelArtifact } from "../../../core/stage.js";
import type { ParamPath } from "../../../core/schema.js";
import type { LabeledData } from "../labeled.js";
import { readModel, scoreStored, trainModel } from "./envelope.js";
import type { FittedScaler } from "../scaler-artifact.js";
import type { AnyModelKind, ModelColumns, ModelSpecValue, TrainingOptions } from "./kind.js";

export interface FoldTask {
  readonly spec: ModelSpecValue;
  readonly columns: ModelColumns;
  readonly train: LabeledData;
  readonly validation: LabeledData;
  readonly seed: number;
  readonly options: TrainingOptions;
  readonly what?: string;
  readonly lineage: JsonObject;
  readonly preprocess: readonly FittedScaler[];
  readonly trainingData: { readonly rows: number; readonly hash: string };
}

export interface FoldOutcome {
  readonly artifact: ModelArtifact;
  readonly metrics: JsonObject;
  /** Scores of the held-out rows, in the order of `validation`. */
  readonly oof: Float64Array;
  /** Per epoch (nn) or per tree (gbt), as the train stage's history output. */
  readonly history: Table;
}

type Progress = (fraction: number, line: string) => void;

export async function runFold(
  kind: AnyModelKind,
  task: FoldTask,
  progress?: Progress,
  signal?: AbortSignal,
): Promise<FoldOutcome> {
  const r = await trainModel(kind, { ...task, progress, signal });
  const oof = await scoreStored(kind, readModel(r.artifact), task.validation.features, task.validation.n, {
    backend: task.options.backend,
    threads: task.options.threads,
  });
  return { artifact: r.artifact, metrics: r.metrics, oof, history: r.history };
}

// ---- messages between the pool and its workers ----

/** `kind` names one of Quiver's own kinds (`defaultModelKinds`). */
export type ToWorker = { type: "run"; kind: string; task: FoldTask };
export type FromWorker =
  | { type: "progress"; fraction: number; line: string }
  | { type: "done"; outcome: FoldOutcome }
  | { type: "error"; error: SerializedError };

export interface SerializedError {
  stage: boolean;
  code: string;
  message: string;
  hint?: string;
  param?: ParamPath;
  data?: { file?: string; row?: number; column?: string };
  stack?: string;
}

export function serializeError(e: unknown): SerializedError {
  if (e instanceof StageError)
    return {
      stage: true,
      code: e.code,
      message: e.message,
      ...(e.hint !== undefined ? { hint: e.hint } : {}),
      ...(e.param !== undefined ? { param: e.param } : {}),
      ...(e.data !== undefined ? { data: e.data } : {}),
    };
  const err = e instanceof Error ? e : new Error(String(e));
  return { stage: false, code: "", message: err.message, ...(err.stack ? { stack: err.stack } : {}) };
}

function reviveError(s: SerializedError): Error {
  if (s.stage)
    return new StageError(s.code, s.message, {
      ...(s.hint !== undefined ? { hint: s.hint } : {}),
      ...(s.param !== undefined ? { param: s.param } : {}),
      ...(s.data !== undefined ? { data: s.data } : {}),
    });
  const e = new Error(`in a fold worker: ${s.message}`);
  if (s.stack) e.stack = s.stack;
  return e;
}

/** A fixed number of worker threads, started on first use, each running one fold at a time. */
export class FoldPool {
  private readonly all = new Set<Worker>();
  private readonly idle: Worker[] = [];
  private readonly waiting: ((w: Worker) => void)[] = [];

  constructor(private readonly size: number) {}

  private acquire(): Promise<Worker> {
    const w = this.idle.pop();
    if (w) return Promise.resolve(w);
    if (this.all.size < this.size) {
      const fresh = new Worker(new URL("./fold-worker.js", import.meta.url));
      this.all.add(fresh);
      return Promise.resolve(fresh);
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(w: Worker): void {
    const next = this.waiting.shift();
    if (next) next(w);
    else this.idle.push(w);
  }

  run(kind: string, task: FoldTask, progress?: Progress, signal?: AbortSignal): Promise<FoldOutcome> {
    return this.acquire().then(
      (w) =>
        new Promise<FoldOutcome>((resolve, reject) => {
          const cleanup = () => {
            w.off("message", onMessage);
            w.off("error", onError);
            w.off("exit", onExit);
            signal?.removeEventListener("abort", onAbort);
          };
          const onMessage = (msg: FromWorker) => {
            switch (msg.type) {
              case "progress":
                progress?.(msg.fraction, msg.line);
                return;
              case "done":
                cleanup();
                this.release(w);
                resolve(msg.outcome);
                return;
              case "error":
                cleanup();
                this.release(w);
                reject(reviveError(msg.error));
                return;
              default: {
                const never: never = msg;
                reject(new Error(`unexpected worker message ${JSON.stringify(never)}`));
              }
            }
          };
          const onError = (e: Error) => {
            cleanup();
            this.all.delete(w);
            reject(e);
          };
          const onExit = (code: number) => {
            cleanup();
            this.all.delete(w);
            reject(new Error(`fold worker exited with code ${code}`));
          };
          const onAbort = () => {
            cleanup();
            this.all.delete(w);
            void w.terminate();
            reject(new Error("training aborted"));
          };
          w.on("message", onMessage);
          w.on("error", onError);
          w.on("exit", onExit);
          signal?.addEventListener("abort", onAbort, { once: true });
          const msg: ToWorker = { type: "run", kind, task };
          w.postMessage(msg);
        }),
    );
  }

  async close(): Promise<void> {
    const ws = [...this.all];
    this.all.clear();
    this.idle.length = 0;
    await Promise.all(ws.map((w) => w.terminate()));
  }
}
