/**
 * First-fit allocator over the trainer's linear memory (the wasm module has none of its own).
 * Blocks are 64-byte aligned; freed blocks are merged with free neighbours. The memory grows on
 * demand; views must be re-created after any allocation because growing replaces the buffer.
 */
const ALIGN = 64;
const PAGE = 65536;

/** The data and network do not fit in the trainer's memory limit (see docs/wasm-trainer.md). */
export class MlpMemoryError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = "MlpMemoryError";
  }
}

export class LinearAllocator {
  private free: { at: number; size: number }[] = [];
  private top: number;
  private readonly sizes = new Map<number, number>();

  constructor(
    private readonly memory: WebAssembly.Memory,
    base: number,
    private readonly maxPages: number,
  ) {
    this.top = Math.ceil(base / ALIGN) * ALIGN;
  }

  alloc(bytes: number): number {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    const i = this.free.findIndex((f) => f.size >= size);
    let at: number;
    const hit = i >= 0 ? this.free[i] : undefined;
    if (hit) {
      at = hit.at;
      if (hit.size === size) this.free.splice(i, 1);
      else {
        hit.at += size;
        hit.size -= size;
      }
    } else {
      at = this.top;
      this.top += size;
      this.ensure(this.top);
    }
    this.sizes.set(at, size);
    return at;
  }

  release(at: number): void {
    const size = this.sizes.get(at);
    if (size === undefined) throw new Error(`LinearAllocator: ${at} is not an allocated block`);
    this.sizes.delete(at);
    this.free.push({ at, size });
    this.free.sort((a, b) => a.at - b.at);
    const merged: { at: number; size: number }[] = [];
    for (const f of this.free) {
      const prev = merged[merged.length - 1];
      if (prev && prev.at + prev.size === f.at) prev.size += f.size;
      else merged.push({ ...f });
    }
    const last = merged[merged.length - 1];
    if (last && last.at + last.size === this.top) {
      this.top = last.at;
      merged.pop();
    }
    this.free = merged;
  }

  private ensure(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    const pages = Math.ceil((end - have) / PAGE);
    if (have / PAGE + pages > this.maxPages) {
      throw new MlpMemoryError(
        `the trainer needs ${Math.ceil(end / 2 ** 20)} MiB, above its ${this.maxPages / 16} MiB memory limit`,
      );
    }
    this.memory.grow(pages);
  }
}
