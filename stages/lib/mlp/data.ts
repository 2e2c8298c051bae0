/** Validation and copying of training data into the trainer's memory layout (rows padded to inPad). */
import { MlpDataError } from "./spec.js";

/** Checks lengths and values; returns the row count. Throws MlpDataError naming the first bad value. */
export function validateData(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  w: ArrayLike<number> | undefined,
  inputDim: number,
  outputs: number,
): number {
  if (x.length % inputDim !== 0) {
    throw new MlpDataError(`x has ${x.length} values, not a multiple of inputDim ${inputDim}`);
  }
  const rows = x.length / inputDim;
  if (rows === 0) throw new MlpDataError("the data set has no rows");
  if (y.length !== rows * outputs) {
    throw new MlpDataError(
      `y has ${y.length} values; expected ${rows * outputs} (${rows} rows x ${outputs} outputs)`,
    );
  }
  if (w && w.length !== rows) throw new MlpDataError(`w has ${w.length} values; expected ${rows}`);
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (!Number.isFinite(v)) {
      const r = Math.floor(i / inputDim);
      throw new MlpDataError(`x row ${r}, feature ${i - r * inputDim} is not a finite number (${v})`);
    }
  }
  for (let i = 0; i < y.length; i++) {
    const v = y[i] ?? NaN;
    if (!(v >= 0 && v <= 1))
      throw new MlpDataError(`label ${i} is ${v}; binary cross-entropy needs labels in [0, 1]`);
  }
  if (w) {
    for (let i = 0; i < rows; i++) {
      if (!Number.isFinite(w[i]))
        throw new MlpDataError(`sample weight ${i} is not a finite number (${w[i]})`);
    }
  }
  return rows;
}

/** Copies validated data; returns the sum of the weights as stored (float32), or the row count. */
export function copyData(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  w: ArrayLike<number> | undefined,
  X: Float32Array,
  Y: Float32Array,
  W: Float32Array | undefined,
  inputDim: number,
  inPad: number,
): number {
  const rows = x.length / inputDim;
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < inputDim; j++) X[r * inPad + j] = x[r * inputDim + j] ?? 0;
    for (let j = inputDim; j < inPad; j++) X[r * inPad + j] = 0;
  }
  for (let i = 0; i < Y.length; i++) Y[i] = y[i] ?? 0;
  if (!w || !W) return rows;
  let sum = 0;
  for (let i = 0; i < rows; i++) {
    W[i] = w[i] ?? 0;
    sum += W[i] ?? 0;
  }
  return sum;
}
