/**
 * `quiver export` of a `train` or `kfold` model: `.onnx` (stages/lib/models/onnx-export.ts) or
 * `.json`, the portable document with every number (envelope.ts `exportModel`). Both say where
 * the model came from. The libraries load only when a model is exported.
 */
import type { OutputExporter } from "../../../core/stage.js";
import { StageError } from "../../../core/stage.js";
import type { ModelKinds } from "./index.js";

export function modelExporter(kinds: ModelKinds): OutputExporter {
  return {
    formats: ["onnx", "json"],
    async write(value, req) {
      if (value.kind !== "model") throw new Error("the model exporter was given a " + value.kind);
      switch (req.format) {
        case "onnx": {
          const { exportOnnx } = await import("./onnx-export.js");
          return exportOnnx(kinds, value.model, {
            provenance: req.provenance,
            ...(req.options.opset !== undefined ? { opset: req.options.opset } : {}),
          });
        }
        case "json": {
          const { exportModel } = await import("./envelope.js");
          const doc = await exportModel(kinds, value.model, req.provenance);
          return Buffer.from(JSON.stringify(doc, null, 1) + "\n", "utf8");
        }
        default:
          throw new StageError("QV_MODEL_EXPORT", `a model cannot be exported as .${req.format}`, {
            hint: "use .onnx or .json",
          });
      }
    },
  };
}
