/** The lock file (<pipeline>.lock next to the pipeline): engine/lock-file.ts reads and writes it. */
import type { ObjectRef } from "../../cache/store.js";
import { d, type Decoder } from "../../core/decode.js";
import type { CacheKey } from "../../core/hash.js";
import type { PortKind } from "../../core/stage.js";
import type { FingerprintDoc } from "../fingerprint.js";
import { fingerprintDoc, portKind } from "./shapes.js";

// ---------------------------------------------------------------------------------------------
// The lock file (<pipeline>.lock, next to the pipeline)

export const LOCK_VERSION = 1;

export interface LockOutput {
  readonly kind: PortKind;
  readonly hash: ObjectRef["hash"];
  readonly size: number;
}

export interface LockStage {
  readonly type: string;
  readonly key: CacheKey;
  readonly fingerprint: FingerprintDoc;
  readonly outputs: Readonly<Record<string, LockOutput>>;
  /** `port.path.to.leaf` → number, for the stage's metrics outputs. */
  readonly metrics: Readonly<Record<string, number>>;
}

export interface LockFile {
  readonly quiver_lock: number;
  readonly pipeline: string;
  readonly stages: Readonly<Record<string, LockStage>>;
}

export const lockFileDecoder: Decoder<LockFile> = d.object({
  quiver_lock: d.number,
  pipeline: d.string,
  stages: d.record(
    d.object({
      type: d.string,
      key: d.cacheKey,
      fingerprint: fingerprintDoc,
      outputs: d.record(d.object({ kind: portKind, hash: d.contentHash, size: d.number })),
      metrics: d.record(d.number),
    }),
  ),
});
