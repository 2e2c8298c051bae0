/**
 * Decoders: from a parsed JSON value of unknown shape to a typed value, or a DecodeError naming the
 * field that is wrong (`stages.cuts.key: expected a cache key, got 12`). Every document Quiver reads
 * back from disk goes through one of these (see engine/records.ts), so a damaged or foreign record
 * is a miss or a located error, never a cast that fails later.
 *
 * Unknown fields are ignored (a newer Quiver may add some); objects are built with
 * `Object.fromEntries`, so user-chosen keys such as `__proto__` stay plain data.
 */
import { isCacheKey, isContentHash, type CacheKey, type ContentHash } from "./hash.js";
import { isJsonObject, type JsonObject, type JsonValue } from "./json.js";

export class DecodeError extends Error {
  constructor(
    /** Dotted path of the offending field; empty for the document itself. */
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path || "(document)"}: ${problem}`);
    this.name = "DecodeError";
  }
}

export type Decoder<T> = (v: unknown, path: string) => T;

const describe = (v: unknown): string => {
  if (v === undefined) return "nothing";
  const s = JSON.stringify(v);
  return s === undefined ? typeof v : s.length > 40 ? `${s.slice(0, 37)}…` : s;
};
const fail = (path: string, what: string, v: unknown): never => {
  throw new DecodeError(path, `expected ${what}, got ${describe(v)}`);
};
const at = (path: string, key: string | number): string =>
  typeof key === "number" ? `${path}[${key}]` : path ? `${path}.${key}` : key;

type Shape = Record<string, Decoder<unknown>>;
type Decoded<S extends Shape> = { [K in keyof S]: ReturnType<S[K]> };

export const d = {
  string: ((v, path) => (typeof v === "string" ? v : fail(path, "a string", v))) as Decoder<string>,
  number: ((v, path) =>
    typeof v === "number" && Number.isFinite(v) ? v : fail(path, "a number", v)) as Decoder<number>,
  boolean: ((v, path) => (typeof v === "boolean" ? v : fail(path, "true or false", v))) as Decoder<boolean>,
  cacheKey: ((v, path) => (isCacheKey(v) ? v : fail(path, "a cache key", v))) as Decoder<CacheKey>,
  contentHash: ((v, path) =>
    isContentHash(v) ? v : fail(path, "a content hash", v)) as Decoder<ContentHash>,
  json: ((v, path) => (isJson(v) ? v : fail(path, "a JSON value", v))) as Decoder<JsonValue>,
  jsonObject: ((v, path) =>
    isJsonObject(v) && isJson(v) ? v : fail(path, "an object", v)) as Decoder<JsonObject>,

  oneOf<const T extends string>(values: readonly T[]): Decoder<T> {
    return (v, path) =>
      typeof v === "string" && (values as readonly string[]).includes(v)
        ? (v as T)
        : fail(path, values.map((x) => JSON.stringify(x)).join(" or "), v);
  },

  literal<const T extends string | number>(value: T): Decoder<T> {
    return (v, path) => (v === value ? value : fail(path, JSON.stringify(value), v));
  },

  optional<T>(dec: Decoder<T>): Decoder<T | undefined> {
    return (v, path) => (v === undefined || v === null ? undefined : dec(v, path));
  },

  array<T>(dec: Decoder<T>): Decoder<T[]> {
    return (v, path) => (Array.isArray(v) ? v.map((x, i) => dec(x, at(path, i))) : fail(path, "a list", v));
  },

  /** A map from arbitrary names (stage ids, ports, file paths) to values. */
  record<T>(dec: Decoder<T>): Decoder<Record<string, T>> {
    return (v, path) => {
      if (!isJsonObject(v)) return fail(path, "an object", v);
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, dec(x, at(path, k))]));
    };
  },

  /** An object with these fields (optional ones decode `d.optional(...)`); other fields are ignored. */
  object<S extends Shape>(shape: S): Decoder<Decoded<S>> {
    return (v, path) => {
      if (!isJsonObject(v)) return fail(path, "an object", v);
      const out: [string, unknown][] = [];
      for (const [k, dec] of Object.entries(shape)) {
        const x = dec(Object.hasOwn(v, k) ? v[k] : undefined, at(path, k));
        if (x !== undefined) out.push([k, x]);
      }
      return Object.fromEntries(out) as Decoded<S>;
    };
  },

  /** The first decoder that accepts the value; the error of the last otherwise. */
  either<A, B>(a: Decoder<A>, b: Decoder<B>): Decoder<A | B> {
    return (v, path) => {
      try {
        return a(v, path);
      } catch (err) {
        if (!(err instanceof DecodeError)) throw err;
        return b(v, path);
      }
    };
  },
};

/** Whether `k` names an own field of `o` (to pick a decoder from a table by a discriminator). */
export function isKeyOf<T extends object>(o: T, k: unknown): k is keyof T & string {
  return typeof k === "string" && Object.hasOwn(o, k);
}

/** Runs a decoder: the value, or the error that names the bad field. */
export function decode<T>(
  dec: Decoder<T>,
  v: unknown,
): { ok: true; value: T } | { ok: false; error: DecodeError } {
  try {
    return { ok: true, value: dec(v, "") };
  } catch (err) {
    if (err instanceof DecodeError) return { ok: false, error: err };
    throw err;
  }
}

function isJson(v: unknown): v is JsonValue {
  if (v === null || typeof v === "string" || typeof v === "boolean") return true;
  if (typeof v === "number") return Number.isFinite(v);
  if (Array.isArray(v)) return v.every(isJson);
  return typeof v === "object" && Object.values(v).every(isJson);
}
