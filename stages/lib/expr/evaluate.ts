/**
 * Columnar evaluation. A checked tree is compiled once into a tree of closures; evaluation then
 * runs over blocks of CHUNK rows, each node producing a whole block (Float64Array for numbers,
 * Uint8Array 0/1 for conditions) with one tight loop per node: the tree is walked once per block,
 * never once per row. Temporaries come from a small pool and are reused in place, so memory is
 * O(tree depth × CHUNK) whatever the table size, and blocks stay in cache.
 *
 * Constant subtrees are folded at compile time. Evaluation cannot loop or recurse beyond the
 * parser's bounded depth: it always terminates in O(nodes × rows).
 */
import type { CompareOp, Expr } from "./ast.js";
import { ExprError } from "./ast.js";
import { CONSTANTS, type ValueType } from "./functions.js";
import * as k from "./kernels.js";
import { type TypeEnvironment, typecheck } from "./typecheck.js";
import type { Column, Table } from "../../../core/table.js";

export const CHUNK = 4096;

type Block = { readonly a: Float64Array | Uint8Array; readonly temp: boolean };

class Pool {
  private readonly f64: Float64Array[] = [];
  private readonly u8: Uint8Array[] = [];
  takeF64(): Float64Array {
    return this.f64.pop() ?? new Float64Array(CHUNK);
  }
  takeU8(): Uint8Array {
    return this.u8.pop() ?? new Uint8Array(CHUNK);
  }
  give(b: Block): void {
    if (!b.temp) return;
    if (b.a instanceof Float64Array) this.f64.push(b.a);
    else this.u8.push(b.a);
  }
}

/** A compiled node. String nodes are never evaluated block-wise; their parents read `str`. */
interface Node {
  readonly type: ValueType;
  /** Set when the subtree is constant (folded). */
  readonly constant?: number | boolean | string;
  /** For string nodes that are dictionary columns. */
  readonly dict?: Extract<Column, { type: "dict" }>;
  block(start: number, n: number, dest?: Float64Array | Uint8Array): Block;
}

export interface CompiledExpression {
  readonly type: ValueType;
  /** Columns of the table the expression reads (constants excluded), in order of appearance. */
  readonly columns: readonly string[];
  /**
   * The value on rows [start, start + n), n <= CHUNK; valid until the next call. With `dest` the
   * result is written there when possible: check whether the returned array is `dest`.
   */
  block(start: number, n: number, dest?: Float64Array | Uint8Array): Float64Array | Uint8Array;
  /** A string-typed expression is a bare dictionary column or a literal: returned as is. */
  readonly stringValue?: { column: Column } | { constant: string };
}

export type Evaluated =
  | { readonly type: "number"; readonly values: Float64Array }
  | { readonly type: "boolean"; readonly mask: Uint8Array }
  | { readonly type: "string"; readonly column: Column };

export function tableEnvironment(t: Table): TypeEnvironment {
  return {
    columnType: (name) => {
      const c = t.columns.get(name);
      return c === undefined ? undefined : c.type === "dict" ? "string" : "number";
    },
    columnNames: () => t.columns.keys(),
  };
}

/** Type-checks `e` against the table and compiles it; throws the first ExprError found. */
export function compileExpression(e: Expr, t: Table): CompiledExpression {
  const checked = typecheck(e, tableEnvironment(t));
  const first = checked.errors[0];
  if (first) throw first;
  const pool = new Pool();
  const columns: string[] = [];
  const typeOf = (x: Expr): ValueType => {
    const ty = checked.types.get(x);
    // "any" only arises without a table; with one, every node has a concrete type or an error.
    if (ty === undefined || ty === "any") throw new Error("internal: untyped node after type check");
    return ty;
  };

  const filledF64 = (v: number): Node => {
    const buf = new Float64Array(CHUNK).fill(v);
    return { type: "number", constant: v, block: () => ({ a: buf, temp: false }) };
  };
  const filledU8 = (v: boolean): Node => {
    const buf = new Uint8Array(CHUNK).fill(v ? 1 : 0);
    return { type: "boolean", constant: v, block: () => ({ a: buf, temp: false }) };
  };
  /** Evaluates a node whose inputs are all constant once, and keeps the value. */
  const fold = (node: Node, inputs: readonly Node[]): Node => {
    if (!inputs.every((i) => i.constant !== undefined)) return node;
    const b = node.block(0, 1);
    const v = b.a[0]!;
    pool.give(b);
    return node.type === "number" ? filledF64(v) : filledU8(v !== 0);
  };

  // `dest`, when given, receives the result directly (the root writing into the output column).
  const numeric = (op: (out: Float64Array, n: number, ins: Block[]) => void, ins: Node[]): Node =>
    fold(
      {
        type: "number",
        block: (s, n, dest) => {
          const bs = ins.map((i) => i.block(s, n));
          const reuse = dest ? undefined : bs.find((b) => b.temp && b.a instanceof Float64Array);
          const out =
            (dest as Float64Array | undefined) ?? (reuse?.a as Float64Array | undefined) ?? pool.takeF64();
          op(out, n, bs);
          for (const b of bs) if (b !== reuse) pool.give(b);
          return { a: out, temp: dest === undefined };
        },
      },
      ins,
    );
  const condition = (op: (out: Uint8Array, n: number, ins: Block[]) => void, ins: Node[]): Node =>
    fold(
      {
        type: "boolean",
        block: (s, n, dest) => {
          const bs = ins.map((i) => i.block(s, n));
          const reuse = dest ? undefined : bs.find((b) => b.temp && b.a instanceof Uint8Array);
          const out =
            (dest as Uint8Array | undefined) ?? (reuse?.a as Uint8Array | undefined) ?? pool.takeU8();
          op(out, n, bs);
          for (const b of bs) if (b !== reuse) pool.give(b);
          return { a: out, temp: dest === undefined };
        },
      },
      ins,
    );
  const f = (b: Block | undefined) => b!.a as Float64Array;
  const u = (b: Block | undefined) => b!.a as Uint8Array;

  const column = (name: string, c: Column): Node => {
    if (!columns.includes(name)) columns.push(name);
    switch (c.type) {
      case "float64":
        return { type: "number", block: (s, n) => ({ a: c.values.subarray(s, s + n), temp: false }) };
      case "int32":
        return {
          type: "number",
          block: (s, n) => {
            const out = pool.takeF64();
            for (let i = 0; i < n; i++) out[i] = c.values[s + i]!;
            return { a: out, temp: true };
          },
        };
      case "dict":
        return { type: "string", dict: c, block: unreachableBlock };
    }
  };

  const stringEquality = (op: "==" | "!=", l: Node, r: Node): Node => {
    const miss = op === "==" ? 0 : 1;
    if (l.constant !== undefined && r.constant !== undefined)
      return filledU8((l.constant === r.constant) !== (op === "!="));
    if (l.dict && r.dict) {
      // Different dictionaries: translate the left codes into the right dictionary once.
      const ld = l.dict;
      const rd = r.dict;
      const index = new Map(rd.dictionary.map((s, i) => [s, i]));
      const translate = Int32Array.from(ld.dictionary, (s) => index.get(s) ?? -2);
      return {
        type: "boolean",
        block: (s, n) => {
          const out = pool.takeU8();
          for (let i = 0; i < n; i++) {
            const a = ld.codes[s + i]!;
            const equal = a >= 0 && translate[a] === rd.codes[s + i];
            out[i] = equal !== (op === "!=") ? 1 : 0;
          }
          return { a: out, temp: true };
        },
      };
    }
    const d = (l.dict ?? r.dict)!;
    const lit = String(l.dict ? r.constant : l.constant);
    const lut = Uint8Array.from(d.dictionary, (s) => ((s === lit) !== (op === "!=") ? 1 : 0));
    return codeLookup(d, lut, miss);
  };
  const codeLookup = (d: Extract<Column, { type: "dict" }>, lut: Uint8Array, missing: number): Node => ({
    type: "boolean",
    block: (s, n) => {
      const out = pool.takeU8();
      k.lookupCodes(out, d.codes.subarray(s, s + n), lut, missing, n);
      return { a: out, temp: true };
    },
  });

  const build = (x: Expr): Node => {
    switch (x.kind) {
      case "number":
        return filledF64(x.value);
      case "boolean":
        return filledU8(x.value);
      case "string":
        return { type: "string", constant: x.value, block: unreachableBlock };
      case "ident": {
        if (checked.constants.has(x)) return filledF64(CONSTANTS.get(x.name)!);
        return column(x.name, t.columns.get(x.name)!);
      }
      case "unary": {
        const o = build(x.operand);
        return x.op === "-"
          ? numeric((out, n, [a]) => k.negate(out, f(a), n), [o])
          : condition((out, n, [a]) => k.not(out, u(a), n), [o]);
      }
      case "in": {
        const o = build(x.operand);
        if (o.type === "string") {
          const miss = x.negated ? 1 : 0;
          if (o.constant !== undefined) return filledU8(x.items.includes(o.constant as string) !== x.negated);
          const members = new Set(x.items);
          const lut = Uint8Array.from(o.dict!.dictionary, (s) => (members.has(s) !== x.negated ? 1 : 0));
          return codeLookup(o.dict!, lut, miss);
        }
        const items = x.items.filter((v): v is number => typeof v === "number");
        return condition((out, n, [a]) => k.memberOf(out, f(a), items, x.negated, n), [o]);
      }
      case "binary": {
        const l = build(x.left);
        const r = build(x.right);
        switch (x.op) {
          case "+":
          case "-":
          case "*":
          case "/":
          case "%":
          case "^": {
            const op = x.op;
            const c = r.constant;
            if (typeof c === "number" && l.constant === undefined)
              return numeric((out, n, [a]) => k.arithScalar(op, out, f(a), c, n), [l]);
            return numeric((out, n, [a, b]) => k.arith(op, out, f(a), f(b), n), [l, r]);
          }
          case "&&":
          case "||": {
            const op = x.op;
            return condition((out, n, [a, b]) => k.logic(op, out, u(a), u(b), n), [l, r]);
          }
          case "<":
          case "<=":
          case ">":
          case ">=":
          case "==":
          case "!=": {
            const op: CompareOp = x.op;
            if (l.type === "string") return stringEquality(op as "==" | "!=", l, r);
            if (l.type === "boolean")
              return condition(
                (out, n, [a, b]) => k.compareMasks(op as "==" | "!=", out, u(a), u(b), n),
                [l, r],
              );
            const c = r.constant;
            if (typeof c === "number" && l.constant === undefined)
              return condition((out, n, [a]) => k.compareScalar(op, out, f(a), c, n), [l]);
            return condition((out, n, [a, b]) => k.compare(op, out, f(a), f(b), n), [l, r]);
          }
        }
        break;
      }
      case "call": {
        const args = x.args.map(build);
        const fn = x.fn;
        if (k.isUnaryFn(fn)) return numeric((out, n, [a]) => k.unaryFn(fn, out, f(a), n), args);
        switch (fn) {
          case "pow":
            return numeric((out, n, [a, b]) => k.arith("^", out, f(a), f(b), n), args);
          case "min":
          case "max":
            return args.length === 2
              ? numeric((out, n, [a, b]) => k.minMax(fn, out, f(a), f(b), n), args)
              : numeric((out, n, bs) => k.minMaxMany(fn, out, bs.map(f), n), args);
          case "clip":
            return numeric((out, n, [a, lo, hi]) => k.clip(out, f(a), f(lo), f(hi), n), args);
          case "isnan":
            return condition((out, n, [a]) => k.isNan(out, f(a), n), args);
          case "where":
            return typeOf(x) === "number"
              ? numeric((out, n, [c, a, b]) => k.whereF64(out, u(c), f(a), f(b), n), args)
              : condition((out, n, [c, a, b]) => k.whereU8(out, u(c), u(a), u(b), n), args);
        }
        throw new ExprError("QV_EXPR_UNKNOWN_FUNCTION", `unknown function "${fn}"`, x.start, x.end - x.start);
      }
    }
    throw new Error("internal: unhandled node");
  };

  const root = build(e);
  const type = root.type;
  const stringValue =
    type === "string"
      ? root.dict
        ? { column: root.dict as Column }
        : { constant: String(root.constant) }
      : undefined;
  let last: Block | undefined;
  return {
    type,
    columns,
    ...(stringValue ? { stringValue } : {}),
    block(start, n, dest) {
      if (last) pool.give(last);
      last = root.block(start, n, dest);
      return last.a;
    },
  };
}

function unreachableBlock(): Block {
  throw new Error("internal: a string node has no block value");
}

/** Evaluates over all rows of `t` into new arrays. */
export function evaluateExpression(c: CompiledExpression, numRows: number): Evaluated {
  if (c.type === "string") {
    const sv = c.stringValue!;
    if ("column" in sv) return { type: "string", column: sv.column };
    return {
      type: "string",
      column: { type: "dict", codes: new Int32Array(numRows), dictionary: [sv.constant] },
    };
  }
  const out = c.type === "number" ? new Float64Array(numRows) : new Uint8Array(numRows);
  for (let s = 0; s < numRows; s += CHUNK) {
    const n = Math.min(CHUNK, numRows - s);
    const dest = out.subarray(s, s + n);
    const b = c.block(s, n, dest);
    if (b === dest) continue;
    if (out instanceof Float64Array) out.set((b as Float64Array).subarray(0, n), s);
    else out.set((b as Uint8Array).subarray(0, n), s);
  }
  return out instanceof Float64Array ? { type: "number", values: out } : { type: "boolean", mask: out };
}
