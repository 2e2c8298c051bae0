/**
 * The Mersenne Twister MT19937 as NumPy's legacy `RandomState` runs it (numpy/random/src/mt19937):
 * the same state words, the same two seedings and the same 32-bit outputs, so a stream seeded here
 * with 420 is the stream `numpy.random.RandomState(420)` draws from.
 *
 * Seeding, as `RandomState._legacy_seeding` does it:
 * - an integer seed (0 … 2³² − 1) fills the state with Knuth's linear recurrence (`mt19937_seed`,
 *   the reference implementation's `init_genrand`);
 * - an array of such integers goes through `init_by_array` (which itself starts from
 *   `mt19937_seed(19650218)`).
 *
 * 32-bit integer arithmetic only (Math.imul, >>> 0), so the stream is the same on every platform.
 */
const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

export class MT19937 {
  private readonly key = new Uint32Array(N);
  private pos = N;

  /** A state seeded as NumPy seeds it from an integer or from an array of integers. */
  constructor(seed: number | readonly number[]) {
    if (typeof seed === "number") {
      checkSeedWord(seed);
      this.seedInteger(seed);
    } else {
      if (seed.length === 0) throw new RangeError("an array seed must not be empty");
      seed.forEach(checkSeedWord);
      this.initByArray(seed);
    }
  }

  /** `mt19937_seed`: Knuth's recurrence key[i] = 1812433253·(key[i−1] ^ key[i−1] >>> 30) + i. */
  private seedInteger(seed: number): void {
    let s = seed >>> 0;
    for (let i = 0; i < N; i++) {
      this.key[i] = s;
      s = (Math.imul(1812433253, (s ^ (s >>> 30)) >>> 0) + i + 1) >>> 0;
    }
    this.pos = N;
  }

  /** `mt19937_init_by_array`, word for word. */
  private initByArray(initKey: readonly number[]): void {
    this.seedInteger(19650218);
    const mt = this.key;
    const len = initKey.length;
    let i = 1;
    let j = 0;
    for (let k = Math.max(N, len); k > 0; k--) {
      const prev = mt[i - 1]!;
      mt[i] = ((mt[i]! ^ Math.imul((prev ^ (prev >>> 30)) >>> 0, 1664525)) + initKey[j]! + j) >>> 0;
      i++;
      j++;
      if (i >= N) {
        mt[0] = mt[N - 1]!;
        i = 1;
      }
      if (j >= len) j = 0;
    }
    for (let k = N - 1; k > 0; k--) {
      const prev = mt[i - 1]!;
      mt[i] = ((mt[i]! ^ Math.imul((prev ^ (prev >>> 30)) >>> 0, 1566083941)) - i) >>> 0;
      i++;
      if (i >= N) {
        mt[0] = mt[N - 1]!;
        i = 1;
      }
    }
    mt[0] = 0x80000000;
    this.pos = N;
  }

  /** Regenerates all 624 words (`mt19937_gen`). */
  private generate(): void {
    const k = this.key;
    let i = 0;
    let y: number;
    for (; i < N - M; i++) {
      y = (k[i]! & UPPER_MASK) | (k[i + 1]! & LOWER_MASK);
      k[i] = k[i + M]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    for (; i < N - 1; i++) {
      y = (k[i]! & UPPER_MASK) | (k[i + 1]! & LOWER_MASK);
      k[i] = k[i + M - N]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    y = (k[N - 1]! & UPPER_MASK) | (k[0]! & LOWER_MASK);
    k[N - 1] = k[M - 1]! ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    this.pos = 0;
  }

  /** The next tempered 32-bit output, as an unsigned number. */
  next32(): number {
    if (this.pos === N) this.generate();
    let y = this.key[this.pos++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** The first `count` words of the state, for comparison with `RandomState.get_state()[1]`. */
  stateWords(count: number): number[] {
    return Array.from(this.key.subarray(0, count));
  }
}

function checkSeedWord(v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff)
    throw new RangeError(`a NumPy seed must be an integer between 0 and 2**32 - 1, got ${v}`);
}
