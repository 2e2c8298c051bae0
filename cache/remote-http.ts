/**
 * A remote store over HTTP: plain GET / PUT / HEAD on content-addressed paths under a base URL,
 * the protocol of Bazel's HTTP cache, so any WebDAV-capable server (nginx with its dav module)
 * can host it. An upload goes to a temp name and is then renamed with WebDAV MOVE, so a partial
 * upload never sits under a real name; servers without MOVE get a direct PUT, which is still safe
 * because every download is verified against the content hash in its name. After an upload, a
 * HEAD (or, when the server gives no length, a GET) checks that the server holds what was sent.
 *
 * Networks and servers misbehave: every request has a time limit for its response headers and
 * for silence in its body; failures that may pass (connection errors, timeouts, truncated bodies,
 * HTTP 5xx, 408, 429) are retried with exponential backoff; a body is never read past the bytes
 * the caller can expect (an endless body stops there), and downloads of objects stream to a file.
 *
 * Credentials: an `Authorization` header value may be passed in; it is sent only to the base
 * URL's origin (redirects are not followed) and never appears in `display` or in errors.
 */
import crypto from "node:crypto";
import fs from "node:fs";
import { RemoteError, RemoteTooLargeError, type RemoteBackend } from "./remote-backend.js";

export interface HttpRemoteOptions {
  readonly authorization?: string;
  /** Where `authorization` came from, or where it was looked for (names only): for auth errors. */
  readonly credentialSource?: string;
  /** Per request: the longest wait for response headers, and for the next bytes of a body. */
  readonly timeoutMs?: number;
  /** How many times a failure that may pass is tried again (default 3). */
  readonly retries?: number;
  /** The first backoff (doubled each retry, with jitter; default 250 ms). */
  readonly backoffMs?: number;
}

export class RemoteHttpError extends RemoteError {
  constructor(message: string) {
    super(message);
    this.name = "RemoteHttpError";
  }
}

/** HTTP 401/403: the remote wants (other) credentials. Carries no credential values. */
export class RemoteAuthError extends RemoteHttpError {
  constructor(
    message: string,
    readonly status: number,
    readonly method: string,
    /** The refused URL without query or credentials. */
    readonly url: string,
    /** The remote's display form and host name. */
    readonly remote: string,
    readonly host: string,
    readonly credentialSource: string | undefined,
    readonly sentCredentials: boolean,
  ) {
    super(message);
  }
}

/** A failure worth another try (the message says what happened). */
class Transient extends Error {}

const RETRY_STATUS = new Set([408, 429, 500, 502, 503, 504]);

interface Sink {
  /** Called before each attempt: start over (truncate what an earlier attempt wrote). */
  reset(): Promise<void>;
  write(chunk: Uint8Array): Promise<void>;
}

export class HttpRemote implements RemoteBackend {
  readonly display: string;
  private readonly base: URL;
  /** Unknown until the first upload; false after the server refused MOVE once. */
  private moveWorks: boolean | undefined;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;

  constructor(
    url: string,
    private readonly opts: HttpRemoteOptions = {},
  ) {
    const u = new URL(url);
    if (u.protocol !== "http:" && u.protocol !== "https:")
      throw new RemoteHttpError(`not an http(s) URL: ${safeUrl(u)}`);
    if (u.username || u.password)
      throw new RemoteHttpError(
        `credentials in the remote URL are not accepted (they would end up in logs): ${safeUrl(u)}`,
      );
    if (!u.pathname.endsWith("/")) u.pathname += "/";
    u.search = "";
    u.hash = "";
    this.base = u;
    this.display = safeUrl(u);
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.retries = opts.retries ?? 3;
    this.backoffMs = opts.backoffMs ?? 250;
  }

  private url(rel: string): URL {
    return new URL(rel.split("/").map(encodeURIComponent).join("/"), this.base);
  }

  /**
   * One exchange, tried again while it fails in a way that may pass: `handle` gets the response
   * (headers arrived in time) and the means to read its body under the silence limit.
   */
  private async exchange<T>(
    method: string,
    rel: string,
    init: { body?: Uint8Array; headers?: Record<string, string> },
    handle: (
      res: Response,
      readBody: (onChunk: (c: Uint8Array) => Promise<void>) => Promise<void>,
    ) => Promise<T>,
  ): Promise<T> {
    const target = this.url(rel);
    const headers: Record<string, string> = { ...(init.headers ?? {}) };
    // Paths are built under the base URL, so this always holds; checked so that it stays so.
    if (this.opts.authorization && target.origin === this.base.origin)
      headers.authorization = this.opts.authorization;
    for (let attempt = 0; ; attempt++) {
      const ac = new AbortController();
      let why = "";
      let timer = setTimeout(() => {
        why = `no response within ${this.timeoutMs / 1000} s`;
        ac.abort();
      }, this.timeoutMs);
      try {
        let res: Response;
        try {
          res = await fetch(target, {
            method,
            headers,
            // Node reads any Uint8Array body; the DOM typing only admits ArrayBuffer-backed ones.
            ...(init.body ? { body: init.body as Uint8Array<ArrayBuffer> } : {}),
            redirect: "manual",
            signal: ac.signal,
          });
        } catch (err) {
          throw new Transient(why || describeNetworkError(err));
        }
        clearTimeout(timer);
        if (RETRY_STATUS.has(res.status) && attempt < this.retries) {
          await res.body?.cancel().catch(() => {});
          throw new Transient(`HTTP ${res.status}`);
        }
        const readBody = async (onChunk: (c: Uint8Array) => Promise<void>): Promise<void> => {
          if (!res.body) return;
          // A compressed body's length header counts the compressed bytes, not what we read.
          const encoded = (res.headers.get("content-encoding") ?? "identity") !== "identity";
          const expected = encoded ? NaN : Number(res.headers.get("content-length") ?? NaN);
          const reader = res.body.getReader();
          let total = 0;
          for (;;) {
            timer = setTimeout(() => {
              why = `the body stalled for ${this.timeoutMs / 1000} s`;
              ac.abort();
            }, this.timeoutMs);
            let chunk: ReadableStreamReadResult<Uint8Array>;
            try {
              chunk = await reader.read();
            } catch (err) {
              throw new Transient(
                why || `the body broke off after ${total} bytes (${describeNetworkError(err)})`,
              );
            } finally {
              clearTimeout(timer);
            }
            if (chunk.done) break;
            total += chunk.value.length;
            await onChunk(chunk.value);
          }
          if (Number.isFinite(expected) && total !== expected)
            throw new Transient(`the body ended after ${total} of ${expected} bytes`);
        };
        return await handle(res, readBody);
      } catch (err) {
        ac.abort();
        if (!(err instanceof Transient)) throw err;
        if (attempt >= this.retries)
          throw new RemoteHttpError(
            `${method} ${safeUrl(target)} failed: ${err.message}${attempt ? ` (tried ${attempt + 1} times)` : ""}`,
          );
        const delay = Math.min(8000, this.backoffMs * 2 ** attempt) * (0.75 + Math.random() / 2);
        await new Promise((r) => setTimeout(r, delay));
      } finally {
        clearTimeout(timer);
      }
    }
  }

  private fail(method: string, rel: string, res: Response): never {
    const where = safeUrl(this.url(rel));
    if (res.status === 401 || res.status === 403)
      throw new RemoteAuthError(
        `${method} ${where}: HTTP ${res.status} (not authorised)`,
        res.status,
        method,
        where,
        this.display,
        this.base.hostname,
        this.opts.credentialSource,
        this.opts.authorization !== undefined,
      );
    const what =
      res.status >= 300 && res.status < 400
        ? " (a redirect: not followed, so credentials never leave this origin; give the final URL)"
        : "";
    throw new RemoteHttpError(`${method} ${where}: HTTP ${res.status}${what}`);
  }

  /** A request whose body is not needed (HEAD, PUT, MOVE, DELETE). */
  private simple(
    method: string,
    rel: string,
    init: { body?: Uint8Array; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    return this.exchange(method, rel, init, async (res) => {
      await res.body?.cancel().catch(() => {});
      return res;
    });
  }

  async size(rel: string): Promise<number | undefined> {
    const res = await this.simple("HEAD", rel);
    if (res.status === 404) return undefined;
    if (!res.ok) this.fail("HEAD", rel, res);
    const n = Number(res.headers.get("content-length"));
    return Number.isFinite(n) ? n : -1;
  }

  /** GET into `sink`, at most `maxBytes`; false when absent. */
  private getInto(rel: string, maxBytes: number, sink: Sink): Promise<boolean> {
    return this.exchange("GET", rel, {}, async (res, readBody) => {
      if (res.status === 404) {
        await res.body?.cancel().catch(() => {});
        return false;
      }
      if (!res.ok) this.fail("GET", rel, res);
      const encoded = (res.headers.get("content-encoding") ?? "identity") !== "identity";
      const declared = encoded ? NaN : Number(res.headers.get("content-length") ?? NaN);
      if (Number.isFinite(declared) && declared > maxBytes) {
        await res.body?.cancel().catch(() => {});
        throw new RemoteTooLargeError(rel, maxBytes);
      }
      await sink.reset();
      let total = 0;
      await readBody(async (chunk) => {
        total += chunk.length;
        if (total > maxBytes) throw new RemoteTooLargeError(rel, maxBytes);
        await sink.write(chunk);
      });
      return true;
    });
  }

  async get(rel: string, maxBytes: number): Promise<Uint8Array | undefined> {
    let chunks: Uint8Array[] = [];
    const found = await this.getInto(rel, maxBytes, {
      reset: () => {
        chunks = [];
        return Promise.resolve();
      },
      write: (c) => {
        chunks.push(c);
        return Promise.resolve();
      },
    });
    return found ? Buffer.concat(chunks) : undefined;
  }

  async getToFile(rel: string, file: string, maxBytes: number): Promise<number | undefined> {
    let fh: fs.promises.FileHandle | undefined;
    let written = 0;
    try {
      const found = await this.getInto(rel, maxBytes, {
        reset: async () => {
          await fh?.close();
          fh = await fs.promises.open(file, "w");
          written = 0;
        },
        write: async (c) => {
          await fh!.write(c);
          written += c.length;
        },
      });
      return found ? written : undefined;
    } finally {
      await fh?.close();
    }
  }

  async put(rel: string, bytes: Uint8Array): Promise<void> {
    // A server that answers 2xx and keeps nothing (or something else) is found by reading back;
    // one more upload is tried before giving up.
    for (let attempt = 0; ; attempt++) {
      await this.upload(rel, bytes);
      const problem = await this.readBack(rel, bytes);
      if (!problem) return;
      if (attempt >= 1)
        throw new RemoteHttpError(
          `PUT ${safeUrl(this.url(rel))} was accepted, but ${problem}: the server does not store what it is sent`,
        );
    }
  }

  private async upload(rel: string, bytes: Uint8Array): Promise<void> {
    if (this.moveWorks !== false) {
      const tmp = `tmp/${rel.replace(/\//g, "_")}.${crypto.randomBytes(6).toString("hex")}.part`;
      const put = await this.simple("PUT", tmp, { body: bytes });
      if (put.ok) {
        const mv = await this.simple("MOVE", tmp, {
          headers: { destination: this.url(rel).href, overwrite: "T" },
        });
        if (mv.ok) {
          this.moveWorks = true;
          return;
        }
        if (mv.status !== 405 && mv.status !== 501) this.fail("MOVE", tmp, mv);
        await this.simple("DELETE", tmp).catch(() => {});
      } else if (put.status !== 405 && put.status !== 501 && put.status !== 404 && put.status !== 409) {
        this.fail("PUT", tmp, put);
      }
      this.moveWorks = false;
    }
    const res = await this.simple("PUT", rel, { body: bytes });
    if (!res.ok) this.fail("PUT", rel, res);
  }

  /** What is wrong with the remote copy at `rel`, or undefined when it holds `bytes`. */
  private async readBack(rel: string, bytes: Uint8Array): Promise<string | undefined> {
    const n = await this.size(rel);
    if (n === undefined) return "HEAD finds nothing there";
    if (n >= 0)
      return n === bytes.length ? undefined : `HEAD reports ${n} bytes where ${bytes.length} were sent`;
    // No length from HEAD: read it back (bounded) and compare.
    const back = await this.get(rel, bytes.length).catch((err: unknown) => {
      if (err instanceof RemoteTooLargeError) return undefined;
      throw err;
    });
    if (!back) return "GET does not give it back";
    return Buffer.from(back).equals(Buffer.from(bytes)) ? undefined : "GET gives other bytes back";
  }
}

/** A fetch failure in words: the cause's code (ECONNREFUSED, UND_ERR_SOCKET, …) or its name. */
function describeNetworkError(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message || err.name : String(err));
}

/** A URL fit for messages: no user, password, query or fragment. */
function safeUrl(u: URL): string {
  return `${u.protocol}//${u.host}${u.pathname}`;
}
