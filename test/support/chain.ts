/**
 * The engine tests' small pipeline: a file source, a chain of three stages with params, and an
 * independent branch. `chainRig()` builds it in a fresh temp folder.
 */
import { Rig } from "./rig.js";

export const CHAIN_PIPELINE = `quiver: 1
name: chain
seed: 7
params: { amount: 1, max: 100 }
stages:
  src:   { type: source, with: { file: data/numbers.txt } }
  plus:  { type: add, inputs: { table: src }, with: { amount: "\${amount}" } }
  clip:  { type: clip, inputs: { table: plus }, with: { max: "\${max}" } }
  total: { type: sum, inputs: { table: clip } }
  other: { type: sum, inputs: { table: src } }
`;

export const CHAIN_STAGES = ["clip", "other", "plus", "src", "total"];

export function chainRig(): Rig {
  return Rig.create({ "p.yaml": CHAIN_PIPELINE, "data/numbers.txt": "1 2 3 4\n" });
}
