/**
 * The safe expression language used by `select` and `define`: parse, print canonically, check,
 * compile and evaluate over a table's columns. Nothing is ever evaluated as JavaScript.
 * See docs/expressions.md for the language.
 */
import { type Expr, ExprError } from "./ast.js";
import { parseExpression } from "./parser.js";
import { printExpression } from "./print.js";
import { typecheck } from "./typecheck.js";
import type { ParamProblem } from "../../../core/stage.js";
import { StageError } from "../../../core/stage.js";
import type { ParamPath } from "../../../core/schema.js";

export { type Expr, ExprError, MAX_EXPRESSION_LENGTH, MAX_NESTING, referencedNames } from "./ast.js";
export { parseExpression, tryParseExpression } from "./parser.js";
export { printExpression, formatName } from "./print.js";
export { typecheck, type TypeEnvironment } from "./typecheck.js";
export { compileExpression, evaluateExpression, tableEnvironment, CHUNK } from "./evaluate.js";
export type { CompiledExpression, Evaluated } from "./evaluate.js";
export { FUNCTIONS, CONSTANTS } from "./functions.js";

/** The canonical text of an expression, or the text itself when it does not parse. */
export function canonicalText(src: string): string {
  try {
    return printExpression(parseExpression(src));
  } catch (err) {
    if (err instanceof ExprError) return src;
    throw err;
  }
}

/**
 * Every problem findable without data: syntax, unknown functions, arity, limits, and type errors
 * that do not depend on column types (`abs("a")`, `x && 3` where x is unknown is fine).
 */
export function staticProblems(src: string): { expr?: Expr; errors: ExprError[] } {
  let expr: Expr;
  try {
    expr = parseExpression(src);
  } catch (err) {
    if (err instanceof ExprError) return { errors: [err] };
    throw err;
  }
  const { errors } = typecheck(expr, { columnType: () => "any", columnNames: () => [] });
  return { expr, errors: [...errors] };
}

export function toParamProblem(err: ExprError, path: ParamPath): ParamProblem {
  return {
    path,
    code: err.code,
    message: err.message,
    offset: err.offset,
    length: err.length,
    ...(err.hint !== undefined ? { hint: err.hint } : {}),
  };
}

export function toStageError(err: ExprError, path: ParamPath): StageError {
  return new StageError(err.code, err.message, {
    param: path,
    offset: err.offset,
    length: err.length,
    ...(err.hint !== undefined ? { hint: err.hint } : {}),
  });
}
