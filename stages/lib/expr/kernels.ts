/**
 * Elementwise loops over one chunk of rows. One loop per operation, chosen by a switch outside
 * the loop, so each loop body is a single monomorphic operation the JIT can compile tightly.
 * Output may alias an input (in-place reuse of temporaries): every loop reads index i before
 * writing index i.
 */
import type { ArithOp, CompareOp } from "./ast.js";
import { floorMod, roundHalfEven } from "./functions.js";

export type F64 = Float64Array;
export type U8 = Uint8Array;

export function arith(op: ArithOp, out: F64, x: F64, y: F64, n: number): void {
  switch (op) {
    case "+":
      for (let i = 0; i < n; i++) out[i] = x[i]! + y[i]!;
      return;
    case "-":
      for (let i = 0; i < n; i++) out[i] = x[i]! - y[i]!;
      return;
    case "*":
      for (let i = 0; i < n; i++) out[i] = x[i]! * y[i]!;
      return;
    case "/":
      for (let i = 0; i < n; i++) out[i] = x[i]! / y[i]!;
      return;
    case "%":
      for (let i = 0; i < n; i++) out[i] = floorMod(x[i]!, y[i]!);
      return;
    case "^":
      for (let i = 0; i < n; i++) out[i] = Math.pow(x[i]!, y[i]!);
      return;
  }
}

/** `x op c` for a constant c: the common shape of cuts (`pt > 20`) and shifts (`x - 0.5`). */
export function arithScalar(op: ArithOp, out: F64, x: F64, c: number, n: number): void {
  switch (op) {
    case "+":
      for (let i = 0; i < n; i++) out[i] = x[i]! + c;
      return;
    case "-":
      for (let i = 0; i < n; i++) out[i] = x[i]! - c;
      return;
    case "*":
      for (let i = 0; i < n; i++) out[i] = x[i]! * c;
      return;
    case "/":
      for (let i = 0; i < n; i++) out[i] = x[i]! / c;
      return;
    case "%":
      for (let i = 0; i < n; i++) out[i] = floorMod(x[i]!, c);
      return;
    case "^":
      // pow(x, 2) is exactly x * x (one correctly rounded product), and much cheaper.
      if (c === 2) for (let i = 0; i < n; i++) out[i] = x[i]! * x[i]!;
      else for (let i = 0; i < n; i++) out[i] = Math.pow(x[i]!, c);
      return;
  }
}

export function compareScalar(op: CompareOp, out: U8, x: F64, c: number, n: number): void {
  switch (op) {
    case "<":
      for (let i = 0; i < n; i++) out[i] = x[i]! < c ? 1 : 0;
      return;
    case "<=":
      for (let i = 0; i < n; i++) out[i] = x[i]! <= c ? 1 : 0;
      return;
    case ">":
      for (let i = 0; i < n; i++) out[i] = x[i]! > c ? 1 : 0;
      return;
    case ">=":
      for (let i = 0; i < n; i++) out[i] = x[i]! >= c ? 1 : 0;
      return;
    case "==":
      for (let i = 0; i < n; i++) out[i] = x[i]! === c ? 1 : 0;
      return;
    case "!=":
      for (let i = 0; i < n; i++) out[i] = x[i]! !== c ? 1 : 0;
      return;
  }
}

/** IEEE semantics: every comparison with NaN is false except `!=`, which is true (as numpy). */
export function compare(op: CompareOp, out: U8, x: F64, y: F64, n: number): void {
  switch (op) {
    case "<":
      for (let i = 0; i < n; i++) out[i] = x[i]! < y[i]! ? 1 : 0;
      return;
    case "<=":
      for (let i = 0; i < n; i++) out[i] = x[i]! <= y[i]! ? 1 : 0;
      return;
    case ">":
      for (let i = 0; i < n; i++) out[i] = x[i]! > y[i]! ? 1 : 0;
      return;
    case ">=":
      for (let i = 0; i < n; i++) out[i] = x[i]! >= y[i]! ? 1 : 0;
      return;
    case "==":
      for (let i = 0; i < n; i++) out[i] = x[i]! === y[i]! ? 1 : 0;
      return;
    case "!=":
      for (let i = 0; i < n; i++) out[i] = x[i]! !== y[i]! ? 1 : 0;
      return;
  }
}

export function compareMasks(op: "==" | "!=", out: U8, x: U8, y: U8, n: number): void {
  if (op === "==") for (let i = 0; i < n; i++) out[i] = x[i] === y[i] ? 1 : 0;
  else for (let i = 0; i < n; i++) out[i] = x[i] !== y[i] ? 1 : 0;
}

export function logic(op: "&&" | "||", out: U8, x: U8, y: U8, n: number): void {
  if (op === "&&") for (let i = 0; i < n; i++) out[i] = x[i]! & y[i]!;
  else for (let i = 0; i < n; i++) out[i] = x[i]! | y[i]!;
}

export function not(out: U8, x: U8, n: number): void {
  for (let i = 0; i < n; i++) out[i] = x[i]! ^ 1;
}

export function negate(out: F64, x: F64, n: number): void {
  for (let i = 0; i < n; i++) out[i] = -x[i]!;
}

export type UnaryFn = "abs" | "sqrt" | "log" | "log10" | "exp" | "floor" | "ceil" | "round" | "sign";

export function isUnaryFn(name: string): name is UnaryFn {
  return UNARY_FNS.has(name);
}
const UNARY_FNS: ReadonlySet<string> = new Set([
  "abs",
  "sqrt",
  "log",
  "log10",
  "exp",
  "floor",
  "ceil",
  "round",
  "sign",
]);

export function unaryFn(fn: UnaryFn, out: F64, x: F64, n: number): void {
  switch (fn) {
    case "abs":
      for (let i = 0; i < n; i++) out[i] = Math.abs(x[i]!);
      return;
    case "sqrt":
      for (let i = 0; i < n; i++) out[i] = Math.sqrt(x[i]!);
      return;
    case "log":
      for (let i = 0; i < n; i++) out[i] = Math.log(x[i]!);
      return;
    case "log10":
      for (let i = 0; i < n; i++) out[i] = Math.log10(x[i]!);
      return;
    case "exp":
      for (let i = 0; i < n; i++) out[i] = Math.exp(x[i]!);
      return;
    case "floor":
      for (let i = 0; i < n; i++) out[i] = Math.floor(x[i]!);
      return;
    case "ceil":
      for (let i = 0; i < n; i++) out[i] = Math.ceil(x[i]!);
      return;
    case "round":
      for (let i = 0; i < n; i++) out[i] = roundHalfEven(x[i]!);
      return;
    case "sign":
      for (let i = 0; i < n; i++) out[i] = Math.sign(x[i]!);
      return;
  }
}

/** min/max propagate NaN, as numpy.minimum/maximum (Math.min/max already do). */
export function minMax(fn: "min" | "max", out: F64, x: F64, y: F64, n: number): void {
  if (fn === "min") for (let i = 0; i < n; i++) out[i] = Math.min(x[i]!, y[i]!);
  else for (let i = 0; i < n; i++) out[i] = Math.max(x[i]!, y[i]!);
}

/** Three or more arguments: row by row, so `out` may alias any input. */
export function minMaxMany(fn: "min" | "max", out: F64, xs: readonly F64[], n: number): void {
  const first = xs[0]!;
  for (let i = 0; i < n; i++) {
    let m = first[i]!;
    for (let j = 1; j < xs.length; j++) m = fn === "min" ? Math.min(m, xs[j]![i]!) : Math.max(m, xs[j]![i]!);
    out[i] = m;
  }
}

export function clip(out: F64, x: F64, lo: F64, hi: F64, n: number): void {
  for (let i = 0; i < n; i++) out[i] = Math.min(Math.max(x[i]!, lo[i]!), hi[i]!);
}

export function isNan(out: U8, x: F64, n: number): void {
  for (let i = 0; i < n; i++) out[i] = x[i]! !== x[i]! ? 1 : 0;
}

export function whereF64(out: F64, c: U8, a: F64, b: F64, n: number): void {
  for (let i = 0; i < n; i++) out[i] = c[i] ? a[i]! : b[i]!;
}

export function whereU8(out: U8, c: U8, a: U8, b: U8, n: number): void {
  for (let i = 0; i < n; i++) out[i] = c[i] ? a[i]! : b[i]!;
}

/** Membership in a list of numbers: a few comparisons for short lists, a Set for long ones. */
export function memberOf(out: U8, x: F64, items: readonly number[], negated: boolean, n: number): void {
  const hit = negated ? 0 : 1;
  const miss = 1 - hit;
  const finite = items.filter((v) => !Number.isNaN(v));
  if (finite.length === 0) {
    out.fill(miss, 0, n);
    return;
  }
  if (finite.length <= 4) {
    const a = finite[0]!;
    const b = finite[1] ?? a;
    const c = finite[2] ?? a;
    const d = finite[3] ?? a;
    for (let i = 0; i < n; i++) {
      const v = x[i]!;
      out[i] = v === a || v === b || v === c || v === d ? hit : miss;
    }
    return;
  }
  const set = new Set(finite);
  for (let i = 0; i < n; i++) out[i] = set.has(x[i]!) ? hit : miss;
}

/** Looks up dictionary codes in a table indexed by code; -1 (missing) takes `missing`. */
export function lookupCodes(out: U8, codes: Int32Array, lut: U8, missing: number, n: number): void {
  for (let i = 0; i < n; i++) {
    const c = codes[i]!;
    out[i] = c < 0 ? missing : lut[c]!;
  }
}
