/** Reading and writing named records (records/<name>.json) through their decoders. */
import type { Store } from "../../cache/store.js";
import { decode, type Decoder } from "../../core/decode.js";

// ---------------------------------------------------------------------------------------------
// Records (records/<name>.json)

/** A kind of record: its name (from its arguments) and its decoder. */
export interface RecordKind<T, A extends unknown[]> {
  readonly name: (...args: A) => string;
  readonly decoder: Decoder<T>;
}

/** The record, decoded; undefined when absent or when it does not decode (reported to the store). */
export async function readRecord<T, A extends unknown[]>(
  store: Store,
  kind: RecordKind<T, A>,
  ...args: A
): Promise<T | undefined> {
  const name = kind.name(...args);
  const raw = await store.readRecord(name);
  if (raw === undefined) return undefined;
  const r = decode(kind.decoder, raw);
  if (r.ok) return r.value;
  store.report({ kind: "bad-record", what: `record ${name}`, detail: r.error.message });
  return undefined;
}

export async function writeRecord<T, A extends unknown[]>(
  store: Store,
  kind: RecordKind<T, A>,
  value: T,
  ...args: A
): Promise<void> {
  await store.writeRecord(kind.name(...args), value);
}
