/** Where a pipeline's store is, and opening it with its file-hash memo. */
import path from "node:path";
import { Store } from "../cache/store.js";
import { FileHashMemo } from "../core/hash.js";
import type { EventSink } from "../engine/events.js";
import { fileHashesRecord, readRecord } from "../engine/records.js";

/** `cacheDir`, else $QUIVER_CACHE, else `.quiver/` next to the pipeline (or in the working directory). */
export function storeDir(pipelineFile: string | undefined, cacheDir: string | undefined): string {
  if (cacheDir) return path.resolve(cacheDir);
  if (process.env.QUIVER_CACHE) return path.resolve(process.env.QUIVER_CACHE);
  return path.join(pipelineFile ? path.dirname(path.resolve(pipelineFile)) : process.cwd(), ".quiver");
}

/** Opens (creating) the store; damaged entries it meets are reported as warning events. */
export async function openStore(
  dir: string,
  onEvent?: EventSink,
): Promise<{ store: Store; memo: FileHashMemo }> {
  const store = await Store.open(dir, (p) =>
    onEvent?.({
      type: "warning",
      diagnostic: {
        severity: "warning",
        code: `QV_CACHE_${p.kind.toUpperCase().replace(/-/g, "_")}`,
        message: `${p.what}: ${p.detail}; it will be recomputed`,
      },
    }),
  );
  const hashes = await readRecord(store, fileHashesRecord);
  return { store, memo: new FileHashMemo(new Map(Object.entries(hashes ?? {}))) };
}
