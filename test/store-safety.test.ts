/**
 * `clean` and `gc` act only on a store (issue #19, defect 0): a folder carrying the versioned
 * marker written when the store was created. A project folder with TensorBoard's `runs/`, or one
 * used once as `--cache-dir .`, is refused and keeps every file; clean asks on a terminal and needs
 * --yes elsewhere; and even in a real store it removes only the store's own files.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, describe, test } from "node:test";
import { main } from "../cli/main.js";
import type { Io } from "../cli/load.js";
import { Rig } from "./support/rig.js";
import { testRegistry } from "./support/test-stages.js";

const PIPELINE = `quiver: 1
name: safety
stages:
  src: { type: source, with: { values: [1, 2, 3] } }
  total: { type: sum, inputs: { table: src } }
`;

const rigs: Rig[] = [];
after(() => rigs.forEach((r) => r.remove()));
function rig(files: Record<string, string> = {}): Rig {
  const r = Rig.create({ "p.yaml": PIPELINE, ...files });
  rigs.push(r);
  return r;
}

async function cli(
  args: string[],
  opts: { answer?: string; cwd?: string } = {},
): Promise<{ code: number; out: string; asked: string[] }> {
  const lines: string[] = [];
  const asked: string[] = [];
  const io: Io = {
    out: (s) => lines.push(s),
    err: (s) => lines.push(s),
    color: false,
    ...(opts.answer !== undefined
      ? {
          ask: (q: string) => {
            asked.push(q);
            return Promise.resolve(opts.answer!);
          },
        }
      : {}),
  };
  const cwd = process.cwd();
  if (opts.cwd) process.chdir(opts.cwd);
  try {
    return { code: await main(args, io, testRegistry), out: lines.join("\n"), asked };
  } finally {
    process.chdir(cwd);
  }
}

/** Every file under `dir`, relative, sorted. */
function tree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

/** A project folder: pipelines, data, a git folder and TensorBoard's `runs/`. */
function project(r: Rig): void {
  r.write("data/events.csv", "x\n1\n");
  r.write(".git/HEAD", "ref: refs/heads/main\n");
  r.write("runs/Dec06_12-00-00_host/events.out.tfevents.1", "tensorboard");
  r.write("runs/ab/notes.txt", "a folder that looks like a store's");
}

describe("clean and gc refuse what is not a store", () => {
  test("clean --cache-dir . in a project with TensorBoard's runs/: refused, every file kept", async () => {
    const r = rig();
    project(r);
    const before = tree(r.dir);
    const res = await cli(["clean", "--cache-dir", ".", "--yes"], { cwd: r.dir });
    assert.equal(res.code, 1, res.out);
    assert.match(res.out, /QV_NOT_A_STORE/);
    assert.match(res.out, /refusing to remove anything/);
    assert.deepEqual(tree(r.dir), before);
  });

  test("gc --cache-dir on a folder with objects/ that is not a store: refused, nothing deleted", async () => {
    const r = rig();
    r.write("assets/objects/assets/cube.obj", "v 0 0 0\n");
    r.write("assets/objects/ab/0123456789abcdef", "not an object of ours");
    const before = tree(r.dir);
    const res = await cli(["gc", "--cache-dir", r.path("assets")]);
    assert.equal(res.code, 1, res.out);
    assert.match(res.out, /QV_NOT_A_STORE/);
    assert.deepEqual(tree(r.dir), before);
  });

  test("a run refuses a non-empty folder that is not a store as its store", async () => {
    const r = rig();
    project(r);
    const before = tree(r.dir);
    const res = await cli(["run", r.path("p.yaml"), "--cache-dir", r.dir]);
    assert.equal(res.code, 1, res.out);
    assert.match(res.out, /QV_NOT_A_STORE: .* is not a Quiver store and not empty/);
    assert.deepEqual(tree(r.dir), before, "nothing written into the project folder");
  });

  test("a store carries a versioned marker; a newer format is refused", async () => {
    const r = rig();
    assert.equal((await cli(["run", r.path("p.yaml")])).code, 0);
    const marker = JSON.parse(fs.readFileSync(path.join(r.cacheDir, "quiver-store.json"), "utf8")) as {
      quiver_store: number;
    };
    assert.equal(marker.quiver_store, 1);
    fs.writeFileSync(path.join(r.cacheDir, "quiver-store.json"), JSON.stringify({ quiver_store: 99 }));
    const res = await cli(["gc", r.path("p.yaml")]);
    assert.equal(res.code, 1);
    assert.match(res.out, /QV_STORE_VERSION: .* format 99/);
  });

  test("a store made before markers: gc refuses it until a run marks it", async () => {
    const r = rig();
    assert.equal((await cli(["run", r.path("p.yaml")])).code, 0);
    fs.rmSync(path.join(r.cacheDir, "quiver-store.json"));
    const refused = await cli(["gc", r.path("p.yaml")]);
    assert.equal(refused.code, 1);
    assert.match(refused.out, /QV_NOT_A_STORE: .*older Quiver/);
    assert.equal((await cli(["status", r.path("p.yaml")])).code, 0);
    assert.ok(fs.existsSync(path.join(r.cacheDir, "quiver-store.json")), "status marked the old store");
    assert.equal((await cli(["gc", r.path("p.yaml")])).code, 0);
  });
});

describe("clean asks, and removes only the store's files", () => {
  test("without a terminal clean needs --yes; --yes removes the store", async () => {
    const r = rig();
    assert.equal((await cli(["run", r.path("p.yaml")])).code, 0);
    const refused = await cli(["clean", r.path("p.yaml")]);
    assert.equal(refused.code, 2, refused.out);
    assert.match(refused.out, /--yes/);
    assert.ok(fs.existsSync(path.join(r.cacheDir, "objects")), "the store is intact");
    const done = await cli(["clean", r.path("p.yaml"), "--yes"]);
    assert.equal(done.code, 0, done.out);
    assert.match(done.out, /removed the store/);
    assert.equal(fs.existsSync(r.cacheDir), false);
    assert.ok(fs.existsSync(r.path("p.yaml")) && fs.existsSync(r.path("p.lock")));
  });

  test("on a terminal clean asks: no keeps the store, yes removes it", async () => {
    const r = rig();
    assert.equal((await cli(["run", r.path("p.yaml")])).code, 0);
    const no = await cli(["clean", r.path("p.yaml")], { answer: "n" });
    assert.equal(no.code, 1);
    assert.equal(no.asked.length, 1);
    assert.match(no.asked[0]!, /remove the store .*\.quiver \(2 stored result\(s\)\)\? \[y\/N\]/);
    assert.ok(fs.existsSync(path.join(r.cacheDir, "objects")));
    const yes = await cli(["clean", r.path("p.yaml")], { answer: "y" });
    assert.equal(yes.code, 0, yes.out);
    assert.equal(fs.existsSync(r.cacheDir), false);
  });

  test("what is in the store's folder but not the store's stays", async () => {
    const r = rig();
    assert.equal((await cli(["run", r.path("p.yaml")])).code, 0);
    r.write(".quiver/notes.txt", "mine");
    r.write(".quiver/runs/Dec06_host/events.out.tfevents.1", "tensorboard");
    r.write(".quiver/objects/assets/cube.obj", "v 0 0 0");
    const res = await cli(["clean", r.path("p.yaml"), "--yes"]);
    assert.equal(res.code, 0, res.out);
    assert.match(res.out, /left in place \(not the store's\): /);
    assert.deepEqual(tree(r.cacheDir), [
      "notes.txt",
      "objects/assets/cube.obj",
      "runs/Dec06_host/events.out.tfevents.1",
    ]);
  });

  test("the marker is never seen half written: processes creating one store at once all use it", async () => {
    // A folder holding only another process's marker in progress is a store being made.
    const r = rig();
    fs.mkdirSync(r.cacheDir, { recursive: true });
    r.write(".quiver/quiver-store.json.4242.k3j9x.tmp", "");
    assert.equal((await cli(["run", r.path("p.yaml")])).code, 0);
    // Many processes on fresh folders: each either publishes the marker or finds it whole.
    const script = `import { prepareStoreFolder } from ${JSON.stringify(
      new URL("../cache/store-folder.js", import.meta.url).href,
    )};
const dir = process.argv[1];
for (let i = 0; i < 40; i++) prepareStoreFolder(dir + "/s" + i);`;
    const base = r.path("many");
    fs.mkdirSync(base);
    const { spawn } = await import("node:child_process");
    const codes = await Promise.all(
      [0, 1, 2, 3].map(
        () =>
          new Promise<{ code: number | null; err: string }>((done) => {
            const p = spawn(process.execPath, ["--input-type=module", "-e", script, base], {
              stdio: ["ignore", "ignore", "pipe"],
            });
            let err = "";
            p.stderr.on("data", (d: Buffer) => (err += d.toString()));
            p.on("close", (code) => done({ code, err }));
          }),
      ),
    );
    for (const c of codes) assert.equal(c.code, 0, c.err);
    for (let i = 0; i < 40; i++)
      assert.deepEqual(fs.readdirSync(path.join(base, "s" + i)), ["quiver-store.json"], `store ${i}`);
  });
});
