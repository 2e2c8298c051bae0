/**
 * Runs the stages' `present` hooks over what the store holds for a run: builds each hook's
 * context (outputs and inputs read lazily, input tables in physical values, units, sample
 * columns), adds the default view of every output port (core/present-defaults.ts; folded when
 * the stage shows the port itself), and catches a presenter's failure as a note, so one broken
 * plot never costs the whole report. Knows no stage names: only port declarations and hooks.
 */
import { defaultBlocks, summaryBlock } from "../core/present-defaults.js";
import type { Block, Figure, PhysicalTable, Presentation } from "../core/present.js";
import type { ArtifactValue, PresentContext } from "../core/stage.js";
import type { Column, Table } from "../core/table.js";
import type { ReportData, StageInfo } from "./collect.js";

export interface StagePresentation {
  readonly stage: string;
  readonly figures: readonly Figure[];
  /** The stage's own blocks, then the default view of each output port. */
  readonly blocks: readonly Block[];
  readonly notes: readonly string[];
  /** Output ports the stage shows with its own blocks (their default views are folded). */
  readonly covered: readonly string[];
  /** The default views, by identity (a subset of `blocks`). */
  readonly defaults: ReadonlySet<Block>;
}

/** Conventional names of a column that says which sample (process) a row belongs to. */
export const SAMPLE_COLUMNS: readonly string[] = ["sample", "process"];

function sameValues(a: Column, b: Column): boolean {
  if (a.type !== b.type) return false;
  const x = a.type === "dict" ? a.codes : a.values;
  const y = b.type === "dict" ? b.codes : (b as { values: ArrayLike<number> }).values;
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) {
    const u = x[i]!;
    const v = y[i]!;
    if (u !== v && !(u !== u && v !== v)) return false;
  }
  return (
    a.type !== "dict" || (b.type === "dict" && a.dictionary.join("\u0000") === b.dictionary.join("\u0000"))
  );
}

/**
 * The table an input port read, with the columns a `rescales` port upstream changed replaced by
 * the values it read (same rows, same order), following such ports up the graph.
 */
async function physicalInput(
  data: ReportData,
  stage: string,
  port: string,
): Promise<PhysicalTable | undefined> {
  const v = await data.input(stage, port);
  if (v?.kind !== "table") return undefined;
  let id = data.inputHash(stage, port) ?? `${stage}.${port}`;
  let ref = data.spec.stages.get(stage)?.inputs[port];
  let from = ref ? `${ref.stage}.${ref.port}` : `${stage}.${port}`;
  const columns = new Map(v.table.columns);
  const restored = new Set<string>();
  const scaled: string[] = [];
  for (let hops = 0; ref && hops < 32; hops++) {
    const producer = data.spec.stages.get(ref.stage);
    const via = producer?.def.outputs[ref.port]?.rescales?.find((p) => producer.inputs[p]);
    if (!producer || !via) break;
    const up = await data.input(ref.stage, via);
    if (up?.kind !== "table" || up.table.numRows !== v.table.numRows) {
      // The values before the rescaling are gone: every number may be rescaled.
      for (const [name, c] of columns) if (c.type === "float64" && !restored.has(name)) scaled.push(name);
      break;
    }
    let all = up.table.columns.size === columns.size;
    for (const [name, c] of columns) {
      const before = up.table.columns.get(name);
      if (!before) all = false;
      else if (!sameValues(c, before)) {
        columns.set(name, before);
        restored.add(name);
      }
    }
    // Every column now holds the upstream table's values: it is that table (drawn once for all readers).
    if (all) id = data.inputHash(ref.stage, via) ?? id;
    ref = producer.inputs[via];
    if (ref) from = `${ref.stage}.${ref.port}`;
  }
  const table: Table = { numRows: v.table.numRows, columns };
  return { table, restored: [...restored], scaled, id, from };
}

function contextFor(data: ReportData, info: StageInfo, detail: "figures" | "full"): PresentContext<unknown> {
  const spec = data.spec;
  const samples = spec.report.samples;
  // The params it ran with (the fingerprint's), unless the fingerprint holds a rewritten form.
  const params = info.spec.def.fingerprintParams ? info.spec.params : info.params;
  const physical = new Map<string, Promise<PhysicalTable | undefined>>();
  return {
    stageId: info.id,
    params,
    detail,
    output: (port) => data.artifact(info.id, port),
    input: (port) => data.input(info.id, port),
    physicalInput: (port) => {
      let p = physical.get(port);
      if (!p) physical.set(port, (p = physicalInput(data, info.id, port)));
      return p;
    },
    unit: (column) => (Object.hasOwn(spec.units, column) ? spec.units[column] : undefined),
    sampleColumns: samples ? [samples] : SAMPLE_COLUMNS,
    summary: info.manifest?.summary ?? {},
    once: <T>(key: string, compute: () => Promise<T>): Promise<T> => {
      let p = data.memo.get(key) as Promise<T> | undefined;
      if (!p) data.memo.set(key, (p = compute()));
      return p;
    },
  };
}

function failure(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The figures and blocks of one stage's stored result (nothing when it has none). */
export async function presentStage(
  data: ReportData,
  info: StageInfo,
  detail: "figures" | "full" = "full",
): Promise<StagePresentation> {
  const notes: string[] = [];
  if (!info.manifest)
    return { stage: info.id, figures: [], blocks: [], notes, covered: [], defaults: new Set() };
  let own: Presentation = { figures: [], blocks: [] };
  const def = info.spec.def;
  if (def.present) {
    try {
      own = await def.present(contextFor(data, info, detail));
    } catch (e) {
      notes.push(`the stage's presentation failed: ${failure(e)}`);
    }
  }
  notes.push(...(own.notes ?? []));
  if (detail === "figures")
    return { stage: info.id, figures: own.figures, blocks: [], notes, covered: [], defaults: new Set() };
  const shown = new Set(own.blocks.map((b) => b.port).filter((p): p is string => p !== undefined));
  const defaults: Block[] = [];
  for (const [port, kind] of Object.entries(info.manifest.kinds)) {
    // A large table is described from its Arrow footer: its rows and columns, not its data.
    const summary = kind === "table" ? await data.tableSummary(info.id, port) : undefined;
    if (summary) {
      const b = summaryBlock(
        port,
        info.spec.def.outputs[port],
        summary,
        info.manifest.objects[port]?.size ?? 0,
      );
      defaults.push(shown.has(port) ? { ...b, folded: true } : b);
      continue;
    }
    const value: ArtifactValue | undefined = await data.artifact(info.id, port);
    if (!value || value.kind !== kind) {
      notes.push(`${port}: not in the store (collected, or damaged)`);
      continue;
    }
    const blocks = defaultBlocks(port, info.spec.def.outputs[port], value, {
      unit: (c) => (Object.hasOwn(data.spec.units, c) ? data.spec.units[c] : undefined),
    });
    defaults.push(...(shown.has(port) ? blocks.map((b) => ({ ...b, folded: true })) : blocks));
  }
  return {
    stage: info.id,
    figures: own.figures,
    blocks: [...own.blocks, ...defaults],
    notes,
    covered: [...shown],
    defaults: new Set(defaults),
  };
}

/** The headline figures of every stage with a stored result, in pipeline order. */
export async function collectFigures(
  data: ReportData,
): Promise<{ stage: string; figures: readonly Figure[] }[]> {
  const out: { stage: string; figures: readonly Figure[] }[] = [];
  for (const id of data.spec.order) {
    const info = data.stages.get(id)!;
    if (!info.manifest || !info.spec.def.present) continue;
    const p = await presentStage(data, info, "figures");
    if (p.figures.length) out.push({ stage: id, figures: p.figures });
  }
  return out;
}
