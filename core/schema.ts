/**
 * A small schema language for stage parameters. One definition gives three things:
 * the TypeScript type of a stage's params, validation with defaults (errors carry the param path,
 * which the parser turns into a YAML position), and the JSON Schema editors use.
 *
 * It is deliberately small: numbers, strings, booleans, files, arrays, objects, maps, unions.
 */
import { didYouMean } from "./diagnostics.js";
import type { JsonObject, JsonValue } from "./json.js";

export type SchemaSpec = SpecBody & { readonly optional?: boolean };

type SpecBody =
  | {
      kind: "number";
      integer?: boolean;
      min?: number;
      max?: number;
      exclusiveMin?: number;
      description?: string;
      default?: number;
    }
  | {
      kind: "string";
      enum?: readonly string[];
      format?: "expression" | "column";
      description?: string;
      default?: string;
    }
  | { kind: "boolean"; description?: string; default?: boolean }
  /** A path to a file the stage reads; the engine resolves it, confines it and hashes its content. */
  | { kind: "file"; description?: string }
  | {
      kind: "array";
      items: SchemaSpec;
      minItems?: number;
      maxItems?: number;
      description?: string;
      default?: JsonValue[];
    }
  | {
      kind: "object";
      fields: Readonly<Record<string, SchemaSpec>>;
      required: readonly string[];
      description?: string;
      default?: JsonObject;
      /**
       * Keys people write here that belong elsewhere, each with the hint that says where (a
       * did-you-mean on the field names cannot know that `path:` goes inside `files:`).
       */
      misplaced?: Misplaced;
    }
  | { kind: "map"; values: SchemaSpec; description?: string; default?: JsonObject }
  | { kind: "union"; options: readonly SchemaSpec[]; description?: string; default?: JsonValue }
  | { kind: "any"; description?: string; default?: JsonValue };

/** A schema carrying the TypeScript type it validates to (phantom `T`). */
export interface Schema<T> {
  readonly spec: SchemaSpec;
  readonly __type?: T;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

type Common = { description?: string };
/** An object schema's keys that belong elsewhere, each with the hint that says where. */
type Misplaced = Readonly<Record<string, string>>;

function mk<T>(spec: SchemaSpec): Schema<T> {
  return { spec };
}

/** Schema builders. Fields with a default are always present after validation. */
export const p = {
  number: (o: Common & { integer?: boolean; min?: number; max?: number; exclusiveMin?: number } = {}) =>
    mk<number>({ kind: "number", ...o }),
  integer: (o: Common & { min?: number; max?: number } = {}) =>
    mk<number>({ kind: "number", integer: true, ...o }),
  string: (o: Common & { format?: "expression" | "column" } = {}) => mk<string>({ kind: "string", ...o }),
  expression: (o: Common = {}) => mk<string>({ kind: "string", format: "expression", ...o }),
  column: (o: Common = {}) => mk<string>({ kind: "string", format: "column", ...o }),
  enum: <const E extends string>(values: readonly E[], o: Common = {}) =>
    mk<E>({ kind: "string", enum: values, ...o }),
  boolean: (o: Common = {}) => mk<boolean>({ kind: "boolean", ...o }),
  file: (o: Common = {}) => mk<string>({ kind: "file", ...o }),
  array: <T>(items: Schema<T>, o: Common & { minItems?: number; maxItems?: number } = {}) =>
    mk<T[]>({ kind: "array", items: items.spec, ...o }),
  map: <T>(values: Schema<T>, o: Common = {}) =>
    mk<Record<string, T>>({ kind: "map", values: values.spec, ...o }),
  any: (o: Common = {}) => mk<JsonValue>({ kind: "any", ...o }),
  union: <S extends Schema<unknown>[]>(options: S, o: Common = {}) =>
    mk<Infer<S[number]>>({ kind: "union", options: options.map((s) => s.spec), ...o }),
  /** Makes a field optional; with a default the field is filled in, otherwise it may be undefined. */
  optional: <T>(s: Schema<T>) => mk<T | undefined>({ ...s.spec, optional: true }),
  withDefault: <T>(s: Schema<T>, value: T & JsonValue) => mk<T>({ ...s.spec, default: value } as SchemaSpec),
  object: <F extends Record<string, Schema<unknown>>>(
    fields: F,
    o: Common & { misplaced?: Misplaced } = {},
  ) => {
    const specs: Record<string, SchemaSpec> = {};
    const required: string[] = [];
    for (const [k, s] of Object.entries(fields)) {
      specs[k] = s.spec;
      if (!isOptional(s.spec)) required.push(k);
    }
    return mk<{ [K in keyof F]: Infer<F[K]> }>({ kind: "object", fields: specs, required, ...o });
  },
};

function isOptional(spec: SchemaSpec): boolean {
  return spec.optional === true || "default" in spec;
}

export type ParamPath = readonly (string | number)[];

export interface SchemaIssue {
  readonly path: ParamPath;
  readonly code: string;
  readonly message: string;
  readonly hint?: string;
  /** For unknown keys, the position is the key itself rather than its value. */
  readonly atKey?: boolean;
}

/** Validates `value` against `spec`, returning the value with defaults filled in, and issues found. */
export function validate(
  spec: SchemaSpec,
  value: unknown,
  path: ParamPath = [],
): { value: unknown; issues: SchemaIssue[] } {
  const issues: SchemaIssue[] = [];
  const out = check(spec, value, path, issues);
  return { value: out, issues };
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return "nothing";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  if (typeof v === "string") return `the text ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + "…" : v)}`;
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint")
    return `${typeof v} ${String(v)}`;
  return typeof v;
}

function typeName(spec: SchemaSpec): string {
  switch (spec.kind) {
    case "number":
      return spec.integer ? "an integer" : "a number";
    case "string":
      return spec.enum ? `one of ${spec.enum.map((e) => JSON.stringify(e)).join(", ")}` : "a text value";
    case "boolean":
      return "true or false";
    case "file":
      return "a file path";
    case "array":
      return "a list";
    case "object":
    case "map":
      return "a mapping";
    case "union":
      return spec.options.map(typeName).join(" or ");
    case "any":
      return "any value";
  }
}

function check(spec: SchemaSpec, v: unknown, path: ParamPath, issues: SchemaIssue[]): unknown {
  const bad = (message: string, hint?: string) => {
    issues.push({ path, code: "QV_PARAM_TYPE", message, ...(hint ? { hint } : {}) });
    return v;
  };
  switch (spec.kind) {
    case "number": {
      if (typeof v !== "number" || Number.isNaN(v))
        return bad(`expected ${typeName(spec)}, got ${describe(v)}`);
      if (spec.integer && !Number.isInteger(v)) return bad(`expected an integer, got ${v}`);
      if (spec.min !== undefined && v < spec.min)
        issues.push({ path, code: "QV_PARAM_RANGE", message: `must be at least ${spec.min}, got ${v}` });
      if (spec.max !== undefined && v > spec.max)
        issues.push({ path, code: "QV_PARAM_RANGE", message: `must be at most ${spec.max}, got ${v}` });
      if (spec.exclusiveMin !== undefined && v <= spec.exclusiveMin)
        issues.push({
          path,
          code: "QV_PARAM_RANGE",
          message: `must be greater than ${spec.exclusiveMin}, got ${v}`,
        });
      return v;
    }
    case "string": {
      if (typeof v !== "string") return bad(`expected ${typeName(spec)}, got ${describe(v)}`);
      if (spec.enum && !spec.enum.includes(v)) {
        const near = spec.enum.find((e) => e.toLowerCase() === v.toLowerCase());
        issues.push({
          path,
          code: "QV_PARAM_ENUM",
          message: `${JSON.stringify(v)} is not ${typeName(spec)}`,
          ...(near ? { hint: `did you mean "${near}"?` } : {}),
        });
      }
      return v;
    }
    case "file":
      if (typeof v !== "string" || v === "") return bad(`expected a file path, got ${describe(v)}`);
      return v;
    case "boolean":
      if (typeof v !== "boolean") return bad(`expected true or false, got ${describe(v)}`);
      return v;
    case "array": {
      if (!Array.isArray(v)) return bad(`expected a list, got ${describe(v)}`);
      if (spec.minItems !== undefined && v.length < spec.minItems)
        issues.push({
          path,
          code: "QV_PARAM_RANGE",
          message: `needs at least ${spec.minItems} item(s), got ${v.length}`,
        });
      if (spec.maxItems !== undefined && v.length > spec.maxItems)
        issues.push({
          path,
          code: "QV_PARAM_RANGE",
          message: `takes at most ${spec.maxItems} item(s), got ${v.length}`,
        });
      return v.map((item, i) => check(spec.items, item, [...path, i], issues));
    }
    case "map": {
      if (typeof v !== "object" || v === null || Array.isArray(v))
        return bad(`expected a mapping, got ${describe(v)}`);
      const out: Record<string, unknown> = {};
      // defineProperty: a YAML key "__proto__" must become a key, not the object's prototype.
      for (const [k, item] of Object.entries(v))
        Object.defineProperty(out, k, {
          value: check(spec.values, item, [...path, k], issues),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      return out;
    }
    case "object": {
      if (typeof v !== "object" || v === null || Array.isArray(v))
        return bad(`expected a mapping, got ${describe(v)}`);
      const obj = v as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const k of Object.keys(obj)) {
        if (!Object.hasOwn(spec.fields, k)) {
          const near = didYouMean(k, Object.keys(spec.fields));
          const misplaced =
            spec.misplaced && Object.hasOwn(spec.misplaced, k) ? spec.misplaced[k] : undefined;
          issues.push({
            path: [...path, k],
            code: "QV_UNKNOWN_PARAM",
            message: `unknown parameter "${k}"`,
            hint:
              misplaced ??
              (near
                ? `did you mean "${near}"?`
                : `known parameters: ${Object.keys(spec.fields).join(", ") || "none"}`),
            atKey: true,
          });
        }
      }
      for (const [k, fs] of Object.entries(spec.fields)) {
        if (Object.hasOwn(obj, k) && obj[k] !== undefined && obj[k] !== null)
          out[k] = check(fs, obj[k], [...path, k], issues);
        else if ("default" in fs && fs.default !== undefined) out[k] = structuredClone(fs.default);
        else if (spec.required.includes(k))
          issues.push({
            path,
            code: "QV_MISSING_PARAM",
            message: `missing required parameter "${k}" (${typeName(fs)})`,
          });
      }
      return out;
    }
    case "union": {
      // The option the value meant: one whose shape it has (its problems lie deeper than a type
      // mismatch here), then the one with the fewest problems.
      const wrongShape = (sub: SchemaIssue[]) =>
        sub.every((i) => i.code === "QV_PARAM_TYPE" && i.path.length === path.length);
      let best: SchemaIssue[] | undefined;
      for (const o of spec.options) {
        const sub: SchemaIssue[] = [];
        const r = check(o, v, path, sub);
        if (sub.length === 0) return r;
        const better =
          !best ||
          (wrongShape(best) && !wrongShape(sub)) ||
          (wrongShape(best) === wrongShape(sub) && sub.length < best.length);
        if (better) best = sub;
      }
      // When every option fails on type, one message naming all options reads better.
      if (best && wrongShape(best)) return bad(`expected ${typeName(spec)}, got ${describe(v)}`);
      issues.push(...(best ?? []));
      return v;
    }
    case "any":
      return v;
  }
}

/** Every (param path, value) of `file` kind in a validated value, so the engine can hash them. */
export function collectFiles(
  spec: SchemaSpec,
  v: unknown,
  path: ParamPath = [],
): { path: ParamPath; file: string }[] {
  switch (spec.kind) {
    case "file":
      return typeof v === "string" ? [{ path, file: v }] : [];
    case "array":
      return Array.isArray(v) ? v.flatMap((x, i) => collectFiles(spec.items, x, [...path, i])) : [];
    case "map":
      return isRecord(v)
        ? Object.entries(v).flatMap(([k, x]) => collectFiles(spec.values, x, [...path, k]))
        : [];
    case "object":
      return isRecord(v)
        ? Object.entries(spec.fields).flatMap(([k, fs]) =>
            k in v ? collectFiles(fs, v[k], [...path, k]) : [],
          )
        : [];
    case "union": {
      for (const o of spec.options) if (validate(o, v).issues.length === 0) return collectFiles(o, v, path);
      return [];
    }
    case "number":
    case "string":
    case "boolean":
    case "any":
      return [];
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** JSON Schema (draft 2020-12 subset) for editors. */
export function toJsonSchema(spec: SchemaSpec): JsonObject {
  const d: JsonObject = spec.description ? { description: spec.description } : {};
  if ("default" in spec && spec.default !== undefined) d.default = spec.default;
  switch (spec.kind) {
    case "number": {
      const s: JsonObject = { ...d, type: spec.integer ? "integer" : "number" };
      if (spec.min !== undefined) s.minimum = spec.min;
      if (spec.max !== undefined) s.maximum = spec.max;
      if (spec.exclusiveMin !== undefined) s.exclusiveMinimum = spec.exclusiveMin;
      // "${param}" references are allowed anywhere a value is.
      return { anyOf: [s, paramRef()] };
    }
    case "string":
      return spec.enum ? { anyOf: [{ ...d, enum: [...spec.enum] }, paramRef()] } : { ...d, type: "string" };
    case "file":
      return { ...d, type: "string" };
    case "boolean":
      return { anyOf: [{ ...d, type: "boolean" }, paramRef()] };
    case "array": {
      const s: JsonObject = { ...d, type: "array", items: toJsonSchema(spec.items) };
      if (spec.minItems !== undefined) s.minItems = spec.minItems;
      if (spec.maxItems !== undefined) s.maxItems = spec.maxItems;
      return s;
    }
    case "map":
      return { ...d, type: "object", additionalProperties: toJsonSchema(spec.values) };
    case "object": {
      const props: JsonObject = {};
      for (const [k, fs] of Object.entries(spec.fields)) props[k] = toJsonSchema(fs);
      const s: JsonObject = { ...d, type: "object", properties: props, additionalProperties: false };
      if (spec.required.length) s.required = [...spec.required];
      return s;
    }
    case "union":
      return { ...d, anyOf: spec.options.map(toJsonSchema) };
    case "any":
      return { ...d };
  }
}

function paramRef(): JsonObject {
  return { type: "string", pattern: "^\\$\\{[A-Za-z_][A-Za-z0-9_.]*\\}$" };
}
