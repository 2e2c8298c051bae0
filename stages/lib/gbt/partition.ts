/**
 * Row partitions of a tree level: each splitting node's rows (a range of the session's row array)
 * reordered in place, left child's rows first, both sides in their original order. Used by grow.ts.
 */
import {
  KIND_PARTITION,
  KIND_PARTITION_BLOCK,
  KIND_PARTITION_MERGE,
  PARTITION_BLOCK_ROWS,
  PT,
  TASK_BYTES,
} from "./layout.js";
import type { GbtSession } from "./session.js";

/** A node's rows and the split that sends them left (code <= bin, or missing when missingLeft). */
export interface RowSplit {
  readonly start: number;
  readonly end: number;
  readonly column: number;
  readonly bin: number;
  readonly missingLeft: boolean;
}

/**
 * Stable partitions of the splitting nodes' rows; returns where each node's right child starts.
 * With several threads, nodes of more than PARTITION_BLOCK_ROWS rows are partitioned by blocks
 * (each block's left and right rows, then copied into place): the same rows in the same order.
 */
export function partitionRows(s: GbtSession, splits: readonly RowSplit[]): number[] {
  const w = TASK_BYTES / 4;
  const write = (t: Int32Array, i: number, sp: RowSplit, start: number, end: number) => {
    t[i * w + PT.start] = start;
    t[i * w + PT.end] = end;
    t[i * w + PT.col] = sp.column;
    t[i * w + PT.bin] = sp.bin;
    t[i * w + PT.missingLeft] = sp.missingLeft ? 1 : 0;
  };
  const rowsOf = (sp: RowSplit) => sp.end - sp.start;
  const big = s.threadCount > 1 ? splits.filter((sp) => rowsOf(sp) > PARTITION_BLOCK_ROWS) : [];
  const whole = big.length > 0 ? splits.filter((sp) => rowsOf(sp) <= PARTITION_BLOCK_ROWS) : splits;
  const mid = new Map<RowSplit, number>();
  if (whole.length > 0) {
    const t = s.tasks(whole.length);
    whole.forEach((sp, i) => write(t.i32, i, sp, sp.start, sp.end));
    s.run(KIND_PARTITION, whole.length);
    const done = s.mem.i32(t.ptr, whole.length * w);
    whole.forEach((sp, i) => mid.set(sp, done[i * w + PT.mid]!));
  }
  if (big.length > 0) {
    const blocks: { sp: RowSplit; start: number; end: number }[] = [];
    for (const sp of big)
      for (let b = sp.start; b < sp.end; b += PARTITION_BLOCK_ROWS)
        blocks.push({ sp, start: b, end: Math.min(sp.end, b + PARTITION_BLOCK_ROWS) });
    const t = s.tasks(blocks.length);
    blocks.forEach((b, i) => write(t.i32, i, b.sp, b.start, b.end));
    s.run(KIND_PARTITION_BLOCK, blocks.length);
    const done = s.mem.i32(t.ptr, blocks.length * w);
    const lefts = Int32Array.from(blocks, (_, i) => done[i * w + PT.mid]!);
    // Where each block's rows go: lefts in block order from the node's start, rights from its middle.
    for (const sp of big) {
      let m = sp.start;
      blocks.forEach((b, i) => {
        if (b.sp === sp) m += lefts[i]!;
      });
      mid.set(sp, m);
    }
    const m = s.tasks(blocks.length);
    const placed = new Map<RowSplit, { left: number; right: number }>();
    blocks.forEach((b, i) => {
      const at = placed.get(b.sp) ?? { left: b.sp.start, right: mid.get(b.sp)! };
      write(m.i32, i, b.sp, b.start, b.end);
      m.i32[i * w + PT.mid] = lefts[i]!;
      m.i32[i * w + PT.dstLeft] = at.left;
      m.i32[i * w + PT.dstRight] = at.right;
      placed.set(b.sp, { left: at.left + lefts[i]!, right: at.right + (b.end - b.start - lefts[i]!) });
    });
    s.run(KIND_PARTITION_MERGE, blocks.length);
  }
  return splits.map((sp) => mid.get(sp)!);
}
