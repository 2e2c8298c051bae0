/**
 * Value-aware trimming for `quiver gc --max-size`: when the results worth keeping still exceed the
 * budget, evict the payloads that are cheapest to recompute per byte (recorded stage durations),
 * and never the small things — manifests and metrics objects — so `status`, `explain`, `diff` and
 * history keep working after the tables and models are gone. An evicted stage is a cache miss
 * next time; the store records which keys were evicted so `status` can say so.
 */
import type { Store } from "../cache/store.js";
import type { CacheKey, ContentHash } from "../core/hash.js";
import { gcEvictedRecord, readAnyManifest, readRecord, writeRecord } from "../engine/records.js";

/** A kept manifest's reference to an object (keys and hashes are plain strings in unit tests). */
export interface Holder<K extends string = CacheKey, H extends string = ContentHash> {
  readonly key: K;
  readonly stage: string;
  readonly durationMs: number;
  readonly hash: H;
  readonly kind: string;
}

export interface EvictionPlan<K extends string = CacheKey, H extends string = ContentHash> {
  readonly evict: readonly { hash: H; size: number; stages: string[]; costMs: number }[];
  readonly freed: number;
  /** Sum of the recorded durations of every result that loses an object. */
  readonly lostMs: number;
  readonly keys: readonly K[];
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
export function planEviction<K extends string, H extends string>(
  objects: readonly { readonly hash: NoInfer<H>; readonly size: number }[],
  holders: readonly Holder<K, H>[],
  budget: number,
): EvictionPlan<K, H> {
  const before = objects.reduce((a, o) => a + o.size, 0);
  const byHash = new Map<string, Holder<K, H>[]>();
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
  const evict: EvictionPlan<K, H>["evict"][number][] = [];
  let total = before;
  for (const c of candidates) {
    if (total <= budget) break;
    evict.push(c);
    total -= c.size;
  }
  const gone = new Set(evict.map((e) => e.hash));
  const keys = new Map<K, number>();
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
export async function holdersOf(store: Store, keep: ReadonlySet<CacheKey>): Promise<Holder[]> {
  const out: Holder[] = [];
  for (const key of keep) {
    const m = await readAnyManifest(store, key);
    if (!m) continue;
    switch (m.record) {
      case "stage-result":
        for (const [port, ref] of Object.entries(m.objects))
          out.push({
            key,
            stage: m.stage.id,
            durationMs: m.durationMs,
            hash: ref.hash,
            kind: m.kinds[port] ?? "unknown",
          });
        break;
      case "sub-result":
        out.push({
          key,
          stage: `${m.memoOf.stage} (sub-result)`,
          durationMs: 0,
          hash: m.objects.value.hash,
          kind: m.kinds.value,
        });
        break;
      case "input-names":
        break;
    }
  }
  return out;
}

/** Deletes the planned objects and remembers the affected keys (pruned to live manifests). */
export async function applyEviction(store: Store, plan: EvictionPlan): Promise<void> {
  for (const e of plan.evict) await store.deleteObject(e.hash);
  const old = await readRecord(store, gcEvictedRecord);
  const live = new Set<string>(await store.listManifestKeys());
  const keys: Record<string, string> = {};
  for (const [k, at] of Object.entries(old?.keys ?? {})) if (live.has(k)) keys[k] = at;
  const now = new Date().toISOString();
  for (const k of plan.keys) keys[k] = now;
  await writeRecord(store, gcEvictedRecord, { keys });
}
