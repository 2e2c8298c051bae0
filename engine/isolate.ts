/**
 * Running one stage job in a child process (`quiver exec`): the job is in the store, the results
 * come back through the store, and the child's progress and notes come back as NDJSON lines.
 */
import { spawn } from "node:child_process";

export type ChildEvent =
  | { readonly type: "progress"; readonly fraction: number; readonly message?: string }
  | { readonly type: "note"; readonly message: string };

export async function runInChildProcess(
  cli: string,
  storeRoot: string,
  key: string,
  onEvent: (e: ChildEvent) => void,
): Promise<{ code: number; stderr: string }> {
  const child = spawn(process.execPath, [cli, "exec", "--cache-dir", storeRoot, key], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  let buffered = "";
  child.stdout.on("data", (d: Buffer) => {
    buffered += d.toString();
    let nl: number;
    while ((nl = buffered.indexOf("\n")) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      try {
        const e = JSON.parse(line) as { type?: string; fraction?: number; message?: string };
        if (e.type === "progress")
          onEvent({
            type: "progress",
            fraction: e.fraction ?? 0,
            ...(e.message ? { message: e.message } : {}),
          });
        else if (e.type === "note") onEvent({ type: "note", message: e.message ?? "" });
      } catch {
        /* not an event line */
      }
    }
  });
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? 1)));
  return { code, stderr };
}
