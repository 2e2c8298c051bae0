/**
 * Credentials for HTTP remote caches, looked up in this order:
 *
 * 1. `$QUIVER_REMOTE_TOKEN` → `Authorization: Bearer <token>`;
 * 2. `$QUIVER_REMOTE_USER` and `$QUIVER_REMOTE_PASSWORD` → HTTP Basic;
 * 3. a netrc file (`$NETRC`, else `~/.netrc`): the `machine` entry for the remote's host name, else
 *    the `default` entry → HTTP Basic.
 *
 * The result is an `Authorization` header value for the HTTP client, which sends it only to the
 * remote's own origin, plus a description of where it came from (names of variables and files,
 * never values) for error messages. Nothing here writes anything anywhere.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { RemoteAuthError, type HttpRemoteOptions } from "./remote-http.js";

const TOKEN_VAR = "QUIVER_REMOTE_TOKEN";
const USER_VAR = "QUIVER_REMOTE_USER";
const PASSWORD_VAR = "QUIVER_REMOTE_PASSWORD";

/** Credentials that are present but unusable (half set, malformed): a usage error. */
export class RemoteCredentialsError extends Error {}

export interface NetrcEntry {
  /** Undefined for the `default` entry. */
  readonly machine: string | undefined;
  readonly login: string | undefined;
  readonly password: string | undefined;
}

/**
 * The entries of a netrc file: `machine HOST login USER password PASS` (any whitespace between
 * tokens, any order after `machine`), `default …`, `account` (ignored), `macdef NAME` (its body, up
 * to the next blank line, skipped), `#` comments. Double-quoted values may hold spaces (`\"`, `\\`).
 */
export function parseNetrc(text: string): NetrcEntry[] {
  const entries: NetrcEntry[] = [];
  let current: { machine: string | undefined; login?: string; password?: string } | undefined;
  const flush = () => {
    if (current) entries.push({ machine: current.machine, login: current.login, password: current.password });
    current = undefined;
  };
  let i = 0;
  const next = (): string | undefined => {
    for (;;) {
      while (i < text.length && /\s/.test(text[i]!)) i++;
      if (i >= text.length) return undefined;
      if (text[i] === "#" && (i === 0 || text[i - 1] === "\n" || /\s/.test(text[i - 1]!))) {
        while (i < text.length && text[i] !== "\n") i++;
        continue;
      }
      break;
    }
    if (text[i] === '"') {
      let out = "";
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === "\\" && i + 1 < text.length) i++;
        out += text[i];
        i++;
      }
      i++;
      return out;
    }
    const start = i;
    while (i < text.length && !/\s/.test(text[i]!)) i++;
    return text.slice(start, i);
  };
  for (let tok = next(); tok !== undefined; tok = next()) {
    switch (tok) {
      case "machine":
        flush();
        current = { machine: next() ?? "" };
        break;
      case "default":
        flush();
        current = { machine: undefined };
        break;
      case "login":
      case "password": {
        const value = next();
        if (current && value !== undefined) current[tok] = value;
        break;
      }
      case "account":
        next();
        break;
      case "macdef": {
        flush();
        next();
        // A macro's body runs to the next empty line.
        const end = /\n[ \t]*\n/.exec(text.slice(i));
        i = end ? i + end.index + end[0].length : text.length;
        break;
      }
      default:
        // Unknown tokens are skipped, as curl and Python's netrc do.
        break;
    }
  }
  flush();
  return entries;
}

/** The netrc entry for a host: its `machine` entry (case-insensitive), else `default`. */
function netrcEntryFor(entries: readonly NetrcEntry[], host: string): NetrcEntry | undefined {
  const h = host.toLowerCase();
  return (
    entries.find((e) => e.machine !== undefined && e.machine.toLowerCase() === h) ??
    entries.find((e) => e.machine === undefined)
  );
}

export interface RemoteCredentials {
  /** The `Authorization` header value (a secret), or undefined when none was found. */
  readonly authorization: string | undefined;
  /** Where it came from, or where it was looked for: names and paths only, never values. */
  readonly source: string;
}

export interface CredentialEnv {
  readonly env?: NodeJS.ProcessEnv;
  /** The home folder holding `.netrc` when `$NETRC` is not set. */
  readonly home?: string;
}

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`, "utf8").toString("base64")}`;

/** Header values must be visible ASCII; fetch would otherwise fail with the value in its message. */
const VISIBLE = /^[\x21-\x7e]+$/;

/** Credentials for the HTTP remote at `url`, from the environment or a netrc file. */
export function findCredentials(url: URL, opts: CredentialEnv = {}): RemoteCredentials {
  const env = opts.env ?? process.env;
  const token = env[TOKEN_VAR]?.trim();
  if (token) {
    if (!VISIBLE.test(token))
      throw new RemoteCredentialsError(
        `$${TOKEN_VAR} holds characters a header cannot carry (spaces or non-ASCII): check its value`,
      );
    return { authorization: `Bearer ${token}`, source: `$${TOKEN_VAR}` };
  }
  const user = env[USER_VAR];
  const password = env[PASSWORD_VAR];
  if (user || password) {
    if (!user || password === undefined)
      throw new RemoteCredentialsError(
        `$${user ? USER_VAR : PASSWORD_VAR} is set but $${user ? PASSWORD_VAR : USER_VAR} is not: set both`,
      );
    if (user.includes(":"))
      throw new RemoteCredentialsError(`$${USER_VAR} contains ":", which HTTP Basic cannot carry`);
    return { authorization: basic(user, password), source: `$${USER_VAR} and $${PASSWORD_VAR}` };
  }
  const home = opts.home ?? os.homedir();
  const file = env.NETRC ? path.resolve(env.NETRC) : path.join(home, ".netrc");
  const shown = displayNetrc(file, home);
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const looked = `$${TOKEN_VAR}, $${USER_VAR} and $${PASSWORD_VAR}, ${shown}`;
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as { code?: string }).code ?? "unreadable";
    return {
      authorization: undefined,
      source: `none found in ${looked} (${code === "ENOENT" ? "no such file" : code})`,
    };
  }
  const entry = netrcEntryFor(parseNetrc(text), host);
  if (!entry || entry.login === undefined || entry.password === undefined)
    return {
      authorization: undefined,
      source: `none found in ${looked} (${entry ? `its entry for ${host} lacks a login or password` : `no machine ${host} and no default`})`,
    };
  if (entry.login.includes(":"))
    throw new RemoteCredentialsError(
      `the login in ${shown} for ${host} contains ":", which HTTP Basic cannot carry`,
    );
  return {
    authorization: basic(entry.login, entry.password),
    source: `${shown} (${entry.machine === undefined ? "default entry" : `machine ${host}`})`,
  };
}

function displayNetrc(file: string, home: string): string {
  const rel = path.relative(home, file);
  return rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? `~/${rel}` : file;
}

/** Options for `openRemote(spec, …)`: credentials only for http(s) remotes, never for directories. */
export function remoteOptions(spec: string, opts: CredentialEnv = {}): HttpRemoteOptions {
  if (!/^https?:\/\//i.test(spec)) return {};
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    return {}; // the HTTP client reports the malformed URL itself
  }
  const c = findCredentials(url, opts);
  return { ...(c.authorization ? { authorization: c.authorization } : {}), credentialSource: c.source };
}

/** The `QV_REMOTE_AUTH` message and hint for a refused request (never with credential values). */
export function describeAuthFailure(err: RemoteAuthError): { message: string; hint: string } {
  const src = err.credentialSource;
  const sent = err.sentCredentials;
  const status = `(HTTP ${err.status} on ${err.method} ${err.url})`;
  const message = sent
    ? `${err.remote} ${err.status === 401 ? "refused" : "denied access with"} the credentials from ${src ?? "the caller"} ${status}`
    : `${err.remote} ${err.status === 401 ? "requires credentials" : "denied access"} ${status}; ${src ?? "none were sent"}`;
  const hint = sent
    ? err.status === 401
      ? `check the value of ${src ?? "the credentials"}; Quiver takes $${TOKEN_VAR} first, then $${USER_VAR} and $${PASSWORD_VAR}, then the netrc file`
      : "the credentials were accepted but lack permission for this request (a read-only account cannot push)"
    : `set $${TOKEN_VAR} (sent as a Bearer token), or $${USER_VAR} and $${PASSWORD_VAR}, or add "machine ${err.host} login USER password PASSWORD" to ~/.netrc (or the file $NETRC names) and chmod 600 it`;
  return { message, hint };
}
