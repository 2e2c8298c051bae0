/**
 * The seam between the scheduler and the places a stage can run. The scheduler keeps the graph and
 * every cache decision; a runner only runs jobs. A job is already in the store (record
 * `job-<key>`) when the runner gets it, and `run` resolves once the stage's manifest — or its
 * failure record — is in the store. A new way to run stages (a batch system, a container) is one
 * file implementing `StageRunner` plus one line in ./index.ts.
 *
 * For a batch system: `run` submits and resolves when the job is over; the runner may gather all
 * the jobs it is waiting for into one status query per interval, cancels a job when `signal`
 * aborts, and cancels anything still queued in `close`. Everything a job says travels through the
 * store (its manifest, its failure record); `emit` is for progress the runner can observe.
 */
import type { Store } from "../../cache/store.js";
import type { AnyStageDefinition, ArtifactValue } from "../../core/stage.js";
import type { JobOutcome } from "../job.js";
import type { Job } from "../records.js";

/** What a running job reports on the way (progress and notes; results go through the store). */
export type JobEvent =
  | { readonly type: "progress"; readonly fraction: number; readonly message?: string }
  | { readonly type: "note"; readonly message: string };

export interface RunnerContext {
  readonly store: Store;
  /** The job's stage type (runners in this process run it; others start `quiver exec`). */
  readonly def: AnyStageDefinition;
  /**
   * Aborted when the run is interrupted (Ctrl-C, or the caller's `signal`): cancel the job. A
   * failure elsewhere does not abort running jobs (as before: they finish, queued ones are skipped).
   */
  readonly signal: AbortSignal;
  readonly emit: (e: JobEvent) => void;
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
}

export interface StageRunner {
  readonly name: string;
  /** How many jobs it takes at once; the run's `jobs` when absent (a batch system takes many). */
  readonly slots?: number;
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
}
