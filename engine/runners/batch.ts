/**
 * Running stage jobs on a batch system (Slurm today; HTCondor or PBS would be one adapter file
 * each). The graph and every cache decision stay in the head: the scheduler hands this runner one
 * job at a time, already in the store, and the runner:
 *
 *  - gathers jobs that become ready together (sibling stages, the same stage of every sweep point)
 *    and submits those with the same request as one array — one submit command, one queue entry;
 *  - learns how each job is doing from the store: the job appends `started`, progress, notes and
 *    `exit` to its events file (engine/job-folder.ts) and writes its result or failure record;
 *  - asks the queue, once per interval for all of its jobs, only what the store cannot say: that a
 *    job is still waiting, or that the batch system ended it (time limit, memory, node failure,
 *    cancelled) — which becomes a failure located at the stage, with the last lines of its log;
 *  - proves with the first job that the nodes see and can write the store;
 *  - cancels every job it has in the queue when the run is interrupted, stops after a failure, or
 *    closes: nothing is left behind.
 *
 * The adapter (`BatchSystem`, ./batch-system.ts) knows the commands: submit, query, cancel, and
 * what its end states mean. Stages with `resources: { local: true }` run in this process instead.
 */
import type { Store } from "../../cache/store.js";
import type { CacheKey } from "../../core/hash.js";
import { hasLog, JobEventsReader, logTail, reportedEvent } from "../job-folder.js";
import type { Resources } from "../pipeline/resources.js";
import {
  batchSubmissionFile,
  jobFailureFile,
  JOB_LOG_FILE,
  writeJobDoc,
  type Job,
  type JobFailure,
  type StageFailure,
} from "../records.js";
import { readJobOutcome } from "../results.js";
import { BatchError, endedFailure, type BatchState, type BatchSystem } from "./batch-system.js";
import { inProcessRunner } from "./in-process.js";
import type { RunnerContext, RunnerOptions, RunnerResult, StageRunner } from "./runner.js";
import type { SiteSettings } from "./site.js";

interface Active {
  readonly job: Job;
  readonly ctx: RunnerContext;
  /** What the job asks for; once submitted, what its batch job asked for (a pack's whole time). */
  resources: Resources;
  /** The jobs of its batch job (itself included), once submitted; the first one's folder holds the log. */
  pack: readonly Active[];
  readonly events: JobEventsReader;
  readonly submittedAt: number;
  id?: string;
  state?: BatchState;
  done: boolean;
  cancelRequested: boolean;
  /** Consecutive polls that did not list the job. */
  unknownPolls: number;
  /** When the job was first seen over (exit line or end state) without its outcome in the store yet. */
  overSince?: number;
  readonly settle: (r: RunnerResult) => void;
}

/** Time for an outcome written on a node to become visible here (network filesystems cache lookups). */
const SETTLE_MS = 30_000;
/** How long jobs wait for siblings to be submitted with them (after the last one came). */
const GATHER_MS = 50;
const GATHER_MAX_MS = 500;
/**
 * How long jobs with `pack` wait for more siblings (the site's `pack_wait`): stages of one step
 * finish one after another (each sweep point's training), so their successors become ready over
 * seconds, not in one turn; a short wait next to the queue's own packs them into few batch jobs.
 */
const DEFAULT_PACK_WAIT_MS = 2_000;
const DEFAULT_POLL_MS = 5_000;
const FIRST_POLL_MS = 1_000;

export function batchRunner(system: BatchSystem, opts: RunnerOptions, site: SiteSettings): StageRunner {
  const name = opts.runName ?? `quiver-${Math.random().toString(36).slice(2, 8)}`;
  const command = site.command ?? opts.command;
  if (!command?.length) throw new Error("a batch runner needs the command that starts Quiver");
  const maxArray = site.maxArray ?? 1000;
  const pollMs = site.pollMs ?? DEFAULT_POLL_MS;
  const local = inProcessRunner(opts);
  const localSlots = semaphore(Math.max(1, opts.jobs));

  const packWaitMs = site.packWaitMs ?? DEFAULT_PACK_WAIT_MS;
  const active = new Map<CacheKey, Active>();
  const inflight = new Set<Promise<void>>();
  const cancelling = new Set<Promise<void>>();
  let toCancel: string[] = [];
  const arrays: { store: Store; name: string }[] = [];
  /** A job has written to the store from a node: the store is shared. */
  let verified = false;
  /** The store is not shared: every job would fail the same way. */
  let broken: StageFailure | undefined;
  let closed = false;

  let storeTimer: NodeJS.Timeout | undefined;
  let queueTimer: NodeJS.Timeout | undefined;
  let queueDelay = FIRST_POLL_MS;
  let ticking = false;

  const effective = (r: Resources): Resources => ({
    ...site.resources,
    ...(site.partition ? { partition: site.partition } : {}),
    ...r,
  });

  const settle = (a: Active, r: RunnerResult) => {
    if (a.done) return;
    a.done = true;
    active.delete(a.job.key);
    a.settle(r);
    if (active.size === 0 && !anyPending()) stopTimers();
  };

  const failWith = async (a: Active, failure: StageFailure) => {
    const f: JobFailure = {
      key: a.job.key,
      stageId: a.job.stageId,
      at: new Date().toISOString(),
      durationMs: Math.round(performance.now() - a.submittedAt),
      failure,
    };
    await writeJobDoc(a.ctx.store, jobFailureFile, f, a.job.key).catch(() => {});
    settle(a, { outcome: { ok: false, failure: f } });
  };

  const requestCancel = (ids: readonly string[]) => {
    if (!ids.length) return;
    const first = toCancel.length === 0;
    toCancel.push(...ids);
    if (!first) return;
    // Every cancellation asked for in this turn goes in one call.
    const p = Promise.resolve()
      .then(async () => {
        const batch = toCancel;
        toCancel = [];
        await system.cancel(batch);
      })
      .catch(() => {})
      .finally(() => cancelling.delete(p));
    cancelling.add(p);
  };

  const cancelOne = (a: Active) => {
    if (a.done || a.cancelRequested) return;
    a.cancelRequested = true;
    if (gatherOf(a).remove(a)) {
      // Not submitted yet: nothing to cancel.
    } else if (a.id && packCancelled(a)) requestCancel([a.id]);
    // Without an id yet, the submission in flight cancels it when the id comes back.
    settle(a, cancelledResult(a));
  };

  /**
   * Every job of a's batch job is over or wants it cancelled. A pack can hold stages of several
   * runs (sweep points): one point stopping after a failure must not take the others' stages down.
   */
  const packCancelled = (a: Active) => a.pack.every((m) => m.done || m.cancelRequested);

  /** The job whose folder holds a's batch log (the first of its pack). */
  const logKey = (a: Active) => a.pack[0]?.job.key ?? a.job.key;

  // ---- submission ------------------------------------------------------------------------

  /**
   * Jobs gathered before a submission: the timer restarts with every job added (for `quietMs`),
   * up to `maxMs` after the first; then the jobs are submitted.
   */
  function gatherer(quietMs: number, maxMs: number) {
    let timer: NodeJS.Timeout | undefined;
    let started = 0;
    const g = {
      items: [] as Active[],
      add(a: Active) {
        g.items.push(a);
        const now = Date.now();
        if (!timer) started = now;
        clearTimeout(timer);
        timer = setTimeout(() => g.flush(), Math.max(0, Math.min(quietMs, started + maxMs - now)));
      },
      remove(a: Active): boolean {
        const i = g.items.indexOf(a);
        if (i >= 0) g.items.splice(i, 1);
        return i >= 0;
      },
      flush() {
        clearTimeout(timer);
        timer = undefined;
        const ready = g.items.filter((a) => !a.done);
        g.items = [];
        if (ready.length) submitGathered(ready);
      },
    };
    return g;
  }
  /** Ready jobs gathered for the next submission: those run one per batch job, and those that pack. */
  const gathers = [gatherer(GATHER_MS, GATHER_MAX_MS), gatherer(packWaitMs, packWaitMs)];
  const gatherOf = (a: Active) => gathers[(a.resources.pack ?? 1) > 1 ? 1 : 0]!;
  const anyPending = () => gathers.some((g) => g.items.length > 0);

  const submitGathered = (ready: Active[]) => {
    // Jobs with the same request go together; an array per group (within the site's size limit).
    const groups = new Map<string, Active[]>();
    for (const a of ready) {
      const sig = JSON.stringify([a.ctx.store.root, a.resources]);
      groups.set(sig, [...(groups.get(sig) ?? []), a]);
    }
    for (const group of groups.values()) {
      // `pack: k`: ceil(n / k) batch jobs, dealt round-robin so that each gets a share of every
      // stage of the group (the jobs of one batch job run one after another).
      const taskCount = Math.ceil(group.length / Math.max(1, group[0]!.resources.pack ?? 1));
      const tasks = Array.from({ length: taskCount }, (): Active[] => []);
      group.forEach((a, i) => tasks[i % taskCount]!.push(a));
      for (let i = 0; i < tasks.length; i += maxArray) submit(tasks.slice(i, i + maxArray));
    }
  };

  let submissions = 0;
  const submit = (tasks: Active[][]) => {
    const all = tasks.flat();
    const store = all[0]!.ctx.store;
    const arrayName = `${name}.${++submissions}`;
    if (tasks.length > 1) arrays.push({ store, name: arrayName });
    // A packed batch job runs its stages one after another: its time limit covers all of them.
    const base = all[0]!.resources;
    const longest = Math.max(...tasks.map((t) => t.length));
    const request: Resources = base.time !== undefined ? { ...base, time: base.time * longest } : base;
    const p = (async () => {
      // Recorded before the submission: a head killed in between leaves jobs that `clean` and `gc`
      // still find in the queue by their name.
      const at = new Date().toISOString();
      await Promise.all(
        all.map((a) =>
          writeJobDoc(store, batchSubmissionFile, { runner: system.name, id: "", name, at }, a.job.key).catch(
            () => {},
          ),
        ),
      );
      let ids: string[];
      try {
        ids = await system.submit({
          store,
          tasks: tasks.map((t) => ({ jobs: t.map((a) => ({ key: a.job.key, stageId: a.job.stageId })) })),
          resources: request,
          name,
          arrayName,
          command,
          site,
        });
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        const hint = err instanceof BatchError ? err.hint : undefined;
        for (const a of all)
          await failWith(a, {
            kind: "lost",
            code: "QV_SUBMIT_FAILED",
            detail: `${system.label} refused the job: ${message}`,
            ...(hint ? { hint } : {}),
          });
        return;
      }
      for (const [i, task] of tasks.entries()) {
        const id = ids[i]!;
        for (const a of task) {
          a.id = id;
          a.pack = task;
          a.resources = request;
        }
        for (const a of task) {
          await writeJobDoc(
            store,
            batchSubmissionFile,
            { runner: system.name, id, name, at },
            a.job.key,
          ).catch(() => {});
          if (a.cancelRequested) continue;
          active.set(a.job.key, a);
          a.ctx.emit({ type: "queued", system: system.name, id });
        }
        if (packCancelled(task[0]!)) requestCancel([id]);
      }
      queueDelay = FIRST_POLL_MS;
      startTimers();
    })().finally(() => inflight.delete(p));
    inflight.add(p);
  };

  // ---- watching: the store often, the queue once per interval ----------------------------

  const startTimers = () => {
    if (closed) return;
    storeTimer ??= setTimeout(() => void storeTick(), storeDelay());
    queueTimer ??= setTimeout(() => void queueTick(), queueDelay);
  };
  const stopTimers = () => {
    clearTimeout(storeTimer);
    clearTimeout(queueTimer);
    storeTimer = queueTimer = undefined;
  };
  // Ten looks a second at a job while few run; a couple of hundred opens a second at most.
  const storeDelay = () => Math.max(100, active.size * 5);

  /** Reads what each job said since the last look; finishes the ones that wrote `exit`. */
  const readEvents = async (a: Active) => {
    for (const line of await a.events.read().catch(() => [])) {
      const e = reportedEvent(line);
      if (e) a.ctx.emit(e);
    }
    if (a.events.started) verified = true;
    if (a.events.exit) await finishFromStore(a);
  };

  /** The job said it is over: its outcome is in the store (allowing the filesystem time to show it). */
  const finishFromStore = async (a: Active) => {
    if (a.done) return;
    if (await readJobOutcome(a.ctx.store, a.job)) return settle(a, {});
    a.overSince ??= Date.now();
    if (Date.now() - a.overSince < SETTLE_MS) return;
    const tail = await logTail(a.ctx.store, logKey(a));
    await failWith(a, {
      kind: "lost",
      code: "QV_EXEC_FAILED",
      detail: `${describeJob(a)} ended (exit code ${a.events.exit?.code ?? "?"}) but its result is not in the store${tail ? `; its log ends:\n${tail}` : ""}`,
      log: a.ctx.store.jobPath(logKey(a), JOB_LOG_FILE),
    });
  };

  const storeTick = async () => {
    storeTimer = undefined;
    if (!ticking) {
      ticking = true;
      try {
        await Promise.all([...active.values()].map((a) => readEvents(a).catch(() => {})));
      } finally {
        ticking = false;
      }
    }
    if (active.size && !closed) storeTimer = setTimeout(() => void storeTick(), storeDelay());
  };

  const queueTick = async () => {
    queueTimer = undefined;
    const jobs = [...active.values()].filter((a) => a.id && !a.done);
    let changed = false;
    if (jobs.length) {
      let states: ReadonlyMap<string, BatchState> | undefined;
      try {
        states = await system.poll(name, [...new Set(jobs.map((a) => a.id!))]);
      } catch {
        // The controller may be busy or restarting: ask again later; the store still tells completions.
        states = undefined;
      }
      if (states)
        for (const a of jobs) {
          const before = a.state?.phase;
          await onState(a, states.get(a.id!));
          if (a.state?.phase !== before) changed = true;
        }
    }
    queueDelay = changed ? FIRST_POLL_MS : Math.min(pollMs, Math.round(queueDelay * 1.5));
    if (active.size && !closed) queueTimer = setTimeout(() => void queueTick(), queueDelay);
  };

  const onState = async (a: Active, s: BatchState | undefined) => {
    if (a.done) return;
    if (!s) {
      // Not listed: purged from the queue after it ended, or lost by the batch system.
      a.unknownPolls++;
      if (a.unknownPolls < 3 || Date.now() - a.submittedAt < 10_000) return;
      await readEvents(a);
      if (a.done) return;
      if (await readJobOutcome(a.ctx.store, a.job)) return settle(a, {});
      return failEnded(a, undefined);
    }
    a.unknownPolls = 0;
    a.state = s;
    if (s.phase === "queued") {
      const never = s.reason ? system.unschedulable(s.reason) : undefined;
      if (!never) return;
      requestCancel([a.id!]);
      return failWith(a, {
        kind: "lost",
        code: "QV_JOB_UNSCHEDULABLE",
        detail: `${describeJob(a)} can never start: ${never} (${system.label} reason ${s.reason}); it was cancelled`,
        hint: "ask for less (resources in the pipeline), or another partition",
      });
    }
    if (s.phase === "running") return;
    // Ended: what the job wrote decides, if it wrote anything.
    await readEvents(a);
    if (a.done) return;
    if (await readJobOutcome(a.ctx.store, a.job)) return settle(a, {});
    const why = system.explain(a.id!, s, a.resources);
    if (!why && !a.events.exit) {
      // The batch system says it completed; the exit line may still be on its way over the network.
      a.overSince ??= Date.now();
      if (Date.now() - a.overSince < SETTLE_MS) return;
    }
    return failEnded(a, s);
  };

  /** The job ended without its outcome in the store: say why, as precisely as the evidence allows. */
  const failEnded = async (a: Active, s: Extract<BatchState, { phase: "ended" }> | undefined) => {
    const store = a.ctx.store;
    const failure = endedFailure(system, {
      id: a.id ?? "(not submitted)",
      state: s,
      resources: a.resources,
      // In a pack, a job that never started still has its batch job's log, in the first one's folder.
      started: a.events.started !== undefined || a.pack.some((m) => m.events.started !== undefined),
      hasLog: await hasLog(store, logKey(a)),
      tail: await logTail(store, logKey(a)),
      log: store.jobPath(logKey(a), JOB_LOG_FILE),
      store: store.root,
      packedWith: a.pack.length - 1,
    });

    if (failure.kind === "lost" && failure.code === "QV_STORE_NOT_SHARED" && !verified) {
      // The first job proves the store is shared, or that it is not: then every other job would
      // fail the same way, so they are cancelled now and new ones fail at once.
      broken = failure;
      for (const other of [...active.values()]) if (other !== a) void failWith(other, failure);
      requestCancel([...active.values()].flatMap((o) => (o.id ? [o.id] : [])));
    }
    return failWith(a, failure);
  };

  /** Cancelled by this run: the job it was in the queue, for the run's record. */
  const cancelledResult = (a: Active): RunnerResult => ({
    cancelled: true,
    ...(a.id ? { cancelledJob: { system: system.name, id: a.id } } : {}),
  });

  const describeJob = (a: Active) => `${system.label} job ${a.id ?? "(not submitted)"}`;

  return {
    name: system.name,
    // The batch system queues; the head only waits. Stages marked local share the run's jobs.
    slots: 100_000,
    threads: (r) => (r.local ? opts.jobs : (effective(r).cpus ?? 1)),
    async run(job, ctx) {
      if (ctx.resources.local) {
        const release = await localSlots();
        try {
          return await local.run(job, ctx);
        } finally {
          release();
        }
      }
      if (ctx.signal.aborted || ctx.stopping.aborted) return { cancelled: true };
      if (broken) {
        const failure: JobFailure = {
          key: job.key,
          stageId: job.stageId,
          at: new Date().toISOString(),
          durationMs: 0,
          failure: broken,
        };
        return { outcome: { ok: false, failure } };
      }
      return new Promise<RunnerResult>((resolve) => {
        const onAbort = () => cancelOne(a);
        const a: Active = {
          job,
          ctx,
          resources: effective(ctx.resources),
          pack: [],
          events: new JobEventsReader(ctx.store, job.key),
          submittedAt: performance.now(),
          done: false,
          cancelRequested: false,
          unknownPolls: 0,
          settle: (r) => {
            ctx.signal.removeEventListener("abort", onAbort);
            ctx.stopping.removeEventListener("abort", onAbort);
            resolve(r);
          },
        };
        ctx.signal.addEventListener("abort", onAbort, { once: true });
        ctx.stopping.addEventListener("abort", onAbort, { once: true });
        gatherOf(a).add(a);
      });
    },
    async close() {
      // Jobs still gathering never reach the queue; submissions in flight finish first, so that
      // their jobs can be cancelled too.
      for (const g of gathers) {
        const left = g.items;
        g.items = [];
        g.flush();
        for (const a of left) settle(a, cancelledResult(a));
      }
      await Promise.all([...inflight]);
      closed = true;
      stopTimers();
      const left = [...active.values()];
      requestCancel(left.flatMap((a) => (a.id ? [a.id] : [])));
      for (const a of left) settle(a, cancelledResult(a));
      await Promise.all([...cancelling]);
      // Array task links are only needed while their tasks run.
      await Promise.all(arrays.map((x) => x.store.removeArray(x.name)));
    },
  };
}

/** At most `n` holders at once. */
function semaphore(n: number): () => Promise<() => void> {
  let free = n;
  const waiting: (() => void)[] = [];
  const release = () => {
    const next = waiting.shift();
    if (next) next();
    else free++;
  };
  return () =>
    new Promise((resolve) => {
      if (free > 0) {
        free--;
        resolve(release);
      } else waiting.push(() => resolve(release));
    });
}
