/**
 * The canonical text of an expression: one spelling per tree. `pt>20`, `(pt > 20)` and `pt  >  20`
 * all print as `pt > 20`; `and`/`or`/`not`/`**` print as `&&`/`||`/`!`/`^`; numbers in their
 * shortest round-trip form (`1e-3` and `0.001` both print `0.001`); only needed parentheses.
 * This text, not the user's, goes into a stage's fingerprint, so reformatting a cut is a cache hit.
 */
import type { Expr } from "./ast.js";
import { IDENTIFIER, KEYWORDS } from "./lexer.js";

/** Binding strength of each node's printed form (higher binds tighter). */
function precedence(e: Expr): number {
  switch (e.kind) {
    case "number":
      // A negative literal (only built by code, never parsed) prints with its sign, like unary minus.
      return e.value < 0 ? 7 : 9;
    case "string":
    case "boolean":
    case "ident":
    case "call":
      return 9;
    case "unary":
      return e.op === "!" ? 3 : 7;
    case "in":
      return 4;
    case "binary":
      switch (e.op) {
        case "||":
          return 1;
        case "&&":
          return 2;
        case "<":
        case "<=":
        case ">":
        case ">=":
        case "==":
        case "!=":
          return 4;
        case "+":
        case "-":
          return 5;
        case "*":
        case "/":
        case "%":
          return 6;
        case "^":
          return 8;
      }
  }
}

function formatNumber(v: number): string {
  return String(v);
}

export function formatName(name: string): string {
  if (IDENTIFIER.test(name) && !KEYWORDS.has(name)) return name;
  return "`" + name.replaceAll("`", "``") + "`";
}

function formatItem(v: number | string): string {
  return typeof v === "number" ? formatNumber(v) : JSON.stringify(v);
}

export function printExpression(e: Expr): string {
  const wrap = (child: Expr, needs: boolean) =>
    needs ? `(${printExpression(child)})` : printExpression(child);
  switch (e.kind) {
    case "number":
      return formatNumber(e.value);
    case "string":
      return JSON.stringify(e.value);
    case "boolean":
      return e.value ? "true" : "false";
    case "ident":
      return formatName(e.name);
    case "call":
      return `${e.fn}(${e.args.map(printExpression).join(", ")})`;
    case "unary": {
      // `!x > 3` already means `!(x > 3)`; the parentheses are printed for the reader.
      if (e.op === "!")
        return "!" + wrap(e.operand, precedence(e.operand) < 7 && precedence(e.operand) !== 3);
      return "-" + wrap(e.operand, precedence(e.operand) < 7);
    }
    case "in":
      return `${wrap(e.operand, precedence(e.operand) <= 4)} ${e.negated ? "not in" : "in"} [${e.items.map(formatItem).join(", ")}]`;
    case "binary": {
      const p = precedence(e);
      if (p === 8) {
        // Right-associative; the exponent is read at unary level, so `2 ^ -x` needs no parentheses.
        return `${wrap(e.left, precedence(e.left) <= 8)} ^ ${wrap(e.right, precedence(e.right) < 7)}`;
      }
      if (p === 4)
        return `${wrap(e.left, precedence(e.left) <= 4)} ${e.op} ${wrap(e.right, precedence(e.right) <= 4)}`;
      return `${wrap(e.left, precedence(e.left) < p)} ${e.op} ${wrap(e.right, precedence(e.right) <= p)}`;
    }
  }
}
