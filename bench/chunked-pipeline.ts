/**
 * The pipeline of the scale benchmarks (bench/chunked.ts, bench/stage-memory.ts): generate →
 * select → define → scale → select (a training sample) → train (a small gbt) → predict → roc over
 * `rows` generated events.
 */

/** The generate stage's columns: 10 toy features, the label and the weight. */
export const GENERATED_COLUMNS = 12;

export function pipeline(rows: number): string {
  const half = Math.floor(rows / 2);
  return `quiver: 1
name: chunked-bench
seed: 1
stages:
  events:
    type: generate
    with: { signal: ${half}, background: ${rows - half} }
  cuts:
    type: select
    inputs: { table: events }
    with: { where: "lep1_pt > 25 && lep2_pt > 20" }
  derived:
    type: define
    inputs: { table: cuts }
    with:
      columns:
        pt_ratio: lep2_pt / lep1_pt
        log_met: log(met + 1)
  scaled:
    type: scale
    inputs: { fit: derived }
    with: { method: standard, exclude: [label, weight, n_jets] }
  sample:
    type: select
    inputs: { table: scaled.table }
    with: { head: 20000 }
  bdt:
    type: train
    inputs: { train: sample }
    with:
      features: [lep1_pt, lep2_pt, m_ll, met, pt_ratio, log_met]
      weight: weight
      model: { kind: gbt, num_trees: 20, max_depth: 3 }
  scores:
    type: predict
    inputs: { model: bdt.model, table: scaled.table }
  roc:
    type: roc
    inputs: { table: scores }
    with: { scores: [bdt], weight: weight }
`;
}
