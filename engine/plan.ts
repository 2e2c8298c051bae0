/**
 * The planner: for one stage whose inputs are known, what its fingerprint is, whether the store
 * holds its result, and otherwise why it must run. A function of the fingerprint and what the
 * store (and, read through, a remote) holds; it runs nothing and schedules nothing.
 */
import { own } from "../core/dict.js";
import type { ObjectRef, Store } from "../cache/store.js";
import type { CacheKey, ContentHash } from "../core/hash.js";
import type { JsonValue } from "../core/json.js";
import type { PortKind } from "../core/stage.js";
import type { RunReason } from "./events.js";
import { stageFingerprint, withInputNames, type FingerprintDoc } from "./fingerprint.js";
import { explainChanges } from "./history.js";
import type { StageSpec } from "./pipeline/spec.js";
import type { Job, LastRun, StageResultManifest } from "./records.js";
import { findResult, readStageResult } from "./results.js";

/** A connected input whose producer's output is known. */
export interface KnownInput {
  readonly kind: PortKind;
  readonly ref: ObjectRef;
  /** `stage.port` it comes from. */
  readonly from: string;
}

export interface StageFacts {
  readonly spec: StageSpec;
  readonly inputs: Readonly<Record<string, KnownInput>>;
  /** File param value as written → absolute path, and → content hash (by the value with `/`). */
  readonly files: Readonly<Record<string, string>>;
  readonly fileHashes: Readonly<Record<string, ContentHash>>;
  /** Glob param value as written → the files it matched (keys of `files`). */
  readonly globs: Readonly<Record<string, readonly string[]>>;
  readonly environment: JsonValue | undefined;
  /** Threads the stage may use when it runs. */
  readonly jobs: number;
}

export interface PlanContext {
  readonly store: Store;
  /** The pipeline's latest run, to say what changed. */
  readonly last: LastRun | undefined;
  /** Read-through: on a local miss, try to bring the key's result into the store. */
  readonly fetch?: (key: CacheKey) => Promise<unknown>;
}

export type StagePlan =
  | {
      readonly decision: "cached";
      readonly key: CacheKey;
      readonly doc: FingerprintDoc;
      readonly manifest: StageResultManifest;
      /** Read through from the remote cache. */
      readonly fetched: boolean;
      /** The job that would recompute it (to repair a damaged output). */
      readonly job: Job;
    }
  | {
      readonly decision: "run";
      /** The key the stored result would have, as far as known before running. */
      readonly key: CacheKey;
      readonly doc: FingerprintDoc;
      readonly job: Job;
      readonly reasons: readonly RunReason[];
    };

export async function planStage(facts: StageFacts, ctx: PlanContext, forced: boolean): Promise<StagePlan> {
  const s = facts.spec;
  const base = stageFingerprint(
    s,
    Object.fromEntries(Object.entries(facts.inputs).map(([p, i]) => [p, { kind: i.kind, hash: i.ref.hash }])),
    facts.fileHashes,
    facts.environment,
  );
  const job: Job = {
    key: base.key,
    stageId: s.id,
    doc: base.doc,
    params: s.params as JsonValue,
    seed: s.seed,
    inputs: facts.inputs,
    files: facts.files,
    globs: facts.globs,
    jobs: facts.jobs,
  };
  const from = Object.fromEntries(Object.entries(facts.inputs).map(([p, i]) => [p, i.from]));
  const found = forced
    ? { found: false as const, ...base }
    : await findResult(ctx.store, base, from, ctx.fetch);
  if (found.found)
    return {
      decision: "cached",
      key: found.key,
      doc: found.manifest.fingerprint,
      manifest: found.manifest,
      fetched: found.fetched,
      job,
    };
  const reasons: RunReason[] = forced
    ? [{ kind: "forced" }]
    : await explainChanges(ctx.store, ctx.last, s, found.doc);
  return { decision: "run", key: found.key, doc: found.doc, job, reasons };
}

/**
 * For a dry run, a stage whose upstream would run first: its inputs are not known yet. Assuming
 * they come out as last time, what is left is the stage's own change (none: it runs only if its
 * inputs change).
 */
export async function planWithUnknownInputs(
  s: StageSpec,
  fileHashes: Readonly<Record<string, ContentHash>>,
  environment: () => Promise<JsonValue | undefined>,
  ctx: PlanContext,
): Promise<RunReason[]> {
  const prevKey = own(ctx.last?.stages, s.id)?.key;
  const prev = prevKey ? await readStageResult(ctx.store, prevKey) : undefined;
  if (!prev) return [{ kind: "first-run" }];
  let env: JsonValue | undefined;
  try {
    env = await environment();
  } catch {
    env = undefined;
  }
  let fp = stageFingerprint(s, prev.fingerprint.inputs, fileHashes, env);
  const names = prev.fingerprint.inputNames;
  if (names)
    fp = withInputNames(
      fp.doc,
      Object.fromEntries(
        Object.keys(names).map((p) => {
          const r = s.inputs[p];
          return [p, r ? `${r.stage}.${r.port}` : ""];
        }),
      ),
    );
  if (fp.key === prevKey) return [];
  return explainChanges(ctx.store, ctx.last, s, fp.doc);
}
