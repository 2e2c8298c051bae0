/**
 * A small builder for ONNX graphs, written with the `onnx-proto` encoder (ONNX's own protobuf
 * schema compiled for JavaScript). Model kinds add their nodes through it; the envelope
 * (stages/lib/models/onnx-export.ts) adds the input, the output and the metadata.
 *
 * Only float32 tensors flow through Quiver's graphs; initializers are stored as raw little-endian
 * bytes. Tensor names are made unique by the builder, so kinds never coordinate names.
 */

/** The ONNX operator sets Quiver writes: the default domain and the ONNX-ML domain (trees). */
export const DEFAULT_OPSET = 13;
/** The oldest and newest default-domain opsets Quiver can write (every op it uses is unchanged between them). */
export const OPSET_RANGE = [13, 17] as const;
export const ML_OPSET = 3;
export const ML_DOMAIN = "ai.onnx.ml";

export type AttributeValue =
  | { readonly f: number }
  | { readonly i: number }
  | { readonly s: string }
  | { readonly floats: readonly number[] }
  | { readonly ints: readonly number[] }
  | { readonly strings: readonly string[] };

interface NodeSpec {
  readonly op: string;
  readonly domain: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  readonly name: string;
}

interface Initializer {
  readonly name: string;
  readonly dims: readonly number[];
  readonly values: Float32Array;
}

export class OnnxGraph {
  private readonly nodes: NodeSpec[] = [];
  private readonly initializers: Initializer[] = [];
  private readonly used = new Set<string>();
  /** Whether any node is in the ONNX-ML domain (the model then imports it). */
  usesMl = false;

  /** A fresh tensor name starting with `base`. */
  name(base: string): string {
    let n = base;
    for (let i = 1; this.used.has(n); i++) n = `${base}_${i}`;
    this.used.add(n);
    return n;
  }

  /** Marks a name taken (the graph input). */
  reserve(name: string): string {
    this.used.add(name);
    return name;
  }

  /** A float32 constant; values are rounded to float32 to nearest (weights are float32 already). */
  constant(base: string, dims: readonly number[], values: ArrayLike<number>): string {
    const size = dims.reduce((a, b) => a * b, 1);
    if (values.length !== size)
      throw new Error(`onnx constant ${base}: ${values.length} values for dims ${dims.join("x")}`);
    const name = this.name(base);
    this.initializers.push({ name, dims: [...dims], values: Float32Array.from(values) });
    return name;
  }

  /** Adds a node with one output and returns the output's name. */
  node(
    op: string,
    inputs: readonly string[],
    attributes: Readonly<Record<string, AttributeValue>> = {},
    opts: { readonly domain?: string; readonly output?: string } = {},
  ): string {
    const output = opts.output ?? this.name(op.toLowerCase());
    const domain = opts.domain ?? "";
    if (domain === ML_DOMAIN) this.usesMl = true;
    this.nodes.push({
      op,
      domain,
      inputs: [...inputs],
      outputs: [output],
      attributes,
      name: this.name(`node_${op}`),
    });
    return output;
  }

  /** Renames the output of the last node that wrote `from` (to give the graph output its documented name). */
  renameOutput(from: string, to: string): void {
    const node = [...this.nodes].reverse().find((n) => n.outputs.includes(from));
    if (!node) throw new Error(`onnx: no node writes ${from}`);
    this.reserve(to);
    (node.outputs as string[])[node.outputs.indexOf(from)] = to;
  }

  /** The graph as the plain objects `onnx-proto` encodes. */
  toProto(): {
    nodes: object[];
    initializers: object[];
  } {
    return {
      nodes: this.nodes.map((n) => ({
        name: n.name,
        opType: n.op,
        domain: n.domain,
        input: n.inputs,
        output: n.outputs,
        attribute: Object.entries(n.attributes).map(([name, v]) => attributeProto(name, v)),
      })),
      initializers: this.initializers.map((t) => ({
        name: t.name,
        dims: t.dims,
        dataType: 1, // FLOAT
        rawData: littleEndianFloat32(t.values),
      })),
    };
  }
}

// AttributeProto.AttributeType values of the ONNX schema.
const ATTRIBUTE_TYPE = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7, STRINGS: 8 } as const;

function attributeProto(name: string, v: AttributeValue): object {
  if ("f" in v) return { name, type: ATTRIBUTE_TYPE.FLOAT, f: v.f };
  if ("i" in v) return { name, type: ATTRIBUTE_TYPE.INT, i: v.i };
  if ("s" in v) return { name, type: ATTRIBUTE_TYPE.STRING, s: Buffer.from(v.s, "utf8") };
  if ("floats" in v) return { name, type: ATTRIBUTE_TYPE.FLOATS, floats: [...v.floats] };
  if ("ints" in v) return { name, type: ATTRIBUTE_TYPE.INTS, ints: [...v.ints] };
  return { name, type: ATTRIBUTE_TYPE.STRINGS, strings: v.strings.map((s) => Buffer.from(s, "utf8")) };
}

function littleEndianFloat32(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i]!, true);
  return out;
}

/** The IR version that goes with a default-domain opset (ONNX's versioning table). */
export function irVersionFor(opset: number): number {
  return opset <= 13 ? 7 : 8;
}

export interface OnnxModelInfo {
  readonly graphName: string;
  readonly input: { readonly name: string; readonly features: number };
  /** The output [N, columns] (1 unless a checking aid writes more). */
  readonly output: { readonly name: string; readonly columns?: number };
  readonly opset: number;
  readonly producerVersion: string;
  readonly docString: string;
  /** metadata_props: key → value, written in this order. */
  readonly metadata: readonly (readonly [string, string])[];
}

/** Encodes the graph as an ONNX model file: input `[N, features]` float32, output `[N, 1]` float32. */
export async function encodeOnnxModel(g: OnnxGraph, info: OnnxModelInfo): Promise<Uint8Array> {
  const { default: proto } = await import("onnx-proto");
  const { onnx } = proto;
  const { nodes, initializers } = g.toProto();
  const FLOAT = 1;
  const valueInfo = (name: string, dims: (number | string)[]) => ({
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
  const model = onnx.ModelProto.create({
    irVersion: irVersionFor(info.opset),
    producerName: "quiver",
    producerVersion: info.producerVersion,
    docString: info.docString,
    opsetImport: [
      { domain: "", version: info.opset },
      ...(g.usesMl ? [{ domain: ML_DOMAIN, version: ML_OPSET }] : []),
    ],
    metadataProps: info.metadata.map(([key, value]) => ({ key, value })),
    graph: {
      name: info.graphName,
      node: nodes,
      initializer: initializers,
      input: [valueInfo(info.input.name, ["N", info.input.features])],
      output: [valueInfo(info.output.name, ["N", info.output.columns ?? 1])],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
