/**
 * What the machine had to give during a benchmark: the load average and how much of a second core
 * was free (other engineers' jobs share this machine; two-thread figures mean little without it).
 */
import os from "node:os";
import { Worker } from "node:worker_threads";

/** "1 / 5 / 15 minute" load averages. */
export function loadAverage(): string {
  return os
    .loadavg()
    .map((v) => v.toFixed(1))
    .join(" / ");
}

/** A busy loop of about a second (the same loop runs in the worker, as source text). */
function spinLoop(): number {
  let x = 0;
  for (let i = 0; i < 2e8; i++) x = (x + i * 7) % 1000003;
  return x;
}
const SPIN_WORKER = `const { parentPort } = require("node:worker_threads");
let x = 0;
for (let i = 0; i < 2e8; i++) x = (x + i * 7) % 1000003;
parentPort.postMessage(x);`;

/**
 * Throughput of two busy threads relative to one, over 2: 1.00 when a second core is free, 0.50
 * when the two threads had to share one core.
 */
export async function freeSecondCore(): Promise<number> {
  let t0 = performance.now();
  spinLoop();
  const alone = performance.now() - t0;
  t0 = performance.now();
  const w = new Worker(SPIN_WORKER, { eval: true });
  const done = new Promise((resolve) => w.once("message", resolve));
  spinLoop();
  await done;
  const both = performance.now() - t0;
  await w.terminate();
  return alone / both;
}
