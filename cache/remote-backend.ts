/** What a remote cache must offer: sized reads and atomic writes of store paths (see layout.ts). */
export interface RemoteBackend {
  /** Where it is, fit for messages (never with credentials). */
  readonly display: string;
  /** Size in bytes of the file at `rel`, -1 when the server does not say, undefined when absent. */
  size(rel: string): Promise<number | undefined>;
  get(rel: string): Promise<Uint8Array | undefined>;
  /** Atomic from a reader's point of view, or at least never readable as a valid object. */
  put(rel: string, bytes: Uint8Array): Promise<void>;
}
