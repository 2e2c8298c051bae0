/**
 * Slurm (`--executor slurm`): the batch-system adapter for ./batch.ts. A submission is one
 * `sbatch --parsable` — an array when several jobs with the same request are ready together — of
 * a small script that runs `quiver exec --cache-dir STORE KEY` with the head's own node binary and
 * CLI (or the site's `command`); Slurm writes each job's output into its folder in the store. The
 * run's jobs share one job name, so one `squeue --name` per interval reports them all (`sacct`
 * for jobs squeue has forgotten, when the site keeps accounting); `scancel` takes them back.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fmtDuration, fmtMemory, slurmTime } from "../pipeline/resources.js";
import { JOB_LOG_FILE, type BatchSubmission } from "../records.js";
import { batchRunner } from "./batch.js";
import {
  BatchError,
  type BatchRequest,
  type BatchState,
  type BatchSystem,
  type BatchTask,
} from "./batch-system.js";
import type { RunnerOptions, StageRunner } from "./runner.js";
import { readSiteSettings, type SiteSettings } from "./site.js";

export function slurmRunner(opts: RunnerOptions): StageRunner {
  return batchRunner(slurmSystem(), opts, slurmSettings());
}

/** The site's Slurm settings (site file, then QUIVER_SLURM_* variables). */
export function slurmSettings(): SiteSettings {
  return readSiteSettings("slurm");
}

interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs a Slurm command; a missing command is a BatchError saying this is no submit host. In its
 * own process group: a Ctrl-C at the terminal reaches this process, which then cancels its jobs,
 * and must not also kill the scancel that does it.
 */
function slurm(cmd: string, args: readonly string[], timeoutMs = 60_000): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { detached: true, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
    child.stderr.on("data", (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        err.code === "ENOENT"
          ? new BatchError(
              `${cmd} not found: this machine is not a Slurm submit host (PATH=${process.env.PATH ?? ""})`,
              "run Quiver on a login node of the cluster, or choose another --executor",
            )
          : new BatchError(`${cmd} failed: ${err.message}`),
      );
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (signal)
        reject(new BatchError(`${cmd} ${signal === "SIGKILL" ? "timed out" : `was killed by ${signal}`}`));
      else resolve({ code: code ?? 0, stdout, stderr });
    });
  });
}

function pct(p: string): string {
  return p.replace(/%/g, "%%");
}

/** Single-quoted for /bin/sh. */
function sh(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Slurm's words without its prefixes (`sbatch: error: Batch job submission failed: …`). */
function slurmMessage(stderr: string): string {
  return (
    stderr
      .split("\n")
      .map((l) => l.replace(/^\w+: (error|fatal): /, "").replace(/^Batch job submission failed: /, ""))
      .filter(Boolean)
      .join("; ") || "no message"
  );
}

function submitHint(message: string): string | undefined {
  if (/configuration source|Unable to contact slurm controller|Connection refused/i.test(message))
    return "sbatch cannot reach a Slurm controller: run on a login node of the cluster (or set SLURM_CONF)";
  if (/account/i.test(message))
    return "set the account in the site settings (slurm.account in ~/.config/quiver/site.yaml, or QUIVER_SLURM_ACCOUNT)";
  if (/partition/i.test(message))
    return "choose an existing partition: resources.partition in the pipeline, or slurm.partition in the site settings (sinfo lists them)";
  if (/node configuration is not available|memory|cpu/i.test(message))
    return "the request (resources.cpus / resources.memory) exceeds every node of the partition; ask for less";
  if (/time limit/i.test(message))
    return "resources.time exceeds the partition's limit; ask for less or change partition";
  return undefined;
}

const QUEUED = new Set(["PENDING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD"]);
const RUNNING = new Set([
  "RUNNING",
  "CONFIGURING",
  "COMPLETING",
  "SUSPENDED",
  "STOPPED",
  "SIGNALING",
  "STAGE_OUT",
  "RESIZING",
]);

function stateOf(state: string, reason: string, node: string, exit?: string): BatchState {
  const word = state.split(/\s+/)[0]!.replace(/\+$/, "");
  const clean = (s: string) => (s && s !== "None" && s !== "(null)" ? s : undefined);
  if (QUEUED.has(word)) return { phase: "queued", reason: clean(reason) };
  if (RUNNING.has(word)) return { phase: "running", node: clean(node) };
  const code = exit ? Number(exit.split(":")[0]) : undefined;
  return {
    phase: "ended",
    state: word,
    node: clean(node),
    reason: clean(reason),
    ...(code !== undefined && Number.isFinite(code) ? { exitCode: code } : {}),
  };
}

/** Pending reasons that no amount of waiting resolves. */
const NEVER: Readonly<Record<string, string>> = {
  PartitionTimeLimit: "its time limit is longer than the partition allows",
  PartitionNodeLimit: "it asks for more nodes than the partition allows",
  BadConstraints: "no node meets its constraints",
  InvalidAccount: "the account is not valid",
  InvalidQOS: "the QOS is not valid",
};

export function slurmSystem(): BatchSystem {
  /** Unknown until sacct is first needed; false when the site keeps no accounting. */
  let sacct: boolean | undefined;

  return {
    name: "slurm",
    label: "Slurm",

    async submit(req: BatchRequest): Promise<string[]> {
      const { store, tasks, resources: r } = req;
      const many = tasks.length > 1;
      // An array's output files go to task i's link, the folder of its (first) job.
      const dir = many
        ? await store.linkArray(
            req.arrayName,
            tasks.map((t) => t.jobs[0]!.key),
          )
        : store.jobPath(tasks[0]!.jobs[0]!.key);
      const script = path.join(dir, "batch.sh");
      const exec = [...req.command, "exec", "--cache-dir", store.root].map(sh).join(" ");
      const keys = (t: BatchTask) => t.jobs.map((j) => j.key).join(" ");
      const body = many
        ? `# task i runs the jobs of line i\ncase "\${SLURM_ARRAY_TASK_ID:-0}" in\n${tasks.map((t, i) => `  ${i}) set -- ${keys(t)} ;;\n`).join("")}esac\nexec ${exec} "$@"\n`
        : `exec ${exec} ${keys(tasks[0]!)}\n`;
      const stages = [...new Set(tasks.flatMap((t) => t.jobs.map((j) => j.stageId)))].join(", ");
      await fs.promises.writeFile(
        script,
        `#!/bin/sh\n# Written by Quiver (${req.name}): ${stages}. Reruns by hand with: sbatch ${path.basename(script)}\n${body}`,
        { mode: 0o755 },
      );
      const args = [
        "--parsable",
        `--job-name=${req.name}`,
        // `%` starts a Slurm file-name pattern: a literal one in the store's path is doubled.
        `--output=${many ? path.join(pct(dir), "%a", JOB_LOG_FILE) : path.join(pct(dir), JOB_LOG_FILE)}`,
        "--open-mode=append",
        `--chdir=${store.root}`,
        `--cpus-per-task=${r.cpus ?? 1}`,
        ...(r.memory !== undefined ? [`--mem=${r.memory}M`] : []),
        ...(r.time !== undefined ? [`--time=${slurmTime(r.time)}`] : []),
        ...(r.partition ? [`--partition=${r.partition}`] : []),
        ...(req.site.account ? [`--account=${req.site.account}`] : []),
        ...(many ? [`--array=0-${tasks.length - 1}`] : []),
        ...req.site.flags,
        script,
      ];
      const res = await slurm("sbatch", args);
      const id = /^(\d+)(;\S+)?\s*$/.exec(res.stdout.trim())?.[1];
      if (res.code !== 0 || !id) {
        const message = slurmMessage(res.stderr) || res.stdout.trim();
        throw new BatchError(message, submitHint(message));
      }
      return many ? tasks.map((_, i) => `${id}_${i}`) : [id];
    },

    async poll(name, ids): Promise<ReadonlyMap<string, BatchState>> {
      const out = new Map<string, BatchState>();
      const res = await slurm("squeue", ["-h", "-r", "-t", "all", `--name=${name}`, "-o", "%i|%T|%r|%N"]);
      if (res.code !== 0) throw new BatchError(slurmMessage(res.stderr));
      for (const line of res.stdout.split("\n")) {
        const [id, state, reason = "", node = ""] = line.trim().split("|");
        if (id && state) out.set(id, stateOf(state, reason, node));
      }
      // Jobs squeue has forgotten (MinJobAge): accounting remembers them, where the site keeps it.
      const missing = ids.filter((id) => !out.has(id));
      if (missing.length && sacct !== false) {
        const acct = await slurm("sacct", [
          "-n",
          "-P",
          "-X",
          "-j",
          missing.join(","),
          "-o",
          "JobID,State,Reason,NodeList,ExitCode",
        ]).catch(() => undefined);
        if (!acct || acct.code !== 0 || /disabled/i.test(acct.stderr + acct.stdout)) sacct = false;
        else {
          sacct = true;
          for (const line of acct.stdout.split("\n")) {
            const [id, state, reason = "", node = "", exit] = line.trim().split("|");
            if (id && state && missing.includes(id)) out.set(id, stateOf(state, reason, node, exit));
          }
        }
      }
      return out;
    },

    async cancel(ids) {
      for (let i = 0; i < ids.length; i += 500)
        await slurm("scancel", ids.slice(i, i + 500)).catch(() => undefined);
    },

    explain(id, s, r) {
      const on = s.node ? ` on ${s.node}` : "";
      switch (s.state) {
        case "COMPLETED":
          return undefined;
        case "TIMEOUT":
          return {
            code: "QV_JOB_TIMEOUT",
            detail: `Slurm job ${id} reached its time limit${r.time !== undefined ? ` of ${fmtDuration(r.time)}` : ""}${on} and was stopped`,
            hint:
              r.time !== undefined
                ? "raise resources.time for this stage (or the pipeline's default)"
                : "the partition's default time limit applied: give the stage a resources.time",
            resource: "time",
          };
        case "OUT_OF_MEMORY":
          return {
            code: "QV_JOB_OUT_OF_MEMORY",
            detail: `Slurm job ${id} ran out of memory${r.memory !== undefined ? ` (${fmtMemory(r.memory)})` : ""}${on} and was stopped`,
            hint: "raise resources.memory for this stage (or the pipeline's default)",
            resource: "memory",
          };
        case "CANCELLED":
          return {
            code: "QV_JOB_CANCELLED",
            detail: `Slurm job ${id} was cancelled${on}${s.reason ? ` (${s.reason})` : ""}, not by this run: scancel, an administrator or the system`,
            hint: "run again to resubmit it; stages already done stay cached",
          };
        case "NODE_FAIL":
          return {
            code: "QV_JOB_NODE_FAIL",
            detail: `the node${s.node ? ` ${s.node}` : ""} running Slurm job ${id} failed`,
            hint: "run again: stages already done stay cached",
          };
        case "PREEMPTED":
          return {
            code: "QV_JOB_PREEMPTED",
            detail: `Slurm job ${id} was preempted${on} by a job of higher priority`,
            hint: "run again, or use a partition without preemption",
          };
        case "BOOT_FAIL":
          return {
            code: "QV_JOB_BOOT_FAIL",
            detail: `the node${s.node ? ` ${s.node}` : ""} for Slurm job ${id} failed to boot`,
            hint: "run again; tell the site's administrators if it persists",
          };
        case "DEADLINE":
          return {
            code: "QV_JOB_DEADLINE",
            detail: `Slurm job ${id} missed its deadline and was stopped`,
            hint: "remove or extend --deadline in the site's flags",
          };
        case "FAILED":
          // Its process ended with an error code before it could say why (as a crash under --isolate).
          return {
            code: "QV_EXEC_FAILED",
            detail: `quiver exec ended with an error${s.exitCode !== undefined ? ` (exit code ${s.exitCode})` : ""} in Slurm job ${id}${on}`,
          };
        default:
          return {
            code: "QV_JOB_FAILED",
            detail: `Slurm job ${id} ended in state ${s.state}${on}${s.reason ? ` (${s.reason})` : ""}`,
          };
      }
    },

    unschedulable(reason) {
      return NEVER[reason];
    },
  };
}

/**
 * The submissions whose job Slurm still has queued or running (one squeue by the runs' names); one
 * whose id was never recorded (its head died while submitting) counts when any job of its run does.
 */
export async function slurmInQueue(subs: readonly BatchSubmission[]): Promise<BatchSubmission[]> {
  const names = [...new Set(subs.map((s) => s.name))];
  if (!names.length) return [];
  const res = await slurm("squeue", ["-h", "-r", `--name=${names.join(",")}`, "-o", "%i|%T|%j"]);
  if (res.code !== 0) throw new BatchError(slurmMessage(res.stderr));
  const ids = new Set<string>();
  const runs = new Set<string>();
  for (const line of res.stdout.split("\n")) {
    const [id, state, name] = line.trim().split("|");
    if (!id || !state || stateOf(state, "", "").phase === "ended") continue;
    ids.add(id);
    if (name) runs.add(name);
  }
  return subs.filter((s) => (s.id ? ids.has(s.id) : runs.has(s.name)));
}
