/** Worker-thread entry for FoldPool: runs one fold per message, reports progress and the outcome. */
import { parentPort } from "node:worker_threads";
import { runFold, serializeError, type FromWorker, type ToWorker } from "./folds.js";
import { defaultModelKinds, kindNamed } from "./index.js";

const port = parentPort;
if (!port) throw new Error("fold-worker must run in a worker thread");

const send = (m: FromWorker) => port.postMessage(m);

port.on("message", (msg: ToWorker) => {
  Promise.resolve()
    .then(() => kindNamed(defaultModelKinds, msg.kind))
    .then((kind) => runFold(kind, msg.task, (fraction, line) => send({ type: "progress", fraction, line })))
    .then(
      (outcome) => send({ type: "done", outcome }),
      (e: unknown) => send({ type: "error", error: serializeError(e) }),
    );
});
