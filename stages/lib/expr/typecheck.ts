/**
 * Types of an expression's nodes against a table's columns: number, boolean or string.
 *
 * The rules are strict on purpose: a boolean is not a number (`where(c, 1, 0)` converts), a
 * number is not a condition (`n != 0`), and strings exist only to compare a dictionary column
 * with a literal (`sample == "DM_300"`, `sample in ["WZ", "ZZ"]`) or with another such column.
 * A name is a column first, then a constant (`pi`, `e`, `inf`): a column called `e` wins.
 *
 * With `columnType` returning "any" for every name (no table yet), the same pass finds the
 * errors that need no data, such as `abs("x")` or `a && 3`.
 */
import { type Expr, ExprError } from "./ast.js";
import { CONSTANTS, FUNCTIONS, type ValueType } from "./functions.js";
import { IDENTIFIER } from "./lexer.js";
import { printExpression } from "./print.js";
import { didYouMean } from "../../../core/diagnostics.js";

export type InferredType = ValueType | "any";

export interface TypeEnvironment {
  /** The type of a column, "any" when not known yet, undefined when there is no such column. */
  columnType(name: string): InferredType | undefined;
  /** Names offered in did-you-mean hints. */
  columnNames(): Iterable<string>;
}

export interface TypeCheckResult {
  readonly types: ReadonlyMap<Expr, InferredType>;
  /** Identifier nodes that name a constant rather than a column. */
  readonly constants: ReadonlySet<Expr>;
  readonly errors: readonly ExprError[];
}

const article = (t: InferredType) =>
  t === "any" ? "a value" : t === "number" ? "a number" : t === "boolean" ? "a condition" : "text";

function quoteSource(e: Expr): string {
  const s = printExpression(e);
  return s.length > 40 ? s.slice(0, 37) + "..." : s;
}

export function typecheck(root: Expr, env: TypeEnvironment): TypeCheckResult {
  const types = new Map<Expr, InferredType>();
  const constants = new Set<Expr>();
  const errors: ExprError[] = [];

  const fail = (e: Expr, code: string, message: string, hint?: string): InferredType => {
    errors.push(new ExprError(code, message, e.start, e.end - e.start, hint));
    return "any";
  };

  /** Checks that `e` (already typed `t`) is `want`; reports at `e` and returns false if not. */
  const need = (e: Expr, t: InferredType, want: ValueType, context: string): boolean => {
    if (t === "any" || t === want) return true;
    let hint: string | undefined;
    if (want === "boolean" && t === "number") hint = `write a comparison, e.g. ${quoteSource(e)} != 0`;
    else if (want === "number" && t === "boolean")
      hint = `where(${quoteSource(e)}, 1, 0) turns a condition into a number`;
    else if (t === "string") hint = "text columns can only be compared with == != or in";
    fail(
      e,
      "QV_EXPR_TYPE",
      `${context} needs ${article(want)}, but ${quoteSource(e)} is ${article(t)}`,
      hint,
    );
    return false;
  };

  const visit = (e: Expr): InferredType => {
    const t = infer(e);
    types.set(e, t);
    return t;
  };

  const infer = (e: Expr): InferredType => {
    switch (e.kind) {
      case "number":
        return "number";
      case "string":
        return "string";
      case "boolean":
        return "boolean";
      case "ident": {
        const t = env.columnType(e.name);
        if (t !== undefined) return t;
        if (CONSTANTS.has(e.name)) {
          constants.add(e);
          return "number";
        }
        return fail(
          e,
          "QV_EXPR_UNKNOWN_COLUMN",
          `unknown column "${e.name}"`,
          unknownColumnHint(e.name, env),
        );
      }
      case "unary": {
        const t = visit(e.operand);
        if (e.op === "-") return need(e.operand, t, "number", 'unary "-"') ? "number" : "any";
        return need(e.operand, t, "boolean", '"!"') ? "boolean" : "any";
      }
      case "in": {
        const t = visit(e.operand);
        const itemType: ValueType | undefined =
          e.items.length === 0 ? undefined : typeof e.items[0] === "number" ? "number" : "string";
        if (itemType !== undefined && e.items.some((v) => typeof v !== itemType))
          return fail(
            e,
            "QV_EXPR_TYPE",
            "a list mixes numbers and strings",
            "use one kind of value per list",
          );
        if (t === "boolean") {
          fail(
            e.operand,
            "QV_EXPR_TYPE",
            `"in" needs a number or a text column, but ${quoteSource(e.operand)} is a condition`,
          );
          return "boolean";
        }
        if (itemType !== undefined && t !== "any" && t !== itemType)
          fail(
            e,
            "QV_EXPR_TYPE",
            `${quoteSource(e.operand)} is ${article(t)} but the list holds ${itemType === "number" ? "numbers" : "strings"}`,
          );
        return "boolean";
      }
      case "binary": {
        const l = visit(e.left);
        const r = visit(e.right);
        switch (e.op) {
          case "+":
          case "-":
          case "*":
          case "/":
          case "%":
          case "^": {
            const ok = need(e.left, l, "number", `"${e.op}"`) && need(e.right, r, "number", `"${e.op}"`);
            return ok ? "number" : "any";
          }
          case "<":
          case "<=":
          case ">":
          case ">=":
            need(e.left, l, "number", `"${e.op}"`);
            need(e.right, r, "number", `"${e.op}"`);
            return "boolean";
          case "==":
          case "!=":
            if (l !== "any" && r !== "any" && l !== r)
              fail(
                e,
                "QV_EXPR_TYPE",
                `"${e.op}" compares ${article(l)} with ${article(r)}`,
                l === "string" || r === "string"
                  ? "a text column compares only with a string or another text column"
                  : undefined,
              );
            return "boolean";
          case "&&":
          case "||":
            need(e.left, l, "boolean", `"${e.op}"`);
            need(e.right, r, "boolean", `"${e.op}"`);
            return "boolean";
        }
        break;
      }
      case "call": {
        const argTypes = e.args.map(visit);
        if (e.fn === "where") {
          const [c, a, b] = e.args as [Expr, Expr, Expr];
          const [tc, ta, tb] = argTypes as [InferredType, InferredType, InferredType];
          need(c, tc, "boolean", "the first argument of where()");
          for (const [arg, t] of [
            [a, ta],
            [b, tb],
          ] as const)
            if (t === "string")
              fail(arg, "QV_EXPR_TYPE", "where() chooses between numbers or conditions, not text");
          if (ta !== "any" && tb !== "any" && ta !== tb && ta !== "string" && tb !== "string")
            return fail(
              e,
              "QV_EXPR_TYPE",
              `where() chooses between ${article(ta)} and ${article(tb)}; both must be of one type`,
              "where(c, 1, 0) turns a condition into a number",
            );
          return ta === "any" ? tb : ta;
        }
        const ok = e.args.every((arg, i) => need(arg, argTypes[i]!, "number", `${e.fn}()`));
        if (e.fn === "isnan") return "boolean";
        if (!FUNCTIONS.has(e.fn)) return fail(e, "QV_EXPR_UNKNOWN_FUNCTION", `unknown function "${e.fn}"`);
        return ok ? "number" : "any";
      }
    }
  };

  visit(root);
  return { types, constants, errors };
}

const LOOKALIKES: ReadonlyMap<string, string> = new Map([
  ["True", 'write "true"'],
  ["False", 'write "false"'],
  ["AND", 'write "&&" or "and"'],
  ["OR", 'write "||" or "or"'],
  ["NOT", 'write "!" or "not"'],
  ["nan", "to test for a missing value write isnan(x); comparisons with NaN are always false"],
  ["NaN", "to test for a missing value write isnan(x); comparisons with NaN are always false"],
]);

function unknownColumnHint(name: string, env: TypeEnvironment): string | undefined {
  const columns = [...env.columnNames()];
  // `Z+jets` reads as Z + jets: suggest the backquoted column whose name contains this part.
  const quoted = columns.find((c) => !IDENTIFIER.test(c) && c.split(/[^A-Za-z0-9_]+/).includes(name));
  if (quoted !== undefined)
    return `column names that are not plain identifiers go in backquotes: \`${quoted}\``;
  const near = didYouMean(name, columns);
  if (near !== undefined) return `did you mean "${near}"?`;
  if (FUNCTIONS.has(name)) return `${name} is a function: write ${name}(x)`;
  const look = LOOKALIKES.get(name);
  if (look !== undefined) return look;
  return columns.length > 0 && columns.length <= 12 ? `columns: ${columns.join(", ")}` : undefined;
}
