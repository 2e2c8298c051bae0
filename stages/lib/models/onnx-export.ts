/**
 * A trained model (one, or the k folds of kfold) as one ONNX file: input `features`, float32
 * [N, number of features] of raw values in the model's feature order; output `probability`,
 * float32 [N, 1], the probability of class 1 as `predict` computes it. The model's preprocessing
 * is inside. A kfold model is one graph holding every fold, averaged with `Mean` (what predict
 * does). Metadata (metadata_props) says where the model came from: docs/models.md.
 */
import type { JsonObject } from "../../../core/json.js";
import { StageError, type ExportProvenance, type ModelArtifact } from "../../../core/stage.js";
import { DEFAULT_OPSET, encodeOnnxModel, OnnxGraph, OPSET_RANGE } from "../onnx/graph.js";
import { chainMetrics } from "../preprocess.js";
import { foldModels, readModel } from "./envelope.js";
import { kindNamed, type ModelKinds } from "./index.js";

export const ONNX_INPUT = "features";
export const ONNX_OUTPUT = "probability";

export interface OnnxExportOptions {
  readonly opset?: number;
  readonly provenance?: ExportProvenance;
}

export async function exportOnnx(
  kinds: ModelKinds,
  m: ModelArtifact,
  opts: OnnxExportOptions = {},
): Promise<Uint8Array> {
  const opset = opts.opset ?? DEFAULT_OPSET;
  if (!Number.isInteger(opset) || opset < OPSET_RANGE[0] || opset > OPSET_RANGE[1])
    throw new StageError("QV_MODEL_EXPORT", `opset ${opset} is not one Quiver writes`, {
      hint: `use an opset from ${OPSET_RANGE[0]} to ${OPSET_RANGE[1]} (default ${DEFAULT_OPSET})`,
    });
  const folds = foldModels(m).map(readModel);
  const first = folds[0]!;
  const g = new OnnxGraph();
  const input = g.reserve(ONNX_INPUT);
  const outputs: string[] = [];
  for (const [i, stored] of folds.entries()) {
    const kind = kindNamed(kinds, stored.kind);
    if (!kind.onnx)
      throw new StageError("QV_MODEL_EXPORT", `models of kind ${kind.name} cannot be written as ONNX`, {
        hint: `kinds that can: ${[...kinds.values()]
          .filter((k) => k.onnx)
          .map((k) => k.name)
          .join(", ")}; --to model.json writes any kind with an export hook`,
      });
    if (stored.features.join("\u0000") !== first.features.join("\u0000"))
      throw new StageError("QV_MODEL_FORMAT", `fold ${i} of this model reads other features than fold 0`);
    outputs.push(
      await kind.onnx(stored, g, {
        name: input,
        preprocess: stored.preprocess,
        prefix: folds.length > 1 ? `fold${i}_` : "",
      }),
    );
  }
  const last = outputs.length === 1 ? outputs[0]! : g.node("Mean", outputs);
  g.renameOutput(last, ONNX_OUTPUT);
  const p = opts.provenance;
  const lineage: JsonObject = {};
  for (const f of first.features) lineage[f] = first.lineage ? [...(first.lineage[f] ?? [])] : null;
  const metadata: [string, string][] = [
    ["quiver.format", "quiver-onnx-model 1"],
    ["quiver.features", JSON.stringify(first.features)],
    [
      "quiver.input",
      `${ONNX_INPUT}: float32 [N, ${first.features.length}], raw values in the order of quiver.features`,
    ],
    ["quiver.output", `${ONNX_OUTPUT}: float32 [N, 1], probability of class 1`],
    ["quiver.kind", first.kind],
    ["quiver.folds", String(folds.length)],
    ["quiver.combine", folds.length > 1 ? "mean of the folds' probabilities" : "single model"],
    [
      "quiver.preprocess",
      JSON.stringify(first.preprocess.length > 0 ? chainMetrics(first.preprocess) : null),
    ],
    ["quiver.lineage", JSON.stringify(lineage)],
    ["quiver.training_data", JSON.stringify(folds.map((f) => f.trainingData))],
    ...(p
      ? ([
          ["quiver.pipeline", p.pipeline],
          ["quiver.stage", `${p.stage}.${p.port}`],
          ["quiver.cache_key", p.cacheKey],
          ["quiver.version", p.quiverVersion],
        ] as [string, string][])
      : []),
  ];
  return encodeOnnxModel(g, {
    graphName: p ? `${p.pipeline}.${p.stage}` : "quiver_model",
    input: { name: input, features: first.features.length },
    output: { name: ONNX_OUTPUT },
    opset,
    producerVersion: p?.quiverVersion ?? "",
    docString: `Quiver ${first.kind} model${folds.length > 1 ? ` (${folds.length} folds, averaged)` : ""}: probability of class 1 from ${first.features.join(", ")}`,
    metadata,
  });
}
