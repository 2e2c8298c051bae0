/**
 * The heartbeat thread (see heartbeat.ts): refreshes the mtime of every file this process holds,
 * whatever the main thread is busy with.
 */
import { parentPort, workerData } from "node:worker_threads";
import { touchIfSame } from "./heartbeat.js";

const files = new Map<string, number>();
const { intervalMs } = workerData as { intervalMs: number };

parentPort?.on("message", (m: { add?: { file: string; ino: number }; remove?: string }) => {
  if (m.add) {
    files.set(m.add.file, m.add.ino);
    touchIfSame(m.add.file, m.add.ino);
  }
  if (m.remove !== undefined) files.delete(m.remove);
});

setInterval(() => {
  const now = new Date();
  for (const [file, ino] of files) touchIfSame(file, ino, now);
}, intervalMs);
