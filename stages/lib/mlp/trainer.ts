/**
 * The WebAssembly SIMD dense-network trainer: host side. See docs/wasm-trainer.md.
 *
 * Weights go in and out in Keras layout (dense: kernel [in, out] row-major, bias [out];
 * batchnorm: gamma, beta, moving_mean, moving_variance), so the tfjs path and this one can hand
 * weights to each other. All results are independent of `threads`, bit for bit.
 */
import { Rng } from "../random.js";
import { deriveSeed } from "../../../core/seed.js";
import { copyData, validateData } from "./data.js";
import { fitMlp, type FitHistory, type FitOptions } from "./fit.js";
import { fromKeras, initialWeights, kerasMismatch, kerasShapes, toKeras } from "./keras-layout.js";
import { LinearAllocator } from "./memory.js";
import { C, CTRL_WORDS, JOB_INFER, JOB_STEP, JOB_TRAIN, ThreadPool } from "./pool.js";
import { ITEM_BYTES, OPT_WORDS, stepItems, writeOptimizer } from "./step.js";
import {
  MAX_CHUNKS,
  chunking,
  descriptorBytes,
  planNetwork,
  planSlot,
  writeDescriptor,
  type Plan,
  type SlotPlan,
} from "./layout.js";
import { MlpDataError, resolveSpec, type MlpSpec, type ResolvedSpec } from "./spec.js";

export { MlpDataError };
import { createMlpInstance, loadMlpModule, type MlpExports } from "./wasm.js";
import type { EpochStats, EvaluateResult, MlpData } from "./types.js";

interface DataBlock extends MlpData {
  x: number;
  y: number;
  w: number;
  perm: number;
  live: boolean;
}

export class MlpTrainer {
  private slot: SlotPlan | undefined;
  private slotsBase = 0;
  private optimizerSteps = 0;
  /** Counts training batches; keys the dropout masks. */
  private batchCounter = 0;
  private disposed = false;
  private readonly datasets = new Set<DataBlock>();

  private constructor(
    readonly spec: ResolvedSpec,
    private readonly plan: Plan,
    private readonly memory: WebAssembly.Memory,
    private readonly ex: MlpExports,
    private readonly alloc: LinearAllocator,
    private readonly pool: ThreadPool,
    private readonly ctrlPtr: number,
    private readonly netPtr: number,
    private readonly paramsPtr: number,
    private readonly gradPtr: number,
    private readonly opt1Ptr: number,
    private readonly opt2Ptr: number,
    private readonly statePtr: number,
    private readonly itemsPtr: number,
    private readonly itemCount: number,
    private readonly optPtr: number,
  ) {}

  static async create(input: MlpSpec): Promise<MlpTrainer> {
    const spec = resolveSpec(input);
    const plan = planNetwork(spec);
    const module = await loadMlpModule();
    const { memory, maxPages, ex } = createMlpInstance(module);
    const alloc = new LinearAllocator(memory, ex.heapBase(), maxPages);
    const ctrlPtr = alloc.alloc(CTRL_WORDS * 4);
    const netPtr = alloc.alloc(descriptorBytes(plan));
    const bytes = plan.paramCount * 4;
    const paramsPtr = alloc.alloc(bytes);
    const gradPtr = alloc.alloc(bytes);
    const opt1Ptr = alloc.alloc(bytes);
    const opt2Ptr = alloc.alloc(bytes);
    const statePtr = alloc.alloc(Math.max(4, plan.stateCount * 4));
    const items = stepItems(plan);
    const itemsPtr = alloc.alloc(items.byteLength);
    new Int32Array(memory.buffer, itemsPtr, items.length).set(items);
    const optPtr = alloc.alloc(OPT_WORDS * 4);
    new Uint8Array(memory.buffer, ctrlPtr, CTRL_WORDS * 4).fill(0);
    const pool = await ThreadPool.start(module, memory, ex, ctrlPtr, spec.threads);
    const t = new MlpTrainer(
      spec,
      plan,
      memory,
      ex,
      alloc,
      pool,
      ctrlPtr,
      netPtr,
      paramsPtr,
      gradPtr,
      opt1Ptr,
      opt2Ptr,
      statePtr,
      itemsPtr,
      items.byteLength / ITEM_BYTES,
      optPtr,
    );
    t.ensureSlots(64);
    t.initWeights();
    return t;
  }

  get threads(): number {
    return this.pool.threads;
  }

  /** Keras shapes of getWeights()' arrays, in order. */
  weightShapes(): number[][] {
    return kerasShapes(this.plan);
  }

  /** Copies of the weights in Keras order and layout. */
  getWeights(): Float32Array[] {
    this.live();
    return toKeras(
      this.plan,
      this.f32(this.paramsPtr, this.plan.paramCount),
      this.f32(this.statePtr, this.plan.stateCount),
    );
  }

  /** Sets the weights from arrays in Keras order and layout (optimizer state is kept, as in Keras). */
  setWeights(weights: readonly ArrayLike<number>[]): void {
    this.live();
    const problem = kerasMismatch(this.plan, weights);
    if (problem) throw new MlpDataError(`setWeights: ${problem}`);
    fromKeras(
      this.plan,
      weights,
      this.f32(this.paramsPtr, this.plan.paramCount),
      this.f32(this.statePtr, this.plan.stateCount),
    );
    this.ex.transposeKernels(this.netPtr);
  }

  /** Zeroes the optimizer state (moments / velocity) and its step count. */
  resetOptimizer(): void {
    this.f32(this.opt1Ptr, this.plan.paramCount).fill(0);
    this.f32(this.opt2Ptr, this.plan.paramCount).fill(0);
    this.optimizerSteps = 0;
  }

  /**
   * Copies a data set in: x row-major (rows x inputDim), y (rows x outputs) in {0, 1} or any value
   * in [0, 1], optional non-negative sample weights.
   */
  loadData(x: ArrayLike<number>, y: ArrayLike<number>, w?: ArrayLike<number>): MlpData {
    this.live();
    const d = this.spec.inputDim;
    const outputs = this.plan.outValid;
    const rows = validateData(x, y, w, d, outputs);
    const inPad = this.plan.inPad;
    const xPtr = this.alloc.alloc(rows * inPad * 4);
    const yPtr = this.alloc.alloc(rows * outputs * 4);
    const wPtr = w ? this.alloc.alloc(rows * 4) : 0;
    const perm = this.alloc.alloc(rows * 4);
    const weightSum = copyData(
      x,
      y,
      w,
      this.f32(xPtr, rows * inPad),
      this.f32(yPtr, rows * outputs),
      w ? this.f32(wPtr, rows) : undefined,
      d,
      inPad,
    );
    const block: DataBlock = {
      rows,
      weightSum,
      x: xPtr,
      y: yPtr,
      w: wPtr,
      perm,
      live: true,
      release: () => {
        if (!block.live) return;
        block.live = false;
        this.datasets.delete(block);
        if (!this.disposed) this.freeBlocks([xPtr, yPtr, wPtr, perm]);
      },
    };
    this.datasets.add(block);
    return block;
  }

  /**
   * One epoch of mini-batch training over `data` in an order shuffled by `shuffleSeed` (or in
   * row order when it is undefined). Returns the mean batch loss weighted by batch size and the
   * fraction of outputs classified right during the epoch (dropout active), as Keras reports them.
   */
  trainEpoch(data: MlpData, batchSize: number, shuffleSeed: number | undefined): EpochStats {
    const block = this.block(data);
    const perm = new Int32Array(this.memory.buffer, block.perm, block.rows);
    if (shuffleSeed === undefined) for (let i = 0; i < block.rows; i++) perm[i] = i;
    else perm.set(new Rng(shuffleSeed).permutation(block.rows));
    return this.runEpoch(block, batchSize);
  }

  /**
   * One epoch visiting the rows in the given order (a permutation of 0..rows-1), so a caller can
   * reproduce another trainer's shuffling exactly (the train stage uses the tfjs path's order).
   */
  trainEpochInOrder(data: MlpData, batchSize: number, order: Int32Array): EpochStats {
    const block = this.block(data);
    if (order.length !== block.rows)
      throw new MlpDataError(`the order lists ${order.length} rows; the data set has ${block.rows}`);
    const seen = new Uint8Array(block.rows);
    for (let i = 0; i < order.length; i++) {
      const r = order[i]!;
      if (!(r >= 0 && r < block.rows) || seen[r] === 1)
        throw new MlpDataError(`the order is not a permutation of the rows (entry ${i} is ${r})`);
      seen[r] = 1;
    }
    new Int32Array(this.memory.buffer, block.perm, block.rows).set(order);
    return this.runEpoch(block, batchSize);
  }

  private runEpoch(block: DataBlock, batchSize: number): EpochStats {
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new MlpDataError(`batchSize must be a positive integer, got ${batchSize}`);
    let total = 0;
    let correct = 0;
    for (let start = 0; start < block.rows; start += batchSize) {
      const batch = Math.min(batchSize, block.rows - start);
      const r = this.trainBatch(block, block.perm + start * 4, batch, true);
      total += r.loss * batch;
      correct += r.correct;
    }
    return { loss: total / block.rows, accuracy: correct / (block.rows * this.plan.outValid) };
  }

  /**
   * Loss and gradients (Keras order and layout) of the first `batch` rows in row order, without
   * updating the weights; dropout masks use the current batch counter. Batchnorm running
   * statistics are updated as in a training step. For checks and for cross-checking against tfjs.
   */
  gradients(data: MlpData, batch = data.rows): { loss: number; grads: Float32Array[] } {
    const block = this.block(data);
    const perm = new Int32Array(this.memory.buffer, block.perm, block.rows);
    for (let i = 0; i < block.rows; i++) perm[i] = i;
    const { loss } = this.trainBatch(block, block.perm, Math.min(batch, block.rows), false);
    return { loss, grads: toKeras(this.plan, this.f32(this.gradPtr, this.plan.paramCount), undefined) };
  }

  private trainBatch(
    block: DataBlock,
    idxPtr: number,
    batch: number,
    update: boolean,
  ): { loss: number; correct: number } {
    const { chunkRows, chunks } = chunking(batch, this.plan.hasBatchNorm);
    this.ensureSlots(chunkRows);
    let invNorm = 1 / batch;
    if (this.spec.lossNormalization === "weights") {
      let s = 0;
      if (block.w === 0) s = batch;
      else {
        const idx = new Int32Array(this.memory.buffer, idxPtr, batch);
        const w = this.f32(block.w, block.rows);
        for (let i = 0; i < batch; i++) s += w[idx[i] ?? 0] ?? 0;
      }
      if (!(s > 0))
        throw new MlpDataError("a batch has a zero sum of weights; cannot normalise its loss by it");
      invNorm = 1 / s;
    }
    const l2 = this.spec.l2;
    const penalty = l2 > 0 ? l2 * this.ex.sumSquares(this.paramsPtr, this.plan.kernelCount) : 0;
    const ctrl = this.pool.ctrl();
    ctrl[C.job] = JOB_TRAIN;
    ctrl[C.net] = this.netPtr;
    ctrl[C.x] = block.x;
    ctrl[C.y] = block.y;
    ctrl[C.w] = block.w;
    ctrl[C.idx] = idxPtr;
    ctrl[C.batch] = batch;
    ctrl[C.chunkRows] = chunkRows;
    ctrl[C.chunks] = chunks;
    ctrl[C.step] = this.batchCounter | 0;
    ctrl[C.seed] = deriveSeed(this.spec.seed, "dropout") | 0;
    this.pool.ctrlF64()[C.invNormF64] = invNorm;
    this.pool.run(chunks);
    this.batchCounter = (this.batchCounter + 1) >>> 0;
    const loss = this.ex.sumChunkLosses(this.netPtr, chunks) * invNorm + penalty;
    const correct = this.ex.sumChunkCorrect(this.netPtr, chunks);
    // Sum the chunk gradients and (when updating) take the optimizer step, on every thread.
    if (update) this.optimizerSteps++;
    writeOptimizer(
      new Int32Array(this.memory.buffer, this.optPtr, OPT_WORDS),
      new Float32Array(this.memory.buffer, this.optPtr, OPT_WORDS),
      this.spec,
      update ? this.optimizerSteps : undefined,
    );
    ctrl[C.job] = JOB_STEP;
    ctrl[C.items] = this.itemsPtr;
    ctrl[C.grad] = this.gradPtr;
    ctrl[C.params] = this.paramsPtr;
    ctrl[C.opt1] = this.opt1Ptr;
    ctrl[C.opt2] = this.opt2Ptr;
    ctrl[C.opt] = this.optPtr;
    this.pool.run(this.itemCount);
    return { loss, correct };
  }

  /** Sigmoid outputs, rows x outputs. */
  predict(x: ArrayLike<number> | MlpData): Float32Array {
    const own = isData(x)
      ? undefined
      : this.loadData(x, new Float32Array((x.length / this.spec.inputDim) * this.plan.outValid));
    try {
      return this.infer(this.block(own ?? (x as MlpData)), false).out;
    } finally {
      own?.release();
    }
  }

  /**
   * The output unit's logit for each row, in float64, for a single-output network. The kernels
   * write float32 sigmoids, which round every probability above 1 - 6e-8 to 1; the per-row loss
   * they write in float64 for a label of 0 is softplus(z), which this inverts exactly enough
   * (z = l + log(1 - e^-l)) to give the logit to float64 precision of the float32 logit.
   */
  predictLogits(x: ArrayLike<number> | MlpData): Float64Array {
    if (this.plan.outValid !== 1)
      throw new MlpDataError(
        `predictLogits needs a single-output network; this one has ${this.plan.outValid}`,
      );
    const rows = isData(x) ? x.rows : x.length / this.spec.inputDim;
    // Unweighted, all-zero labels: the loss of row r is exactly softplus(z_r).
    const zeros = new Float32Array(rows);
    const own = isData(x) ? undefined : this.loadData(x, zeros);
    try {
      const block = own ? this.block(own) : this.block(x as MlpData);
      const y = this.f32(block.y, rows);
      const saved = y.slice();
      y.fill(0);
      const w = block.w;
      block.w = 0;
      try {
        const { loss } = this.infer(block, true);
        const z = new Float64Array(rows);
        for (let i = 0; i < rows; i++) {
          const l = loss[i] ?? 0;
          // l underflows to 0 only for z below about -745: keep such logits finite.
          z[i] = l > 0 ? l + Math.log(-Math.expm1(-l)) : Number.isNaN(l) ? NaN : -745;
        }
        return z;
      } finally {
        block.w = w;
        this.f32(block.y, rows).set(saved);
      }
    } finally {
      own?.release();
    }
  }

  evaluate(data: MlpData): EvaluateResult {
    const block = this.block(data);
    const { out, loss } = this.infer(block, true);
    const y = this.f32(block.y, block.rows * this.plan.outValid);
    let correct = 0;
    for (let i = 0; i < out.length; i++) if ((out[i] ?? 0) >= 0.5 === (y[i] ?? 0) >= 0.5) correct++;
    let s = 0;
    for (let i = 0; i < block.rows; i++) s += loss[i] ?? 0;
    const norm = this.spec.lossNormalization === "weights" ? block.weightSum : block.rows;
    if (!(norm > 0))
      throw new MlpDataError("the sample weights sum to zero; cannot normalise the loss by them");
    const penalty =
      this.spec.l2 > 0 ? this.spec.l2 * this.ex.sumSquares(this.paramsPtr, this.plan.kernelCount) : 0;
    return { loss: s / norm + penalty, accuracy: correct / out.length };
  }

  private infer(block: DataBlock, withLoss: boolean): { out: Float32Array; loss: Float64Array } {
    const slot = this.ensureSlots(64);
    const rows = block.rows;
    const outputs = this.plan.outValid;
    const outPtr = this.alloc.alloc(rows * outputs * 4);
    const lossPtr = withLoss ? this.alloc.alloc(rows * 8) : 0;
    try {
      const slots = this.plan.hasBatchNorm ? 1 : MAX_CHUNKS;
      const perRound = slots * slot.cap;
      for (let start = 0; start < rows; start += perRound) {
        const count = Math.min(perRound, rows - start);
        const ctrl = this.pool.ctrl();
        ctrl[C.job] = JOB_INFER;
        ctrl[C.net] = this.netPtr;
        ctrl[C.x] = block.x;
        ctrl[C.y] = withLoss ? block.y : 0;
        ctrl[C.w] = block.w;
        ctrl[C.chunks] = Math.ceil(count / slot.cap);
        ctrl[C.start] = start;
        ctrl[C.count] = count;
        ctrl[C.out] = outPtr;
        ctrl[C.lossOut] = lossPtr;
        this.pool.run(ctrl[C.chunks] ?? 1);
      }
      return {
        out: this.f32(outPtr, rows * outputs).slice(),
        loss: withLoss ? new Float64Array(this.memory.buffer, lossPtr, rows).slice() : new Float64Array(0),
      };
    } finally {
      this.alloc.release(outPtr);
      if (lossPtr) this.alloc.release(lossPtr);
    }
  }

  /**
   * Trains for up to `epochs` epochs. With earlyStopping, stops after `patience` epochs without
   * an improvement larger than minDelta of the monitored quantity and (unless restoreBestWeights is
   * false) ends with the best epoch's weights.
   */
  fit(data: MlpData, opts: FitOptions): FitHistory {
    return fitMlp(this, data, opts);
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    for (const d of this.datasets) d.live = false;
    this.datasets.clear();
    await this.pool.close();
  }

  private initWeights(): void {
    this.setWeights(initialWeights(this.plan, this.spec.seed));
  }

  /** Makes sure the chunk slots hold at least `rows` rows each; returns the slot plan. */
  private ensureSlots(rows: number): SlotPlan {
    if (this.slot && this.slot.cap >= rows) return this.slot;
    if (this.slot) this.alloc.release(this.slotsBase);
    const cap = Math.max(rows, 64);
    const slot = planSlot(this.plan, cap);
    const count = this.plan.hasBatchNorm ? 1 : MAX_CHUNKS;
    this.slotsBase = this.alloc.alloc(slot.stride * count);
    this.slot = slot;
    writeDescriptor(
      this.memory.buffer,
      this.netPtr,
      this.plan,
      slot,
      this.slotsBase,
      this.paramsPtr,
      this.statePtr,
    );
    return slot;
  }

  private block(data: MlpData): DataBlock {
    this.live();
    const b = data as DataBlock;
    if (!this.datasets.has(b))
      throw new MlpDataError("this data set was released or belongs to another trainer");
    return b;
  }

  private freeBlocks(ptrs: number[]): void {
    for (const p of ptrs) if (p !== 0) this.alloc.release(p);
  }

  private f32(ptr: number, n: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, n);
  }

  private live(): void {
    if (this.disposed) throw new Error("this MlpTrainer was disposed");
  }
}

function isData(x: ArrayLike<number> | MlpData): x is MlpData {
  return typeof (x as Partial<MlpData>).release === "function";
}

/** Creates a trainer (compiles the module once per process, starts spec.threads - 1 workers). */
export function createMlpTrainer(spec: MlpSpec): Promise<MlpTrainer> {
  return MlpTrainer.create(spec);
}
