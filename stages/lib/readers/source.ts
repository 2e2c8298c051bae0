/**
 * A data file as readers see it: its path, how messages name it, its size, and its contents,
 * decompressed when the name ends in `.gz`. The contents are read at most once, and only the
 * first bytes when all that is needed is the format's magic number.
 */
import { open, readFile, stat } from "node:fs/promises";
import { gunzipSync } from "node:zlib";
import { StageError } from "../../../core/stage.js";

export interface SourceFile {
  /** Absolute path (resolved and confined by the engine). */
  readonly path: string;
  /** The file as messages name it: the path as the user wrote it. */
  readonly name: string;
  /** Bytes on disk. */
  readonly size: number;
  /** Whether the name ends in `.gz` (the contents are then decompressed). */
  readonly gzip: boolean;
  /** The name, lower case, without `.gz`: what extension rules look at. */
  readonly plainName: string;
  /** The (decompressed) contents. */
  bytes(): Promise<Buffer>;
  /** The first `n` bytes of the (decompressed) contents, or fewer for a shorter file. */
  head(n: number): Promise<Uint8Array>;
}

function errorText(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.length > 300 ? text.slice(0, 300) + "…" : text;
}

function cannotRead(name: string, e: unknown): StageError {
  return new StageError("QV_LOAD_OPEN", `${name}: cannot read the file: ${errorText(e)}`, {
    data: { file: name },
  });
}

/** Opens `path` (checking that it can be read); `name` is how messages name it. */
export async function openSource(path: string, name: string): Promise<SourceFile> {
  let size: number;
  try {
    const s = await stat(path);
    if (s.isDirectory()) throw new Error("it is a directory");
    size = s.size;
  } catch (e) {
    throw cannotRead(name, e);
  }
  const lower = name.toLowerCase();
  const gzip = lower.endsWith(".gz");
  let contents: Promise<Buffer> | undefined;
  const bytes = (): Promise<Buffer> => {
    contents ??= readFile(path).then(
      (raw) => {
        if (!gzip) return raw;
        try {
          return gunzipSync(raw);
        } catch (e) {
          throw new StageError("QV_LOAD_GZIP", `${name}: cannot decompress: ${errorText(e)}`, {
            data: { file: name },
          });
        }
      },
      (e: unknown) => {
        throw cannotRead(name, e);
      },
    );
    return contents;
  };
  const head = async (n: number): Promise<Uint8Array> => {
    if (gzip || contents) return (await bytes()).subarray(0, n);
    let handle;
    try {
      handle = await open(path, "r");
      const buf = Buffer.alloc(Math.min(n, size));
      const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
      return buf.subarray(0, bytesRead);
    } catch (e) {
      throw cannotRead(name, e);
    } finally {
      await handle?.close();
    }
  };
  return { path, name, size, gzip, plainName: gzip ? lower.slice(0, -3) : lower, bytes, head };
}

/** Reads `length` bytes at `offset` of the file on disk (not decompressed); fewer at its end. */
export async function readAt(file: SourceFile, offset: number, length: number): Promise<Uint8Array> {
  let handle;
  try {
    handle = await open(file.path, "r");
    const buf = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buf, 0, length, offset);
    return buf.subarray(0, bytesRead);
  } catch (e) {
    throw cannotRead(file.name, e);
  } finally {
    await handle?.close();
  }
}
