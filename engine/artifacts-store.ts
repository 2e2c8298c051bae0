/**
 * Artifact values in the store. Tables go through the streamed path (an Arrow IPC file of bounded
 * record batches, written and read piece by piece: no size limit but the disk's); metrics and
 * models are small and go as one buffer (artifacts.ts).
 */
import type { ObjectRef, Store } from "../cache/store.js";
import {
  arrowFileBatchCount,
  readTableArrow,
  writeTableArrow,
  type WriteOptions,
} from "../core/arrow-codec.js";
import { hashPieces } from "../core/hash.js";
import type { ArtifactValue, PortKind } from "../core/stage.js";
import { decodeArtifact, encodeArtifact } from "./artifacts.js";

/** Stores a value; a table is read back (size and batch count) before it is named, so a result
 *  the store holds is one it can read. */
export async function putArtifact(
  store: Store,
  v: ArtifactValue,
  opts: WriteOptions = {},
): Promise<ObjectRef> {
  if (v.kind !== "table") return store.putObject(await encodeArtifact(v));
  // Hash first (encoding is cheap: batches are views of the columns): a table the store already
  // holds intact — a stage passing its input through, a rerun — is not written a second time.
  const known = await hashPieces(async (sink) => void (await writeTableArrow(v.table, sink, opts)));
  if (await store.hasIntactObject(known)) return known;
  let batches = 0;
  return store.putObjectStreamed(
    async (sink) => {
      batches = (await writeTableArrow(v.table, sink, opts)).batches;
    },
    async (file) => {
      const found = await arrowFileBatchCount(file);
      if (found !== batches)
        throw new Error(`table written as ${batches} record batches reads back as ${found}: not stored`);
    },
  );
}

/** A stored value, verified; undefined when the object is missing or damaged (the store reports it). */
export async function getArtifact(
  store: Store,
  kind: PortKind,
  ref: ObjectRef,
): Promise<ArtifactValue | undefined> {
  if (kind !== "table") {
    const bytes = await store.getObject(ref);
    return bytes ? decodeArtifact(kind, bytes) : undefined;
  }
  const file = await store.openObject(ref);
  if (!file) return undefined;
  try {
    return { kind, table: (await readTableArrow(file, `stored table ${ref.hash}`)).table };
  } finally {
    await file.close().catch(() => {});
  }
}
