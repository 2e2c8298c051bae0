/** The pipeline graph as text, Mermaid or Graphviz dot, coloured by the last run when known. */
import type { LastRun } from "../engine/history.js";
import type { PipelineSpec } from "../engine/pipeline/spec.js";

export function renderDag(spec: PipelineSpec, format: "text" | "mermaid" | "dot", last?: LastRun): string {
  const status = (id: string) => last?.stages[id]?.status;
  switch (format) {
    case "text": {
      const lines = [`${spec.name} (${spec.order.length} stages)`];
      const width = Math.max(...spec.order.map((id) => id.length));
      for (const id of spec.order) {
        const s = spec.stages.get(id)!;
        const ins = Object.entries(s.inputs).map(([port, r]) => `${port} ← ${r.stage}.${r.port}`);
        const st = status(id);
        lines.push(
          `  ${id.padEnd(width)}  [${s.def.type}]${st ? ` (${st})` : ""}${ins.length ? "  " + ins.join(", ") : ""}`,
        );
      }
      return lines.join("\n");
    }
    case "mermaid": {
      const lines = ["flowchart TD"];
      for (const id of spec.order)
        lines.push(`  ${safe(id)}["${id}<br/><small>${spec.stages.get(id)!.def.type}</small>"]`);
      for (const e of spec.graph.edges) {
        const label = e.label.split(" → ");
        lines.push(
          `  ${safe(e.from)} -->|${label[0]?.split(".")[1] ?? ""}→${label[1]?.split(".")[1] ?? ""}| ${safe(e.to)}`,
        );
      }
      for (const id of spec.order) {
        const st = status(id);
        if (st) lines.push(`  class ${safe(id)} ${st}`);
      }
      lines.push(
        "  classDef ran fill:#cfe8ff,stroke:#3b82f6",
        "  classDef cached fill:#dcfce7,stroke:#16a34a",
      );
      return lines.join("\n");
    }
    case "dot": {
      const colour: Record<string, string> = { ran: "#cfe8ff", cached: "#dcfce7" };
      const lines = [
        `digraph "${spec.name.replace(/"/g, '\\"')}" {`,
        "  rankdir=TB;",
        '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica"];',
      ];
      for (const id of spec.order) {
        const st = status(id);
        lines.push(
          `  "${id}" [label="${id}\\n${spec.stages.get(id)!.def.type}"${st && colour[st] ? `, fillcolor="${colour[st]}"` : ""}];`,
        );
      }
      for (const e of spec.graph.edges) {
        const [a, b] = e.label.split(" → ");
        lines.push(
          `  "${e.from}" -> "${e.to}" [label="${a?.split(".")[1] ?? ""} → ${b?.split(".")[1] ?? ""}", fontsize=10];`,
        );
      }
      lines.push("}");
      return lines.join("\n");
    }
  }
}

function safe(id: string): string {
  return id.replace(/[^A-Za-z0-9_]/g, "_");
}
