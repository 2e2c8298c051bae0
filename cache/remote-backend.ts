/** What a remote cache must offer: bounded reads and verified writes of store paths (see layout.ts). */
export interface RemoteBackend {
  /** Where it is, fit for messages (never with credentials). */
  readonly display: string;
  /** Size in bytes of the file at `rel`, -1 when the server does not say, undefined when absent. */
  size(rel: string): Promise<number | undefined>;
  /** The bytes at `rel` (undefined when absent); more than `maxBytes` is a RemoteTooLargeError. */
  get(rel: string, maxBytes: number): Promise<Uint8Array | undefined>;
  /**
   * Streams the bytes at `rel` into `file` (created or truncated), never more than `maxBytes`;
   * the number of bytes written, or undefined when absent.
   */
  getToFile(rel: string, file: string, maxBytes: number): Promise<number | undefined>;
  /**
   * Stores `bytes` at `rel`, atomic from a reader's point of view (or at least never readable as a
   * valid object), and checks that the remote holds them afterwards.
   */
  put(rel: string, bytes: Uint8Array): Promise<void>;
}

/** The remote holds more bytes at a path than the caller can expect there (an endless body, a wrong file). */
export class RemoteTooLargeError extends Error {
  constructor(
    readonly rel: string,
    readonly maxBytes: number,
  ) {
    super(`${rel}: the remote sent more than the ${maxBytes} bytes expected`);
    this.name = "RemoteTooLargeError";
  }
}

/** A remote that cannot be used: unreachable, failing, or not storing what it is sent. */
export class RemoteError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RemoteError";
  }
}
