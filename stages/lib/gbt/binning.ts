/**
 * Quantile binning of feature columns into one-byte codes, the input of histogram boosting.
 *
 * Edges come from the unweighted distribution of the training rows (as in scikit-learn's
 * HistGradientBoosting): bin resolution follows where the rows are, which is also what
 * `minExamples` counts. Event weights can span orders of magnitude between processes, and
 * weighted quantiles would spend most bins on whichever process carries the largest weights.
 */

import { BIN_BLOCK_ROWS, BN, BND, KIND_BIN, TASK_BYTES, TD } from "./layout.js";
import type { GbtSession } from "./session.js";
import { GbtMemory, gbtModule } from "./wasm.js";

/** Code of a missing (NaN) value; non-missing codes are 0..maxBins-1 (maxBins <= 255). */
export const MISSING_BIN = 255;
/** Histogram slots per feature: 255 value bins + the missing bin. */
export const BINS_PER_FEATURE = 256;
/** Above this many rows, edges are computed from an evenly spaced systematic sample. */
const EDGE_SAMPLE_ROWS = 200_000;

/**
 * Upper edges of the value bins of one column: value x falls in the first bin j with
 * x <= edges[j], or in the last bin (edges.length) when it exceeds every edge. A column with
 * fewer than two distinct values gets no edges (one bin: never split on).
 */
export function binEdges(column: Float64Array, maxBins: number): Float64Array {
  const n = column.length;
  const step = n > EDGE_SAMPLE_ROWS ? n / EDGE_SAMPLE_ROWS : 1;
  const sampleSize = n > EDGE_SAMPLE_ROWS ? EDGE_SAMPLE_ROWS : n;
  const values = new Float64Array(sampleSize);
  let m = 0;
  for (let i = 0; i < sampleSize; i++) {
    const v = column[Math.floor(i * step)]!;
    if (!Number.isNaN(v)) values[m++] = v;
  }
  const sorted = sortFloat64(values.subarray(0, m));
  // Distinct values, counted only up to maxBins + 1 (continuous columns stop almost at once).
  let distinct = 0;
  for (let i = 0; i < m && distinct <= maxBins; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) distinct++;
  const edges: number[] = [];
  if (distinct <= maxBins) {
    for (let i = 1; i < m; i++)
      if (sorted[i] !== sorted[i - 1]) edges.push(between(sorted[i - 1]!, sorted[i]!));
  } else {
    // Percentiles at 1/maxBins, 2/maxBins, ... with midpoint interpolation (numpy's "midpoint").
    let last = -Infinity;
    for (let k = 1; k < maxBins; k++) {
      const pos = (k / maxBins) * (m - 1);
      const lo = sorted[Math.floor(pos)]!;
      const hi = sorted[Math.ceil(pos)]!;
      const e = lo === hi ? lo : between(lo, hi);
      if (e > last) {
        edges.push(e);
        last = e;
      }
    }
    // The largest value must stay strictly above the last edge, or the top bin would be empty.
    while (edges.length > 0 && edges[edges.length - 1]! >= sorted[m - 1]!) edges.pop();
  }
  return Float64Array.from(edges);
}

let sorter: GbtMemory | undefined;

/**
 * Sorts non-NaN float64 values in place, ascending, -0 before +0 (the order of
 * Float64Array.prototype.sort, which is several times slower): a radix sort in the boosted-trees
 * WebAssembly module, on a small memory kept for the process (at most EDGE_SAMPLE_ROWS values).
 */
export function sortFloat64(a: Float64Array): Float64Array {
  const n = a.length;
  if (n < 256) return a.sort();
  sorter ??= new GbtMemory(gbtModule(), 128); // 8 MiB: EDGE_SAMPLE_ROWS values and scratch
  const s = sorter;
  s.reset();
  const at = s.alloc(8 * n);
  const tmp = s.alloc(8 * n);
  const counts = s.alloc(4 * 2048);
  s.f64(at, n).set(a);
  s.ex.sortFloat64(at, tmp, counts, n);
  a.set(s.f64(at, n));
  return a;
}

/** A finite threshold t with a <= t < b, for a < b (thresholds are stored as JSON numbers). */
function between(a: number, b: number): number {
  const mid = a + (b - a) / 2;
  if (Number.isFinite(mid) && mid >= a && mid < b) return mid;
  if (Number.isFinite(a)) return a;
  return -Number.MAX_VALUE; // a is -Infinity and b is above it
}

/** Bin code of one value given its column's edges (binary search). */
export function binOf(edges: Float64Array, v: number): number {
  if (Number.isNaN(v)) return MISSING_BIN;
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (v <= edges[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Bin codes of all columns, column-major: code of row r, feature f at f * n + r (into `codes` if given). */
export function binColumns(
  features: readonly Float64Array[],
  edges: readonly Float64Array[],
  n: number,
  codes: Uint8Array<ArrayBufferLike> = new Uint8Array(features.length * n),
): Uint8Array<ArrayBufferLike> {
  for (let f = 0; f < features.length; f++) {
    const out = codes.subarray(f * n, (f + 1) * n);
    if (!binByBuckets(features[f]!, edges[f]!, out)) binBySearch(features[f]!, edges[f]!, out);
  }
  return codes;
}

const BUCKETS = 4096;

/** A column's table of uniform buckets over [first edge, last edge] (see `binByBuckets`). */
interface Buckets {
  /** below[b]: edges under the bucket's lower bound first + b / scale. */
  readonly below: Uint8Array;
  readonly first: number;
  readonly last: number;
  readonly scale: number;
}

/** The bucket table of a column's edges, or undefined when the edge range is unusable for buckets (fewer than two edges, or a span that overflows). */
function bucketTable(e: Float64Array): Buckets | undefined {
  const m = e.length;
  if (m < 2) return undefined;
  const first = e[0]!;
  const last = e[m - 1]!;
  const scale = BUCKETS / (last - first);
  if (!(Number.isFinite(scale) && scale > 0)) return undefined;
  const below = new Uint8Array(BUCKETS + 1);
  for (let b = 0, j = 0; b <= BUCKETS; b++) {
    const x = first + b / scale;
    while (j < m && e[j]! < x) j++;
    below[b] = j;
  }
  return { below, first, last, scale };
}

/**
 * Binning through a table of uniform buckets over [first edge, last edge]: each bucket knows how
 * many edges lie below it, so a value needs a binary search over the few edges near its bucket
 * only. Several times faster than a full search on millions of rows. Returns false when the edge
 * range is unusable for buckets.
 */
function binByBuckets(col: Float64Array, e: Float64Array, out: Uint8Array<ArrayBufferLike>): boolean {
  const table = bucketTable(e);
  if (table === undefined) return false;
  const { below, first, last, scale } = table;
  const m = e.length;
  for (let r = 0; r < col.length; r++) {
    const v = col[r]!;
    if (Number.isNaN(v)) out[r] = MISSING_BIN;
    else if (v <= first) out[r] = 0;
    else if (v > last) out[r] = m;
    else {
      const b = Math.floor((v - first) * scale);
      // one bucket of slack on each side absorbs rounding in the bucket index
      let lo = below[b > 0 ? b - 1 : 0]!;
      let hi = b + 2 <= BUCKETS ? below[b + 2]! : m;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (e[mid]! < v) lo = mid + 1;
        else hi = mid;
      }
      out[r] = lo;
    }
  }
  return true;
}

/** Rows of a column staged in the training's memory at a time. */
const STAGE_ROWS = 1 << 20;

/**
 * `binColumns` into the training's codes (column-major, as `binColumns` lays them out), on the
 * session's threads: each column's values are staged in its memory a million rows at a time
 * and binned by blocks of rows in WebAssembly (wasm/gbt/assembly/bin.ts), with the same tables
 * and the same comparisons, so the same codes (test/gbt-binning.test.ts compares them).
 */
export function binInThreads(
  s: GbtSession,
  features: readonly Float64Array[],
  edges: readonly Float64Array[],
  n: number,
): void {
  const stageRows = Math.min(n, STAGE_ROWS);
  const stage = s.mem.alloc(8 * Math.max(1, stageRows));
  const edgesAt = s.mem.alloc(8 * 256);
  const belowAt = s.mem.alloc(BUCKETS + 1);
  const w = TASK_BYTES / 4;
  const d = TASK_BYTES / 8;
  for (let f = 0; f < features.length; f++) {
    const e = edges[f]!;
    const table = bucketTable(e);
    s.mem.f64(edgesAt, e.length).set(e);
    if (table) s.mem.u8(belowAt, BUCKETS + 1).set(table.below);
    for (let at = 0; at < n; at += stageRows) {
      const rows = Math.min(stageRows, n - at);
      s.mem.f64(stage, rows).set(features[f]!.subarray(at, at + rows));
      const count = Math.ceil(rows / BIN_BLOCK_ROWS);
      const t = s.tasks(count);
      for (let k = 0; k < count; k++) {
        t.i32[k * w + BN.values] = stage;
        t.i32[k * w + BN.start] = k * BIN_BLOCK_ROWS;
        t.i32[k * w + BN.end] = Math.min(rows, (k + 1) * BIN_BLOCK_ROWS);
        t.i32[k * w + BN.out] = s.codes + f * n + at;
        t.i32[k * w + BN.edges] = edgesAt;
        t.i32[k * w + BN.count] = e.length;
        t.i32[k * w + BN.below] = table ? belowAt : 0;
        t.f64[k * d + TD / 8 + BND.first] = table?.first ?? 0;
        t.f64[k * d + TD / 8 + BND.last] = table?.last ?? 0;
        t.f64[k * d + TD / 8 + BND.scale] = table?.scale ?? 0;
      }
      s.run(KIND_BIN, count);
    }
  }
}

function binBySearch(col: Float64Array, e: Float64Array, out: Uint8Array<ArrayBufferLike>): void {
  for (let r = 0; r < col.length; r++) out[r] = binOf(e, col[r]!);
}
