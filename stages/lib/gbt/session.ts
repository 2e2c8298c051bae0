/**
 * One training's WebAssembly memory, threads and jobs: where every array lives, how a job's task
 * records are written and run. The algorithm (what the jobs compute, in what order) is in
 * train.ts and grow.ts; the kernels are in wasm/gbt/.
 */
import { GbtThreads, CTRL_WORDS } from "./pool.js";
import {
  BLOCK_OUT_BYTES,
  BLOCK_ROWS,
  CTX_BYTES,
  FEATURE_HIST_BYTES,
  J,
  JOB_BYTES,
  NODE_BYTES,
  SPLIT_BYTES,
  TASK_BYTES,
  X,
  XD_L2,
  XD_MIN_HESS,
} from "./layout.js";
import { GbtMemory, gbtModule, type GbtExports } from "./wasm.js";

export interface SessionShape {
  /** Training rows. */
  readonly n: number;
  /** Feature columns (all of them: bin codes are stored for each). */
  readonly numFeatures: number;
  /** Columns that get histograms (the splittable ones), ascending. */
  readonly histCols: Int32Array;
  /** Value bins of each histogram column. */
  readonly numBins: Int32Array;
  readonly sampleSize: number;
  /** Whether rows are subsampled per tree (then two sample masks are kept). */
  readonly subsampled: boolean;
  readonly minExamples: number;
  /** Whether histograms keep per-bin row counts (train.ts `needsRowCounts`). */
  readonly countRows: boolean;
  readonly l2: number;
  readonly minChildHessian: number;
  readonly threads: number;
}

export class GbtSession {
  readonly mem: GbtMemory;
  readonly ex: GbtExports;
  private readonly pool: GbtThreads;
  readonly n: number;
  readonly numHist: number;
  /** Whether histograms keep per-bin row counts; without them a split's left row count is known only once its rows are partitioned. */
  readonly countRows: boolean;
  readonly blocks: number;
  readonly ctx: number;
  readonly job: number;
  readonly codes: number;
  readonly labels: number;
  readonly weights: number;
  readonly scores: number;
  /** (gradient, hessian) float64 pairs, one per row. */
  readonly gh: number;
  readonly rows: number;
  readonly blockOut: number;
  /** Sample masks (1 byte per row), swapped every tree; 0 when every row is used. */
  readonly masks: readonly [number, number];
  private taskPtr = 0;
  private taskCap = 0;
  private splitPtr = 0;
  private splitCap = 0;
  private treePtr = 0;
  private partialPtr = 0;
  private partialCap = 0;
  private treeCap = 0;
  private readonly freeSlots: number[] = [];
  private readonly slotBytes: number;

  constructor(shape: SessionShape) {
    const module = gbtModule();
    const mem = new GbtMemory(module);
    this.mem = mem;
    this.ex = mem.ex;
    const { n, numFeatures } = shape;
    // Row arrays hold an even number of rows (the gradient kernel takes two at a time); the
    // padding row has weight 0 and is never sampled.
    const nPad = n + (n & 1);
    this.n = n;
    this.numHist = shape.histCols.length;
    this.countRows = shape.countRows;
    this.blocks = Math.ceil(n / BLOCK_ROWS);
    const ctrl = mem.alloc(CTRL_WORDS * 4);
    this.ctx = mem.alloc(CTX_BYTES);
    this.job = mem.alloc(JOB_BYTES);
    const histCols = mem.alloc(4 * this.numHist);
    const numBins = mem.alloc(4 * this.numHist);
    this.codes = mem.alloc(numFeatures * n);
    // Row-major codes of the histogram features, padded so that 16-byte copies may read past the end.
    const rowCodes = mem.alloc(this.numHist * n + 16);
    const tmpCodes = mem.alloc(Math.ceil(this.numHist / 16) * 16 * shape.sampleSize);
    const tmpGh = mem.alloc(16 * shape.sampleSize);
    const rootCounts = mem.alloc(1024 * this.numHist);
    this.labels = mem.alloc(nPad);
    this.weights = mem.alloc(8 * nPad);
    this.scores = mem.alloc(8 * nPad);
    const gh = mem.alloc(16 * nPad);
    this.gh = gh;
    this.rows = mem.alloc(4 * shape.sampleSize);
    const scratch = mem.alloc(4 * shape.sampleSize);
    this.masks = shape.subsampled ? [mem.alloc(nPad), mem.alloc(nPad)] : [0, 0];
    this.blockOut = mem.alloc(BLOCK_OUT_BYTES * this.blocks);
    this.slotBytes = FEATURE_HIST_BYTES * this.numHist;

    mem.i32(ctrl, CTRL_WORDS).fill(0);
    mem.i32(histCols, this.numHist).set(shape.histCols);
    mem.i32(numBins, this.numHist).set(shape.numBins);
    const words = mem.i32(this.ctx, CTX_BYTES / 4);
    words.fill(0);
    words[X.n] = n;
    words[X.numHist] = this.numHist;
    words[X.codes] = this.codes;
    words[X.rowCodes] = rowCodes;
    words[X.tmpGh] = tmpGh;
    words[X.tmpCodes] = tmpCodes;
    words[X.rootCounts] = rootCounts;
    words[X.gh] = gh;
    words[X.scores] = this.scores;
    words[X.labels] = this.labels;
    words[X.weights] = this.weights;
    words[X.rows] = this.rows;
    words[X.scratch] = scratch;
    words[X.histCols] = histCols;
    words[X.numBins] = numBins;
    // Without counts every count reads 0: a minExamples of 0 lets the scan skip its count check.
    words[X.minExamples] = shape.countRows ? Math.min(shape.minExamples, 0x7fffffff) : 0;
    words[X.blockRows] = BLOCK_ROWS;
    const doubles = mem.f64(this.ctx, CTX_BYTES / 8);
    doubles[XD_L2 / 8] = shape.l2;
    doubles[XD_MIN_HESS / 8] = shape.minChildHessian;
    this.pool = GbtThreads.open(module, mem.memory, this.ex, ctrl, shape.threads);
  }

  get threadCount(): number {
    return this.pool.threads;
  }

  /** Task records for a job of `count` tasks (zeroed), as int32 and float64 views of the whole table. */
  tasks(count: number): { ptr: number; i32: Int32Array; f64: Float64Array } {
    if (count > this.taskCap) {
      this.taskCap = Math.max(count, 2 * this.taskCap, 64);
      this.taskPtr = this.mem.alloc(this.taskCap * TASK_BYTES);
    }
    const i32 = this.mem.i32(this.taskPtr, (count * TASK_BYTES) / 4);
    i32.fill(0);
    return { ptr: this.taskPtr, i32, f64: this.mem.f64(this.taskPtr, (count * TASK_BYTES) / 8) };
  }

  /** Runs a job whose tasks were written with tasks(count); `header` sets job-specific words. */
  run(kind: number, count: number, header?: Partial<Record<keyof typeof J, number>>): void {
    if (count === 0) return;
    const words = this.mem.i32(this.job, JOB_BYTES / 4);
    words.fill(0);
    words[J.kind] = kind;
    words[J.taskPtr] = this.taskPtr;
    if (header) for (const [k, v] of Object.entries(header)) words[J[k as keyof typeof J]] = v;
    this.pool.run(this.ctx, this.job, count);
  }

  /** Split candidates of `rows` nodes (one row of numHist entries each); returns the table's address. */
  splitTable(rows: number): number {
    if (rows > this.splitCap) {
      this.splitCap = Math.max(rows, 2 * this.splitCap, 16);
      this.splitPtr = this.mem.alloc(this.splitCap * this.numHist * SPLIT_BYTES);
      this.mem.i32(this.ctx, CTX_BYTES / 4)[X.splits] = this.splitPtr;
    }
    return this.splitPtr;
  }

  /** Room for `count` slot addresses (int32); returns the table's address. */
  partialTable(count: number): number {
    if (count > this.partialCap) {
      this.partialCap = Math.max(count, 2 * this.partialCap, 64);
      this.partialPtr = this.mem.alloc(4 * this.partialCap);
    }
    return this.partialPtr;
  }

  /** Room for a tree of `nodes` nodes in bin form (for walking rows outside the sample). */
  treeTable(nodes: number): number {
    if (nodes > this.treeCap) {
      this.treeCap = Math.max(nodes, 2 * this.treeCap, 64);
      this.treePtr = this.mem.alloc(this.treeCap * NODE_BYTES);
    }
    return this.treePtr;
  }

  /** A histogram slot (numHist feature histograms); freed slots are reused. */
  allocSlot(): number {
    return this.freeSlots.pop() ?? this.mem.alloc(this.slotBytes);
  }

  freeSlot(slot: number): void {
    this.freeSlots.push(slot);
  }

  close(): void {
    this.pool.close();
  }
}
