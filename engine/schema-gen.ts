/**
 * The JSON Schema of pipeline files, generated from the stage registry: each stage type's params
 * schema (stages/<type>.ts) is the single source of truth for what its `with:` accepts. Editors
 * with YAML support (the yaml-language-server modeline in the README) use it for completion and
 * inline errors. `npm run build` writes it to schema/quiver-pipeline.json:
 *   node dist/cli/write-schema.js [OUT.json]
 * It is a convenience for editors: `quiver` itself validates with the stage schemas directly, and
 * reports what JSON Schema cannot express (unknown stage references, cycles, port kinds).
 */
import fs from "node:fs";
import path from "node:path";
import { isJsonObject, type JsonObject, type JsonValue } from "../core/json.js";
import type { Registry } from "./pipeline/validate.js";
import { MAX_PACK } from "./pipeline/resources.js";
import { toJsonSchema } from "../core/schema.js";

const PARAM_REF = { type: "string", pattern: "^\\$\\{[A-Za-z_][A-Za-z0-9_]*\\}$" } as const;
const STAGE_ID = "^[A-Za-z_][A-Za-z0-9_-]*$";

/**
 * A whole value may be a `${param}` reference (`features: "${features}"`): toJsonSchema allows it
 * for scalars; lists and mappings get the same alternative here.
 */
function allowParamRefs(s: JsonValue): JsonValue {
  if (Array.isArray(s)) return s.map(allowParamRefs);
  if (!isJsonObject(s)) return s;
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === "properties" && isJsonObject(v))
      out[k] = Object.fromEntries(Object.entries(v).map(([pk, pv]) => [pk, allowParamRefs(pv)]));
    else if (k === "items" || k === "additionalProperties" || k === "anyOf") out[k] = allowParamRefs(v);
    else out[k] = v;
  }
  if (out.type === "array" || (out.type === "object" && out.additionalProperties !== false)) {
    const { description, default: dflt, ...rest } = out;
    return {
      ...(description !== undefined ? { description } : {}),
      ...(dflt !== undefined ? { default: dflt } : {}),
      anyOf: [rest, { ...PARAM_REF }],
    };
  }
  return out;
}

export function pipelineJsonSchema(registry: Registry): JsonObject {
  const types = [...registry.keys()].sort();
  const definitions: JsonObject = {};
  const branches: JsonValue[] = [];
  for (const type of types) {
    const def = registry.get(type)!;
    const withSchema = allowParamRefs(toJsonSchema(def.params.spec)) as JsonObject;
    const ports = Object.entries(def.inputs);
    const inputs: JsonObject = {
      type: "object",
      description: `inputs of ${type}: each port takes "stage" or "stage.port"`,
      properties: Object.fromEntries(
        ports.map(([port, spec]) => [
          port,
          {
            type: "string",
            pattern: "^[A-Za-z_][A-Za-z0-9_-]*(\\.[A-Za-z_][A-Za-z0-9_]*)?$",
            description: `${spec.kind}${spec.optional ? " (optional)" : ""}: ${spec.description}`,
          },
        ]),
      ),
      additionalProperties: false,
    };
    const required = ports.filter(([, spec]) => !spec.optional).map(([port]) => port);
    if (required.length) inputs.required = required;
    definitions[`with-${type}`] = { ...withSchema, description: `${type}: ${def.description}` };
    definitions[`inputs-${type}`] = inputs;
    const needsWith =
      isJsonObject(withSchema) && Array.isArray(withSchema.required) && withSchema.required.length;
    branches.push({
      if: { properties: { type: { const: type } }, required: ["type"] },
      then: {
        properties: {
          with: { $ref: `#/definitions/with-${type}` },
          inputs: { $ref: `#/definitions/inputs-${type}` },
        },
        required: [...(needsWith ? ["with"] : []), ...(required.length ? ["inputs"] : [])],
      },
    });
  }
  definitions.stage = {
    type: "object",
    required: ["type"],
    additionalProperties: false,
    properties: {
      type: {
        description: "the stage type",
        enum: types,
        markdownEnumDescriptions: types.map((t) => registry.get(t)!.description),
      },
      inputs: { type: "object", description: "input port → upstream stage or stage.port" },
      with: { type: "object", description: "the stage's params" },
      seed: {
        type: "integer",
        description: "this stage's seed (default: derived from the pipeline seed and the stage id)",
      },
      description: { type: "string" },
      resources: { $ref: "#/definitions/resources" },
    },
    allOf: branches,
  };
  definitions.resources = {
    type: "object",
    description:
      "what a stage asks of the machine it runs on (never part of a cache key); see docs/pipeline-format.md",
    additionalProperties: false,
    properties: {
      cpus: {
        type: "integer",
        minimum: 1,
        maximum: 4096,
        description: "cores: --cpus-per-task, and the stage's threads",
      },
      memory: {
        anyOf: [
          { type: "string", pattern: "^\\s*\\d+(\\.\\d+)?\\s*[KMGTkmgt](i?[Bb])?\\s*$" },
          { type: "number", minimum: 1 },
        ],
        description: "4G, 512M (binary units); a number is MiB",
      },
      time: {
        anyOf: [{ type: "string" }, { type: "number", exclusiveMinimum: 0 }],
        description: "a wall-time limit: 90s, 30m, 2h, 1d or [D-]HH:MM:SS; a number is minutes",
      },
      partition: {
        type: "string",
        pattern: "^[A-Za-z0-9_.,-]+$",
        description: "the batch partition (queue)",
      },
      local: { type: "boolean", description: "run in the head process even with a batch executor" },
      pack: {
        type: "integer",
        minimum: 1,
        maximum: MAX_PACK,
        description: "with a batch executor: up to this many stages ready together run in one batch job",
      },
    },
  };
  return {
    $schema: "http://json-schema.org/draft-07/schema#",
    title: "Quiver pipeline",
    description:
      "A Quiver pipeline: a graph of typed stages. Generated from the stage definitions; do not edit.",
    type: "object",
    required: ["name", "stages"],
    additionalProperties: false,
    properties: {
      quiver: { description: "pipeline format version", const: 1 },
      name: { type: "string", minLength: 1, description: "the pipeline's name (keys its run records)" },
      description: { type: "string" },
      seed: {
        type: "integer",
        description: "pipeline seed; each stage gets a seed derived from it and its id",
      },
      params: {
        type: "object",
        description: 'values referenced as "${name}" in stage params, overridable with --set name=value',
        propertyNames: { pattern: "^[A-Za-z_][A-Za-z0-9_]*$" },
      },
      data_roots: {
        type: "array",
        items: { type: "string" },
        description: "folders outside the pipeline's own that data files may be read from",
      },
      units: {
        type: "object",
        additionalProperties: { type: "string" },
        description: "column → unit shown on plot axes, e.g. { lep1_pt: GeV, dphi_ll: rad }",
      },
      resources: { $ref: "#/definitions/resources" },
      report: {
        type: "object",
        additionalProperties: false,
        description: "how the report labels plots (presentation only, never part of a cache key)",
        properties: {
          label: { type: "string", description: 'experiment label drawn on plots, e.g. "ATLAS Open Data"' },
          energy: { type: "string", description: 'centre-of-mass energy, e.g. "13 TeV"' },
          luminosity: { type: "string", description: 'integrated luminosity, e.g. "10 fb⁻¹"' },
          samples: { type: "string", description: "the column naming each row's sample (stacked plots)" },
        },
      },
      stages: {
        type: "object",
        minProperties: 1,
        description: "stage id → {type, inputs, with}",
        propertyNames: { pattern: STAGE_ID },
        additionalProperties: { $ref: "#/definitions/stage" },
      },
    },
    definitions,
  };
}

export function writePipelineSchema(registry: Registry, out: string): void {
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(pipelineJsonSchema(registry), null, 2) + "\n");
}
