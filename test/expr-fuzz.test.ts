/**
 * Fuzzing of the expression language: whatever the input, parsing either succeeds or throws an
 * ExprError, the canonical form is a fixed point, evaluation terminates, and nothing reaches
 * JavaScript (prototype names are only column names).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  type Expr,
  ExprError,
  FUNCTIONS,
  MAX_EXPRESSION_LENGTH,
  compileExpression,
  evaluateExpression,
  parseExpression,
  printExpression,
} from "../stages/lib/expr/index.js";
import { makeTable, type Column } from "../core/table.js";

const NAMES = ["pt", "eta", "n", "sample", "e", "Z+jets", "a`b", "in", "constructor", "__proto__", "process"];

const table = makeTable(
  NAMES.map((name, j): [string, Column] => {
    if (name === "sample")
      return [name, { type: "dict", codes: Int32Array.from([0, 1, -1, 0, 1, 0, 1]), dictionary: ["x", "y"] }];
    if (name === "n") return [name, { type: "int32", values: Int32Array.from([0, 1, 2, -3, 4, 5, -6]) }];
    return [name, { type: "float64", values: Float64Array.from([0, -1.5, NaN, 2, 1e300, -0, j]) }];
  }),
);

function attempt<T>(f: () => T): T | ExprError {
  try {
    return f();
  } catch (err) {
    if (err instanceof ExprError) return err;
    throw err; // anything else fails the property
  }
}

/** Parses, prints, reparses; compiles and evaluates when possible. Throws on any non-ExprError. */
function exercise(src: string): void {
  const e = attempt(() => parseExpression(src));
  if (e instanceof ExprError) {
    assert.ok(e.offset >= 0 && e.offset <= src.length, `offset ${e.offset} inside ${src.length}`);
    return;
  }
  const printed = printExpression(e);
  assert.equal(
    printExpression(parseExpression(printed)),
    printed,
    `canonical form of ${JSON.stringify(src)} is stable`,
  );
  const compiled = attempt(() => compileExpression(e, table));
  if (compiled instanceof ExprError) return;
  const r = evaluateExpression(compiled, table.numRows);
  const length = r.type === "number" ? r.values.length : r.type === "boolean" ? r.mask.length : table.numRows;
  assert.equal(length, table.numRows);
}

const TOKENS = [
  ..."+-*/%^<>!=(),[]`'\".&|$ \n\t0123456789eE",
  "**",
  "&&",
  "||",
  "==",
  "!=",
  "<=",
  ">=",
  " and ",
  " or ",
  " not ",
  " in ",
  "true",
  "false",
  "pi",
  "1e308",
  "1e-320",
  ...NAMES,
  ...FUNCTIONS.keys(),
  "`Z+jets`",
  "'x'",
  '"y"',
];

const spanless = { start: 0, end: 0 };

const nameArb = fc.constantFrom(...NAMES);
const numberArb = fc.double({ min: 0, max: 1e300, noNaN: true }).map((v) => (v === 0 ? 0 : v));

const exprArb: fc.Arbitrary<Expr> = fc.letrec<{ expr: Expr }>((tie) => ({
  expr: fc.oneof(
    { depthSize: "small", maxDepth: 6 },
    numberArb.map((value): Expr => ({ kind: "number", value, ...spanless })),
    fc.string({ maxLength: 6 }).map((value): Expr => ({ kind: "string", value, ...spanless })),
    fc.boolean().map((value): Expr => ({ kind: "boolean", value, ...spanless })),
    nameArb.map((name): Expr => ({ kind: "ident", name, ...spanless })),
    fc
      .tuple(fc.constantFrom("-" as const, "!" as const), tie("expr"))
      .map(([op, operand]): Expr => ({ kind: "unary", op, operand, ...spanless })),
    fc
      .tuple(
        fc.constantFrom(
          ...(["+", "-", "*", "/", "%", "^", "<", "<=", ">", ">=", "==", "!=", "&&", "||"] as const),
        ),
        tie("expr"),
        tie("expr"),
      )
      .map(([op, left, right]): Expr => ({ kind: "binary", op, left, right, ...spanless })),
    fc
      .tuple(fc.constantFrom(...FUNCTIONS.entries()), fc.array(tie("expr"), { minLength: 1, maxLength: 4 }))
      .map(([[fn, sig], args]): Expr => {
        const want = Math.max(sig.minArgs, Math.min(args.length, sig.maxArgs));
        const padded = Array.from({ length: want }, (_, i) => args[i % args.length]!);
        return { kind: "call", fn, args: padded, ...spanless };
      }),
    fc
      .tuple(
        tie("expr"),
        fc.oneof(
          fc.array(fc.integer({ min: -5, max: 60 }), { maxLength: 5 }),
          fc.array(fc.string({ maxLength: 3 }), { maxLength: 3 }),
        ),
        fc.boolean(),
      )
      .map(([operand, items, negated]): Expr => ({ kind: "in", operand, items, negated, ...spanless })),
  ),
})).expr;

type Scalar = number | boolean | string | null;

/**
 * An independent, row-at-a-time interpreter of the documented semantics, to check the columnar
 * evaluator against. Deliberately naive: a tree walk per row.
 */
function reference(e: Expr, row: number): Scalar {
  const num = (x: Expr) => reference(x, row) as number;
  const bool = (x: Expr) => reference(x, row) as boolean;
  switch (e.kind) {
    case "number":
    case "string":
    case "boolean":
      return e.value;
    case "ident": {
      const c = table.columns.get(e.name);
      if (c === undefined) return e.name === "pi" ? Math.PI : e.name === "e" ? Math.E : Infinity;
      if (c.type === "dict") return c.codes[row]! < 0 ? null : c.dictionary[c.codes[row]!]!;
      return c.values[row]!;
    }
    case "unary":
      return e.op === "-" ? -num(e.operand) : !bool(e.operand);
    case "in": {
      const v = reference(e.operand, row);
      const hit =
        v !== null && !(typeof v === "number" && Number.isNaN(v)) && e.items.includes(v as number | string);
      return hit !== e.negated;
    }
    case "binary": {
      const a = reference(e.left, row);
      const b = reference(e.right, row);
      switch (e.op) {
        case "+":
          return (a as number) + (b as number);
        case "-":
          return (a as number) - (b as number);
        case "*":
          return (a as number) * (b as number);
        case "/":
          return (a as number) / (b as number);
        case "%": {
          const r = (a as number) % (b as number);
          return r !== 0 && r < 0 !== (b as number) < 0 ? r + (b as number) : r;
        }
        case "^":
          return Math.pow(a as number, b as number);
        case "<":
          return (a as number) < (b as number);
        case "<=":
          return (a as number) <= (b as number);
        case ">":
          return (a as number) > (b as number);
        case ">=":
          return (a as number) >= (b as number);
        case "==":
          return a !== null && b !== null && a === b;
        case "!=":
          return !(a !== null && b !== null && a === b);
        case "&&":
          return (a as boolean) && b;
        case "||":
          return a || b;
      }
      break;
    }
    case "call": {
      const v = e.args.map((x) => reference(x, row));
      const x = v[0] as number;
      switch (e.fn) {
        case "abs":
          return Math.abs(x);
        case "sqrt":
          return Math.sqrt(x);
        case "log":
          return Math.log(x);
        case "log10":
          return Math.log10(x);
        case "exp":
          return Math.exp(x);
        case "floor":
          return Math.floor(x);
        case "ceil":
          return Math.ceil(x);
        case "sign":
          return Math.sign(x);
        case "round": {
          if (!Number.isFinite(x)) return x;
          const f = Math.floor(x);
          const d = x - f;
          return d < 0.5 ? f : d > 0.5 ? f + 1 : f % 2 === 0 ? f : f + 1;
        }
        case "pow":
          return Math.pow(x, v[1] as number);
        case "min":
          return Math.min(...(v as number[]));
        case "max":
          return Math.max(...(v as number[]));
        case "clip":
          return Math.min(Math.max(x, v[1] as number), v[2] as number);
        case "isnan":
          return Number.isNaN(x);
        case "where":
          return v[0] ? v[1]! : v[2]!;
      }
    }
  }
  throw new Error(`reference: unhandled ${e.kind}`);
}

function same(got: Scalar, want: Scalar): boolean {
  if (typeof got === "number" && typeof want === "number") {
    if (Number.isNaN(got) || Number.isNaN(want)) return Number.isNaN(got) && Number.isNaN(want);
    // x ^ 2 is computed as x * x; Math.pow may differ in the last bit.
    return got === want || Math.abs(got - want) <= 4 * Number.EPSILON * Math.abs(want);
  }
  return got === want;
}

/** Columnar evaluation agrees with the row-by-row reference on every row. */
function agreesWithReference(e: Expr): void {
  const compiled = attempt(() => compileExpression(e, table));
  if (compiled instanceof ExprError) return;
  const r = evaluateExpression(compiled, table.numRows);
  for (let row = 0; row < table.numRows; row++) {
    const got: Scalar =
      r.type === "number"
        ? r.values[row]!
        : r.type === "boolean"
          ? r.mask[row] === 1
          : r.column.type === "dict"
            ? r.column.codes[row]! < 0
              ? null
              : r.column.dictionary[r.column.codes[row]!]!
            : null;
    const want = reference(e, row);
    assert.ok(
      same(got, want),
      `${printExpression(e)} at row ${row}: got ${String(got)}, want ${String(want)}`,
    );
  }
}

/** The tree without source spans, to compare structure. */
function shape(e: Expr): unknown {
  return JSON.parse(JSON.stringify(e, (k, v: unknown) => (k === "start" || k === "end" ? undefined : v)));
}

void describe("expression fuzzing", () => {
  void test("random text: only ExprError, stable canonical form, terminating evaluation", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (s) => exercise(s)),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...TOKENS), { maxLength: 30 }), (parts) =>
        exercise(parts.join("")),
      ),
      { numRuns: 3000 },
    );
  });

  void test("random trees print to text that parses back to the same tree", () => {
    fc.assert(
      fc.property(exprArb, (e) => {
        const text = printExpression(e);
        const back = parseExpression(text);
        assert.deepEqual(shape(back), shape(e), text);
        assert.equal(printExpression(back), text);
        exercise(text);
      }),
      { numRuns: 1500 },
    );
  });

  void test("columnar evaluation agrees with a row-by-row reference interpreter", () => {
    // Trees that type-check are rare among random ones; bias towards numbers and conditions.
    fc.assert(
      fc.property(exprArb, (e) => agreesWithReference(e)),
      { numRuns: 4000 },
    );
    for (const src of [
      "min(pt, eta, n, e) + max(n, pt, 1)",
      "where(pt > 0, min(e, eta, pt), max(eta, n, pt, 3))",
      "round(pt * 2.5) + clip(eta, -1, 1) % 0.7",
      "n ^ 2 - pow(n, 2) + sign(pt) * floor(eta) - ceil(-n)",
      "isnan(pt) || pt in [0, 2] || sample == 'x' && !(n not in [1, -3])",
      "sample != 'y' && (sample in ['x'] || -pt ^ 2 >= -4)",
    ])
      agreesWithReference(parseExpression(src));
  });

  void test("the largest accepted expression evaluates in bounded time and memory", () => {
    const group = "(" + Array.from({ length: 100 }, () => "pt").join(" + ") + ")";
    let src = group;
    while (src.length + group.length + 3 <= MAX_EXPRESSION_LENGTH) src += " - " + group;
    const rows = 50_000;
    const t = makeTable([
      ["pt", { type: "float64", values: Float64Array.from({ length: rows }, (_, i) => i) }],
    ]);
    const t0 = performance.now();
    const r = evaluateExpression(compileExpression(parseExpression(src), t), rows);
    assert.ok(performance.now() - t0 < 20_000);
    assert.equal(r.type, "number");
    const groups = (src.match(/\(/g) ?? []).length;
    assert.equal((r as { values: Float64Array }).values[3], 100 * 3 * (2 - groups));
  });

  void test("attempts to escape the language do nothing but report errors", () => {
    const attacks = [
      "constructor",
      "constructor.constructor('return process')()",
      'this.constructor.constructor("return process")().exit()',
      "__proto__.polluted = 1",
      "__proto__ == 1",
      "process.exit(1)",
      "process",
      "require('child_process').execSync('touch pwned')",
      "globalThis",
      "this",
      "${process.exit()}",
      "`${process.exit()}`",
      "eval('1')",
      "Function('return 1')()",
      "toString()",
      "valueOf() > 1",
      "[].constructor",
      "x => x",
      "(function(){ while(true){} })()",
      "abs(" + "(".repeat(5000),
      "x" + " + x".repeat(3000),
      "'".repeat(9999),
      "a".repeat(20_000),
    ];
    const nobody = makeTable([["pt", { type: "float64", values: Float64Array.from([1, 2]) }]]);
    for (const src of attacks) {
      const parsed = attempt(() => parseExpression(src));
      if (parsed instanceof ExprError) continue;
      const compiled = attempt(() => compileExpression(parsed, nobody));
      assert.ok(
        compiled instanceof ExprError,
        `${src} must not compile against a table without such columns`,
      );
      assert.ok(
        ["QV_EXPR_UNKNOWN_COLUMN", "QV_EXPR_TYPE"].includes(compiled.code),
        `${src}: ${compiled.code}`,
      );
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    fc.assert(
      fc.property(
        fc.array(
          fc.constantFrom(...TOKENS, "constructor", "__proto__", "prototype", ".", "=", "()", "this"),
          { maxLength: 25 },
        ),
        (parts) => exercise(parts.join(" ")),
      ),
      { numRuns: 1000 },
    );
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal(Object.getPrototypeOf({}), Object.prototype);
  });
});
