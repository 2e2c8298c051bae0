/** Worker thread of gbt training: attaches to one training's memory at a time and serves its jobs. */
import { parentPort } from "node:worker_threads";
import { serveJobs, type AttachMessage } from "./pool.js";
import { instantiateGbt } from "./wasm.js";

parentPort?.on("message", (m: AttachMessage) => {
  if (m.type !== "attach") return;
  serveJobs(instantiateGbt(m.module, m.memory), m);
});
