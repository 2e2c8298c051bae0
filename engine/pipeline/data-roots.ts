/**
 * Data roots a shared pipeline should not be trusted with: a `data_roots:` entry that leaves the
 * pipeline's folder tree and reaches the user's home (or a folder above it), a hidden folder in it
 * (`~/.ssh`, `~/.aws`), the root folder, or a system folder. Such a root lets any `load` of the
 * pipeline read credentials (`~/.netrc`) or system files into the store, where a push shares them.
 * Roots given on the command line (`--data-root`) are the user's own choice and are not judged.
 * Pure path arithmetic on resolved paths; whether a root exists does not matter.
 */
import fs from "node:fs";
import path from "node:path";

/** Top-level folders of the system: a root equal to one of them, or inside one, is refused. */
const SYSTEM = [
  "/bin",
  "/boot",
  "/dev",
  "/etc",
  "/lib",
  "/lib64",
  "/proc",
  "/root",
  "/run",
  "/sbin",
  "/sys",
  "/usr",
  "/var",
];

/** Where an existing path really is (symlinks followed); a missing one as written. */
function real(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

function within(child: string, parent: string): boolean {
  return child === parent || child.startsWith(parent.endsWith(path.sep) ? parent : parent + path.sep);
}

/**
 * Why `root` (as written in the pipeline, relative to `pipelineDir`) reaches a sensitive place,
 * or undefined when it does not. `home` is the user's home folder.
 */
export function sensitiveDataRoot(root: string, pipelineDir: string, home: string): string | undefined {
  const dir = real(path.resolve(pipelineDir));
  const abs = real(path.resolve(dir, root));
  if (within(abs, dir)) return undefined;
  const homeReal = real(path.resolve(home));
  if (abs === path.parse(abs).root) return "the root of the file system";
  if (within(homeReal, abs))
    return abs === homeReal ? "your home folder" : "a folder that holds your home folder";
  if (within(abs, homeReal)) {
    const first = path.relative(homeReal, abs).split(path.sep)[0] ?? "";
    if (first.startsWith(".")) return `a hidden folder of your home (~/${first}), where credentials live`;
    return undefined;
  }
  if (path.sep === "/") {
    const sys = SYSTEM.find((s) => within(abs, s));
    if (sys) return `a system folder (${sys})`;
    if (abs === "/home" || abs === "/Users") return "the folder of every user's home";
  }
  return undefined;
}
