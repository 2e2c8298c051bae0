/** JSON values as they travel through fingerprints, metrics and manifests. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Canonical JSON: keys sorted, numbers in their shortest round-trip form (so `1e-3` and `0.001`
 * read from YAML are the same number and print the same), no whitespace. `-0` becomes `0`.
 * Non-finite numbers are not JSON; they are written as the strings "NaN", "Infinity", "-Infinity"
 * so a fingerprint never silently turns them into null.
 */
export function canonicalJson(value: unknown): string {
  return write(value);
}

function write(v: unknown): string {
  if (v === null || v === undefined) return "null";
  switch (typeof v) {
    case "boolean":
      return v ? "true" : "false";
    case "number":
      if (Number.isNaN(v)) return '"NaN"';
      if (!Number.isFinite(v)) return v > 0 ? '"Infinity"' : '"-Infinity"';
      return JSON.stringify(Object.is(v, -0) ? 0 : v);
    case "bigint":
      return JSON.stringify(v.toString());
    case "string":
      return JSON.stringify(v);
    case "object": {
      if (Array.isArray(v)) return "[" + v.map(write).join(",") + "]";
      const obj = v as Record<string, unknown>;
      const keys = Object.keys(obj)
        .filter((k) => obj[k] !== undefined)
        .sort();
      return "{" + keys.map((k) => JSON.stringify(k) + ":" + write(obj[k])).join(",") + "}";
    }
    case "function":
    case "symbol":
    case "undefined":
      throw new TypeError(`cannot put a ${typeof v} into canonical JSON`);
  }
  throw new TypeError("unreachable: every typeof is handled above");
}
