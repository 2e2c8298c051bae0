/**
 * Data checks made before training, so that what a training library would refuse with a plain
 * Error (reported as a Quiver bug) reaches the user as a StageError naming the data.
 */
import { StageError } from "../../core/stage.js";
import type { LabeledData } from "./labeled.js";

/** A classifier needs rows of both classes with a positive total weight. */
export function checkBothClasses(data: LabeledData, what: string): void {
  const w = data.weights;
  let pos = 0;
  let neg = 0;
  for (let i = 0; i < data.n; i++) {
    const wi = w ? w[i]! : 1;
    if (data.labels[i] === 1) pos += wi;
    else neg += wi;
  }
  if (!(pos > 0) || !(neg > 0))
    throw new StageError(
      "QV_ONE_CLASS",
      `the ${what} has no ${pos > 0 ? "background (label 0)" : "signal (label 1)"} rows with a positive total weight; a classifier needs both classes`,
      { param: ["label"], hint: "check the label column and the selection before training" },
    );
}
