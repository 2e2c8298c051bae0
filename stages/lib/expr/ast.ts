/**
 * The syntax tree of the cut/define expression language. Every node keeps its source span
 * (`start`, `end`: offsets into the expression text, end exclusive) so errors found later, by the
 * type checker against a table's columns, can still point inside the YAML string.
 *
 * The tree is data only: nothing here (or anywhere in the language) is evaluated as JavaScript.
 */

export type ArithOp = "+" | "-" | "*" | "/" | "%" | "^";
export type CompareOp = "<" | "<=" | ">" | ">=" | "==" | "!=";
export type LogicOp = "&&" | "||";
export type BinaryOp = ArithOp | CompareOp | LogicOp;

interface Span {
  readonly start: number;
  readonly end: number;
}

export type Expr =
  | (Span & { readonly kind: "number"; readonly value: number })
  | (Span & { readonly kind: "string"; readonly value: string })
  | (Span & { readonly kind: "boolean"; readonly value: boolean })
  /** A column, or a named constant (`pi`, `e`, `inf`) when no column has that name. */
  | (Span & { readonly kind: "ident"; readonly name: string })
  | (Span & { readonly kind: "unary"; readonly op: "-" | "!"; readonly operand: Expr })
  | (Span & { readonly kind: "binary"; readonly op: BinaryOp; readonly left: Expr; readonly right: Expr })
  | (Span & { readonly kind: "call"; readonly fn: string; readonly args: readonly Expr[] })
  | (Span & {
      readonly kind: "in";
      readonly operand: Expr;
      /** Literal members only (numbers or strings), so membership is a table lookup. */
      readonly items: readonly (number | string)[];
      readonly negated: boolean;
    });

/**
 * A problem with an expression: a stable code and the span of the offending text. Parse, type
 * and lookup errors all use this one type, so callers (the stages' `check` and `run`) turn it into
 * a ParamProblem or StageError pointing at `offset`/`length` inside the parameter's string.
 */
export class ExprError extends Error {
  readonly code: string;
  readonly offset: number;
  readonly length: number;
  readonly hint: string | undefined;
  constructor(code: string, message: string, offset: number, length: number, hint?: string) {
    super(message);
    this.name = "ExprError";
    this.code = code;
    this.offset = offset;
    this.length = Math.max(1, length);
    this.hint = hint;
  }
}

/** Limits that keep parsing and every later recursive pass bounded, whatever the input. */
export const MAX_EXPRESSION_LENGTH = 10_000;
export const MAX_NESTING = 200;

/** Names of columns referenced by an expression, in order of first appearance. */
export function referencedNames(e: Expr): string[] {
  const seen = new Set<string>();
  const walk = (n: Expr): void => {
    switch (n.kind) {
      case "number":
      case "string":
      case "boolean":
        return;
      case "ident":
        seen.add(n.name);
        return;
      case "unary":
        return walk(n.operand);
      case "binary":
        walk(n.left);
        return walk(n.right);
      case "call":
        for (const a of n.args) walk(a);
        return;
      case "in":
        return walk(n.operand);
    }
  };
  walk(e);
  return [...seen];
}
