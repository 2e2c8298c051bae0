/**
 * Credentials for the HTTP remote: where they are looked up, that they go only to the remote's
 * origin, that a refusal is a clear QV_REMOTE_AUTH with nothing uploaded, and that no file or
 * output Quiver writes ever contains them. Against a real nginx with auth_basic, and a small
 * in-process server for Bearer tokens and redirects.
 */
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type net from "node:net";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import {
  describeAuthFailure,
  findCredentials,
  parseNetrc,
  RemoteCredentialsError,
  remoteOptions,
} from "../cache/remote-auth.js";
import { HttpRemote, RemoteAuthError, RemoteHttpError } from "../cache/remote-http.js";
import { startNginx, type Nginx } from "./support/nginx.js";
import { Rig, storeObjects, type RunResult } from "./support/rig.js";

const PIPELINE = `quiver: 1
name: chain
seed: 7
stages:
  src:   { type: source, with: { file: data/numbers.txt } }
  plus:  { type: add, inputs: { table: src }, with: { amount: 2 } }
  total: { type: sum, inputs: { table: plus } }
`;
const checkout = () => Rig.create({ "p.yaml": PIPELINE, "data/numbers.txt": "1 2 3 4\n" });

// Fresh random secrets per run, so a match in the scan can only come from this run's leak.
const USER = "physicist";
const PASSWORD = `pw-${crypto.randomBytes(9).toString("hex")}`;
const TOKEN = `tok-${crypto.randomBytes(12).toString("hex")}`;
const BASIC = Buffer.from(`${USER}:${PASSWORD}`).toString("base64");
/** Refused credentials must not leak either. */
const WRONG = `wrong-${crypto.randomBytes(9).toString("hex")}`;
const WRONG_BASIC = Buffer.from(`${USER}:${WRONG}`).toString("base64");
const SECRETS = [PASSWORD, TOKEN, BASIC, WRONG, WRONG_BASIC];

const VARS = [
  "QUIVER_REMOTE_TOKEN",
  "QUIVER_REMOTE_USER",
  "QUIVER_REMOTE_PASSWORD",
  "NETRC",
  "QUIVER_REMOTE",
];
const tmpDirs: string[] = [];
const tmpDir = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-auth-"));
  tmpDirs.push(d);
  return d;
};
/** A netrc path that does not exist, so the tester's own ~/.netrc never takes part. */
const noNetrc = () => path.join(tmpDir(), "absent-netrc");

/** Runs `f` with exactly these credential variables set (the others unset), then restores them. */
async function withEnv<T>(vars: Record<string, string>, f: () => Promise<T>): Promise<T> {
  const saved = new Map(VARS.map((v) => [v, process.env[v]]));
  for (const v of VARS) delete process.env[v];
  Object.assign(process.env, { NETRC: noNetrc() }, vars);
  try {
    return await f();
  } finally {
    for (const [v, x] of saved)
      if (x === undefined) delete process.env[v];
      else process.env[v] = x;
  }
}

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true }).flatMap((e) => {
    const p = path.join(e.parentPath, e.name);
    return e.isFile() ? [p] : [];
  });
}

function assertNoSecrets(what: string, text: string | Buffer): void {
  const s = Buffer.isBuffer(text) ? text.toString("latin1") : text;
  for (const secret of SECRETS) assert.ok(!s.includes(secret), `a credential appears in ${what}`);
}

after(() => {
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});

describe("remote credentials: lookup", () => {
  const url = new URL("https://cache.example.org:8443/quiver/");

  test("netrc: entries across lines and on one line, default, comments, macdef, quotes", () => {
    const entries = parseNetrc(`# lab machines
machine cache.example.org
  login alice
  password s3cret
machine other.org login bob password "two words \\" here" account x
macdef init
  cd /pub
  machine not.an.entry login eve password evil

default login anon password guest
`);
    assert.deepEqual(entries, [
      { machine: "cache.example.org", login: "alice", password: "s3cret" },
      { machine: "other.org", login: "bob", password: 'two words " here' },
      { machine: undefined, login: "anon", password: "guest" },
    ]);
  });

  test("order: token, then user and password, then netrc matched on the host name", () => {
    const dir = tmpDir();
    const netrc = path.join(dir, "netrc");
    fs.writeFileSync(netrc, "machine CACHE.example.org login carol password fromnetrc\n");
    const env = {
      QUIVER_REMOTE_TOKEN: "t0k",
      QUIVER_REMOTE_USER: "u",
      QUIVER_REMOTE_PASSWORD: "p",
      NETRC: netrc,
    };
    assert.deepEqual(findCredentials(url, { env }), {
      authorization: "Bearer t0k",
      source: "$QUIVER_REMOTE_TOKEN",
    });
    const { QUIVER_REMOTE_TOKEN: _t, ...noToken } = env;
    assert.equal(findCredentials(url, { env: noToken }).authorization, `Basic ${btoa("u:p")}`);
    const fromNetrc = findCredentials(url, { env: { NETRC: netrc } });
    assert.equal(fromNetrc.authorization, `Basic ${btoa("carol:fromnetrc")}`);
    assert.equal(fromNetrc.source, `${netrc} (machine cache.example.org)`);
    // ~/.netrc when $NETRC is unset; shown with ~ so messages carry no home path.
    fs.writeFileSync(path.join(dir, ".netrc"), "default login dave password d\n");
    const home = findCredentials(url, { env: {}, home: dir });
    assert.equal(home.authorization, `Basic ${btoa("dave:d")}`);
    assert.equal(home.source, "~/.netrc (default entry)");
  });

  test("nothing found says where it looked, never a value; half-set variables are an error", () => {
    const dir = tmpDir();
    const netrc = path.join(dir, "netrc");
    fs.writeFileSync(netrc, "machine elsewhere.org login x password hidden-value\n");
    const none = findCredentials(url, { env: { NETRC: netrc } });
    assert.equal(none.authorization, undefined);
    assert.match(none.source, /\$QUIVER_REMOTE_TOKEN, \$QUIVER_REMOTE_USER and \$QUIVER_REMOTE_PASSWORD/);
    assert.match(none.source, /no machine cache\.example\.org and no default/);
    assert.ok(!none.source.includes("hidden-value"));
    assert.match(findCredentials(url, { env: { NETRC: path.join(dir, "nope") } }).source, /no such file/);
    assert.throws(
      () => findCredentials(url, { env: { QUIVER_REMOTE_USER: "u" } }),
      (e: unknown) => e instanceof RemoteCredentialsError && /QUIVER_REMOTE_PASSWORD is not/.test(e.message),
    );
    assert.throws(
      () => findCredentials(url, { env: { QUIVER_REMOTE_TOKEN: "has space-secret" } }),
      (e: unknown) => e instanceof RemoteCredentialsError && !e.message.includes("space-secret"),
    );
  });

  test("directory remotes never get credentials", () => {
    const env = { QUIVER_REMOTE_TOKEN: "t0k" };
    assert.deepEqual(remoteOptions("/shared/cache", { env }), {});
    assert.deepEqual(remoteOptions("file:///shared/cache", { env }), {});
    assert.equal(remoteOptions("http://h/c/", { env }).authorization, "Bearer t0k");
  });
});

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly authorization: string | undefined;
}

/** A minimal GET/PUT/HEAD cache in memory that wants `Bearer <token>`; MOVE is not supported. */
async function bearerServer(token: string, redirectTo?: () => string) {
  const files = new Map<string, Buffer>();
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = req.url ?? "/";
      seen.push({ method: req.method ?? "", url, authorization: req.headers.authorization });
      if (redirectTo) {
        res.writeHead(307, { location: `${redirectTo()}${url}` }).end();
        return;
      }
      if (req.headers.authorization !== `Bearer ${token}`) {
        res.writeHead(401, { "www-authenticate": 'Bearer realm="quiver"' }).end();
        return;
      }
      const body = files.get(url);
      if (req.method === "PUT") {
        files.set(url, Buffer.concat(chunks));
        res.writeHead(201).end();
      } else if (req.method === "GET" || req.method === "HEAD") {
        if (!body) res.writeHead(404).end();
        else
          res.writeHead(200, { "content-length": body.length }).end(req.method === "GET" ? body : undefined);
      } else res.writeHead(405).end(); // no MOVE: the client falls back to a direct PUT
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/c/`,
    origin: `http://127.0.0.1:${port}`,
    files,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

describe("HTTP client: credentials stay with the remote's origin", () => {
  test("a redirect to another origin is not followed, so the other origin never sees them", async () => {
    const other = await bearerServer(TOKEN);
    const remote = await bearerServer(TOKEN, () => other.origin);
    try {
      const client = new HttpRemote(remote.url, { authorization: `Bearer ${TOKEN}`, timeoutMs: 5000 });
      for (const op of [
        () => client.get("records/x.json", 1 << 20),
        () => client.put("objects/ab/x", Buffer.from("x")),
      ])
        await assert.rejects(op, (e: unknown) => {
          assert.ok(e instanceof RemoteHttpError && !(e instanceof RemoteAuthError));
          assert.match(e.message, /HTTP 307 \(a redirect: not followed/);
          assertNoSecrets("the error", e.message);
          return true;
        });
      assert.ok(remote.seen.length >= 2);
      for (const s of remote.seen) assert.equal(s.authorization, `Bearer ${TOKEN}`, "sent to its own origin");
      assert.deepEqual(other.seen, [], "the other origin received no request at all");
    } finally {
      await remote.close();
      await other.close();
    }
  });

  test("a refusal is a RemoteAuthError that names the source, never the value", async () => {
    const srv = await bearerServer(TOKEN);
    try {
      const wrong = new HttpRemote(srv.url, {
        authorization: "Bearer not-the-token",
        credentialSource: "$QUIVER_REMOTE_TOKEN",
        timeoutMs: 5000,
      });
      const err = await wrong.get("records/x.json", 1 << 20).then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(err instanceof RemoteAuthError);
      const { message, hint } = describeAuthFailure(err);
      assert.equal(
        message,
        `${srv.url} refused the credentials from $QUIVER_REMOTE_TOKEN (HTTP 401 on GET ${srv.url}records/x.json)`,
      );
      assert.ok(!`${message}${hint}`.includes("not-the-token"));
      const right = new HttpRemote(srv.url, { authorization: `Bearer ${TOKEN}`, timeoutMs: 5000 });
      await right.put("objects/ab/x", Buffer.from("hello"));
      assert.equal(Buffer.from((await right.get("objects/ab/x", 1 << 20))!).toString(), "hello");
    } finally {
      await srv.close();
    }
  });

  test("quiver push and pull with $QUIVER_REMOTE_TOKEN as a Bearer token", async () => {
    const srv = await bearerServer(TOKEN);
    const a = checkout();
    const b = checkout();
    try {
      await withEnv({ QUIVER_REMOTE_TOKEN: TOKEN }, async () => {
        assert.equal((await a.quiver("run", "p.yaml")).code, 0);
        const push = await a.quiver("push", "p.yaml", "--remote", srv.url);
        assert.equal(push.code, 0, push.stderr);
        b.write("p.lock", a.read("p.lock"));
        const pull = await b.quiver("pull", "p.yaml", "--remote", srv.url);
        assert.equal(pull.code, 0, pull.stderr);
        assert.deepEqual((await b.quiver("run", "p.yaml")).ran, []);
      });
      const refused = await withEnv({}, () => b.quiver("push", "p.yaml", "--remote", srv.url));
      assert.equal(refused.code, 1);
      assert.match(
        refused.stderr,
        /QV_REMOTE_AUTH: .* requires credentials \(HTTP 401 on HEAD .*\); none found in/,
      );
      assert.ok(
        srv.seen.every((s) => s.authorization === undefined || s.authorization === `Bearer ${TOKEN}`),
      );
    } finally {
      a.remove();
      b.remove();
      await srv.close();
    }
  });
});

describe("HTTP remote with credentials (nginx auth_basic)", () => {
  let server: Nginx | undefined;
  let skip: string | undefined;
  before(async () => {
    const s = await startNginx({ auth: { user: USER, password: PASSWORD } });
    if ("skip" in s) skip = s.skip;
    else server = s;
  });
  after(async () => {
    await server?.stop();
  });
  const basicEnv = { QUIVER_REMOTE_USER: USER, QUIVER_REMOTE_PASSWORD: PASSWORD };

  /** Runs and pushes with refused credentials: QV_REMOTE_AUTH, exit 1, nothing on the server. */
  async function refusedPush(sub: string, env: Record<string, string>, expect: RegExp): Promise<void> {
    const a = checkout();
    try {
      assert.equal((await a.quiver("run", "p.yaml")).code, 0);
      const push = await withEnv(env, () => a.quiver("push", "p.yaml", "--remote", `${server!.url}${sub}/`));
      assert.equal(push.code, 1, push.stderr);
      assert.match(push.stderr, /^error QV_REMOTE_AUTH: /m);
      assert.match(push.stderr, expect);
      assert.match(push.stderr, /hint: /);
      assertNoSecrets("stderr", push.stderr);
      assert.doesNotMatch(push.stdout, /pushed/);
      assert.deepEqual(filesUnder(path.join(server!.root, sub)), [], "nothing stored on the server");
    } finally {
      a.remove();
    }
  }

  test("missing credentials: QV_REMOTE_AUTH naming where Quiver looked; nothing pushed", async (t) => {
    if (!server) return t.skip(skip);
    await refusedPush(
      "missing",
      {},
      /requires credentials \(HTTP 401 on HEAD .*\); none found in \$QUIVER_REMOTE_TOKEN, \$QUIVER_REMOTE_USER and \$QUIVER_REMOTE_PASSWORD, .*absent-netrc \(no such file\)/,
    );
  });

  test("wrong password, wrong token, wrong netrc entry: QV_REMOTE_AUTH; nothing pushed", async (t) => {
    if (!server) return t.skip(skip);
    await refusedPush(
      "wrong-password",
      { QUIVER_REMOTE_USER: USER, QUIVER_REMOTE_PASSWORD: WRONG },
      /refused the credentials from \$QUIVER_REMOTE_USER and \$QUIVER_REMOTE_PASSWORD \(HTTP 401 on HEAD /,
    );
    await refusedPush(
      "wrong-token",
      { QUIVER_REMOTE_TOKEN: WRONG },
      /refused the credentials from \$QUIVER_REMOTE_TOKEN/,
    );
    const netrc = path.join(tmpDir(), "netrc");
    fs.writeFileSync(netrc, `machine 127.0.0.1 login ${USER} password ${WRONG}\n`);
    await refusedPush(
      "wrong-netrc",
      { NETRC: netrc },
      /refused the credentials from .*netrc \(machine 127\.0\.0\.1\)/,
    );
  });

  test("a refused pull: QV_REMOTE_AUTH, exit 1, nothing added to the store", async (t) => {
    if (!server) return t.skip(skip);
    const url = `${server.url}pull-refused/`;
    const a = checkout();
    const b = checkout();
    try {
      await withEnv(basicEnv, async () => {
        assert.equal((await a.quiver("run", "p.yaml")).code, 0);
        assert.equal((await a.quiver("push", "p.yaml", "--remote", url)).code, 0);
      });
      b.write("p.lock", a.read("p.lock"));
      const envs: Record<string, string>[] = [
        {},
        { QUIVER_REMOTE_USER: USER, QUIVER_REMOTE_PASSWORD: WRONG },
      ];
      for (const env of envs) {
        const pull = await withEnv(env, () => b.quiver("pull", "p.yaml", "--remote", url));
        assert.equal(pull.code, 1, pull.stderr);
        assert.match(pull.stderr, /^error QV_REMOTE_AUTH: .*\(HTTP 401 on GET /m);
        assertNoSecrets("stderr", pull.stderr);
        assert.equal(storeObjects(b.cacheDir).size, 0, "nothing pulled");
      }
    } finally {
      a.remove();
      b.remove();
    }
  });

  test("a refused push from a real process exits non-zero and stores nothing", async (t) => {
    if (!server) return t.skip(skip);
    const a = checkout();
    try {
      assert.equal((await a.quiver("run", "p.yaml")).code, 0);
      const r = await withEnv({ QUIVER_REMOTE_PASSWORD: WRONG, QUIVER_REMOTE_USER: USER }, async () =>
        a.spawnAndWait("push", "p.yaml", "--remote", `${server!.url}spawned/`),
      );
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /QV_REMOTE_AUTH/);
      assertNoSecrets("stderr of the process", r.stderr);
      assert.deepEqual(filesUnder(path.join(server.root, "spawned")), []);
    } finally {
      a.remove();
    }
  });

  test("right credentials (variables or netrc): push, pull, read-through; no file or output holds them", async (t) => {
    if (!server) return t.skip(skip);
    const url = `${server.url}shared/`;
    const netrc = path.join(tmpDir(), "netrc");
    fs.writeFileSync(netrc, `machine 127.0.0.1\n  login ${USER}\n  password ${PASSWORD}\n`, { mode: 0o600 });
    const a = checkout();
    const b = checkout();
    const c = checkout();
    const outputs: RunResult[] = [];
    const reports = [a.path("a-report.html"), b.path("b-report.html")];
    try {
      await withEnv(basicEnv, async () => {
        // run --remote --push: credentials used for read-through and upload.
        const run = await a.quiver("run", "p.yaml", "--remote", url, "--push");
        assert.equal(run.code, 0, run.stderr);
        const push = await a.quiver("push", "p.yaml", "--remote", url);
        assert.equal(push.code, 0, push.stderr);
        assert.match(push.stderr, /3 already there/);
        outputs.push(run, push, await a.quiver("report", "p.yaml", "--out", reports[0]!));
      });
      await withEnv({ NETRC: netrc }, async () => {
        b.write("p.lock", a.read("p.lock"));
        const pull = await b.quiver("pull", "p.yaml", "--remote", url);
        assert.equal(pull.code, 0, pull.stderr);
        assert.match(pull.stderr, /pulled 3 result\(s\)/);
        const run = await b.quiver("run", "p.yaml", "--remote", url);
        assert.deepEqual(run.ran, []);
        outputs.push(pull, run, await b.quiver("report", "p.yaml", "--out", reports[1]!));
      });
      // Wrong credentials on run --remote: one warning, the run computes locally.
      const warned = await withEnv({ QUIVER_REMOTE_TOKEN: TOKEN }, () =>
        c.quiver("run", "p.yaml", "--remote", url),
      );
      assert.equal(warned.code, 0, warned.stderr);
      assert.match(
        warned.stderr,
        /warning QV_REMOTE_AUTH: .*refused the credentials from \$QUIVER_REMOTE_TOKEN.*computing locally/,
      );
      assert.equal(warned.ran.length, 3);
      outputs.push(warned);
      for (const r of reports) assert.ok(fs.existsSync(r), `report ${r} written`);
      // Everything Quiver wrote: the three project folders (stores, locks, reports), the
      // remote's files, and every line of output and event.
      const written = [...[a, b, c].flatMap((r) => filesUnder(r.dir)), ...filesUnder(server.root)];
      assert.ok(written.length > 20, `scanned ${written.length} files`);
      assert.ok(storeObjects(b.cacheDir).size > 0);
      for (const f of written) assertNoSecrets(f, fs.readFileSync(f));
      for (const o of outputs) {
        assertNoSecrets("stdout", o.stdout);
        assertNoSecrets("stderr", o.stderr);
        assertNoSecrets("events", JSON.stringify(o.events));
      }
    } finally {
      for (const r of [a, b, c]) r.remove();
    }
  });
});
