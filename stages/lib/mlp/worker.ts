/** Worker thread of the trainer: instantiates the module on the shared memory and serves chunk jobs. */
import { parentPort, workerData } from "node:worker_threads";
import { workerLoop, type WorkerInit } from "./pool.js";
import { instantiateMlp } from "./wasm.js";

const init = workerData as WorkerInit;
const ex = instantiateMlp(init.module, init.memory);
parentPort?.postMessage("ready");
workerLoop(ex, init);
