/**
 * Finding the Python interpreter a benchmark measures its peer with (scikit-learn, scipy, numpy,
 * PyTorch, ...), so that no table is ever written without its reference.
 *
 * The interpreter is `$PYTHON` when set (and then only that one: a run asked for a particular
 * interpreter must not quietly measure another); otherwise the first `python3` on PATH, then the
 * system's `/usr/bin/python3` (where Debian's python3-sklearn, -scipy, -torch live; a pyenv or
 * virtualenv python3 earlier on PATH often lacks them). A candidate is accepted when it imports
 * every module the benchmark needs.
 *
 * When none does, `requirePeer` exits with status 2 and a message naming the missing modules and
 * what each candidate said. A run that is meant to time Quiver alone passes `--no-peer`; it gets
 * `undefined` and writes "peer not measured" where the peer's figures go.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

export interface Peer {
  /** The interpreter, as it was found (a command on PATH or a path). */
  python: string;
  /** `__version__` of each required module, by import name. */
  versions: Record<string, string>;
}

export interface PeerAttempt {
  python: string;
  problem: string;
}

export type PeerSearch = { found: Peer; tried: PeerAttempt[] } | { found: undefined; tried: PeerAttempt[] };

/** What `pip`/`apt` call the modules people import under another name. */
const PACKAGE: Record<string, string> = { sklearn: "scikit-learn", torch: "PyTorch", xgboost: "XGBoost" };

const PROBE = [
  "import importlib, json, sys",
  "print(json.dumps({m: str(getattr(importlib.import_module(m), '__version__', '?')) for m in sys.argv[1:]}))",
].join("\n");

/** The first executable `name` on PATH, or undefined. */
function onPath(name: string, envPath: string | undefined): string | undefined {
  for (const dir of (envPath ?? "").split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

function realpath(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return file;
  }
}

/** `$PYTHON` alone when set; otherwise python3 on PATH, then the system's, each once. */
export function pythonCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.PYTHON) return [env.PYTHON];
  const out: string[] = [];
  const seen = new Set<string>();
  for (const c of [onPath("python3", env.PATH), "/usr/bin/python3"]) {
    if (c === undefined || seen.has(realpath(c))) continue;
    seen.add(realpath(c));
    out.push(c);
  }
  return out;
}

/** Asks one interpreter to import `modules`; its versions, or what went wrong in its own words. */
function probe(python: string, modules: readonly string[]): Record<string, string> | string {
  const r = spawnSync(python, ["-c", PROBE, ...modules], { encoding: "utf8", timeout: 180_000 });
  if (r.error) {
    const code = (r.error as NodeJS.ErrnoException).code;
    return code === "ENOENT" ? "not found" : `could not be started (${r.error.message})`;
  }
  if (r.status !== 0) {
    const last = (r.stderr ?? "").trim().split("\n").pop()?.trim();
    return last || `exited with status ${r.status ?? r.signal}`;
  }
  try {
    const v = JSON.parse((r.stdout ?? "").trim().split("\n").pop() ?? "") as unknown;
    if (
      v &&
      typeof v === "object" &&
      modules.every((m) => typeof (v as Record<string, unknown>)[m] === "string")
    )
      return v as Record<string, string>;
  } catch {
    // fall through
  }
  return `printed something other than the module versions: ${JSON.stringify((r.stdout ?? "").slice(0, 200))}`;
}

/** The first candidate that imports every module in `modules`, and what the others said. */
export function findPeer(modules: readonly string[], candidates = pythonCandidates()): PeerSearch {
  const tried: PeerAttempt[] = [];
  for (const python of candidates) {
    const r = probe(python, modules);
    if (typeof r !== "string") return { found: { python, versions: r }, tried };
    tried.push({ python, problem: r });
  }
  return { found: undefined, tried };
}

/** "scikit-learn, scipy and numpy" for the modules a benchmark needs. */
export function describeModules(modules: readonly string[]): string {
  const names = modules.map((m) => PACKAGE[m] ?? m);
  return names.length > 1
    ? `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`
    : (names[0] ?? "");
}

/** The message for a search that found nothing. */
export function missingPeerMessage(modules: readonly string[], tried: readonly PeerAttempt[]): string {
  const lines = [
    `no Python interpreter with ${describeModules(modules)} was found, so the peer cannot be measured.`,
  ];
  if (tried.length === 0)
    lines.push("  no interpreter to try: python3 is not on PATH and /usr/bin/python3 is absent");
  for (const t of tried) lines.push(`  ${t.python}: ${t.problem}`);
  lines.push(
    "Set PYTHON to an interpreter that has them (on Debian: apt-get install python3-sklearn python3-scipy " +
      "python3-torch python3-xgboost, then PYTHON=/usr/bin/python3), or pass --no-peer to time Quiver alone " +
      '(the table then says "peer not measured").',
  );
  return lines.join("\n");
}

/** True when the benchmark was asked to run without its peer. */
export function peerDisabled(argv: readonly string[] = process.argv): boolean {
  return argv.includes("--no-peer");
}

/** Arguments of the benchmark with the peer flag taken out (for positional parsing). */
export function benchArgs(argv: readonly string[] = process.argv): string[] {
  return argv.slice(2).filter((a) => a !== "--no-peer");
}

/**
 * The peer for a benchmark needing `modules`. Prints which interpreter measures it. Without one,
 * exits with status 2 and says why — or, under `--no-peer`, returns undefined.
 */
export function requirePeer(modules: readonly string[]): Peer | undefined {
  if (peerDisabled()) {
    process.stderr.write(`--no-peer: ${describeModules(modules)} not measured\n`);
    return undefined;
  }
  const search = findPeer(modules);
  if (search.found === undefined) {
    process.stderr.write(missingPeerMessage(modules, search.tried) + "\n");
    process.exit(2);
  }
  const { python, versions } = search.found;
  const skipped = search.tried.map((t) => ` (skipped ${t.python}: ${t.problem})`).join("");
  process.stderr.write(
    `peer: ${python} with ${Object.entries(versions)
      .map(([m, v]) => `${PACKAGE[m] ?? m} ${v}`)
      .join(", ")}${skipped}\n`,
  );
  return search.found;
}

/** "scikit-learn 1.2.1, scipy 1.10.1" for a table heading; "peer not measured" without a peer. */
export function peerVersions(peer: Peer | undefined): string {
  if (!peer) return "peer not measured";
  return Object.entries(peer.versions)
    .map(([m, v]) => `${PACKAGE[m] ?? m} ${v}`)
    .join(", ");
}
