/**
 * A test rig in the spirit of wireit's: build a tiny project in a temp dir, run quiver on it, and
 * read back from the event stream which stages ran, which were cached, and why.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { main } from "../../cli/main.js";
import type { EngineEvent } from "../../engine/events.js";
import { testRegistry } from "./test-stages.js";
import type { AnyStageDefinition } from "../../core/stage.js";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
export const testCli = path.join(repoRoot, "dist", "test", "support", "test-cli.js");

export interface RunResult {
  code: number;
  events: EngineEvent[];
  stdout: string;
  stderr: string;
  ran: string[];
  cached: string[];
  failed: string[];
  skipped: string[];
}

export class Rig {
  private constructor(
    readonly dir: string,
    private readonly registry: ReadonlyMap<string, AnyStageDefinition>,
  ) {}

  /** A project with `files`; its pipelines use the test stages, or `registry` (e.g. the real one). */
  static create(
    files: Record<string, string> = {},
    registry: ReadonlyMap<string, AnyStageDefinition> = testRegistry,
  ): Rig {
    const rig = new Rig(fs.mkdtempSync(path.join(os.tmpdir(), "quiver-test-")), registry);
    for (const [name, content] of Object.entries(files)) rig.write(name, content);
    return rig;
  }

  get cacheDir(): string {
    return path.join(this.dir, ".quiver");
  }

  path(name: string): string {
    return path.join(this.dir, name);
  }

  write(name: string, content: string | Uint8Array): void {
    fs.mkdirSync(path.dirname(this.path(name)), { recursive: true });
    fs.writeFileSync(this.path(name), content);
  }

  read(name: string): string {
    return fs.readFileSync(this.path(name), "utf8");
  }

  /** Runs `quiver <cmd> <pipeline> --json ...` in this process and parses the events. */
  async quiver(cmd: string, pipeline: string, ...args: string[]): Promise<RunResult> {
    // Run in this process, `quiver exec` would be this process's script again (the test file),
    // which would run the tests again: a process per stage, recursively.
    if (args.some((a) => a === "--isolate" || a.startsWith("--executor")))
      throw new Error("runs with --isolate or --executor go through rig.spawnAndWait (the CLI in a child)");
    const out: string[] = [];
    const err: string[] = [];
    const code = await main(
      [cmd, this.path(pipeline), "--json", ...args],
      { out: (s) => out.push(s), err: (s) => err.push(s), color: false },
      this.registry,
    );
    return summarise(code, out.join("\n"), err.join("\n"));
  }

  /** Runs the CLI in a child process (for kill and concurrency tests). */
  spawn(cmd: string, pipeline: string, ...args: string[]): ChildProcess {
    return spawn(process.execPath, [testCli, cmd, this.path(pipeline), "--json", ...args], {
      cwd: this.dir,
      stdio: ["ignore", "pipe", "pipe"],
    });
  }

  async spawnAndWait(cmd: string, pipeline: string, ...args: string[]): Promise<RunResult> {
    const child = this.spawn(cmd, pipeline, ...args);
    return waitFor(child);
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export function waitFor(child: ChildProcess): Promise<RunResult> {
  let stdout = "";
  let stderr = "";
  child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) =>
    child.on("close", (code, signal) => resolve(summarise(code ?? (signal ? 137 : 1), stdout, stderr))),
  );
}

function summarise(code: number, stdout: string, stderr: string): RunResult {
  const events: EngineEvent[] = [];
  for (const line of stdout.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      events.push(JSON.parse(line) as EngineEvent);
    } catch {
      /* a partial line from a killed process */
    }
  }
  const by = (t: EngineEvent["type"]) =>
    events.filter((e) => e.type === t).map((e) => (e as { stage: string }).stage);
  return {
    code,
    events,
    stdout,
    stderr,
    ran: by("finished"),
    cached: by("cached"),
    failed: by("failed"),
    skipped: by("skipped"),
  };
}

/** All object files in a store, by relative path → bytes (to compare stores byte for byte). */
export function storeObjects(cacheDir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const root = path.join(cacheDir, "objects");
  if (!fs.existsSync(root)) return out;
  for (const sub of fs.readdirSync(root))
    for (const f of fs.readdirSync(path.join(root, sub)))
      out.set(`${sub}/${f}`, fs.readFileSync(path.join(root, sub, f)));
  return out;
}
