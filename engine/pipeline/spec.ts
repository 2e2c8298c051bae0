/** Step 2 of 3: the validated pipeline. Everything here has been checked; nothing has run. */
import type { SourceLocation } from "../../core/diagnostics.js";
import type { Graph } from "../graph.js";
import type { JsonValue } from "../../core/json.js";
import type { ParamPath } from "../../core/schema.js";
import type { AnyStageDefinition, PortKind } from "../../core/stage.js";
import type { ResourceField, Resources } from "./resources.js";

export interface InputRef {
  readonly stage: string;
  readonly port: string;
  readonly kind: PortKind;
}

export interface StageSpec {
  readonly id: string;
  readonly def: AnyStageDefinition;
  /** Validated params, `${...}` references substituted, defaults filled in. */
  readonly params: unknown;
  readonly inputs: Readonly<Record<string, InputRef>>;
  readonly seed: number;
  /** File params as written (relative to the pipeline's folder), with their param paths. */
  readonly files: readonly { readonly path: ParamPath; readonly file: string }[];
  /** Where each param came from in YAML, to point status diffs at the line. */
  readonly locate: (path: ParamPath, opts?: { offset?: number; length?: number }) => SourceLocation;
  /** What it asks of the machine it runs on: its own `resources`, else the pipeline's. Never in its key. */
  readonly resources: Resources;
  /** Where a resource is written (the stage's own, the pipeline default), else the stage itself. */
  readonly locateResource: (field?: ResourceField) => SourceLocation;
}

export type ParamOrigin = "pipeline" | "cli" | "file";

export interface PipelineSpec {
  readonly name: string;
  readonly description: string | undefined;
  /** Path as the user gave it (for messages). */
  readonly file: string;
  /** Absolute folder of the pipeline file: relative data paths resolve against it. */
  readonly dir: string;
  readonly seed: number;
  readonly params: Readonly<Record<string, { value: JsonValue; origin: ParamOrigin }>>;
  readonly dataRoots: readonly string[];
  /** Column → unit, for plot axes only (never part of a cache key). */
  readonly units: Readonly<Record<string, string>>;
  /**
   * How reports label plots, as the experiment's style wants it (`label: "ATLAS Open Data"`,
   * `energy: "13 TeV"`, `luminosity: "10 fb⁻¹"`), and `samples`: the column naming each row's
   * sample. Presentation only: never part of a cache key.
   */
  readonly report: Readonly<{ label?: string; energy?: string; luminosity?: string; samples?: string }>;
  readonly stages: ReadonlyMap<string, StageSpec>;
  readonly graph: Graph;
  /** Topological order. */
  readonly order: readonly string[];
}
