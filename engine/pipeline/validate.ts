/**
 * Step 2 of 3: the parsed YAML → a validated PipelineSpec, or every problem found, each located.
 * Validation never stops at the first error: it collects all of them and the caller fails once.
 */
import os from "node:os";
import path from "node:path";
import { hasOwn, own, setOwn } from "../../core/dict.js";
import { didYouMean, type Diagnostic, type SourceLocation } from "../../core/diagnostics.js";
import { findCycles, topologicalOrder, type Edge } from "../graph.js";
import { collectFiles, validate, type ParamPath } from "../../core/schema.js";
import { deriveSeed } from "../../core/seed.js";
import type { AnyStageDefinition } from "../../core/stage.js";
import { sensitiveDataRoot } from "./data-roots.js";
import { resolveParams, substitute, unsplice, type Overrides, type Splice } from "./params.js";
import { mergeResources, parseResources, type ResourceField } from "./resources.js";
import type { PipelineSource } from "./source.js";
import type { InputRef, PipelineSpec, StageSpec } from "./spec.js";

export type Registry = ReadonlyMap<string, AnyStageDefinition>;

export type { Overrides };

const TOP_KEYS = [
  "quiver",
  "name",
  "description",
  "seed",
  "params",
  "stages",
  "data_roots",
  "units",
  "resources",
  "report",
] as const;
/** `report:` settings: how plots are labelled; presentation only, never part of a cache key. */
const REPORT_KEYS = ["label", "energy", "luminosity", "samples"] as const;
const STAGE_KEYS = ["type", "inputs", "with", "seed", "description", "resources"] as const;
const ID = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** How far the pipeline file itself is trusted. */
export interface TrustOptions {
  /**
   * Accept `data_roots:` that reach the home folder, a hidden folder in it or system folders
   * (`--allow-data-roots`): they stay a warning. Without it they are an error.
   */
  readonly allowDataRoots?: boolean;
  /** The user's home folder (default: the process's). */
  readonly home?: string;
}

export function validatePipeline(
  source: PipelineSource,
  registry: Registry,
  overrides: Overrides = {},
  trust: TrustOptions = {},
): { spec?: PipelineSpec; diagnostics: Diagnostic[] } {
  const diags: Diagnostic[] = [];
  const at = (p: ParamPath, o?: { atKey?: boolean; offset?: number; length?: number }): SourceLocation =>
    source.locate(p, o);
  const err = (
    code: string,
    message: string,
    location: SourceLocation,
    hint?: string,
    related?: Diagnostic["related"],
  ) =>
    diags.push({
      severity: "error",
      code,
      message,
      location,
      ...(hint ? { hint } : {}),
      ...(related ? { related } : {}),
    });

  const root = source.value;
  if (!isRecord(root)) {
    err(
      "QV_PIPELINE_SHAPE",
      "a pipeline file must be a mapping with `name` and `stages`",
      at([]),
      "start from the example in the README",
    );
    return { diagnostics: diags };
  }
  for (const k of Object.keys(root)) {
    if (!(TOP_KEYS as readonly string[]).includes(k)) {
      const near = didYouMean(k, TOP_KEYS);
      err(
        "QV_UNKNOWN_FIELD",
        `unknown pipeline field "${k}"`,
        at([k], { atKey: true }),
        near ? `did you mean "${near}"?` : `pipeline fields: ${TOP_KEYS.join(", ")}`,
      );
    }
  }
  if (root.quiver !== undefined && root.quiver !== 1)
    err(
      "QV_FORMAT_VERSION",
      `this Quiver reads pipeline format 1, the file says quiver: ${JSON.stringify(root.quiver)}`,
      at(["quiver"]),
      "set `quiver: 1`",
    );
  const name = root.name;
  if (typeof name !== "string" || !name.trim())
    err(
      "QV_MISSING_FIELD",
      "the pipeline needs a `name` (text)",
      at(name === undefined ? [] : ["name"]),
      "add e.g. `name: my-analysis`",
    );
  const description = typeof root.description === "string" ? root.description : undefined;

  // Params: pipeline values, then --params file, then --set, each remembering its origin.
  const { params, seed } = resolveParams(root, overrides, at, diags);

  const dataRoots: string[] = [];
  const pipelineDir = path.dirname(path.resolve(source.file));
  if (Array.isArray(root.data_roots))
    root.data_roots.forEach((r: unknown, i: number) => {
      if (typeof r !== "string") return;
      dataRoots.push(r);
      const why = sensitiveDataRoot(r, pipelineDir, trust.home ?? os.homedir());
      if (why === undefined) return;
      diags.push({
        severity: trust.allowDataRoots ? "warning" : "error",
        code: "QV_DATA_ROOT_OUTSIDE",
        message: `data root "${r}" leaves the pipeline's folder and reaches ${why}: its stages may read any file there (credentials such as ~/.netrc included) into the store`,
        location: at(["data_roots", i]),
        hint: trust.allowDataRoots
          ? "allowed by --allow-data-roots; narrow it to the data's own folder if you can"
          : "narrow it to the data's own folder (or pass that folder with --data-root DIR); if you trust this pipeline as it is, pass --allow-data-roots",
      });
    });

  // Units of columns, for plot axes ("lep1_pt: GeV"); they never enter a cache key.
  const units: Record<string, string> = {};
  if (root.units !== undefined && !isRecord(root.units))
    err("QV_PARAM_TYPE", "`units` must map column names to unit text, e.g. { lep1_pt: GeV }", at(["units"]));
  for (const [col, u] of Object.entries(isRecord(root.units) ? root.units : {})) {
    if (typeof u === "string") Object.defineProperty(units, col, { value: u, enumerable: true });
    else
      err("QV_PARAM_TYPE", `the unit of "${col}" must be text, got ${JSON.stringify(u)}`, at(["units", col]));
  }

  // Resources every stage asks for unless it says otherwise (never part of a cache key).
  const defaults = parseResources(
    root.resources,
    (field, atKey) =>
      at(field === undefined ? ["resources"] : ["resources", field], { atKey: atKey ?? false }),
    "resources",
  );
  diags.push(...defaults.diagnostics);

  // Report settings: the experiment label, √s and luminosity drawn on plots, the sample column.
  const report: Record<string, string> = {};
  if (root.report !== undefined && !isRecord(root.report))
    err(
      "QV_PARAM_TYPE",
      '`report` must be a mapping, e.g. { label: "ATLAS Open Data", energy: 13 TeV, luminosity: 10 fb⁻¹ }',
      at(["report"]),
    );
  for (const [k, v] of Object.entries(isRecord(root.report) ? root.report : {})) {
    if (!(REPORT_KEYS as readonly string[]).includes(k)) {
      const near = didYouMean(k, REPORT_KEYS);
      err(
        "QV_UNKNOWN_FIELD",
        `unknown report field "${k}"`,
        at(["report", k], { atKey: true }),
        near ? `did you mean "${near}"?` : `report fields: ${REPORT_KEYS.join(", ")}`,
      );
    } else if (typeof v === "string" && v.trim())
      Object.defineProperty(report, k, { value: v, enumerable: true });
    else
      err(
        "QV_PARAM_TYPE",
        `report.${k} must be text, got ${JSON.stringify(v)}`,
        at(["report", k]),
        k === "energy" ? 'write the unit too, e.g. energy: "13 TeV"' : undefined,
      );
  }

  // Stages.
  const stagesRaw = root.stages;
  if (!isRecord(stagesRaw) || Object.keys(stagesRaw).length === 0) {
    err(
      "QV_MISSING_FIELD",
      "the pipeline needs `stages`: a mapping from stage id to {type, inputs, with}",
      at(stagesRaw === undefined ? [] : ["stages"]),
    );
    return { diagnostics: diags };
  }
  const ids = Object.keys(stagesRaw);
  const typed = new Map<string, AnyStageDefinition>();
  for (const id of ids) {
    if (!ID.test(id))
      err(
        "QV_BAD_STAGE_ID",
        `stage id "${id}" must start with a letter or _ and contain only letters, digits, _ and -`,
        at(["stages", id], { atKey: true }),
      );
    const s = stagesRaw[id];
    if (!isRecord(s)) {
      err("QV_STAGE_SHAPE", `stage "${id}" must be a mapping with at least \`type\``, at(["stages", id]));
      continue;
    }
    for (const k of Object.keys(s)) {
      if (!(STAGE_KEYS as readonly string[]).includes(k)) {
        const near = didYouMean(k, STAGE_KEYS);
        err(
          "QV_UNKNOWN_FIELD",
          `unknown field "${k}" in stage "${id}"`,
          at(["stages", id, k], { atKey: true }),
          near ? `did you mean "${near}"?` : `stage fields: ${STAGE_KEYS.join(", ")}`,
        );
      }
    }
    if (typeof s.type !== "string") {
      err(
        "QV_MISSING_FIELD",
        `stage "${id}" needs a \`type\``,
        at(["stages", id]),
        `known types: ${[...registry.keys()].sort().join(", ")}`,
      );
      continue;
    }
    const def = registry.get(s.type);
    if (!def) {
      const near = didYouMean(s.type, registry.keys());
      err(
        "QV_UNKNOWN_STAGE_TYPE",
        `unknown stage type "${s.type}"`,
        at(["stages", id, "type"]),
        near ? `did you mean "${near}"?` : `known types: ${[...registry.keys()].sort().join(", ")}`,
      );
      continue;
    }
    typed.set(id, def);
  }

  // Inputs and edges.
  const edges: Edge[] = [];
  const inputsOf = new Map<string, Record<string, InputRef>>();
  const consumed = new Set<string>();
  for (const [id, def] of typed) {
    const s = stagesRaw[id] as Record<string, unknown>;
    const inputs: Record<string, InputRef> = {};
    const raw = s.inputs ?? {};
    if (!isRecord(raw)) {
      err(
        "QV_STAGE_SHAPE",
        `\`inputs\` of stage "${id}" must map input ports to stage outputs`,
        at(["stages", id, "inputs"]),
        `e.g. inputs: { ${Object.keys(def.inputs)[0] ?? "table"}: other_stage }`,
      );
      continue;
    }
    for (const [port, ref] of Object.entries(raw)) {
      const loc = at(["stages", id, "inputs", port]);
      const spec = own(def.inputs, port);
      if (!spec) {
        const near = didYouMean(port, Object.keys(def.inputs));
        err(
          "QV_UNKNOWN_INPUT",
          `stage type "${def.type}" has no input "${port}"`,
          at(["stages", id, "inputs", port], { atKey: true }),
          near ? `did you mean "${near}"?` : `its inputs: ${Object.keys(def.inputs).join(", ") || "none"}`,
        );
        continue;
      }
      if (typeof ref !== "string") {
        err("QV_BAD_REF", `input "${port}" must name a stage output like "split.train"`, loc);
        continue;
      }
      const dot = ref.indexOf(".");
      const from = dot < 0 ? ref : ref.slice(0, dot);
      let fromPort = dot < 0 ? undefined : ref.slice(dot + 1);
      const upstreamRaw = own(stagesRaw, from);
      if (upstreamRaw === undefined) {
        const near = didYouMean(from, ids);
        err(
          "QV_UNKNOWN_STAGE_REF",
          `input "${port}" refers to a stage "${from}" that does not exist`,
          loc,
          near ? `did you mean "${near}"?` : `stages: ${ids.join(", ")}`,
        );
        continue;
      }
      const up = typed.get(from);
      if (!up) continue; // its own error was reported
      const outs = Object.keys(up.outputs);
      if (fromPort === undefined) {
        if (outs.length === 1) fromPort = outs[0]!;
        else {
          const sameKind = outs.filter((o) => up.outputs[o]!.kind === spec.kind);
          if (sameKind.length === 1) fromPort = sameKind[0]!;
          else {
            err(
              "QV_AMBIGUOUS_REF",
              `stage "${from}" has several outputs (${outs.join(", ")}); say which one`,
              loc,
              `e.g. ${from}.${sameKind[0] ?? outs[0]}`,
            );
            continue;
          }
        }
      }
      const outSpec = own(up.outputs, fromPort);
      if (!outSpec) {
        const near = didYouMean(fromPort, outs);
        err(
          "QV_UNKNOWN_PORT",
          `stage "${from}" (${up.type}) has no output "${fromPort}"`,
          loc,
          near ? `did you mean "${from}.${near}"?` : `its outputs: ${outs.join(", ")}`,
        );
        continue;
      }
      if (outSpec.kind !== spec.kind) {
        err(
          "QV_PORT_KIND",
          `input "${port}" of stage "${id}" takes a ${spec.kind}, but ${from}.${fromPort} is a ${outSpec.kind}`,
          loc,
          `connect a ${spec.kind} output; ${from} outputs: ${outs.map((o) => `${o} (${up.outputs[o]!.kind})`).join(", ")}`,
        );
        continue;
      }
      setOwn(inputs, port, { stage: from, port: fromPort, kind: spec.kind });
      consumed.add(`${from}.${fromPort}`);
      edges.push({ from, to: id, label: `${from}.${fromPort} → ${id}.${port}` });
    }
    for (const [port, pspec] of Object.entries(def.inputs)) {
      if (!pspec.optional && !hasOwn(inputs, port) && !(isRecord(raw) && hasOwn(raw, port)))
        err(
          "QV_MISSING_INPUT",
          `stage "${id}" (${def.type}) needs input "${port}" (${pspec.kind}: ${pspec.description})`,
          at(["stages", id]),
          `add \`inputs: { ${port}: <stage>.<output> }\``,
        );
    }
    inputsOf.set(id, inputs);
  }

  // Params: substitute ${...}, validate against the schema, then the stage's own checks.
  const stages = new Map<string, StageSpec>();
  for (const [id, def] of typed) {
    const s = stagesRaw[id] as Record<string, unknown>;
    const base: ParamPath = ["stages", id, "with"];
    const withRaw = s.with ?? {};
    const unresolved: ParamPath[] = [];
    const splicesAt = new Map<string, Splice[]>();
    const substituted = substitute(
      withRaw,
      base,
      params,
      (code, message, p, hint) => {
        unresolved.push(p.slice(base.length));
        err(code, message, at(p), hint);
      },
      (p, sp) => splicesAt.set(JSON.stringify(p.slice(base.length)), sp),
    );
    // Offsets inside substituted strings (expression errors) are mapped back to the written text.
    const locateWith = (p: ParamPath, o?: { offset?: number; length?: number }) => {
      const sp = o?.offset !== undefined ? splicesAt.get(JSON.stringify(p)) : undefined;
      return at([...base, ...p], sp && o?.offset !== undefined ? unsplice(sp, o.offset, o.length ?? 1) : o);
    };
    const { value, issues: allIssues } = validate(def.params.spec, substituted);
    // A value whose ${reference} did not resolve was reported once already; do not type-check it too.
    const issues = allIssues.filter(
      (i) => !unresolved.some((u) => u.length <= i.path.length && u.every((x, k) => i.path[k] === x)),
    );
    for (const i of issues) {
      err(
        i.code,
        `${id}: ${i.path.length ? i.path.join(".") + ": " : ""}${i.message}`,
        at([...base, ...i.path], { atKey: i.atKey ?? false }),
        i.hint,
      );
    }
    if (allIssues.length === 0 && unresolved.length === 0 && def.check) {
      for (const pr of def.check(value)) {
        const loc = locateWith(pr.path, {
          ...(pr.offset !== undefined ? { offset: pr.offset } : {}),
          ...(pr.length !== undefined ? { length: pr.length } : {}),
        });
        diags.push({
          severity: pr.severity ?? "error",
          code: pr.code,
          message: `${id}: ${pr.message}`,
          location: loc,
          ...(pr.hint ? { hint: pr.hint } : {}),
        });
      }
    }
    let stageSeed = deriveSeed(seed, id);
    if (s.seed !== undefined) {
      if (typeof s.seed === "number" && Number.isInteger(s.seed)) stageSeed = s.seed >>> 0;
      else err("QV_PARAM_TYPE", `seed of stage "${id}" must be an integer`, at(["stages", id, "seed"]));
    }
    const own = parseResources(
      s.resources,
      (field, atKey) =>
        at(field === undefined ? ["stages", id, "resources"] : ["stages", id, "resources", field], {
          atKey: atKey ?? false,
        }),
      `${id}: resources`,
    );
    diags.push(...own.diagnostics);
    const ownRaw = isRecord(s.resources) ? s.resources : {};
    const defaultsRaw = isRecord(root.resources) ? root.resources : {};
    stages.set(id, {
      id,
      def,
      params: value,
      inputs: inputsOf.get(id) ?? {},
      seed: stageSeed,
      files: collectFiles(def.params.spec, value),
      locate: locateWith,
      resources: mergeResources(defaults.resources, own.resources),
      // Where a resource the stage runs with is written: its own, else the pipeline's default.
      locateResource: (field?: ResourceField) =>
        field !== undefined && Object.hasOwn(ownRaw, field)
          ? at(["stages", id, "resources", field])
          : field !== undefined && Object.hasOwn(defaultsRaw, field)
            ? at(["resources", field])
            : at(["stages", id], { atKey: true }),
    });
  }

  // Graph: cycles, order, unused outputs.
  const graph = { nodes: ids.filter((i) => typed.has(i)), edges };
  const order = topologicalOrder(graph);
  if (!order) {
    for (const cycle of findCycles(graph)) {
      const first = cycle[0]!;
      err(
        "QV_CYCLE",
        `stages depend on each other in a cycle: ${cycle.map((e) => e.from).join(" → ")} → ${first.from}`,
        at(["stages", first.to, "inputs"]),
        "a stage cannot (indirectly) consume its own output; remove one of these inputs",
        cycle.map((e) => ({ message: `edge ${e.label}`, location: at(["stages", e.to, "inputs"]) })),
      );
    }
  }
  for (const [id, def] of typed) {
    const used = Object.keys(def.outputs).filter((o) => consumed.has(`${id}.${o}`));
    if (used.length === 0) continue; // a final stage: its outputs are the results
    for (const [o, ospec] of Object.entries(def.outputs)) {
      // Warn only when a sibling output of the same kind is used (split.test used, split.train not):
      // side outputs such as a training history are results in their own right.
      const siblingUsed = used.some((u) => u !== o && def.outputs[u]!.kind === ospec.kind);
      if (siblingUsed && ospec.usageOptional !== true && !consumed.has(`${id}.${o}`))
        diags.push({
          severity: "warning",
          code: "QV_UNUSED_OUTPUT",
          message: `output ${id}.${o} (${ospec.description}) is never used`,
          location: at(["stages", id], { atKey: true }),
          hint: "connect it, or ignore this if it is intended",
        });
    }
  }

  if (diags.some((d) => d.severity === "error") || !order || typeof name !== "string")
    return { diagnostics: diags };
  return {
    diagnostics: diags,
    spec: {
      name,
      description,
      file: source.file,
      dir: path.dirname(path.resolve(source.file)),
      seed,
      params,
      dataRoots,
      units,
      report,
      stages,
      graph,
      order,
    },
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
