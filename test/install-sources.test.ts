/**
 * `npm ci` on a fresh clone fetches nothing but npm registry tarballs and builds nothing: the lock
 * file names only registry packages (each with its integrity hash), every dependency spec is a
 * version range or an `npm:` alias, no package runs an install script except the ones listed here
 * with what their script does, and jsroot's drawing-only dependencies (canvas and co., whose
 * installs download prebuilt binaries or compile against system libraries) are the empty package
 * the overrides in package.json put in their place. CI (.ci/run) then runs `npm ci` from a clean
 * clone; this test fails as soon as a change to the dependencies would break that.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { repoRoot } from "./support/rig.js";

interface LockEntry {
  readonly name?: string;
  readonly version?: string;
  readonly resolved?: string;
  readonly integrity?: string;
  readonly link?: boolean;
  readonly hasInstallScript?: boolean;
  readonly dependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
}
interface PackageJson {
  readonly name?: string;
  readonly dependencies?: Record<string, string>;
  readonly devDependencies?: Record<string, string>;
  readonly overrides?: Record<string, Record<string, string> | string>;
  readonly scripts?: Record<string, string>;
  readonly gypfile?: boolean;
}

const REGISTRY = "https://registry.npmjs.org/";
/** Packages allowed to run an install script, and why that script downloads and builds nothing. */
const INSTALL_SCRIPTS: Record<string, string> = {
  "core-js": "postinstall prints a funding message; it fetches and compiles nothing",
  // The CPU runtime ships in the npm tarball; the script would fetch CUDA libraries, and
  // .npmrc's `onnxruntime-node-install=skip` (its documented switch) makes it exit at once:
  // test/onnx-export.test.ts runs it under a refusing proxy to prove it.
  "onnxruntime-node": "install script skipped by .npmrc (onnxruntime-node-install=skip)",
  protobufjs: "postinstall makes an empty cli/node_modules folder and compares version schemes",
};
/** jsroot's drawing-only dependencies; the reading modules Quiver uses never load them. */
const DRAWING_ONLY = ["canvas", "jsdom", "mathjax", "three", "@resvg/resvg-js"];
const SKIP_PACKAGE = "@favware/skip-dependency";

const readJson = <T>(file: string): T => JSON.parse(fs.readFileSync(file, "utf8")) as T;
const pkg = readJson<PackageJson>(path.join(repoRoot, "package.json"));
const lock = readJson<{ lockfileVersion: number; packages: Record<string, LockEntry> }>(
  path.join(repoRoot, "package-lock.json"),
);
/** "node_modules/a/node_modules/@s/b" → "@s/b" */
const nameOf = (key: string) => key.slice(key.lastIndexOf("node_modules/") + "node_modules/".length);

test("every dependency spec is a registry version range or an npm: alias of one", () => {
  const specs: [string, string][] = [
    ...Object.entries(pkg.dependencies ?? {}),
    ...Object.entries(pkg.devDependencies ?? {}),
    ...Object.values(pkg.overrides ?? {}).flatMap((o) => (typeof o === "string" ? [] : Object.entries(o))),
    ...Object.entries(lock.packages).flatMap(([, e]) => [
      ...Object.entries(e.dependencies ?? {}),
      ...Object.entries(e.optionalDependencies ?? {}),
    ]),
  ];
  const bad = specs.filter(
    ([, spec]) =>
      /^(git|https?|file|link|github):|^[\w.-]+\/[\w.-]+(#.*)?$|\.tgz$/.test(spec) &&
      !spec.startsWith("npm:"),
  );
  assert.deepEqual(bad, [], "dependencies fetched from outside the npm registry");
});

test("the lock file holds only registry tarballs, each with its integrity hash", () => {
  assert.equal(lock.lockfileVersion, 3);
  const entries = Object.entries(lock.packages).filter(([k]) => k !== "");
  assert.ok(entries.length > 50, "the lock lists the installed packages");
  for (const [key, e] of entries) {
    assert.ok(!e.link, `${key} is a link to a local folder`);
    if (e.resolved !== undefined)
      assert.ok(e.resolved.startsWith(REGISTRY), `${key} resolves to ${e.resolved}`);
    assert.match(e.integrity ?? "", /^sha512-/, `${key} has no sha512 integrity (not a registry tarball)`);
  }
});

test("no package runs an install script except the listed harmless ones", () => {
  const scripted = Object.entries(lock.packages)
    .filter(([k, e]) => k !== "" && e.hasInstallScript)
    .map(([k]) => nameOf(k));
  assert.deepEqual(
    scripted.filter((n) => !(n in INSTALL_SCRIPTS)),
    [],
    "new packages with install scripts: check that they download and build nothing, then list them",
  );
  // The installed packages agree with the lock (a stale lock flag would hide a script or a build).
  for (const key of Object.keys(lock.packages)) {
    const file = path.join(repoRoot, key, "package.json");
    if (key === "" || !fs.existsSync(file)) continue;
    const p = readJson<PackageJson>(file);
    const runs = ["preinstall", "install", "postinstall"].filter((s) => p.scripts?.[s] !== undefined);
    const builds = p.gypfile === true || fs.existsSync(path.join(repoRoot, key, "binding.gyp"));
    if (runs.length || builds)
      assert.ok(nameOf(key) in INSTALL_SCRIPTS, `${key} runs ${builds ? "a native build" : runs.join(", ")}`);
  }
});

test("jsroot's drawing-only dependencies are the empty package, wherever they are installed", () => {
  for (const dep of DRAWING_ONLY) {
    assert.equal(
      pkg.overrides?.jsroot && typeof pkg.overrides.jsroot !== "string" && pkg.overrides.jsroot[dep],
      `npm:${SKIP_PACKAGE}@1.2.2`,
    );
    const keys = Object.keys(lock.packages).filter((k) => nameOf(k) === dep);
    assert.ok(keys.length > 0, `${dep} is in the lock (as the empty package)`);
    for (const k of keys) {
      const e = lock.packages[k]!;
      assert.equal(e.name, SKIP_PACKAGE, `${k} is ${e.name ?? dep}@${e.version ?? "?"}`);
      assert.equal(e.hasInstallScript, undefined, k);
      assert.deepEqual(Object.keys(e.dependencies ?? {}), [], `${k} pulls nothing in`);
    }
  }
  // The package ships jsroot with the empty package inside it, since a dependency's overrides do
  // not apply when quiver-hep itself is installed (test/package.test.ts installs the tarball).
  assert.ok(((pkg as { bundleDependencies?: string[] }).bundleDependencies ?? []).includes("jsroot"));
});
