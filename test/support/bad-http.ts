/**
 * A small HTTP cache server on 127.0.0.1 that misbehaves on request: `/<mode>/<path>` serves the
 * store path `<path>` of one in-memory store (GET, HEAD, PUT, MOVE, DELETE, as a WebDAV server
 * does), with the fault `<mode>` applied. `good` behaves. Counts what it sends, so a test can
 * check that a client stopped reading.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export type Fault =
  /** Behaves. */
  | "good"
  /** Every request: HTTP 500. */
  | "always500"
  /** The first two requests for each path: HTTP 500, then it behaves. */
  | "flaky500"
  /** Every GET and HEAD: a 200 HTML page (a captive portal, a misconfigured proxy). */
  | "html"
  /** GETs of objects announce their length and send half of it, then cut the connection — once per path. */
  | "truncate-once"
  /** The same, every time. */
  | "truncate"
  /** GETs send headers, then one byte every 2 s. */
  | "slow"
  /** GETs of objects send bytes without end. */
  | "endless"
  /** Requests get no answer at all. */
  | "hang"
  /** GETs send headers and then nothing. */
  | "hang-body"
  /** PUT, MOVE and DELETE answer 201 Created and do nothing. */
  | "swallow";

export interface BadServer {
  readonly origin: string;
  /** The remote URL for a fault: `${origin}/${fault}/`. */
  url(fault: Fault): string;
  readonly files: Map<string, Buffer>;
  /** Body bytes sent per fault. */
  readonly sent: Map<Fault, number>;
  close(): Promise<void>;
}

const HTML = Buffer.from("<!doctype html><html><body><h1>Welcome to the network</h1></body></html>\n");

export async function startBadServer(): Promise<BadServer> {
  const files = new Map<string, Buffer>();
  const sent = new Map<Fault, number>();
  const seen = new Map<string, number>();
  const sockets = new Set<import("node:net").Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const count = (fault: Fault, n: number) => sent.set(fault, (sent.get(fault) ?? 0) + n);

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const [, fault = "good", ...rest] = decodeURIComponent(url.pathname).split("/");
    const rel = rest.join("/");
    const f = fault as Fault;
    const method = req.method ?? "GET";
    const body: Buffer[] = [];
    req.on("data", (c: Buffer) => body.push(c));
    req.on("end", () => {
      const key = `${f} ${method} ${rel}`;
      const n = (seen.get(key) ?? 0) + 1;
      seen.set(key, n);
      if (f === "hang") return; // never answered
      if (f === "always500" || (f === "flaky500" && n <= 2)) {
        res.writeHead(500).end("internal error");
        return;
      }
      if (f === "html" && (method === "GET" || method === "HEAD")) {
        res.writeHead(200, { "content-type": "text/html", "content-length": HTML.length });
        res.end(method === "GET" ? HTML : undefined);
        if (method === "GET") count(f, HTML.length);
        return;
      }
      if (f === "swallow" && method !== "GET" && method !== "HEAD") {
        res.writeHead(201).end();
        return;
      }
      switch (method) {
        case "PUT":
          files.set(rel, Buffer.concat(body));
          res.writeHead(201).end();
          return;
        case "MOVE": {
          const dest = new URL(String(req.headers.destination ?? ""), "http://x").pathname;
          const to = decodeURIComponent(dest).split("/").slice(2).join("/");
          const data = files.get(rel);
          if (!data) {
            res.writeHead(404).end();
            return;
          }
          files.delete(rel);
          files.set(to, data);
          res.writeHead(201).end();
          return;
        }
        case "DELETE":
          files.delete(rel);
          res.writeHead(204).end();
          return;
        case "HEAD":
        case "GET": {
          const data = files.get(rel);
          if (!data) {
            res.writeHead(404).end();
            return;
          }
          const isObject = rel.startsWith("objects/");
          if (method === "HEAD") {
            res.writeHead(200, { "content-length": data.length }).end();
            return;
          }
          if (isObject && (f === "truncate" || (f === "truncate-once" && n === 1))) {
            res.writeHead(200, { "content-length": data.length });
            res.write(data.subarray(0, data.length >> 1));
            count(f, data.length >> 1);
            setTimeout(() => res.destroy(), 20);
            return;
          }
          if (f === "slow") {
            res.writeHead(200, { "content-length": data.length });
            res.flushHeaders();
            let i = 0;
            const tick = setInterval(() => {
              if (i >= data.length || res.destroyed) {
                clearInterval(tick);
                timers.delete(tick);
                res.end();
                return;
              }
              res.write(data.subarray(i, i + 1));
              count(f, 1);
              i++;
            }, 2000);
            timers.add(tick);
            return;
          }
          if (f === "hang-body") {
            res.writeHead(200, { "content-length": data.length });
            res.flushHeaders();
            return;
          }
          if (isObject && f === "endless") {
            res.writeHead(200, { "content-type": "application/octet-stream" });
            const chunk = Buffer.alloc(64 * 1024, 7);
            const pump = () => {
              while (!res.destroyed && res.write(chunk)) count(f, chunk.length);
              if (!res.destroyed) res.once("drain", pump);
            };
            res.on("close", () => res.removeAllListeners("drain"));
            pump();
            return;
          }
          res.writeHead(200, { "content-length": data.length }).end(data);
          count(f, data.length);
          return;
        }
        default:
          res.writeHead(405).end();
      }
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    url: (fault) => `${origin}/${fault}/`,
    files,
    sent,
    close: async () => {
      for (const t of timers) clearInterval(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
