/**
 * Who holds a lock or a run registration: this process, told apart from every other one by more
 * than (pid, host name). A restarted container or pod sees the same host name and, as PID 1 of a
 * fresh PID namespace, the same pid as the process it replaces; a node of a cluster sees another
 * host altogether. So an owner carries a random per-process token, and — where Linux tells — the
 * boot id, the PID namespace and the process's start time. From those, another process on the same
 * machine can decide for certain whether the owner is alive; anywhere else the owner is judged by
 * its heartbeat (heartbeat.ts): the mtime of its file, refreshed while it is held.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import { d, decode } from "../core/decode.js";

export interface Owner {
  readonly pid: number;
  readonly host: string;
  /** Random, per process: two processes never share it, whatever their pid and host. */
  readonly token: string;
  /** When the lock or registration was taken (ms since the epoch, the owner's clock). */
  readonly at: number;
  /** Linux: /proc/sys/kernel/random/boot_id. */
  readonly boot?: string | undefined;
  /** Linux: the PID namespace (`pid:[4026531836]`). */
  readonly pidns?: string | undefined;
  /** Linux: the process's start time in clock ticks since boot (field 22 of /proc/PID/stat). */
  readonly start?: number | undefined;
}

export const ownerDecoder = d.object({
  pid: d.number,
  host: d.string,
  token: d.string,
  at: d.number,
  boot: d.optional(d.string),
  pidns: d.optional(d.string),
  start: d.optional(d.number),
});

/** The owner fields of a parsed document, or undefined when it names no owner. */
export function ownerOf(v: unknown): Owner | undefined {
  const r = decode(ownerDecoder, v);
  return r.ok ? r.value : undefined;
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8").trim();
  } catch {
    return undefined;
  }
}

/** Start time of a process in clock ticks since boot, from /proc (Linux); undefined elsewhere. */
export function processStart(pid: number): number | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  // The command name (field 2) is in parentheses and may itself contain spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const start = Number(fields[19]);
  return Number.isFinite(start) ? start : undefined;
}

function pidNamespace(): string | undefined {
  try {
    return fs.readlinkSync("/proc/self/ns/pid");
  } catch {
    return undefined;
  }
}

interface Self {
  readonly pid: number;
  readonly host: string;
  readonly token: string;
  readonly boot: string | undefined;
  readonly pidns: string | undefined;
  readonly start: number | undefined;
}

let self: Self | undefined;

/** This process (computed once). */
function me(): Self {
  self ??= {
    pid: process.pid,
    host: os.hostname(),
    token: crypto.randomBytes(12).toString("hex"),
    boot: readText("/proc/sys/kernel/random/boot_id"),
    pidns: pidNamespace(),
    start: processStart(process.pid),
  };
  return self;
}

/** This process as an owner, now. */
export function currentOwner(): Owner {
  const s = me();
  return {
    pid: s.pid,
    host: s.host,
    token: s.token,
    at: Date.now(),
    ...(s.boot !== undefined ? { boot: s.boot } : {}),
    ...(s.pidns !== undefined ? { pidns: s.pidns } : {}),
    ...(s.start !== undefined ? { start: s.start } : {}),
  };
}

export function processToken(): string {
  return me().token;
}

/**
 * Whether the owner is alive, as far as this process can know for certain: "mine" (this process),
 * "alive" or "dead" when it ran on this machine in this PID namespace, "unknown" otherwise (another
 * host, another container): then only its heartbeat can tell.
 */
export function ownerState(o: Owner): "mine" | "alive" | "dead" | "unknown" {
  const s = me();
  if (o.token === s.token) return "mine";
  if (o.host !== s.host || o.boot !== s.boot || o.pidns !== s.pidns) return "unknown";
  // Same machine, same boot, same PID namespace: the pid names one process at a time, and its
  // start time tells a reused pid apart. This process's own pid with another token is a
  // predecessor that had the same pid (a restarted container's PID 1): gone.
  if (o.pid === s.pid) return "dead";
  if (o.start !== undefined && s.start !== undefined) {
    const start = processStart(o.pid);
    return start !== undefined && start === o.start ? "alive" : "dead";
  }
  try {
    process.kill(o.pid, 0);
    return "alive";
  } catch (err) {
    return (err as { code?: string }).code === "EPERM" ? "alive" : "dead";
  }
}

/** A short description for messages: `pid 123 on host-a`. */
export function describeOwner(o: Owner): string {
  return `pid ${o.pid} on ${o.host}`;
}
