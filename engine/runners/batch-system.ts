/**
 * What a batch system adapter gives the generic batch runner (./batch.ts): how to submit jobs (one,
 * or an array), ask the queue about them, cancel them, and what its end states mean. Slurm's is
 * ./slurm.ts; an HTCondor or PBS adapter would be one more file like it (docs/cluster.md).
 */
import type { Store } from "../../cache/store.js";
import type { CacheKey } from "../../core/hash.js";
import type { ResourceField, Resources } from "../pipeline/resources.js";
import type { StageFailure } from "../records.js";
import type { SiteSettings } from "./site.js";

/** A stage job a batch task runs. */
export interface BatchTaskJob {
  readonly key: CacheKey;
  readonly stageId: string;
}

/**
 * One batch job of a submission (task i of an array runs `tasks[i]`): one stage job, or several
 * (`resources.pack`) run one after another by one `quiver exec`.
 */
export interface BatchTask {
  readonly jobs: readonly BatchTaskJob[];
}

export interface BatchRequest {
  readonly store: Store;
  readonly tasks: readonly BatchTask[];
  /**
   * The resources every task asks for (the stage's, else the pipeline's, else the site's), as one
   * task: for packed tasks, `time` already covers every stage of the largest one.
   */
  readonly resources: Resources;
  /** The name every job of the run carries in the queue. */
  readonly name: string;
  /** For several tasks: a name for the folder of their task links (Store.linkArray), unique in the run. */
  readonly arrayName: string;
  /** The command that starts Quiver on a node (`quiver exec` is appended). */
  readonly command: readonly string[];
  readonly site: SiteSettings;
}

export type BatchState =
  | { readonly phase: "queued"; readonly reason?: string | undefined }
  | { readonly phase: "running"; readonly node?: string | undefined }
  | {
      readonly phase: "ended";
      /** The batch system's word for how it ended (COMPLETED, TIMEOUT, ...). */
      readonly state: string;
      readonly node?: string | undefined;
      readonly reason?: string | undefined;
      readonly exitCode?: number | undefined;
    };

/** How a job that the batch system ended without a word in the store failed. */
export interface Explained {
  readonly code: string;
  readonly detail: string;
  readonly hint?: string;
  /** The resource it concerns (a time limit, memory), to point at it in the pipeline. */
  readonly resource?: ResourceField;
}

/** What a batch system adapter provides (engine/runners/slurm.ts is one). */
export interface BatchSystem {
  /** The runner's name (`slurm`). */
  readonly name: string;
  /** Its name in messages (`Slurm`). */
  readonly label: string;
  /** Submits the tasks (an array when several); returns their ids in order. Throws BatchError. */
  submit(req: BatchRequest): Promise<string[]>;
  /** The state of the run's jobs, in one query; ids it does not know are absent. Throws BatchError. */
  poll(name: string, ids: readonly string[]): Promise<ReadonlyMap<string, BatchState>>;
  /** Cancels these jobs, in one call; ids already over are ignored. */
  cancel(ids: readonly string[]): Promise<void>;
  /** Why a job ended, when the state says it did not complete; undefined for a normal end. */
  explain(
    id: string,
    s: Extract<BatchState, { phase: "ended" }>,
    resources: Resources,
  ): Explained | undefined;
  /** Why a queued job can never start (a limit no node meets), when the reason says so. */
  unschedulable(reason: string): string | undefined;
}

/** A batch command failed (sbatch refused a request, squeue could not reach the controller). */
export class BatchError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = "BatchError";
  }
}

/** What is known of a job that ended without its result or failure record in the store. */
export interface EndedJob {
  readonly id: string;
  /** How the batch system says it ended; undefined when it no longer knows the job. */
  readonly state: Extract<BatchState, { phase: "ended" }> | undefined;
  readonly resources: Resources;
  /** `quiver exec` wrote `started`: it ran and saw the store. */
  readonly started: boolean;
  /** Its log file exists: the batch system, at least, could write into the store. */
  readonly hasLog: boolean;
  /** The log's last lines. */
  readonly tail: string;
  readonly log: string;
  readonly store: string;
  /** Other stage jobs its batch job ran (resources.pack). */
  readonly packedWith?: number;
}

/** Why a job ended without a word of its own, as precisely as the evidence allows. */
export function endedFailure(system: BatchSystem, j: EndedJob): StageFailure {
  const job = `${system.label} job ${j.id}`;
  const on = j.state?.node ? ` on ${j.state.node}` : "";
  const packed = j.packedWith
    ? ` (its batch job ran ${j.packedWith} other stage job(s) with it: resources.pack)`
    : "";
  const logText = `${packed}${j.tail ? `; its log ends:\n${j.tail}` : ""}`;
  if (!j.started && !j.hasLog && j.state?.state !== "CANCELLED")
    // Nothing of the job reached the store, not even the batch system's own output file.
    return {
      kind: "lost",
      code: "QV_STORE_NOT_SHARED",
      detail: `${job} ended${on} without writing anything to the store ${j.store}: the nodes do not see it at that path, or cannot write it`,
      hint: "put the store on a filesystem every node mounts at the same path (--cache-dir or QUIVER_CACHE), writable by you on the nodes",
    };
  const why = j.state ? system.explain(j.id, j.state, j.resources) : undefined;
  if (why)
    return {
      kind: "lost",
      code: why.code,
      detail: `${why.detail}${logText}`,
      ...(why.hint ? { hint: why.hint } : {}),
      ...(why.resource ? { resource: why.resource } : {}),
      log: j.log,
    };
  if (!j.state)
    return {
      kind: "lost",
      code: "QV_JOB_LOST",
      detail: `${system.label} no longer knows ${job}, and it left no result in the store${logText}`,
      log: j.log,
    };
  if (!j.started)
    return {
      kind: "lost",
      code: "QV_EXEC_FAILED",
      detail: `quiver exec did not start in ${job}${on}${logText}`,
      hint: "the nodes must run the same Quiver as this machine: see `command` in docs/cluster.md",
      log: j.log,
    };
  return {
    kind: "lost",
    code: "QV_EXEC_FAILED",
    detail: `${job} ended without a result or a failure record${logText}`,
    log: j.log,
  };
}
