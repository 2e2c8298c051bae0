/**
 * `data_roots:` that reach home or system folders (issue #19): a shared pipeline declaring
 * `data_roots: [~]` (or `/`, `/etc`, `~/.ssh`) could read credentials such as `~/.netrc` into the
 * store without a word from `status`. Such a root is a located error (QV_DATA_ROOT_OUTSIDE) unless
 * the user passes `--allow-data-roots`, and then still a warning.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { sensitiveDataRoot } from "../engine/pipeline/data-roots.js";
import { main } from "../cli/main.js";
import { STACK_FRAME } from "./support/chaos.js";
import { Rig } from "./support/rig.js";
import { testRegistry } from "./support/test-stages.js";

const cleanup: (() => void)[] = [];
after(() => cleanup.forEach((c) => c()));

describe("which data roots are sensitive", () => {
  const home = "/home/ada";
  const cases: [string, string, RegExp | undefined][] = [
    ["/srv/proj", "data", undefined],
    ["/srv/proj", "../shared/data", undefined],
    ["/srv/proj", "/home/ada/data", undefined],
    ["/srv/proj", "/home/ada", /your home folder/],
    ["/srv/proj", "/home/ada/", /your home folder/],
    ["/srv/proj", "/home", /holds your home/],
    ["/srv/proj", "/", /root of the file system/],
    ["/srv/proj", "/home/ada/.ssh", /hidden folder of your home \(~\/\.ssh\)/],
    ["/srv/proj", "/home/ada/.config/gcloud", /hidden folder of your home \(~\/\.config\)/],
    ["/srv/proj", "/etc", /system folder \(\/etc\)/],
    ["/srv/proj", "/proc/self", /system folder \(\/proc\)/],
    ["/srv/proj", "/root", /system folder \(\/root\)/],
    ["/home/ada/proj", "..", /your home folder/],
    ["/home/ada/proj", "../data", undefined],
    // Inside the pipeline's own folder tree nothing is judged, even a hidden folder.
    ["/home/ada/proj", ".cache/data", undefined],
  ];
  for (const [dir, root, expected] of cases)
    test(`${root} from ${dir}`, () => {
      const why = sensitiveDataRoot(root, dir, home);
      if (expected === undefined) assert.equal(why, undefined);
      else assert.match(why ?? "(none)", expected);
    });
});

describe("a pipeline whose data_roots reach the home folder", () => {
  /** A project, and a home folder with a credentials file the pipeline tries to read. */
  function setup(): { r: Rig; home: string } {
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-home-"));
    fs.writeFileSync(path.join(home, ".netrc"), "4242 4343\n");
    const r = Rig.create({
      "p.yaml": `quiver: 1
name: roots
data_roots: [data, ${JSON.stringify(home)}]
stages:
  src:   { type: source, with: { file: ${JSON.stringify(path.join(home, ".netrc"))} } }
  total: { type: sum, inputs: { table: src } }
`,
    });
    cleanup.push(
      () => r.remove(),
      () => fs.rmSync(home, { recursive: true, force: true }),
    );
    return { r, home };
  }

  /** Runs the CLI in this process with HOME pointing at the fake home folder. */
  async function withHome<T>(home: string, f: () => Promise<T>): Promise<T> {
    const saved = process.env.HOME;
    process.env.HOME = home;
    try {
      return await f();
    } finally {
      if (saved === undefined) delete process.env.HOME;
      else process.env.HOME = saved;
    }
  }

  test("status and run refuse it with a located error naming the flag; nothing is read", async () => {
    const { r, home } = setup();
    const status = await withHome(home, () => r.quiver("status", "p.yaml"));
    assert.equal(status.code, 2, status.stdout + status.stderr);
    assert.match(status.stderr, /p\.yaml:3:\d+ error QV_DATA_ROOT_OUTSIDE/);
    assert.match(status.stderr, /your home folder/);
    assert.match(status.stderr, /--allow-data-roots/);
    assert.doesNotMatch(status.stderr, STACK_FRAME);
    const run = await withHome(home, () => r.quiver("run", "p.yaml"));
    assert.equal(run.code, 2);
    assert.deepEqual(run.ran, []);
    assert.ok(
      !fs.existsSync(r.cacheDir) || !fs.readdirSync(r.cacheDir).includes("objects"),
      "nothing stored",
    );
    // The plain text rendering points at the entry, with the source line under it.
    const lines: string[] = [];
    const io = { out: (s: string) => lines.push(s), err: (s: string) => lines.push(s), color: false };
    assert.equal(await withHome(home, () => main(["status", r.path("p.yaml")], io, testRegistry)), 2);
    assert.match(lines.join("\n"), /data_roots: \[data, /);
  });

  test("--allow-data-roots runs it and still warns", async () => {
    const { r, home } = setup();
    const run = await withHome(home, () => r.quiver("run", "p.yaml", "--allow-data-roots"));
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(run.ran.sort(), ["src", "total"]);
    assert.match(run.stderr, /warning QV_DATA_ROOT_OUTSIDE/);
    assert.match(run.stderr, /allowed by --allow-data-roots/);
  });

  test("a data root beside the project (not home, not system) needs no flag", async () => {
    const { r } = setup();
    const beside = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-beside-"));
    cleanup.push(() => fs.rmSync(beside, { recursive: true, force: true }));
    fs.writeFileSync(path.join(beside, "x.txt"), "1 2\n");
    r.write(
      "q.yaml",
      `quiver: 1
name: beside
data_roots: [${JSON.stringify(path.relative(r.dir, beside))}]
stages:
  src: { type: source, with: { file: ${JSON.stringify(path.join(beside, "x.txt"))} } }
`,
    );
    const res = await r.quiver("run", "q.yaml");
    assert.equal(res.code, 0, res.stderr);
    assert.doesNotMatch(res.stderr, /QV_DATA_ROOT_OUTSIDE/);
  });
});
