/**
 * Pipeline params: the values under `params:`, overridden by `--params FILE.yaml` and then by
 * `--set name=value`, each remembering where it came from; and the `${name}` substitution into stage
 * parameters, with a record of where each reference was replaced so error offsets can be mapped back.
 */
import { hasOwn, own, setOwn } from "../../core/dict.js";
import { parse as parseYamlValue } from "yaml";
import { didYouMean, type Diagnostic, type SourceLocation } from "../../core/diagnostics.js";
import type { JsonValue } from "../../core/json.js";
import type { ParamPath } from "../../core/schema.js";
import type { ParamOrigin } from "./spec.js";

/** Param values given from outside the pipeline file, typed (the command line parses its strings). */
export interface Overrides {
  /** Values from a params file (`--params FILE.yaml`). */
  readonly paramsFile?: Readonly<Record<string, JsonValue>>;
  /** Values set one by one (`--set name=value`, a sweep point); they win over the params file. */
  readonly set?: Readonly<Record<string, JsonValue>>;
}

/**
 * `name=value` as the command line writes it; the value is read as a YAML scalar, so numbers stay
 * numbers and `"1"` stays a string.
 */
export function parseAssignment(text: string): { name: string; value: JsonValue } | Diagnostic {
  const eq = text.indexOf("=");
  if (eq <= 0)
    return {
      severity: "error",
      code: "QV_SET_SYNTAX",
      message: `--set expects name=value, got "${text}"`,
      hint: "e.g. --set events=50000",
    };
  let value: JsonValue;
  try {
    value = (parseYamlValue(text.slice(eq + 1)) as JsonValue) ?? "";
  } catch {
    value = text.slice(eq + 1);
  }
  return { name: text.slice(0, eq).trim(), value };
}

const REF = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;
const REF_ANY = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function resolveParams(
  root: Record<string, unknown>,
  overrides: Overrides,
  at: (p: ParamPath, o?: { atKey?: boolean }) => SourceLocation,
  diags: Diagnostic[],
): { params: Record<string, { value: JsonValue; origin: ParamOrigin }>; seed: number } {
  const err = (code: string, message: string, location: SourceLocation) =>
    diags.push({ severity: "error", code, message, location });
  const params: Record<string, { value: JsonValue; origin: ParamOrigin }> = {};
  if (root.params !== undefined && !isRecord(root.params))
    err("QV_PARAM_TYPE", "`params` must be a mapping of names to values", at(["params"]));
  for (const [k, v] of Object.entries(isRecord(root.params) ? root.params : {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
      err(
        "QV_BAD_PARAM_NAME",
        `param name "${k}" must be letters, digits and _`,
        at(["params", k], { atKey: true }),
      );
    setOwn(params, k, { value: v as JsonValue, origin: "pipeline" });
  }
  let seed = typeof root.seed === "number" && Number.isInteger(root.seed) ? root.seed : 0;
  if (root.seed !== undefined && (typeof root.seed !== "number" || !Number.isInteger(root.seed)))
    err("QV_PARAM_TYPE", `seed must be an integer, got ${JSON.stringify(root.seed)}`, at(["seed"]));
  const setOne = (k: string, v: JsonValue, origin: ParamOrigin, where: string) => {
    if (k === "seed" && !hasOwn(params, k)) {
      if (typeof v !== "number" || !Number.isInteger(v))
        diags.push({
          severity: "error",
          code: "QV_SET_TYPE",
          message: `${where}: seed must be an integer, got ${JSON.stringify(v)}`,
        });
      else seed = v;
      return;
    }
    if (!hasOwn(params, k)) {
      const near = didYouMean(k, [...Object.keys(params), "seed"]);
      diags.push({
        severity: "error",
        code: "QV_SET_UNKNOWN",
        message: `${where}: the pipeline has no param "${k}"`,
        hint: near
          ? `did you mean "${near}"?`
          : `params: ${Object.keys(params).join(", ") || "(none)"}, and seed`,
      });
      return;
    }
    setOwn(params, k, { value: v, origin });
  };
  for (const [k, v] of Object.entries(overrides.paramsFile ?? {})) setOne(k, v, "file", "--params");
  for (const [k, v] of Object.entries(overrides.set ?? {}))
    setOne(k, v, "cli", `--set ${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);

  return { params, seed };
}

/** Where a `${name}` reference was replaced inside a string: spans in the substituted and the written text. */
export interface Splice {
  subStart: number;
  subEnd: number;
  origStart: number;
  origEnd: number;
}

/**
 * Maps an offset/length in a substituted string back to the text as written in the YAML, so an
 * error inside `"pt > ${ptcut} && eat < 2"` still points at `eat`. An offset inside a substituted
 * value points at the whole `${...}` reference.
 */
export function unsplice(
  splices: readonly Splice[],
  offset: number,
  length: number,
): { offset: number; length: number } {
  let delta = 0;
  for (const s of splices) {
    if (offset >= s.subEnd) {
      delta = s.origEnd - s.subEnd;
      continue;
    }
    if (offset >= s.subStart) return { offset: s.origStart, length: s.origEnd - s.origStart };
    break;
  }
  return { offset: offset + delta, length };
}

export function substitute(
  v: unknown,
  p: ParamPath,
  params: Record<string, { value: JsonValue }>,
  report: (code: string, message: string, p: ParamPath, hint?: string) => void,
  onSplice?: (p: ParamPath, splices: Splice[]) => void,
): unknown {
  if (typeof v === "string") {
    const whole = REF.exec(v);
    const lookup = (name: string): JsonValue | undefined => {
      const hit = own(params, name);
      if (hit) return hit.value;
      const near = didYouMean(name, Object.keys(params));
      report(
        "QV_UNKNOWN_PARAM_REF",
        `"\${${name}}" refers to a param that is not defined`,
        p,
        near ? `did you mean "\${${near}}"?` : "define it under `params:` at the top of the pipeline",
      );
      return undefined;
    };
    if (whole) return lookup(whole[1]!) ?? v;
    if (!v.includes("${")) return v;
    const splices: Splice[] = [];
    let shift = 0;
    const out = v.replace(REF_ANY, (m, name: string, at: number) => {
      const val = lookup(name);
      const text = val === undefined ? m : typeof val === "string" ? val : JSON.stringify(val);
      splices.push({
        subStart: at + shift,
        subEnd: at + shift + text.length,
        origStart: at,
        origEnd: at + m.length,
      });
      shift += text.length - m.length;
      return text;
    });
    onSplice?.(p, splices);
    return out;
  }
  if (Array.isArray(v)) return v.map((x, i) => substitute(x, [...p, i], params, report, onSplice));
  if (isRecord(v))
    return Object.fromEntries(
      Object.entries(v).map(([k, x]) => [k, substitute(x, [...p, k], params, report, onSplice)]),
    );
  return v;
}
