/**
 * A remote store over HTTP: plain GET / PUT / HEAD on content-addressed paths under a base URL,
 * the protocol of Bazel's HTTP cache, so any WebDAV-capable server (nginx with its dav module)
 * can host it. An upload goes to a temp name and is then renamed with WebDAV MOVE, so a partial
 * upload never sits under a real name; servers without MOVE get a direct PUT, which is still safe
 * because every download is verified against the content hash in its name.
 *
 * Credentials: an `Authorization` header value may be passed in; it is sent only to the base
 * URL's origin (redirects are not followed) and never appears in `display` or in errors.
 */
import crypto from "node:crypto";
import type { RemoteBackend } from "./remote-backend.js";

export interface HttpRemoteOptions {
  readonly authorization?: string;
  /** Where `authorization` came from, or where it was looked for (names only): for auth errors. */
  readonly credentialSource?: string;
  /** Per request; a stalled server fails the transfer instead of hanging it. */
  readonly timeoutMs?: number;
}

export class RemoteHttpError extends Error {}

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

export class HttpRemote implements RemoteBackend {
  readonly display: string;
  private readonly base: URL;
  /** Unknown until the first upload; false after the server refused MOVE once. */
  private moveWorks: boolean | undefined;

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
  }

  private url(rel: string): URL {
    return new URL(rel.split("/").map(encodeURIComponent).join("/"), this.base);
  }

  private async request(
    method: string,
    rel: string,
    init: { body?: Uint8Array; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { ...(init.headers ?? {}) };
    const target = this.url(rel);
    // Paths are built under the base URL, so this always holds; checked so that it stays so.
    if (this.opts.authorization && target.origin === this.base.origin)
      headers.authorization = this.opts.authorization;
    try {
      return await fetch(target, {
        method,
        headers,
        // Node reads any Uint8Array body; the DOM typing only admits ArrayBuffer-backed ones.
        ...(init.body ? { body: init.body as Uint8Array<ArrayBuffer> } : {}),
        redirect: "manual",
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 60_000),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      throw new RemoteHttpError(
        `${method} ${safeUrl(target)} failed: ${cause ?? (err instanceof Error ? err.name : String(err))}`,
      );
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

  async size(rel: string): Promise<number | undefined> {
    const res = await this.request("HEAD", rel);
    if (res.status === 404) return undefined;
    if (!res.ok) this.fail("HEAD", rel, res);
    const n = Number(res.headers.get("content-length"));
    return Number.isFinite(n) ? n : -1;
  }

  async get(rel: string): Promise<Uint8Array | undefined> {
    const res = await this.request("GET", rel);
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (!res.ok) this.fail("GET", rel, res);
    return new Uint8Array(await res.arrayBuffer());
  }

  async put(rel: string, bytes: Uint8Array): Promise<void> {
    if (this.moveWorks !== false) {
      const tmp = `tmp/${rel.replace(/\//g, "_")}.${crypto.randomBytes(6).toString("hex")}.part`;
      const put = await this.request("PUT", tmp, { body: bytes });
      await put.body?.cancel();
      if (put.ok) {
        const mv = await this.request("MOVE", tmp, {
          headers: { destination: this.url(rel).href, overwrite: "T" },
        });
        await mv.body?.cancel();
        if (mv.ok) {
          this.moveWorks = true;
          return;
        }
        if (mv.status !== 405 && mv.status !== 501) this.fail("MOVE", tmp, mv);
        await this.request("DELETE", tmp)
          .then((r) => r.body?.cancel())
          .catch(() => {});
      } else if (put.status !== 405 && put.status !== 501 && put.status !== 404 && put.status !== 409) {
        this.fail("PUT", tmp, put);
      }
      this.moveWorks = false;
    }
    const res = await this.request("PUT", rel, { body: bytes });
    await res.body?.cancel();
    if (!res.ok) this.fail("PUT", rel, res);
  }
}

/** A URL fit for messages: no user, password, query or fragment. */
function safeUrl(u: URL): string {
  return `${u.protocol}//${u.host}${u.pathname}`;
}
