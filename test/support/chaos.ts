/**
 * Fault injection for the reliability suite: a seeded generator (so every failure can be replayed
 * from the printed seed), a kill-at-random-moments loop over real `quiver run` processes, damage to
 * store files, and a store walker that lists every object and manifest with its bytes.
 */
import fs from "node:fs";
import path from "node:path";
import { hashBytes, hasher } from "../../core/hash.js";
import { Rng } from "../../stages/lib/random.js";
import { waitFor, type Rig, type RunResult } from "./rig.js";

/** The seed of a chaos test: $QUIVER_CHAOS_SEED to replay one, otherwise fresh per run. */
export function chaosSeed(): number {
  const fromEnv = process.env.QUIVER_CHAOS_SEED;
  if (fromEnv !== undefined && /^\d+$/.test(fromEnv)) return Number(fromEnv) >>> 0;
  return (Date.now() ^ (process.pid << 16)) >>> 0;
}

/** A positive integer from the environment, or the default. */
export function envCount(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === "") return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got "${v}"`);
  return n;
}

/** Runs `body` and, when it throws, prefixes the error with the seed that replays it. */
export async function withSeed<T>(label: string, seed: number, body: (rng: Rng) => Promise<T>): Promise<T> {
  try {
    return await body(new Rng(seed));
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    const wrapped = new Error(`${label} failed with QUIVER_CHAOS_SEED=${seed} (replay with it): ${msg}`);
    if (err instanceof Error && err.stack) wrapped.stack = `${wrapped.message}\n${err.stack}`;
    throw wrapped;
  }
}

export interface KillRecord {
  readonly delayMs: number;
  /** The child had already exited on its own when the kill was due (the run completed). */
  readonly finishedFirst: boolean;
  readonly ranBeforeKill: readonly string[];
}

/**
 * Starts `quiver run` `kills` times and SIGKILLs it after a random delay in [0, maxDelayMs). Each
 * child gets a hard deadline so a hung process cannot hang the suite.
 */
export async function killRepeatedly(
  rig: Rig,
  pipeline: string,
  args: readonly string[],
  kills: number,
  maxDelayMs: number,
  rng: Rng,
): Promise<KillRecord[]> {
  const out: KillRecord[] = [];
  for (let i = 0; i < kills; i++) {
    const delayMs = Math.floor(rng.uniform() * maxDelayMs);
    const child = rig.spawn("run", pipeline, ...args);
    const done = waitFor(child);
    let exited = false;
    child.once("exit", () => (exited = true));
    await new Promise((r) => setTimeout(r, delayMs));
    const finishedFirst = exited;
    if (!exited) child.kill("SIGKILL");
    const res: RunResult = await done;
    out.push({ delayMs, finishedFirst, ranBeforeKill: res.ran });
  }
  return out;
}

/** Waits for a child run with a deadline; a child still alive then is killed and the test fails. */
export async function runWithDeadline(
  rig: Rig,
  pipeline: string,
  args: readonly string[],
  deadlineMs: number,
): Promise<RunResult> {
  const child = rig.spawn("run", pipeline, ...args);
  const timer = setTimeout(() => child.kill("SIGKILL"), deadlineMs);
  try {
    const res = await waitFor(child);
    if (res.code === 137) throw new Error(`quiver run ${pipeline} did not finish within ${deadlineMs} ms`);
    return res;
  } finally {
    clearTimeout(timer);
  }
}

export type StoreFileKind = "object" | "manifest";

export interface StoreFile {
  readonly kind: StoreFileKind;
  /** Path relative to the store root, with forward slashes. */
  readonly rel: string;
}

/** Every object and manifest file in a store, sorted (stable for seeded choices). */
export function storeFiles(cacheDir: string): StoreFile[] {
  const out: StoreFile[] = [];
  for (const [kind, top] of [
    ["object", "objects"],
    ["manifest", "runs"],
  ] as const) {
    const root = path.join(cacheDir, top);
    if (!fs.existsSync(root)) continue;
    for (const sub of fs.readdirSync(root).sort())
      for (const f of fs.readdirSync(path.join(root, sub)).sort())
        out.push({ kind, rel: `${top}/${sub}/${f}` });
  }
  return out;
}

/** Objects and manifests with their bytes, keyed by relative path. */
export function storeSnapshot(cacheDir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const f of storeFiles(cacheDir)) out.set(f.rel, fs.readFileSync(path.join(cacheDir, f.rel)));
  return out;
}

/** Files left in the store's tmp/ folder (orphans of interrupted writes). */
export function tmpLeftovers(cacheDir: string): string[] {
  const dir = path.join(cacheDir, "tmp");
  return fs.existsSync(dir) ? fs.readdirSync(dir) : [];
}

export type DamageKind = "truncate" | "bitflip" | "delete";
export const DAMAGE_KINDS: readonly DamageKind[] = ["truncate", "bitflip", "delete"];

export interface Damage {
  readonly kind: DamageKind;
  readonly file: StoreFile;
  readonly detail: string;
}

/** Applies one damage to one store file; always changes the file (or removes it). */
export function damageFile(cacheDir: string, file: StoreFile, kind: DamageKind, rng: Rng): Damage {
  const abs = path.join(cacheDir, file.rel);
  const bytes = fs.readFileSync(abs);
  switch (kind) {
    case "delete":
      fs.rmSync(abs);
      return { kind, file, detail: "deleted" };
    case "truncate": {
      const to = bytes.length === 0 ? 0 : rng.int(bytes.length);
      fs.truncateSync(abs, to);
      return { kind, file, detail: `truncated ${bytes.length} -> ${to} bytes` };
    }
    case "bitflip": {
      if (bytes.length === 0) {
        fs.writeFileSync(abs, Buffer.from([1]));
        return { kind, file, detail: "empty file given one byte" };
      }
      const at = rng.int(bytes.length);
      const bit = rng.int(8);
      bytes[at] = bytes[at]! ^ (1 << bit);
      fs.writeFileSync(abs, bytes);
      return { kind, file, detail: `bit ${bit} of byte ${at}/${bytes.length} flipped` };
    }
    default: {
      const never: never = kind;
      throw new Error(`unknown damage ${String(never)}`);
    }
  }
}

/** A JavaScript stack frame in output: what a user must never see for their own mistake. */
export const STACK_FRAME = /\n\s+at .+:\d+:\d+/;

/**
 * Checks a store independently of the engine's read path: every object's bytes hash to its name,
 * every manifest parses and names only objects that are present and intact. Returns the problems.
 */
export async function auditStore(cacheDir: string): Promise<string[]> {
  await hasher();
  const problems: string[] = [];
  const files = storeFiles(cacheDir);
  const objects = new Map<string, number>();
  for (const f of files.filter((x) => x.kind === "object")) {
    const bytes = fs.readFileSync(path.join(cacheDir, f.rel));
    const name = path.basename(f.rel);
    if (hashBytes(bytes) !== name) problems.push(`${f.rel}: bytes do not hash to the name`);
    else objects.set(name, bytes.length);
  }
  for (const f of files.filter((x) => x.kind === "manifest")) {
    let m: { objects?: Record<string, { hash?: unknown; size?: unknown }> };
    try {
      m = JSON.parse(fs.readFileSync(path.join(cacheDir, f.rel), "utf8")) as typeof m;
    } catch {
      problems.push(`${f.rel}: does not parse`);
      continue;
    }
    for (const [port, ref] of Object.entries(m.objects ?? {})) {
      if (typeof ref.hash !== "string" || objects.get(ref.hash) !== ref.size)
        problems.push(`${f.rel}: ${port} names a missing or damaged object`);
    }
  }
  return problems;
}
