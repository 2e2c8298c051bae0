/**
 * A real nginx with its WebDAV module, started for a test suite on 127.0.0.1 and a free port, from
 * a generated config in a temp dir (no daemon, no master process, nothing outside the temp dir).
 * When nginx (or its dav module) is missing, `startNginx` returns the reason to skip.
 * With `auth`, every request needs HTTP Basic credentials (`auth_basic`).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

export interface Nginx {
  readonly url: string;
  /** The folder the server serves: tests corrupt files in it directly. */
  readonly root: string;
  stop(): Promise<void>;
}

export interface NginxOptions {
  /** Require HTTP Basic credentials for every request. */
  readonly auth?: { readonly user: string; readonly password: string };
}

/** An htpasswd line in nginx's RFC 2307 `{SSHA}` form: base64(sha1(password ‖ salt) ‖ salt). */
export function htpasswdLine(user: string, password: string): string {
  const salt = crypto.randomBytes(8);
  const digest = crypto.createHash("sha1").update(password, "utf8").update(salt).digest();
  return `${user}:{SSHA}${Buffer.concat([digest, salt]).toString("base64")}\n`;
}

function findNginx(): { bin: string; version: string } | { skip: string } {
  for (const bin of ["nginx", "/usr/sbin/nginx", "/usr/local/sbin/nginx"]) {
    const r = spawnSync(bin, ["-V"], { encoding: "utf8", timeout: 5000 });
    if (r.error || r.status !== 0) continue;
    const version = `${r.stdout}${r.stderr}`;
    if (!version.includes("--with-http_dav_module"))
      return { skip: `${bin} is built without ngx_http_dav_module (install Debian's nginx-light)` };
    return { bin, version };
  }
  return { skip: "nginx is not installed (.ci/run installs it; or: apt-get install nginx-light)" };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export async function startNginx(opts: NginxOptions = {}): Promise<Nginx | { skip: string }> {
  const found = findNginx();
  if ("skip" in found) return found;
  if (opts.auth && found.version.includes("--without-http_auth_basic_module"))
    return { skip: `${found.bin} is built without ngx_http_auth_basic_module` };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-nginx-"));
  let auth = "";
  if (opts.auth) {
    const file = path.join(dir, "htpasswd");
    fs.writeFileSync(file, htpasswdLine(opts.auth.user, opts.auth.password), { mode: 0o600 });
    auth = `\n      auth_basic "quiver";\n      auth_basic_user_file ${file};`;
  }
  const root = path.join(dir, "root");
  fs.mkdirSync(root);
  const port = await freePort();
  // Every temp-path directive the build knows must point into the temp dir, or nginx tries /var/lib.
  const temps = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
    .filter((m) => m === "client_body" || !found.version.includes(`--without-http_${m}_module`))
    .map((m) => `  ${m}_temp_path ${path.join(dir, m)};`)
    .join("\n");
  const conf = `daemon off;
master_process off;
worker_processes 1;
pid ${path.join(dir, "nginx.pid")};
error_log ${path.join(dir, "error.log")} warn;
events { worker_connections 256; }
http {
  access_log off;
${temps}
  server {
    listen 127.0.0.1:${port};
    root ${root};
    location / {
      dav_methods PUT DELETE MOVE;
      create_full_put_path on;
      dav_access user:rw group:r all:r;
      client_max_body_size 0;${auth}
    }
  }
}
`;
  fs.writeFileSync(path.join(dir, "nginx.conf"), conf);
  const child: ChildProcess = spawn(
    found.bin,
    ["-p", dir, "-c", path.join(dir, "nginx.conf"), "-e", path.join(dir, "error.log")],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
  let exited = false;
  child.on("exit", () => (exited = true));
  const url = `http://127.0.0.1:${port}/cache/`;
  const stop = async () => {
    if (!exited) {
      const gone = new Promise<void>((r) => child.once("exit", () => r()));
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 3000);
      await gone;
      clearTimeout(t);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (exited) {
      const log = fs.existsSync(path.join(dir, "error.log"))
        ? fs.readFileSync(path.join(dir, "error.log"), "utf8")
        : "";
      await stop();
      return { skip: `nginx did not start: ${(stderr + log).trim().split("\n").slice(-3).join(" | ")}` };
    }
    try {
      const res = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      return { url, root: path.join(root, "cache"), stop };
    } catch {
      if (Date.now() > deadline) {
        await stop();
        return { skip: "nginx did not answer within 10 s" };
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
