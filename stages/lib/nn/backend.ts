/**
 * Which TensorFlow.js backend trains the networks, decided once per process.
 *
 * `auto` uses tfjs-node (native TensorFlow) when the user has installed `@tensorflow/tfjs-node`,
 * otherwise the WebAssembly backend (SIMD, single-threaded in Node), which installs from npm
 * everywhere. The backend is reported in the stage's fingerprint (see `nnEnvironment`), so a
 * change of backend is a cache miss; a backend that was asked for or detected but fails to start
 * is an error, never a silent fallback.
 */
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import path from "node:path";
import { StageError } from "../../../core/stage.js";

export type Tf = typeof import("@tensorflow/tfjs");

export const BACKEND_CHOICES = ["auto", "wasm", "tensorflow", "cpu"] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];
export type BackendName = Exclude<BackendChoice, "auto">;

const require = createRequire(import.meta.url);
// Held in a variable so TypeScript neither needs its types nor treats it as a dependency.
const TFJS_NODE = "@tensorflow/tfjs-node";

function resolvable(pkg: string): boolean {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

function packageVersion(pkg: string): string {
  const main = require.resolve(pkg);
  // Walk up from the entry point to the package's own package.json.
  let dir = path.dirname(main);
  for (let i = 0; i < 5; i++) {
    try {
      const json = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (json.name === pkg && typeof json.version === "string") return json.version;
    } catch {
      // not here; go up
    }
    dir = path.dirname(dir);
  }
  return "unknown";
}

/** The backend `choice` resolves to on this machine, without loading tfjs (cheap: for planning). */
export function resolveBackend(choice: BackendChoice): BackendName {
  if (choice !== "auto") return choice;
  return resolvable(TFJS_NODE) ? "tensorflow" : "wasm";
}

/** What enters the fingerprint: the trainer, the backend and the tfjs version. */
export function nnEnvironment(choice: BackendChoice): {
  trainer: string;
  backend: BackendName;
  tfjs: string;
} {
  const backend = resolveBackend(choice);
  const tfjs = backend === "tensorflow" ? packageVersion(TFJS_NODE) : packageVersion("@tensorflow/tfjs-core");
  return { trainer: "tfjs", backend, tfjs };
}

let loaded: { tf: Tf; backend: BackendName } | undefined;

/**
 * Loads tfjs with the requested backend. tfjs keeps one global engine per process, so a process
 * uses one backend; asking for another later is an error rather than a quiet switch.
 */
export async function loadTf(
  choice: BackendChoice,
): Promise<{ tf: Tf; backend: BackendName; version: string }> {
  const want = resolveBackend(choice);
  if (want === "tensorflow" && !resolvable(TFJS_NODE))
    throw new StageError(
      "QV_NN_BACKEND",
      `backend "tensorflow" needs the package ${TFJS_NODE}, which is not installed`,
      {
        hint: `npm install ${TFJS_NODE}, or use backend: wasm`,
        param: ["backend"],
      },
    );
  if (loaded) {
    if (loaded.backend !== want)
      throw new StageError(
        "QV_NN_BACKEND",
        `this process already trains with the ${loaded.backend} backend; cannot switch to ${want}`,
      );
    return { ...loaded, version: loaded.tf.version.tfjs };
  }
  let tf: Tf;
  if (want === "tensorflow") {
    try {
      tf = (await import(TFJS_NODE)) as Tf;
    } catch (e) {
      throw new StageError("QV_NN_BACKEND", `${TFJS_NODE} is installed but failed to load: ${String(e)}`, {
        hint: "reinstall it, or set backend: wasm",
      });
    }
  } else {
    tf = await import("@tensorflow/tfjs");
    if (want === "wasm") {
      const wasm = await import("@tensorflow/tfjs-backend-wasm");
      // In Node the .wasm files are read from the package's dist folder, never fetched.
      const dist = path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm"));
      wasm.setWasmPaths(dist + path.sep);
    }
  }
  const ok = await tf.setBackend(want);
  await tf.ready();
  if (!ok || tf.getBackend() !== want)
    throw new StageError(
      "QV_NN_BACKEND",
      `the tfjs backend "${want}" failed to start (got "${tf.getBackend()}")`,
    );
  loaded = { tf, backend: want };
  return { tf, backend: want, version: tf.version.tfjs };
}
