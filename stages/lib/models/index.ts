/**
 * The model-kind registry: every kind `train`, `kfold` and `predict` can use, listed explicitly
 * (no registration by import side effect). Adding a kind is its file (stages/lib/models/<kind>.ts,
 * a `defineModelKind({...})`) and one line in `defaultModelKinds`. The registry is a value: the
 * stage registry receives it (stages/index.ts `makeStageRegistry`), and a test or an embedding
 * program can extend it with `withModelKinds` without editing this file.
 */
import type { Schema } from "../../../core/schema.js";
import { StageError } from "../../../core/stage.js";
import { gbtKind } from "./gbt.js";
import type { AnyModelKind, ModelSpecValue } from "./kind.js";
import { nnKind } from "./nn.js";

export type ModelKinds = ReadonlyMap<string, AnyModelKind>;

/** A registry of the given kinds; a kind whose spec does not name it, or a name used twice, is a bug. */
export function modelKindRegistry(kinds: readonly AnyModelKind[]): ModelKinds {
  const out = new Map<string, AnyModelKind>();
  for (const kind of kinds) {
    const spec = kind.spec.spec;
    const tag = spec.kind === "object" ? spec.fields.kind : undefined;
    if (tag?.kind !== "string" || tag.enum?.length !== 1 || tag.enum[0] !== kind.name)
      throw new Error(
        `model kind "${kind.name}": its spec must be an object whose kind is the enum ["${kind.name}"]`,
      );
    if (out.has(kind.name)) throw new Error(`model kind "${kind.name}" is registered twice`);
    out.set(kind.name, kind);
  }
  return out;
}

/** `base` plus `extra` (a kind of the same name is an error, not a silent replacement). */
export function withModelKinds(base: ModelKinds, extra: readonly AnyModelKind[]): ModelKinds {
  return modelKindRegistry([...base.values(), ...extra]);
}

export const defaultModelKinds: ModelKinds = modelKindRegistry([nnKind, gbtKind]);

/** The schema of `model:` in `train` and `kfold`: one of the kinds' specs, told apart by `kind`. */
export function modelSpecSchema(kinds: ModelKinds): Schema<ModelSpecValue> {
  const all = [...kinds.values()];
  return {
    spec: {
      kind: "union",
      options: all.map((k) => k.spec.spec),
      description: `the model: ${all.map((k) => k.synopsis).join(" or ")}`,
    },
  };
}

/** The kind of a validated spec or a stored model; an unknown name is a model this Quiver cannot read. */
export function kindNamed(kinds: ModelKinds, name: string): AnyModelKind {
  const kind = kinds.get(name);
  if (kind) return kind;
  throw new StageError(
    "QV_MODEL_FORMAT",
    `this model is of kind ${JSON.stringify(name)}, which this Quiver does not know`,
    {
      hint: `known kinds: ${[...kinds.keys()].join(", ")}`,
    },
  );
}
