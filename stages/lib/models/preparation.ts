/**
 * What `train` and `kfold` record about how their features were prepared: the lineage of each
 * feature (the same in every table the stage reads, or the stage refuses), and the scaler the
 * model carries when one is connected to `preprocess`.
 */
import type { JsonObject } from "../../../core/json.js";
import { StageError } from "../../../core/stage.js";
import { lineageOf, type Table } from "../../../core/table.js";
import { describeLineage, featureLineage } from "../lineage.js";
import { checkNotPrescaled, scaledFeatures, scalerChain } from "../preprocess.js";
import type { FittedScaler } from "../scaler-artifact.js";

export interface ModelPreparation {
  /** Feature → lineage of the first table (the one trained on), before the model's preprocessing. */
  readonly lineage: JsonObject;
  readonly preprocess: readonly FittedScaler[];
  /** The features the preprocessing transforms. */
  readonly scaled: string[];
}

/**
 * Checks that every table prepared its features alike (a validation table scaled differently from
 * the training table would make val_loss meaningless) and reads the `preprocess` scaler.
 */
export async function modelPreparation(
  preprocess: JsonObject | undefined,
  features: readonly string[],
  tables: readonly { readonly table: Table; readonly what: string }[],
): Promise<ModelPreparation> {
  const first = tables[0]!;
  for (const other of tables.slice(1))
    for (const f of features) {
      const a = first.table.columns.get(f);
      const b = other.table.columns.get(f);
      if (!a || !b) continue;
      const la = lineageOf(a);
      const lb = lineageOf(b);
      if (la.length === lb.length && la.every((s, i) => s === lb[i])) continue;
      throw new StageError(
        "QV_FEATURE_LINEAGE",
        `the ${first.what}'s ${f} is ${describeLineage(la)}, but the ${other.what}'s ${f} is ${describeLineage(lb)}`,
        {
          data: { column: f },
          marks: [...new Set([...la, ...lb])],
          hint: `prepare both tables the same way (e.g. scale the ${other.what} with the scaler fitted on the ${first.what}: a scale stage with \`scaler:\` and \`apply:\`)`,
        },
      );
    }
  const lineage = featureLineage(first.table, features);
  if (preprocess === undefined) return { lineage, preprocess: [], scaled: [] };
  const chain = scalerChain(preprocess, "preprocess");
  const scaled = scaledFeatures(chain, features);
  if (scaled.length === 0)
    throw new StageError(
      "QV_PREPROCESS_COLUMNS",
      "the scaler on the preprocess input transforms none of the features",
      {
        param: ["features"],
        hint: "connect the scaler fitted on these features, or leave preprocess unconnected",
      },
    );
  for (const t of tables) await checkNotPrescaled(chain, features, t.table, t.what, "preprocess");
  return { lineage, preprocess: chain, scaled };
}
