/**
 * The seam between the scheduler and the places a stage can run. The scheduler keeps the graph and
 * every cache decision; a runner only runs jobs. A job is already in the store (record
 * `job-<key>`) when the runner gets it, and `run` resolves once the stage's manifest — or its
 * failure record — is in the store. A new way to run stages (a batch system, a container) is one
 * file implementing `StageRunner` plus one line in ./index.ts.
 *
 * Everything a job says travels through the store (engine/job-folder.ts): its events (progress,
 * notes), its failure record, its log and its exit; runners that start `quiver exec` elsewhere
 * read them from there and `emit` the events. For a batch system (./batch.ts): `run` submits and
 * resolves when the job is over; the runner gathers the jobs it waits for into one status query
 * per interval, cancels a job when `signal` or `stopping` aborts, and cancels anything still
 * queued in `close`.
 */
import type { Store } from "../../cache/store.js";
import type { AnyStageDefinition, ArtifactValue } from "../../core/stage.js";
import type { BatchJobRef } from "../events.js";
import type { JobOutcome } from "../job.js";
import type { Resources } from "../pipeline/resources.js";
import type { Job } from "../records.js";

/** What a running job reports on the way (progress and notes; results go through the store). */
export type JobEvent =
  | { readonly type: "progress"; readonly fraction: number; readonly message?: string }
  | { readonly type: "note"; readonly message: string }
  /** Handed to a batch system, which knows it by `id`. */
  | { readonly type: "queued"; readonly system: string; readonly id: string };

export interface RunnerContext {
  readonly store: Store;
  /** The job's stage type (runners in this process run it; others start `quiver exec`). */
  readonly def: AnyStageDefinition;
  /** Aborted when the run is interrupted (Ctrl-C, SIGTERM, or the caller's `signal`): cancel the job. */
  readonly signal: AbortSignal;
  /**
   * Aborted when the run stops after a failure elsewhere (no --keep-going). A runner that can
   * cancel cheaply (a batch queue) cancels the job; one running it here may let it finish.
   */
  readonly stopping: AbortSignal;
  readonly emit: (e: JobEvent) => void;
  /** What the stage asks of the machine it runs on (never part of its key). */
  readonly resources: Resources;
  /**
   * Input values the head holds in memory (decoded once, shared by consumers). Runners in other
   * processes ignore it and read the job's inputs from the store.
   */
  readonly loadInput: (port: string) => Promise<ArtifactValue>;
}

export interface RunnerResult {
  /**
   * The outcome when the runner already holds it (it ran the job in this process: no need to read
   * it back); otherwise the scheduler reads the manifest or failure record from the store.
   */
  readonly outcome?: JobOutcome;
  /** The runner cancelled the job because the run was interrupted or stopped: not a failure of its own. */
  readonly cancelled?: boolean;
  /** The batch job a cancelled job was taken out of the queue as (`scancel`), for the run's record. */
  readonly cancelledJob?: BatchJobRef;
}

export interface StageRunner {
  readonly name: string;
  /** How many jobs it takes at once; the run's `jobs` when absent (a batch system takes many). */
  readonly slots?: number;
  /** The threads a job with these resources gets where this runner runs it (default: the run's jobs). */
  threads?(resources: Resources): number;
  /** Runs one job that is in the store; resolves when its manifest or failure record is there. */
  run(job: Job, ctx: RunnerContext): Promise<RunnerResult>;
  /** The run is over (finished, failed or interrupted): stop polling, cancel anything left. */
  close(): Promise<void>;
}

/** What every runner is created from. */
export interface RunnerOptions {
  /** The run's `--jobs`. */
  readonly jobs: number;
  /**
   * The command that starts this program's command line (`node .../bin/quiver.js`), for runners
   * that start `quiver exec` elsewhere. Defaults to this package's own bin/quiver.js.
   */
  readonly command?: readonly string[];
  /** A name for the run in places the runner shows it (a batch queue's job names). */
  readonly runName?: string;
}
