/**
 * Value-aware trimming for `quiver gc --max-size`: when the results worth keeping still exceed the
 * budget, evict the payloads that are cheapest to recompute per byte (recorded stage durations),
 * and never the small things — manifests and metrics objects — so `status`, `explain`, `diff` and
 * history keep working after the tables and models are gone. An evicted stage is a cache miss
 * next time; the store records which keys were evicted so `status` can say so.
 */
import type { ObjectRef, Store } from "../cache/store.js";
import type { RunManifest } from "../engine/job.js";

export const EVICTED_RECORD = "gc-evicted";

export interface Holder {
  readonly key: string;
  readonly stage: string;
  readonly durationMs: number;
  readonly hash: string;
  readonly kind: string;
}

export interface EvictionPlan {
  readonly evict: readonly { hash: string; size: number; stages: string[]; costMs: number }[];
  readonly freed: number;
  /** Sum of the recorded durations of every result that loses an object. */
  readonly lostMs: number;
  readonly keys: readonly string[];
  readonly before: number;
  readonly after: number;
}

/** `5G`, `500M`, `1.5GiB`, `100000` (bytes) → bytes (powers of 1024). */
export function parseSize(s: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(s);
  if (!m) return undefined;
  const pow = { "": 0, k: 1, m: 2, g: 3, t: 4 }[m[2]!.toLowerCase() as "" | "k" | "m" | "g" | "t"];
  return Math.floor(Number(m[1]) * 1024 ** pow);
}

/**
 * Pure planning: `objects` are the objects that survive the ordinary gc, `holders` the kept
 * manifests' references to them. An object's value is the recompute time of every result that
 * needs it; the lowest value per byte goes first, ties broken by size (bigger first) then hash.
 */
export function planEviction(
  objects: readonly ObjectRef[],
  holders: readonly Holder[],
  budget: number,
): EvictionPlan {
  const before = objects.reduce((a, o) => a + o.size, 0);
  const byHash = new Map<string, Holder[]>();
  for (const h of holders) byHash.set(h.hash, [...(byHash.get(h.hash) ?? []), h]);
  const candidates = objects
    .filter((o) => {
      const hs = byHash.get(o.hash) ?? [];
      // Metrics are tiny and are what history and diff read; unreferenced objects are gc's job.
      return hs.length > 0 && hs.every((h) => h.kind !== "metrics");
    })
    .map((o) => {
      const hs = byHash.get(o.hash)!;
      const costMs = [...new Map(hs.map((h) => [h.key, h.durationMs])).values()].reduce((a, b) => a + b, 0);
      return { hash: o.hash, size: o.size, costMs, stages: [...new Set(hs.map((h) => h.stage))].sort() };
    })
    .sort(
      (a, b) =>
        a.costMs / Math.max(1, a.size) - b.costMs / Math.max(1, b.size) ||
        b.size - a.size ||
        (a.hash < b.hash ? -1 : 1),
    );
  const evict: EvictionPlan["evict"][number][] = [];
  let total = before;
  for (const c of candidates) {
    if (total <= budget) break;
    evict.push(c);
    total -= c.size;
  }
  const gone = new Set(evict.map((e) => e.hash));
  const keys = new Map<string, number>();
  for (const h of holders) if (gone.has(h.hash)) keys.set(h.key, h.durationMs);
  return {
    evict,
    freed: before - total,
    lostMs: [...keys.values()].reduce((a, b) => a + b, 0),
    keys: [...keys.keys()].sort(),
    before,
    after: total,
  };
}

/** What the kept manifests reference, with their stage and recorded duration. */
export async function holdersOf(store: Store, keep: ReadonlySet<string>): Promise<Holder[]> {
  const out: Holder[] = [];
  for (const key of keep) {
    const m = (await store.readManifest(key)) as Partial<RunManifest> | undefined;
    if (!m?.objects) continue;
    const memoOf = (m as { memoOf?: { stage?: string } }).memoOf;
    const stage = m.stage?.id ?? (memoOf?.stage ? `${memoOf.stage} (sub-result)` : key);
    for (const [port, ref] of Object.entries(m.objects))
      out.push({
        key,
        stage,
        durationMs: m.durationMs ?? 0,
        hash: ref.hash,
        kind: m.kinds?.[port] ?? "unknown",
      });
  }
  return out;
}

/** Deletes the planned objects and remembers the affected keys (pruned to live manifests). */
export async function applyEviction(store: Store, plan: EvictionPlan): Promise<void> {
  for (const e of plan.evict) await store.deleteObject(e.hash);
  const old = (await store.readRecord(EVICTED_RECORD)) as { keys?: Record<string, string> } | undefined;
  const live = new Set(await store.listManifestKeys());
  const keys: Record<string, string> = {};
  for (const [k, at] of Object.entries(old?.keys ?? {})) if (live.has(k)) keys[k] = at;
  const now = new Date().toISOString();
  for (const k of plan.keys) keys[k] = now;
  await store.writeRecord(EVICTED_RECORD, { keys });
}

/** Whether gc evicted this key's payload (for "cached result evicted by gc" in status). */
export async function wasEvicted(store: Store, key: string): Promise<string | undefined> {
  const rec = (await store.readRecord(EVICTED_RECORD)) as { keys?: Record<string, string> } | undefined;
  return rec?.keys?.[key];
}
