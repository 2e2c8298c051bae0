/**
 * How operations fail. An operation never prints and never exits: it returns a result, or throws
 * one of these, and its caller (the command line, a script using the API) decides what to show.
 */
import { DiagnosticError, type Diagnostic, type SourceLookup } from "../core/diagnostics.js";

/** The caller asked for something that cannot be (an unknown stage, a bad option value). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** A failure with stable codes, e.g. `QV_NO_LOCK`, `QV_REMOTE_AUTH`; `sources` renders excerpts. */
export class OpError extends DiagnosticError {
  constructor(
    diagnostics: readonly Diagnostic[],
    readonly sources: SourceLookup = () => undefined,
  ) {
    super(diagnostics);
    this.name = "OpError";
  }

  static of(code: string, message: string, hint?: string): OpError {
    return new OpError([{ severity: "error", code, message, ...(hint ? { hint } : {}) }]);
  }
}

/** The pipeline file could not be read or is not valid: every problem found, each located. */
export class PipelineError extends OpError {
  constructor(diagnostics: readonly Diagnostic[], sources: SourceLookup) {
    super(diagnostics, sources);
    this.name = "PipelineError";
  }
}
