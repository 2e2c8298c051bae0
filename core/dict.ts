/**
 * Plain objects keyed by names users choose — stage ids, input and output ports, columns, params,
 * file paths, units. A name such as `constructor`, `toString` or `__proto__` must be data: read
 * with `own` (never inheriting Object.prototype's members) and write with `setOwn` (an own
 * property, never the object's prototype).
 */

/** `m[key]` when `key` is m's own property; undefined otherwise (never an inherited member). */
export function own<T>(m: Readonly<Record<string, T>> | undefined | null, key: string): T | undefined {
  return m !== undefined && m !== null && Object.hasOwn(m, key) ? m[key] : undefined;
}

/** Whether `key` is m's own property. */
export function hasOwn(m: object | undefined | null, key: string): boolean {
  return m !== undefined && m !== null && Object.hasOwn(m, key);
}

/** `m[key] = value` as an own, enumerable property (`__proto__` included). */
export function setOwn<T>(m: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(m, key, { value, enumerable: true, writable: true, configurable: true });
}
