/**
 * Recursive-descent parser (one function per precedence level) from tokens to the AST.
 *
 * Precedence, loosest first:
 *   `||` `or`  <  `&&` `and`  <  `!` `not`  <  comparisons and `in`  <  `+ -`  <  `* / %`
 *   <  unary `-`  <  `^` `**` (right-associative, so `-x^2` is `-(x^2)` as in Python)
 * Comparisons do not chain (`a < b < c` is an error), because C and Python disagree on its meaning.
 *
 * Bounded: input longer than MAX_EXPRESSION_LENGTH and nesting deeper than MAX_NESTING are parse
 * errors, so every later recursive pass over the tree is bounded too.
 */
import { type BinaryOp, type Expr, ExprError, MAX_EXPRESSION_LENGTH, MAX_NESTING } from "./ast.js";
import { FUNCTIONS } from "./functions.js";
import { type Token, tokenize } from "./lexer.js";
import { didYouMean } from "../../../core/diagnostics.js";

/** Parses an expression; throws ExprError (and nothing else) on bad input. */
export function parseExpression(src: string): Expr {
  if (src.length > MAX_EXPRESSION_LENGTH)
    throw new ExprError(
      "QV_EXPR_TOO_LONG",
      `expression is ${src.length} characters long; the limit is ${MAX_EXPRESSION_LENGTH}`,
      MAX_EXPRESSION_LENGTH,
      src.length - MAX_EXPRESSION_LENGTH,
      "define intermediate columns with a define stage",
    );
  const parser = new Parser(tokenize(src));
  const e = parser.expression();
  const t = parser.peek();
  if (t.type !== "eof") throw unexpected(t, "expected an operator or the end of the expression");
  return e;
}

export type ParseResult = { ok: true; expr: Expr } | { ok: false; error: ExprError };

export function tryParseExpression(src: string): ParseResult {
  try {
    return { ok: true, expr: parseExpression(src) };
  } catch (err) {
    if (err instanceof ExprError) return { ok: false, error: err };
    throw err;
  }
}

const COMPARE_OPS: ReadonlySet<string> = new Set(["<", "<=", ">", ">=", "==", "!="]);

function describeToken(t: Token): string {
  switch (t.type) {
    case "eof":
      return "end of expression";
    case "string":
      return "a string";
    case "number":
      return `the number ${t.text}`;
    case "quoted":
      return `the column \`${t.text}\``;
    case "ident":
    case "keyword":
    case "op":
      return `"${t.text}"`;
  }
}

function unexpected(t: Token, hint?: string): ExprError {
  return new ExprError("QV_EXPR_SYNTAX", `unexpected ${describeToken(t)}`, t.start, t.end - t.start, hint);
}

/** Height of the tree along with each node, to bound recursion in later passes. */
type Built = { e: Expr; h: number };

class Parser {
  private pos = 0;
  private depth = 0;

  constructor(private readonly tokens: Token[]) {}

  peek(): Token {
    return this.tokens[this.pos]!;
  }

  private next(): Token {
    const t = this.tokens[this.pos]!;
    if (t.type !== "eof") this.pos++;
    return t;
  }

  private isOp(text: string): boolean {
    const t = this.peek();
    return t.type === "op" && t.text === text;
  }

  private isKeyword(text: string): boolean {
    const t = this.peek();
    return t.type === "keyword" && t.text === text;
  }

  private expect(text: string, what: string): Token {
    const t = this.peek();
    if (t.type !== "op" || t.text !== text) throw unexpected(t, `expected ${what}`);
    return this.next();
  }

  /** Every recursive descent goes through here, so parentheses and prefixes are bounded too. */
  private nested<T>(start: number, f: () => T): T {
    if (++this.depth > MAX_NESTING)
      throw new ExprError(
        "QV_EXPR_TOO_DEEP",
        `expression is nested more than ${MAX_NESTING} levels deep`,
        start,
        1,
      );
    try {
      return f();
    } finally {
      this.depth--;
    }
  }

  private node(e: Expr, h: number): Built {
    if (h > MAX_NESTING)
      throw new ExprError(
        "QV_EXPR_TOO_DEEP",
        `expression is nested more than ${MAX_NESTING} levels deep`,
        e.start,
        e.end - e.start,
        "split it into several define columns",
      );
    return { e, h };
  }

  expression(): Expr {
    return this.or().e;
  }

  private binary(op: BinaryOp, l: Built, r: Built): Built {
    return this.node(
      { kind: "binary", op, left: l.e, right: r.e, start: l.e.start, end: r.e.end },
      1 + Math.max(l.h, r.h),
    );
  }

  private or(): Built {
    let l = this.and();
    while (this.isOp("||") || this.isKeyword("or")) {
      this.next();
      l = this.binary("||", l, this.and());
    }
    return l;
  }

  private and(): Built {
    let l = this.not();
    while (this.isOp("&&") || this.isKeyword("and")) {
      this.next();
      l = this.binary("&&", l, this.not());
    }
    return l;
  }

  private not(): Built {
    if (this.isOp("!") || this.isKeyword("not")) {
      const t = this.next();
      const operand = this.nested(t.start, () => this.not());
      return this.node(
        { kind: "unary", op: "!", operand: operand.e, start: t.start, end: operand.e.end },
        operand.h + 1,
      );
    }
    return this.comparison();
  }

  private comparison(): Built {
    const l = this.additive();
    const t = this.peek();
    let result: Built;
    if (t.type === "op" && COMPARE_OPS.has(t.text)) {
      this.next();
      result = this.binary(t.text as BinaryOp, l, this.additive());
    } else if (this.isKeyword("in")) {
      this.next();
      result = this.membership(l, false);
    } else if (
      this.isKeyword("not") &&
      this.tokens[this.pos + 1]?.type === "keyword" &&
      this.tokens[this.pos + 1]?.text === "in"
    ) {
      this.next();
      this.next();
      result = this.membership(l, true);
    } else {
      return l;
    }
    const after = this.peek();
    if ((after.type === "op" && COMPARE_OPS.has(after.text)) || this.isKeyword("in"))
      throw new ExprError(
        "QV_EXPR_SYNTAX",
        "comparisons cannot be chained",
        after.start,
        after.end - after.start,
        "write a < b && b < c",
      );
    return result;
  }

  private membership(operand: Built, negated: boolean): Built {
    this.expect("[", 'a list in brackets after "in", e.g. x in [1, 2]');
    const items: (number | string)[] = [];
    while (!this.isOp("]")) {
      if (items.length > 0) this.expect(",", 'a "," or "]" in the list');
      if (this.isOp("]")) break; // trailing comma
      items.push(this.listItem());
    }
    const close = this.next();
    return this.node(
      { kind: "in", operand: operand.e, items, negated, start: operand.e.start, end: close.end },
      operand.h + 1,
    );
  }

  private listItem(): number | string {
    const t = this.next();
    if (t.type === "string") return t.text;
    if (t.type === "number") return t.value;
    if (t.type === "op" && (t.text === "-" || t.text === "+")) {
      const num = this.next();
      if (num.type === "number") return t.text === "-" ? -num.value : num.value;
      throw unexpected(num, "list items must be numbers or strings");
    }
    throw unexpected(t, "list items must be numbers or strings");
  }

  private additive(): Built {
    let l = this.multiplicative();
    while (this.isOp("+") || this.isOp("-")) {
      const op = this.next().text as BinaryOp;
      l = this.binary(op, l, this.multiplicative());
    }
    return l;
  }

  private multiplicative(): Built {
    let l = this.unary();
    while (this.isOp("*") || this.isOp("/") || this.isOp("%")) {
      const op = this.next().text as BinaryOp;
      l = this.binary(op, l, this.unary());
    }
    return l;
  }

  private unary(): Built {
    if (this.isOp("-") || this.isOp("+")) {
      const t = this.next();
      const operand = this.nested(t.start, () => this.unary());
      // Unary plus does nothing, so it leaves no trace in the tree (or the fingerprint).
      if (t.text === "+") return operand;
      return this.node(
        { kind: "unary", op: "-", operand: operand.e, start: t.start, end: operand.e.end },
        operand.h + 1,
      );
    }
    return this.power();
  }

  private power(): Built {
    const base = this.primary();
    if (this.isOp("^") || this.isOp("**")) {
      const t = this.next();
      const exponent = this.nested(t.start, () => this.unary());
      return this.binary("^", base, exponent);
    }
    return base;
  }

  private primary(): Built {
    const t = this.next();
    switch (t.type) {
      case "number":
        return { e: { kind: "number", value: t.value, start: t.start, end: t.end }, h: 1 };
      case "string":
        return { e: { kind: "string", value: t.text, start: t.start, end: t.end }, h: 1 };
      case "quoted":
        return { e: { kind: "ident", name: t.text, start: t.start, end: t.end }, h: 1 };
      case "ident":
        if (this.isOp("(")) return this.call(t);
        return { e: { kind: "ident", name: t.text, start: t.start, end: t.end }, h: 1 };
      case "keyword":
        if (t.text === "true" || t.text === "false")
          return { e: { kind: "boolean", value: t.text === "true", start: t.start, end: t.end }, h: 1 };
        throw unexpected(
          t,
          t.text === "in"
            ? 'write "x in [1, 2]"'
            : `"${t.text}" is a keyword; a column with that name must be written in backquotes`,
        );
      case "op":
        if (t.text === "(") {
          const inner = this.nested(t.start, () => this.or());
          this.expect(")", 'a closing ")"');
          return inner;
        }
        throw unexpected(t, t.text === "[" ? 'a list may only follow "in"' : "expected a value");
      case "eof":
        throw unexpected(t, "the expression is incomplete");
    }
  }

  private call(name: Token): Built {
    const sig = FUNCTIONS.get(name.text);
    if (sig === undefined) {
      const near = didYouMean(name.text, FUNCTIONS.keys());
      throw new ExprError(
        "QV_EXPR_UNKNOWN_FUNCTION",
        `unknown function "${name.text}"`,
        name.start,
        name.end - name.start,
        near ? `did you mean "${near}"?` : `functions: ${[...FUNCTIONS.keys()].join(", ")}`,
      );
    }
    this.next(); // "("
    const args: Built[] = [];
    while (!this.isOp(")")) {
      if (args.length > 0) this.expect(",", 'a "," or ")" after a function argument');
      args.push(this.nested(name.start, () => this.or()));
    }
    const close = this.next();
    const end = close.end;
    if (args.length < sig.minArgs || args.length > sig.maxArgs) {
      const want =
        sig.maxArgs === Infinity
          ? `at least ${sig.minArgs}`
          : sig.minArgs === sig.maxArgs
            ? String(sig.minArgs)
            : `${sig.minArgs} to ${sig.maxArgs}`;
      throw new ExprError(
        "QV_EXPR_ARITY",
        `${name.text}() takes ${want} argument${want === "1" ? "" : "s"}, got ${args.length}`,
        name.start,
        end - name.start,
        sig.description,
      );
    }
    return this.node(
      { kind: "call", fn: name.text, args: args.map((a) => a.e), start: name.start, end },
      1 + Math.max(0, ...args.map((a) => a.h)),
    );
  }
}
