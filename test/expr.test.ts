import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  ExprError,
  MAX_EXPRESSION_LENGTH,
  MAX_NESTING,
  canonicalText,
  compileExpression,
  evaluateExpression,
  parseExpression,
  printExpression,
  staticProblems,
  type Evaluated,
} from "../stages/lib/expr/index.js";
import { makeTable, type Column, type Table } from "../core/table.js";

const f64 = (...v: number[]): Column => ({ type: "float64", values: Float64Array.from(v) });
const i32 = (...v: number[]): Column => ({ type: "int32", values: Int32Array.from(v) });
const dict = (dictionary: string[], ...codes: number[]): Column => ({
  type: "dict",
  codes: Int32Array.from(codes),
  dictionary,
});

const table = makeTable([
  ["pt", f64(10, 25, NaN, 30, 0.5)],
  ["eta", f64(-1.5, 0.2, 1, -0.3, 2)],
  ["n", i32(1, 2, 3, 4, -5)],
  ["sample", dict(["DM_300", "ZZ", "WZ"], 0, 1, -1, 0, 2)],
  ["other", dict(["ZZ", "DM_300"], 1, 0, 0, -1, 1)],
]);

function run(src: string, t: Table = table): Evaluated {
  return evaluateExpression(compileExpression(parseExpression(src), t), t.numRows);
}
function nums(src: string, t: Table = table): number[] {
  const r = run(src, t);
  assert.equal(r.type, "number", `${src} should be a number`);
  return [...(r as { values: Float64Array }).values];
}
function bools(src: string, t: Table = table): number[] {
  const r = run(src, t);
  assert.equal(r.type, "boolean", `${src} should be a condition`);
  return [...(r as { mask: Uint8Array }).mask];
}
function error(f: () => unknown): ExprError {
  try {
    f();
  } catch (err) {
    if (err instanceof ExprError) return err;
    throw err;
  }
  assert.fail("expected an ExprError");
}

void describe("parser and canonical printer", () => {
  void test("spacing and redundant parentheses do not change the canonical form", () => {
    const forms = ["pt>20", "pt > 20", "(pt > 20)", "  ((pt)) >(20) ", "pt > 2e1", "pt > 20.0", "pt > +20"];
    for (const f of forms) assert.equal(canonicalText(f), "pt > 20", f);
  });

  void test("word operators print as symbols", () => {
    assert.equal(canonicalText("a > 1 and not b < 2 or c == 3"), "a > 1 && !(b < 2) || c == 3");
    assert.equal(canonicalText("x ** 2"), "x ^ 2");
  });

  void test("numbers print in shortest round-trip form", () => {
    assert.equal(canonicalText("x > 0.001"), canonicalText("x > 1e-3"));
    assert.equal(canonicalText("x > 1E+21"), "x > 1e+21");
    assert.equal(canonicalText("x * .5"), "x * 0.5");
  });

  void test("precedence", () => {
    const cases: [string, string][] = [
      ["a + b * c", "a + b * c"],
      ["(a + b) * c", "(a + b) * c"],
      ["a - (b - c)", "a - (b - c)"],
      ["a - b - c", "a - b - c"],
      ["-x ^ 2", "-x ^ 2"],
      ["(-x) ^ 2", "(-x) ^ 2"],
      ["a ^ b ^ c", "a ^ b ^ c"],
      ["(a ^ b) ^ c", "(a ^ b) ^ c"],
      ["2 ^ -x", "2 ^ -x"],
      ["a || b && c", "a || b && c"],
      ["(a || b) && c", "(a || b) && c"],
      ["!a && b", "!a && b"],
      ["!(a && b)", "!(a && b)"],
      ["a + b in [1, 2]", "a + b in [1, 2]"],
      ["a not in [-1, 'x']", 'a not in [-1, "x"]'],
    ];
    for (const [src, want] of cases) assert.equal(canonicalText(src), want, src);
    // The tree, not just the text: -x^2 is -(x^2) as in Python, and ^ is right-associative.
    const e = parseExpression("-x ^ 2");
    assert.equal(e.kind, "unary");
    const p = parseExpression("a ^ b ^ c");
    assert.ok(p.kind === "binary" && p.right.kind === "binary");
    // `!` binds looser than comparisons: `!x > 3` is `!(x > 3)`.
    const n = parseExpression("!x > 3");
    assert.ok(n.kind === "unary" && n.operand.kind === "binary" && n.operand.op === ">");
  });

  void test("backquoted names, keywords and escapes round-trip", () => {
    assert.equal(canonicalText("`Z+jets` > 0"), "`Z+jets` > 0");
    assert.equal(canonicalText("`pt` > 0"), "pt > 0");
    assert.equal(canonicalText("`in` + `a``b`"), "`in` + `a``b`");
    assert.equal(canonicalText("s == 'it\\'s'"), 's == "it\'s"');
    for (const src of ["`Z+jets` > 0", "`in` + `a``b`", 's == "a\\"b\\\\c\\n"', "x in []"]) {
      const p1 = printExpression(parseExpression(src));
      assert.equal(printExpression(parseExpression(p1)), p1);
    }
  });

  void test("source spans point into the text", () => {
    const e = parseExpression("abs(eta) < 1.3 && pt > 0.5");
    assert.ok(e.kind === "binary");
    assert.deepEqual([e.start, e.end], [0, 26]);
    assert.deepEqual([e.right.start, e.right.end], [18, 26]);
  });

  void test("syntax errors carry codes and offsets", () => {
    const cases: [string, string, number, number][] = [
      ["pt >", "QV_EXPR_SYNTAX", 4, 1],
      ["pt = 3", "QV_EXPR_SYNTAX", 3, 1],
      ["a < b < c", "QV_EXPR_SYNTAX", 6, 1],
      ["jet.pt > 3", "QV_EXPR_SYNTAX", 3, 1],
      ["x > 2y", "QV_EXPR_SYNTAX", 5, 1],
      ["'open", "QV_EXPR_SYNTAX", 0, 5],
      ["`open", "QV_EXPR_SYNTAX", 0, 5],
      ["abs(x, y)", "QV_EXPR_ARITY", 0, 9],
      ["min(x)", "QV_EXPR_ARITY", 0, 6],
      ["x + sqr(y)", "QV_EXPR_UNKNOWN_FUNCTION", 4, 3],
      ["x > 1e999", "QV_EXPR_NUMBER", 4, 5],
      ["x in (1, 2)", "QV_EXPR_SYNTAX", 5, 1],
      ["x in [y]", "QV_EXPR_SYNTAX", 6, 1],
      ["(x > 1", "QV_EXPR_SYNTAX", 6, 1],
      ["x > 1)", "QV_EXPR_SYNTAX", 5, 1],
    ];
    for (const [src, code, offset, length] of cases) {
      const e = error(() => parseExpression(src));
      assert.deepEqual([e.code, e.offset, e.length], [code, offset, length], src);
    }
    assert.equal(error(() => parseExpression("x + sqr(y)")).hint, 'did you mean "sqrt"?');
  });

  void test("length and nesting are bounded", () => {
    const long = "x + ".repeat(MAX_EXPRESSION_LENGTH / 4) + "x";
    assert.equal(error(() => parseExpression(long)).code, "QV_EXPR_TOO_LONG");
    const deep = "(".repeat(MAX_NESTING + 1) + "x" + ")".repeat(MAX_NESTING + 1);
    assert.equal(error(() => parseExpression(deep)).code, "QV_EXPR_TOO_DEEP");
    assert.equal(error(() => parseExpression("-".repeat(5000) + "x")).code, "QV_EXPR_TOO_DEEP");
    assert.equal(error(() => parseExpression("x" + "^x".repeat(3000))).code, "QV_EXPR_TOO_DEEP");
    assert.equal(error(() => parseExpression("x" + "+x".repeat(3000))).code, "QV_EXPR_TOO_DEEP");
    assert.equal(
      error(() => parseExpression("abs(".repeat(1000) + "x" + ")".repeat(1000))).code,
      "QV_EXPR_TOO_DEEP",
    );
    // Just inside the limits parses fine.
    parseExpression("(".repeat(MAX_NESTING - 1) + "x" + ")".repeat(MAX_NESTING - 1));
    parseExpression("x" + "+x".repeat(MAX_NESTING - 2));
  });

  void test("static check finds type errors that need no data", () => {
    const { errors } = staticProblems('abs("x") > 1 && (y && 3)');
    assert.deepEqual(
      errors.map((e) => [e.code, e.offset, e.length]),
      [
        ["QV_EXPR_TYPE", 4, 3],
        ["QV_EXPR_TYPE", 22, 1],
      ],
    );
    assert.deepEqual(staticProblems("a > b && sample == 'x'").errors, []);
  });
});

void describe("evaluation", () => {
  void test("arithmetic and comparisons over columns", () => {
    assert.deepEqual(nums("pt * 2 + n"), [21, 52, NaN, 64, -4]);
    assert.deepEqual(bools("pt > 20"), [0, 1, 0, 1, 0]);
    assert.deepEqual(bools("pt >= 25 || n < 0"), [0, 1, 0, 1, 1]);
    assert.deepEqual(nums("-n ^ 2"), [-1, -4, -9, -16, -25]);
    assert.deepEqual(nums("2 ^ 3 ^ 2 + 0 * n"), [512, 512, 512, 512, 512]);
    assert.deepEqual(nums("n / 2"), [0.5, 1, 1.5, 2, -2.5]);
  });

  void test("% is floored modulo, as numpy", () => {
    assert.deepEqual(nums("n % 3"), [1, 2, 0, 1, 1]);
    assert.deepEqual(nums("n % -3"), [-2, -1, 0, -2, -2]);
  });

  void test("every function agrees with Math", () => {
    const xs = [-2.5, -1, -0.5, 0, 0.5, 1.5, 2.5, 3, 1e-300, 700, NaN, Infinity, -Infinity];
    const ys = xs.map((_, i) => ((i * 7) % 5) - 2);
    const t = makeTable([
      ["x", f64(...xs)],
      ["y", f64(...ys)],
    ]);
    const ref: [string, (x: number, y: number) => number][] = [
      ["abs(x)", (x) => Math.abs(x)],
      ["sqrt(x)", (x) => Math.sqrt(x)],
      ["log(x)", (x) => Math.log(x)],
      ["log10(x)", (x) => Math.log10(x)],
      ["exp(x)", (x) => Math.exp(x)],
      ["pow(x, y)", (x, y) => Math.pow(x, y)],
      ["x ^ y", (x, y) => Math.pow(x, y)],
      ["x ^ 2", (x) => Math.pow(x, 2)],
      ["x ^ 0.5", (x) => Math.pow(x, 0.5)],
      ["x / 3 - 1", (x) => x / 3 - 1],
      ["2 / x", (x) => 2 / x],
      ["min(x, y)", (x, y) => Math.min(x, y)],
      ["max(x, y, 1)", (x, y) => Math.max(x, y, 1)],
      ["floor(x)", (x) => Math.floor(x)],
      ["ceil(x)", (x) => Math.ceil(x)],
      ["sign(x)", (x) => Math.sign(x)],
      ["clip(x, -1, 2)", (x) => Math.min(Math.max(x, -1), 2)],
      ["where(x > y, x, y)", (x, y) => (x > y ? x : y)],
      ["x * pi + e", (x) => x * Math.PI + Math.E],
    ];
    for (const [src, f] of ref) {
      const want = xs.map((x, i) => f(x, ys[i]!));
      assert.deepEqual(nums(src, t), want, src);
    }
    // round is half-to-even (numpy.round, Python 3 round), not Math.round's half-up.
    assert.deepEqual(nums("round(x)", t), [-2, -1, -0, 0, 0, 2, 2, 3, 0, 700, NaN, Infinity, -Infinity]);
    assert.deepEqual(
      bools("isnan(x)", t),
      xs.map((x) => (Number.isNaN(x) ? 1 : 0)),
    );
  });

  void test("membership", () => {
    assert.deepEqual(bools("n in [1, 4, -5]"), [1, 0, 0, 1, 1]);
    assert.deepEqual(bools("n not in [1, 4, -5]"), [0, 1, 1, 0, 0]);
    assert.deepEqual(bools("n in [1, 2, 3, 4, 5, 6, 7]"), [1, 1, 1, 1, 0]);
    assert.deepEqual(bools("pt in [10, 30]"), [1, 0, 0, 1, 0]);
    assert.deepEqual(bools("pt in []"), [0, 0, 0, 0, 0]);
    // The Higgs preselection shape: a sum in a set, and a charge sum of zero.
    const higgs = makeTable([
      ["l1", i32(11, -13, 11, 13)],
      ["l2", i32(-11, 13, 13, 11)],
      ["q1", i32(1, -1, 1, 1)],
      ["q2", i32(-1, 1, 1, -1)],
    ]);
    assert.deepEqual(bools("abs(l1) + abs(l2) in [22, 24, 26] && q1 + q2 == 0", higgs), [1, 1, 0, 1]);
  });

  void test("strings compare with dictionary columns through their codes", () => {
    assert.deepEqual(bools('sample == "DM_300"'), [1, 0, 0, 1, 0]);
    assert.deepEqual(bools("'DM_300' == sample"), [1, 0, 0, 1, 0]);
    assert.deepEqual(bools('sample != "DM_300"'), [0, 1, 1, 0, 1]);
    assert.deepEqual(bools('sample == "absent"'), [0, 0, 0, 0, 0]);
    assert.deepEqual(bools('sample in ["ZZ", "WZ"]'), [0, 1, 0, 0, 1]);
    assert.deepEqual(bools('sample not in ["ZZ", "WZ"]'), [1, 0, 1, 1, 0]);
    // Two dictionary columns with different dictionaries compare by string; missing equals nothing.
    assert.deepEqual(bools("sample == other"), [1, 1, 0, 0, 0]);
    assert.deepEqual(bools("sample != other"), [0, 0, 1, 1, 1]);
    const r = run("sample");
    assert.equal(r.type, "string");
  });

  void test("NaN: comparisons are false except !=, arithmetic propagates", () => {
    assert.deepEqual(bools("pt > 0 || pt <= 0")[2], 0);
    assert.deepEqual(bools("pt == pt")[2], 0);
    assert.deepEqual(bools("pt != pt")[2], 1);
    assert.deepEqual(bools("!(pt > 0)")[2], 1);
    assert.ok(Number.isNaN(nums("min(pt, 1)")[2]));
    assert.deepEqual(bools("pt in [10]")[2], 0);
  });

  void test("constants: a column wins over a constant of the same name", () => {
    assert.deepEqual(nums("e + 0 * n"), Array(5).fill(Math.E));
    const t = makeTable([["e", f64(1, 2)]]);
    assert.deepEqual(nums("e * 2", t), [2, 4]);
    assert.deepEqual(bools("inf > 1e308 && true", t), [1, 1]);
  });

  void test("evaluation covers many blocks", () => {
    const n = 10_000 + 17;
    const x = Float64Array.from({ length: n }, (_, i) => i);
    const t = makeTable([["x", { type: "float64", values: x }]]);
    const got = nums("where(x % 2 == 0, x / 2, -x)", t);
    assert.equal(got.length, n);
    for (let i = 0; i < n; i++) assert.equal(got[i], i % 2 === 0 ? i / 2 : -i);
  });

  void test("unknown columns: position and did-you-mean", () => {
    const e = error(() => run("abs(etta) < 1.3"));
    assert.deepEqual([e.code, e.offset, e.length], ["QV_EXPR_UNKNOWN_COLUMN", 4, 4]);
    assert.equal(e.hint, 'did you mean "eta"?');
    const t = makeTable([["Z+jets", f64(1)]]);
    const z = error(() => run("jets > 1", t));
    assert.match(z.hint ?? "", /`Z\+jets`/);
    assert.match(error(() => run("abs > 1")).hint ?? "", /function/);
  });

  void test("type errors point at the operand", () => {
    const cases: [string, number, number][] = [
      ["sample + 1", 0, 6],
      ["pt > 1 && n", 10, 1],
      ["sample > 'a'", 0, 6],
      ["pt == 'a'", 0, 9],
      ["where(n, 1, 0)", 6, 1],
      ["where(pt > 1, 1, pt > 2)", 0, 24],
      ["-(pt > 1)", 2, 6],
      ["n in ['a']", 0, 10],
      ["sample in [1]", 0, 13],
    ];
    for (const [src, offset, length] of cases) {
      const e = error(() => run(src));
      assert.deepEqual([e.code, e.offset, e.length], ["QV_EXPR_TYPE", offset, length], src);
    }
  });

  void test("names that look like JavaScript internals are only column names", () => {
    for (const name of [
      "constructor",
      "__proto__",
      "process",
      "this",
      "globalThis",
      "require",
      "toString",
      "hasOwnProperty",
    ]) {
      const e = error(() => run(`${name} > 0`));
      assert.equal(e.code, "QV_EXPR_UNKNOWN_COLUMN", name);
      const t = makeTable([[name, f64(1, -1)]]);
      assert.deepEqual(bools(`${name} > 0`, t), [1, 0], name);
      assert.equal(error(() => parseExpression(`${name}(1)`)).code, "QV_EXPR_UNKNOWN_FUNCTION");
    }
  });
});
