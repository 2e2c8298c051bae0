/**
 * Tokenizer for the expression language. Identifiers are ASCII `[A-Za-z_][A-Za-z0-9_]*`; any other
 * column name (`Z+jets`, `jet.pt`, `η`) is written in backquotes, with a literal backquote doubled.
 * Strings use double or single quotes with JSON-style escapes.
 */
import { ExprError } from "./ast.js";

export type TokenType = "number" | "string" | "ident" | "quoted" | "keyword" | "op" | "eof";

export interface Token {
  readonly type: TokenType;
  /** Source text for ops/keywords/idents; the decoded value for strings and quoted idents. */
  readonly text: string;
  readonly value: number;
  readonly start: number;
  readonly end: number;
}

export const KEYWORDS: ReadonlySet<string> = new Set(["and", "or", "not", "in", "true", "false"]);

/** Longest first, so `**` wins over `*` and `<=` over `<`. */
const OPERATORS = [
  "**",
  "<=",
  ">=",
  "==",
  "!=",
  "&&",
  "||",
  "+",
  "-",
  "*",
  "/",
  "%",
  "^",
  "<",
  ">",
  "!",
  "(",
  ")",
  "[",
  "]",
  ",",
];

const IDENT_START = /[A-Za-z_]/;
const IDENT_PART = /[A-Za-z0-9_]/;
const DIGIT = /[0-9]/;

export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

const ESCAPES: ReadonlyMap<string, string> = new Map([
  ['"', '"'],
  ["'", "'"],
  ["\\", "\\"],
  ["/", "/"],
  ["n", "\n"],
  ["t", "\t"],
  ["r", "\r"],
  ["b", "\b"],
  ["f", "\f"],
]);

/** Hints for characters people type out of habit from other languages. */
const STRAY_HINTS: ReadonlyMap<string, string> = new Map([
  ["=", 'use "==" to compare'],
  ["&", 'use "&&" (or "and") for a logical and'],
  ["|", 'use "||" (or "or") for a logical or'],
  [".", "a column name with a dot must be written in backquotes, e.g. `jet.pt`"],
  ["$", 'pipeline parameters are written "${name}" and are replaced before the expression is read'],
]);

export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const n = src.length;
  while (i < n) {
    const c = src[i]!;
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      i++;
      continue;
    }
    const start = i;
    if (DIGIT.test(c) || (c === "." && i + 1 < n && DIGIT.test(src[i + 1]!))) {
      i = scanNumber(src, i);
      const text = src.slice(start, i);
      const value = Number(text);
      if (!Number.isFinite(value))
        throw new ExprError("QV_EXPR_NUMBER", `number ${text} is out of range`, start, i - start);
      if (i < n && IDENT_PART.test(src[i]!)) {
        let j = i;
        while (j < n && IDENT_PART.test(src[j]!)) j++;
        throw new ExprError(
          "QV_EXPR_SYNTAX",
          `unexpected "${src.slice(i, j)}" right after the number ${text}`,
          i,
          j - i,
          "put an operator between them, e.g. 2 * x",
        );
      }
      out.push({ type: "number", text, value, start, end: i });
      continue;
    }
    if (IDENT_START.test(c)) {
      while (i < n && IDENT_PART.test(src[i]!)) i++;
      const text = src.slice(start, i);
      out.push({ type: KEYWORDS.has(text) ? "keyword" : "ident", text, value: 0, start, end: i });
      continue;
    }
    if (c === "`") {
      const [name, next] = scanQuotedName(src, i);
      out.push({ type: "quoted", text: name, value: 0, start, end: next });
      i = next;
      continue;
    }
    if (c === '"' || c === "'") {
      const [text, next] = scanString(src, i);
      out.push({ type: "string", text, value: 0, start, end: next });
      i = next;
      continue;
    }
    const op = OPERATORS.find((o) => src.startsWith(o, i));
    if (op !== undefined) {
      i += op.length;
      out.push({ type: "op", text: op, value: 0, start, end: i });
      continue;
    }
    const cp = src.codePointAt(i) ?? 0;
    const ch = String.fromCodePoint(cp);
    throw new ExprError(
      "QV_EXPR_SYNTAX",
      `unexpected character ${JSON.stringify(ch)}`,
      start,
      ch.length,
      STRAY_HINTS.get(ch) ??
        (cp > 127 ? "a column name that is not plain ASCII must be written in backquotes" : undefined),
    );
  }
  out.push({ type: "eof", text: "", value: 0, start: n, end: n });
  return out;
}

function scanNumber(src: string, i: number): number {
  const n = src.length;
  while (i < n && DIGIT.test(src[i]!)) i++;
  if (src[i] === ".") {
    i++;
    while (i < n && DIGIT.test(src[i]!)) i++;
  }
  if (src[i] === "e" || src[i] === "E") {
    let j = i + 1;
    if (src[j] === "+" || src[j] === "-") j++;
    // Only an exponent when digits follow; otherwise `2e` is a number followed by a name (an error).
    if (j < n && DIGIT.test(src[j]!)) {
      i = j;
      while (i < n && DIGIT.test(src[i]!)) i++;
    }
  }
  return i;
}

function scanQuotedName(src: string, start: number): [string, number] {
  let i = start + 1;
  let name = "";
  for (;;) {
    const close = src.indexOf("`", i);
    if (close < 0)
      throw new ExprError(
        "QV_EXPR_SYNTAX",
        "unterminated backquoted column name",
        start,
        src.length - start,
        "close it with a backquote (`)",
      );
    name += src.slice(i, close);
    if (src[close + 1] === "`") {
      name += "`";
      i = close + 2;
      continue;
    }
    i = close + 1;
    break;
  }
  if (name === "") throw new ExprError("QV_EXPR_SYNTAX", "empty column name", start, i - start);
  return [name, i];
}

function scanString(src: string, start: number): [string, number] {
  const quote = src[start]!;
  let i = start + 1;
  let out = "";
  while (i < src.length) {
    const c = src[i]!;
    if (c === quote) return [out, i + 1];
    if (c === "\\") {
      const e = src[i + 1];
      if (e === "u") {
        const hex = src.slice(i + 2, i + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex))
          throw new ExprError("QV_EXPR_SYNTAX", "bad \\u escape: expected 4 hex digits", i, 2 + hex.length);
        out += String.fromCharCode(parseInt(hex, 16));
        i += 6;
        continue;
      }
      const decoded = e === undefined ? undefined : ESCAPES.get(e);
      if (decoded === undefined)
        throw new ExprError(
          "QV_EXPR_SYNTAX",
          `unknown escape \\${e ?? ""} in a string`,
          i,
          e === undefined ? 1 : 2,
          "known escapes: \\\" \\' \\\\ \\n \\t \\r \\b \\f \\/ \\uXXXX",
        );
      out += decoded;
      i += 2;
      continue;
    }
    out += c;
    i++;
  }
  throw new ExprError(
    "QV_EXPR_SYNTAX",
    "unterminated string",
    start,
    src.length - start,
    `close it with ${quote}`,
  );
}
