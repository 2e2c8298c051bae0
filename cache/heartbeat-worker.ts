/**
 * The heartbeat thread (see heartbeat.ts): refreshes the mtime of every file this process holds,
 * whatever the main thread is busy with.
 */
import { parentPort, workerData } from "node:worker_threads";
import { touchIfSame, type Beat } from "./heartbeat.js";

const files = new Map<string, Beat>();
const { intervalMs } = workerData as { intervalMs: number };

parentPort?.on("message", (m: { add?: Beat; remove?: string }) => {
  if (m.add) {
    files.set(m.add.file, m.add);
    touchIfSame(m.add);
  }
  if (m.remove !== undefined) files.delete(m.remove);
});

setInterval(() => {
  const now = new Date();
  for (const b of files.values()) touchIfSame(b, now);
}, intervalMs);
