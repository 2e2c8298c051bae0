/** The presentations of `train` and `kfold` (see training.ts and inputs.ts for the parts). */
import type { Block, Figure, Presentation } from "../../../core/present.js";
import type { PresentContext } from "../../../core/stage.js";
import type { ModelKinds } from "../models/index.js";
import { inputBlocks } from "./inputs.js";
import { metricsOf, modelOf, obj, tableOf } from "./read.js";
import { foldFigures, lossPlot, modelBlocks, stopInfo, type StopInfo } from "./training.js";

export interface TrainingParams {
  readonly features: readonly string[];
  readonly label: string;
  readonly weight?: string | undefined;
}

async function common(
  kinds: ModelKinds,
  ctx: PresentContext<TrainingParams>,
  ports: { model: string; table: string },
  stops: (m: ReturnType<typeof metricsOf>) => StopInfo[],
): Promise<{ blocks: Block[]; notes: string[] }> {
  const blocks: Block[] = [];
  const notes: string[] = [];
  const m = metricsOf(await ctx.output("metrics"));
  const history = tableOf(await ctx.output("history"));
  if (history) {
    const loss = lossPlot(history, stops(m));
    if (loss) blocks.push(loss);
    else notes.push("the training history is empty");
  }
  const model = modelOf(await ctx.output(ports.model));
  if (model) {
    try {
      blocks.push(...(await modelBlocks(kinds, ports.model, model)));
    } catch (e) {
      notes.push(`the model cannot be described: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const inputs = await inputBlocks(ctx, ports.table, ctx.params);
  blocks.push(...inputs.blocks);
  notes.push(...inputs.notes);
  return { blocks, notes };
}

export async function presentTrain(
  kinds: ModelKinds,
  ctx: PresentContext<TrainingParams>,
): Promise<Presentation> {
  if (ctx.detail === "figures") return { figures: [], blocks: [] };
  const { blocks, notes } = await common(kinds, ctx, { model: "model", table: "train" }, (m) => [
    stopInfo(m),
  ]);
  return { figures: [], blocks, notes };
}

export async function presentKfold(
  kinds: ModelKinds,
  ctx: PresentContext<TrainingParams>,
): Promise<Presentation> {
  const m = metricsOf(await ctx.output("metrics"));
  const figures: Figure[] = foldFigures(m, ctx.stageId);
  if (ctx.detail === "figures") return { figures, blocks: [] };
  const { blocks, notes } = await common(kinds, ctx, { model: "models", table: "table" }, (mm) => {
    const f = mm?.folds;
    return Array.isArray(f) ? f.map((x) => stopInfo(obj(x))) : [];
  });
  return { figures, blocks, notes };
}
