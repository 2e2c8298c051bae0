/**
 * The package as a user gets it: `npm pack`, installed into an empty folder (dependencies from the
 * npm registry, through the local npm cache when it has them), then `quiver --version` (read from
 * package.json), `quiver run` of the demo pipeline, and the API imported by the package's name with
 * its type declarations. Needs the build in dist/ (npm test builds first).
 */
import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { repoRoot } from "./support/rig.js";

const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const sh = (cmd: string, args: string[], cwd: string): SpawnSyncReturns<string> =>
  spawnSync(cmd, args, {
    cwd,
    encoding: "utf8",
    timeout: 240_000,
    env: { ...process.env, npm_config_fund: "false" },
  });

test("npm pack → install in an empty folder → quiver --version, quiver run, the API", (t) => {
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, "package.json"), "utf8")) as {
    name: string;
    version: string;
  };
  if (!fs.existsSync(path.join(repoRoot, "dist", "api.js")))
    return t.skip("no build in dist/ (run npm run build)");
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-pack-"));
  try {
    const pack = sh(npm, ["pack", "--ignore-scripts", "--pack-destination", tmp, "--json"], repoRoot);
    if (pack.error) return t.skip(`npm is not available: ${pack.error.message}`);
    assert.equal(pack.status, 0, pack.stderr);
    const [{ filename, files }] = JSON.parse(pack.stdout) as [
      { filename: string; files: { path: string }[] },
    ];
    const paths = files.map((f) => f.path);
    for (const want of [
      "bin/quiver.js",
      "dist/api.js",
      "dist/api.d.ts",
      "dist/cli/main.js",
      "dist/wasm/mlp.wasm",
      "schema/quiver-pipeline.json",
    ])
      assert.ok(paths.includes(want), `the tarball has ${want}`);
    assert.ok(
      !paths.some((p) => p.startsWith("dist/test/") || p.startsWith("dist/bench/")),
      "no tests in the tarball",
    );

    const app = path.join(tmp, "app");
    fs.mkdirSync(app);
    fs.writeFileSync(
      path.join(app, "package.json"),
      JSON.stringify({ name: "app", private: true, type: "module" }),
    );
    const install = sh(
      npm,
      ["install", "--prefer-offline", "--no-audit", "--no-fund", path.join(tmp, filename)],
      app,
    );
    // Only npm's own error code decides: a dependency's install script that fails after a download
    // timed out (a native build) is a failure of the package, not an unreachable registry.
    if (
      install.status !== 0 &&
      /^npm error code (ENOTCACHED|EAI_AGAIN|ENOTFOUND|ECONNREFUSED|ETIMEDOUT)/m.test(install.stderr)
    )
      return t.skip(
        `the npm registry cannot be reached and the npm cache lacks the dependencies: ${install.stderr.trim().split("\n")[0]}`,
      );
    assert.equal(install.status, 0, install.stderr);

    const bin = path.join(app, "node_modules", ".bin", "quiver");
    const version = sh(bin, ["--version"], app);
    assert.equal(version.status, 0, version.stderr);
    assert.equal(version.stdout.trim(), `quiver ${pkg.version}`);

    fs.copyFileSync(path.join(repoRoot, "pipelines", "demo.yaml"), path.join(app, "demo.yaml"));
    const run = sh(bin, ["run", "demo.yaml", "--set", "events=3000", "--set", "epochs=2"], app);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /done: 13 ran, 0 cached/);

    fs.writeFileSync(
      path.join(app, "use.mjs"),
      `import { loadPipeline, status } from "${pkg.name}";
const p = loadPipeline("demo.yaml", { params: { events: 3000, epochs: 2 } });
const s = await status(p);
console.log(s.planned.filter((x) => x.decision === "cached").length);`,
    );
    const api = sh(process.execPath, ["use.mjs"], app);
    assert.equal(api.status, 0, api.stderr);
    assert.equal(api.stdout.trim(), "13", "the API sees the run the command made");
    assert.ok(fs.existsSync(path.join(app, "node_modules", pkg.name, "dist", "api.d.ts")), "types ship");
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
