/**
 * Property-based fuzzing of pipeline files through `quiver status`, in process, as a user would
 * meet them: random text, byte edits of real pipelines, and structurally valid YAML that is
 * semantically wrong (unknown stage types, dangling references, random params). Whatever the input:
 * exit code 0, 1 or 2; every diagnostic is located (`file:line:col`); never a JavaScript stack
 * trace, an "internal error" or a stage-bug report; never an exception out of `main`.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import fc from "fast-check";
import { stringify as toYaml } from "yaml";
import { main } from "../cli/main.js";
import { repoRoot } from "./support/rig.js";
import { testRegistry } from "./support/test-stages.js";
import { STACK_FRAME } from "./support/chaos.js";

const RUNS = Number(process.env.QUIVER_FUZZ_RUNS ?? 200);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "quiver-pfuzz-"));
fs.mkdirSync(path.join(dir, "data"));
fs.writeFileSync(path.join(dir, "data", "numbers.txt"), "1 2 3\n");
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const cacheDir = path.join(dir, ".quiver");

const SEEDS: string[] = [
  fs.readFileSync(path.join(repoRoot, "pipelines", "demo.yaml"), "utf8"),
  ...fs
    .readdirSync(path.join(repoRoot, "test", "golden"))
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((f) => fs.readFileSync(path.join(repoRoot, "test", "golden", f), "utf8")),
  `quiver: 1
name: chain
params: { amount: 1 }
data_roots: [data]
stages:
  src:  { type: source, with: { file: data/numbers.txt } }
  plus: { type: add, inputs: { table: src }, with: { amount: "\${amount}" } }
  h:    { type: halves, inputs: { table: plus } }
  a:    { type: sum, inputs: { table: h.first } }
  b:    { type: sum, inputs: { table: h.second } }
`,
];

interface Outcome {
  code: number;
  text: string;
}

let counter = 0;
async function status(text: string | Uint8Array): Promise<Outcome> {
  const file = path.join(dir, `p${counter++ % 8}.yaml`);
  fs.writeFileSync(file, text);
  const lines: string[] = [];
  const io = { out: (s: string) => lines.push(s), err: (s: string) => lines.push(s), color: false };
  let code: number;
  try {
    code = await main(["status", file, "--cache-dir", cacheDir], io, testRegistry);
  } catch (err) {
    throw new Error(
      `main threw on this input:\n${String(text)}\n---\n${(err as Error).stack ?? String(err)}`,
    );
  }
  return { code, text: lines.join("\n") };
}

/** Exit codes and diagnostic codes seen, so the suite can show the fuzzing reached validation. */
const seen = new Map<string, number>();
const tally = (k: string) => seen.set(k, (seen.get(k) ?? 0) + 1);

/** The properties every outcome must have. */
function check(input: string | Uint8Array, o: Outcome): void {
  tally(`exit ${o.code}`);
  for (const m of o.text.matchAll(/ (?:error|warning) (QV_[A-Z0-9_]+):/g)) tally(m[1]!);
  const show = () =>
    `input:\n${typeof input === "string" ? input : Buffer.from(input).toString("latin1")}\n--- output:\n${o.text}`;
  assert.ok([0, 1, 2].includes(o.code), `exit code ${o.code}\n${show()}`);
  assert.doesNotMatch(o.text, STACK_FRAME, show());
  assert.doesNotMatch(
    o.text,
    /internal error|QV_STAGE_BUG|bug in Quiver|TypeError|ReferenceError|RangeError/,
    show(),
  );
  for (const line of o.text.split("\n")) {
    // A rendered diagnostic: `file:line:col error CODE: ...`; an unlocated one starts with the severity.
    if (/^(error|warning) QV_/.test(line) || /^QV_[A-Z_]+: /.test(line))
      assert.fail(`diagnostic without a position: ${line}\n${show()}`);
    const m = /^(\S+):(\d+):(\d+) (error|warning) QV_[A-Z0-9_]+: /.exec(line);
    if (m) assert.ok(Number(m[2]) >= 1 && Number(m[3]) >= 1, `bad position in ${line}`);
  }
  if (o.code === 2)
    assert.match(o.text, /:\d+:\d+ error QV_/, `exit 2 must come with a located error\n${show()}`);
}

/** Characters that matter to YAML, plus some that matter to Quiver (`${`, `.`) and to no one. */
const YAML_CHARS = [..." \n\t:-{}[],#&*!|>'\"%@`?$.\\0123456789abcdefxyz_\u00e9\u2028\ufeff\u0000"];

type Edit =
  | { op: "delete"; at: number; len: number }
  | { op: "insert"; at: number; text: string }
  | { op: "replace"; at: number; text: string }
  | { op: "dupline"; at: number }
  | { op: "indent"; at: number; by: number };

const edit: fc.Arbitrary<Edit> = fc.oneof(
  fc.record({ op: fc.constant("delete" as const), at: fc.nat(), len: fc.integer({ min: 1, max: 12 }) }),
  fc.record({
    op: fc.constant("insert" as const),
    at: fc.nat(),
    text: fc.string({ unit: fc.constantFrom(...YAML_CHARS), minLength: 1, maxLength: 6 }),
  }),
  fc.record({
    op: fc.constant("replace" as const),
    at: fc.nat(),
    text: fc.string({ unit: fc.constantFrom(...YAML_CHARS), minLength: 1, maxLength: 3 }),
  }),
  fc.record({ op: fc.constant("dupline" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("indent" as const), at: fc.nat(), by: fc.integer({ min: -4, max: 4 }) }),
);

function applyEdit(text: string, e: Edit): string {
  const at = text.length ? e.at % text.length : 0;
  switch (e.op) {
    case "delete":
      return text.slice(0, at) + text.slice(at + e.len);
    case "insert":
      return text.slice(0, at) + e.text + text.slice(at);
    case "replace":
      return text.slice(0, at) + e.text + text.slice(at + e.text.length);
    case "dupline": {
      const lines = text.split("\n");
      const i = e.at % lines.length;
      lines.splice(i, 0, lines[i]!);
      return lines.join("\n");
    }
    case "indent": {
      const lines = text.split("\n");
      const i = e.at % lines.length;
      lines[i] =
        e.by >= 0 ? " ".repeat(e.by) + lines[i]! : lines[i]!.replace(new RegExp(`^ {0,${-e.by}}`), "");
      return lines.join("\n");
    }
    default: {
      const never: never = e;
      throw new Error(`unknown edit ${JSON.stringify(never)}`);
    }
  }
}

const TYPES = [...testRegistry.keys(), "trian", "Source", "", "shell", "eval", "__proto__", "constructor"];
/** Names that are members of every object: they must stay data wherever a user may choose a name. */
const PROTO_NAMES = ["__proto__", "constructor", "toString", "valueOf", "hasOwnProperty", "isPrototypeOf"];
const STAGE_IDS = ["src", "a", "b", "c", "plus", "1bad", "x.y", ...PROTO_NAMES];
const PORTS = [
  "table",
  "train",
  "test",
  "model",
  "metrics",
  "first",
  "second",
  "fit",
  "apply",
  "tabel",
  ...PROTO_NAMES,
];

const jsonish: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constantFrom(
      null,
      true,
      false,
      0,
      -1,
      1e300,
      0.5,
      "",
      "${amount}",
      "${nope}",
      "${constructor}",
      "${__proto__}",
      "x > 1 &&",
      "data/numbers.txt",
      "../../etc/passwd",
      "/etc/passwd",
    ),
    fc.double(),
    fc.string({ maxLength: 8 }),
    fc.array(tie("value"), { maxLength: 3 }),
    fc.dictionary(
      fc.constantFrom(
        "values",
        "amount",
        "max",
        "file",
        "scale",
        "sleep_ms",
        "cuts",
        "where",
        "x",
        ...PROTO_NAMES,
      ),
      tie("value"),
      { maxKeys: 3 },
    ),
  ),
})).value;

const stageArb = fc.record(
  {
    type: fc.constantFrom(...TYPES),
    inputs: fc.dictionary(
      fc.constantFrom(...PORTS),
      fc.oneof(
        fc.constantFrom(...STAGE_IDS),
        fc.tuple(fc.constantFrom(...STAGE_IDS), fc.constantFrom(...PORTS)).map(([s, p]) => `${s}.${p}`),
        jsonish,
      ),
      { maxKeys: 3 },
    ),
    with: fc.oneof(fc.dictionary(fc.string({ maxLength: 6 }), jsonish, { maxKeys: 3 }), jsonish),
    seed: fc.oneof(fc.integer(), fc.double(), fc.string({ maxLength: 3 })),
    description: fc.string({ maxLength: 10 }),
  },
  { requiredKeys: ["type"] },
);

const pipelineArb = fc.record(
  {
    quiver: fc.oneof(fc.constant(1), jsonish),
    name: fc.oneof(fc.constantFrom("p", "demo", "a/b", "", "__proto__"), fc.string({ maxLength: 6 })),
    seed: fc.oneof(fc.integer(), jsonish),
    params: fc.oneof(
      fc.dictionary(fc.constantFrom("amount", "events", "x", ...PROTO_NAMES), jsonish, { maxKeys: 3 }),
      jsonish,
    ),
    data_roots: fc.oneof(
      fc.array(fc.constantFrom("data", "..", "/", "missing", ""), { maxLength: 2 }),
      jsonish,
    ),
    stages: fc.oneof(
      fc.dictionary(fc.constantFrom(...STAGE_IDS), stageArb, { minKeys: 1, maxKeys: 5 }),
      jsonish,
    ),
    extra: jsonish,
  },
  { requiredKeys: ["stages"] },
);

describe("pipeline fuzzing (quiver status)", () => {
  after(() => {
    const line = [...seen]
      .sort((a, b) => b[1] - a[1])
      .map(([k, n]) => `${k} ×${n}`)
      .join(", ");
    process.stdout.write(`# outcomes: ${line}\n`);
    assert.ok((seen.get("exit 0") ?? 0) > 0 && (seen.get("exit 2") ?? 0) > 0, line);
  });

  test("the seed pipelines themselves satisfy the properties", async () => {
    for (const s of SEEDS) check(s, await status(s));
  });

  test(`random text (${RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ unit: fc.constantFrom(...YAML_CHARS), maxLength: 120 }),
          fc.string({ unit: "binary", maxLength: 80 }),
        ),
        async (text) => check(text, await status(text)),
      ),
      { numRuns: RUNS },
    );
  });

  test(`byte edits of real pipelines (${RUNS * 2} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: SEEDS.length - 1 }),
        fc.array(edit, { minLength: 1, maxLength: 4 }),
        async (i, edits) => {
          const text = edits.reduce(applyEdit, SEEDS[i]!);
          check(text, await status(text));
        },
      ),
      { numRuns: RUNS * 2 },
    );
  });

  test(`raw byte corruption of real pipelines (${RUNS} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: SEEDS.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        async (i, pokes) => {
          const bytes = Buffer.from(SEEDS[i]!, "utf8");
          for (const [at, v] of pokes) bytes[at % bytes.length] = v;
          check(bytes, await status(bytes));
        },
      ),
      { numRuns: RUNS },
    );
  });

  test(`structurally valid, semantically wrong pipelines (${RUNS * 2} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(pipelineArb, async (doc) => {
        const text = toYaml(doc);
        check(text, await status(text));
      }),
      { numRuns: RUNS * 2 },
    );
  });
});
