/**
 * The pipeline as a graph: stage ids and the edges between them. Pure functions: no I/O, no
 * knowledge of stage types, params or the cache. It does not validate references (the validator
 * does) and does not schedule (the scheduler does).
 */

export interface Edge {
  readonly from: string;
  readonly to: string;
  /** What the edge carries, for messages: e.g. "split.train → scale.fit". */
  readonly label: string;
}

export interface Graph {
  /** Stage ids in declaration order. */
  readonly nodes: readonly string[];
  readonly edges: readonly Edge[];
}

function upstreamOf(g: Graph, id: string): string[] {
  return [...new Set(g.edges.filter((e) => e.to === id).map((e) => e.from))];
}

export function downstreamOf(g: Graph, id: string): string[] {
  return [...new Set(g.edges.filter((e) => e.from === id).map((e) => e.to))];
}

/** Topological order, stable: among ready stages, declaration order wins. Undefined if cyclic. */
export function topologicalOrder(g: Graph): string[] | undefined {
  const indeg = new Map(g.nodes.map((n) => [n, 0]));
  const out = new Map<string, string[]>(g.nodes.map((n) => [n, []]));
  for (const e of dedupe(g.edges)) {
    indeg.set(e.to, (indeg.get(e.to) ?? 0) + 1);
    out.get(e.from)?.push(e.to);
  }
  const rank = new Map(g.nodes.map((n, i) => [n, i]));
  const ready = g.nodes.filter((n) => indeg.get(n) === 0);
  const order: string[] = [];
  while (ready.length) {
    ready.sort((a, b) => rank.get(a)! - rank.get(b)!);
    const n = ready.shift()!;
    order.push(n);
    for (const m of out.get(n) ?? []) {
      const d = indeg.get(m)! - 1;
      indeg.set(m, d);
      if (d === 0) ready.push(m);
    }
  }
  return order.length === g.nodes.length ? order : undefined;
}

function dedupe(edges: readonly Edge[]): Edge[] {
  const seen = new Set<string>();
  return edges.filter((e) => {
    const k = `${e.from}\u0000${e.to}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** One cycle per strongly connected component that has one, as the list of its edges in order. */
export function findCycles(g: Graph): Edge[][] {
  const adj = new Map<string, Edge[]>(g.nodes.map((n) => [n, []]));
  for (const e of g.edges) adj.get(e.from)?.push(e);
  // Tarjan's SCC, iterative enough for pipelines (recursion depth = longest chain).
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const comps: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const e of adj.get(v) ?? []) {
      if (!idx.has(e.to)) {
        visit(e.to);
        low.set(v, Math.min(low.get(v)!, low.get(e.to)!));
      } else if (on.has(e.to)) low.set(v, Math.min(low.get(v)!, idx.get(e.to)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        comp.push(w);
      } while (w !== v);
      comps.push(comp);
    }
  };
  for (const n of g.nodes) if (!idx.has(n)) visit(n);
  const cycles: Edge[][] = [];
  for (const comp of comps) {
    const set = new Set(comp);
    const self = g.edges.find((e) => e.from === e.to && set.has(e.from));
    if (comp.length === 1 && !self) continue;
    if (self && comp.length === 1) {
      cycles.push([self]);
      continue;
    }
    // Walk inside the component from its first-declared node until we return to it.
    const start = g.nodes.find((n) => set.has(n))!;
    const path: Edge[] = [];
    const seen = new Set<string>();
    const walk = (v: string): boolean => {
      for (const e of adj.get(v) ?? []) {
        if (!set.has(e.to)) continue;
        if (e.to === start) {
          path.push(e);
          return true;
        }
        if (seen.has(e.to)) continue;
        seen.add(e.to);
        path.push(e);
        if (walk(e.to)) return true;
        path.pop();
      }
      return false;
    };
    seen.add(start);
    if (walk(start)) cycles.push([...path]);
  }
  return cycles;
}

/** `targets` and everything they depend on, in topological order. */
export function ancestorsInclusive(g: Graph, targets: readonly string[]): Set<string> {
  const keep = new Set<string>();
  const todo = [...targets];
  while (todo.length) {
    const n = todo.pop()!;
    if (keep.has(n)) continue;
    keep.add(n);
    todo.push(...upstreamOf(g, n));
  }
  return keep;
}
