/**
 * A ROOT file opened for reading: one file handle that serves both jsroot (through its
 * `FileProxy`, for keys, streamers and tree metadata) and Quiver's basket reader (plain reads).
 * A file up to `WHOLE_FILE_LIMIT` is read into memory in one go and served from there: reading a
 * few dozen records one asynchronous read at a time costs more than the read itself. Larger files
 * are read record by record.
 *
 * The header is checked before jsroot sees the file, so a file that is not ROOT, or is cut short,
 * fails with a clear message instead of a jsroot exception or console noise. Every read is bounds
 * checked: a range past the end of the file means the file was truncated.
 */
import { readFileSync, statSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { FileProxy, openFile, type JsRootFile } from "jsroot/io";
import { StageError } from "../../../core/stage.js";

export interface RootHeader {
  readonly version: number;
  /** Where the last record ends, by the file's own account. */
  readonly end: number;
  /** The file's default compression setting (algorithm × 100 + level). */
  readonly compression: number;
}

/** Files up to this size are read whole. */
export const WHOLE_FILE_LIMIT = 64 * 1024 * 1024;

export class RootSource {
  private constructor(
    private readonly handle: FileHandle | undefined,
    private readonly whole: Uint8Array | undefined,
    /** The path as the user wrote it, for messages. */
    readonly file: string,
    readonly size: number,
    readonly header: RootHeader,
  ) {}

  static async open(absPath: string, file: string): Promise<RootSource> {
    // Small files are read synchronously, in one go: a load of many small files otherwise spends
    // most of its time waiting for the thread pool to open, stat, read and close each one.
    let size: number;
    try {
      size = statSync(absPath).size;
      if (size <= WHOLE_FILE_LIMIT) {
        const whole = readFileSync(absPath);
        return new RootSource(undefined, whole, file, whole.length, parseHeader(whole, whole.length, file));
      }
    } catch (e) {
      if (e instanceof StageError) throw e;
      throw cannotRead(file, e);
    }
    let handle: FileHandle;
    try {
      handle = await open(absPath, "r");
    } catch (e) {
      throw cannotRead(file, e);
    }
    try {
      const head = new Uint8Array(Math.min(size, 64));
      await handle.read(head, 0, head.length, 0);
      return new RootSource(handle, undefined, file, size, parseHeader(head, size, file));
    } catch (e) {
      await handle.close();
      throw e;
    }
  }

  /** Reads `len` bytes at `pos`; `what` names the record for the truncation message. */
  async read(pos: number, len: number, what: string): Promise<Uint8Array> {
    if (!Number.isSafeInteger(pos) || !Number.isSafeInteger(len) || pos < 0 || len < 0)
      throw corrupt(this.file, `${what} has an impossible location (byte ${pos}, ${len} bytes)`);
    if (pos + len > this.size) throw truncated(this.file, this.size, pos + len, what);
    if (this.whole) return this.whole.subarray(pos, pos + len);
    const out = new Uint8Array(len);
    const { bytesRead } = await this.handle!.read(out, 0, len, pos);
    if (bytesRead !== len) throw truncated(this.file, this.size, pos + len, what);
    return out;
  }

  /** Opens the file in jsroot (keys, streamer infos) through this handle. */
  async jsroot(): Promise<JsRootFile> {
    try {
      return await openFile(new SourceProxy(this));
    } catch (e) {
      if (e instanceof StageError) throw e;
      throw corrupt(this.file, `its directory of objects cannot be read (${(e as Error).message})`);
    }
  }

  async close(): Promise<void> {
    await this.handle?.close();
  }
}

class SourceProxy extends FileProxy {
  constructor(private readonly source: RootSource) {
    super();
  }
  override openFile(): Promise<boolean> {
    return Promise.resolve(true);
  }
  override getFileName(): string {
    return this.source.file;
  }
  override getFileSize(): number {
    return this.source.size;
  }
  override async readBuffer(pos: number, len: number): Promise<DataView> {
    const bytes = await this.source.read(pos, len, "a record");
    return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  override closeFile(): void {
    // The handle belongs to RootSource, which closes it.
  }
}

function parseHeader(head: Uint8Array, size: number, file: string): RootHeader {
  const magic = String.fromCharCode(...head.subarray(0, Math.min(4, head.length)));
  if (magic !== "root") {
    throw new StageError("QV_LOAD_ROOT", `${file}: not a ROOT file (it does not start with "root")`, {
      hint: "set format: to the file's real format, or give it the matching extension",
      data: { file },
    });
  }
  if (head.length < 53) throw truncated(file, size, 53, "the file header");
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const version = view.getInt32(4);
  const big = version >= 1000000;
  const end = big ? Number(view.getBigInt64(12)) : view.getUint32(12);
  const compression = big ? view.getInt32(41) : view.getInt32(33);
  if (end > size) throw truncated(file, size, end, "the last record");
  return { version, end, compression };
}

function cannotRead(file: string, e: unknown): StageError {
  return new StageError("QV_LOAD_OPEN", `${file}: cannot read the file: ${(e as Error).message}`, {
    data: { file },
  });
}

function truncated(file: string, size: number, needed: number, what: string): StageError {
  return new StageError(
    "QV_LOAD_ROOT_TRUNCATED",
    `${file}: the file is truncated: ${what} ends at byte ${needed}, but the file has only ${size} bytes`,
    {
      hint: "the copy or download was probably interrupted; copy the file again",
      data: { file },
    },
  );
}

export function corrupt(file: string, what: string, column?: string): StageError {
  return new StageError("QV_LOAD_ROOT_CORRUPT", `${file}: the file is damaged: ${what}`, {
    hint: "copy the file again; if the copy is good, the program that wrote it may have failed",
    data: column === undefined ? { file } : { file, column },
  });
}
