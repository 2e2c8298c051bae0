/**
 * Every document Quiver writes and reads back — manifests in the store, records, the lock file —
 * as a type and a decoder, in one place. A read goes through a decoder: a document that does not
 * decode is a miss (reported to the store's problem sink) or a located error, never a cast.
 * Where each lives on disk is cache/layout.ts; the store only knows manifests have `objects`.
 * One file per family below; this module is the one to import.
 *
 *   manifest   runs/<key>.json           stage-result | sub-result | input-names
 *   record     records/pipeline-<name>   LastRun: the latest run of a pipeline, per stage
 *              records/events-<name>     RunEvents: the events of that run (for the report)
 *              records/lock-<name>       LockKeys: the keys the pipeline's lock file references
 *              records/sweep-<name>      SweepRecord: the points of the latest sweep and their keys
 *              records/job-<key>         Job: a stage run handed to a runner
 *              records/failure-<key>     JobFailure: why a job failed (written by the runner)
 *              records/file-hashes       FileHashes: the memo of input file hashes
 *              records/gc-evicted        GcEvicted: keys whose payload gc evicted for a size budget
 *   file       <pipeline>.lock           LockFile (engine/lock-file.ts reads and writes it)
 */
export * from "./access.js";
export * from "./jobs.js";
export * from "./lock-file.js";
export * from "./manifests.js";
export * from "./runs.js";
