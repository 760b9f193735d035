/**
 * The two ONNX models the benchmark runs in onnxruntime-node, encoded to
 * protobuf bytes here: the handful of ModelProto fields they need are a few
 * lines of wire format, which beats a code generator dependency.
 *
 * Wire format: each field is a varint key (field number << 3 | wire type)
 * then a varint (type 0), 4 little-endian bytes (type 5) or a varint length
 * and the bytes (type 2: strings, nested messages, packed arrays).
 */

export type Bytes = number[];

function varint(value: number): Bytes {
  const out: Bytes = [];
  let v = BigInt(value);
  if (v < 0n) v += 1n << 64n; // int64 two's complement, as protobuf encodes negative numbers
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}

const intField = (field: number, value: number): Bytes => [...varint((field << 3) | 0), ...varint(value)];
const bytesField = (field: number, payload: Bytes): Bytes => [...varint((field << 3) | 2), ...varint(payload.length), ...payload];
const stringField = (field: number, s: string): Bytes => bytesField(field, [...new TextEncoder().encode(s)]);
const floatField = (field: number, value: number): Bytes => {
  const b = new Uint8Array(new Float32Array([value]).buffer);
  return [...varint((field << 3) | 5), ...b];
};

// onnx.proto enums used here.
const FLOAT = 1; // TensorProto.DataType and AttributeProto.AttributeType share 1 = FLOAT
const INT32 = 6; // TensorProto.DataType
const ATTR_INT = 2;
const ATTR_INTS = 7;

export type Attribute = { name: string; int: number } | { name: string; float: number } | { name: string; ints: number[] };

function attribute(a: Attribute): Bytes {
  const head = stringField(1, a.name);
  if ('int' in a) return [...head, ...intField(3, a.int), ...intField(20, ATTR_INT)];
  if ('float' in a) return [...head, ...floatField(2, a.float), ...intField(20, FLOAT)];
  return [...head, ...a.ints.flatMap((v) => intField(8, v)), ...intField(20, ATTR_INTS)];
}

export function node(opType: string, inputs: string[], outputs: string[], attributes: Attribute[] = [], domain = ''): Bytes {
  return [
    ...inputs.flatMap((x) => stringField(1, x)),
    ...outputs.flatMap((x) => stringField(2, x)),
    ...stringField(3, `${opType}_${outputs[0]}`),
    ...stringField(4, opType),
    ...attributes.flatMap((a) => bytesField(5, attribute(a))),
    ...(domain ? stringField(7, domain) : []),
  ];
}

/** ValueInfoProto of a float tensor with a fixed shape (null: left to the runtime's shape inference). */
export function floatInput(name: string, shape: number[] | null, elemType = FLOAT): Bytes {
  const dims = shape === null ? null : shape.flatMap((d) => bytesField(1, intField(1, d)));
  const tensorType = [...intField(1, elemType), ...(dims === null ? [] : bytesField(2, dims))];
  return [...stringField(1, name), ...bytesField(2, bytesField(1, tensorType))];
}

/** ValueInfoProto of an int32 tensor with a fixed shape ([] for a scalar). */
export const int32Input = (name: string, shape: number[]): Bytes => floatInput(name, shape, INT32);

/** A float scalar initializer (TensorProto with no dims). */
function scalarInitializer(name: string, value: number): Bytes {
  return [...intField(2, FLOAT), ...bytesField(4, [...new Uint8Array(new Float32Array([value]).buffer)]), ...stringField(8, name)];
}

export interface GraphSpec {
  nodes: Bytes[];
  inputs: Bytes[];
  outputs: Bytes[];
  initializers?: Bytes[];
}

export function model(g: GraphSpec, opsets: { domain: string; version: number }[]): Uint8Array {
  const graph = [
    ...g.nodes.flatMap((n) => bytesField(1, n)),
    ...stringField(2, 'attention'),
    ...(g.initializers ?? []).flatMap((t) => bytesField(5, t)),
    ...g.inputs.flatMap((x) => bytesField(11, x)),
    ...g.outputs.flatMap((x) => bytesField(12, x)),
  ];
  const bytes = [
    ...intField(1, 8), // ir_version 8 (ONNX 1.10+)
    ...stringField(2, 'scaledot-bench'),
    ...bytesField(7, graph),
    ...opsets.flatMap((o) => bytesField(8, [...stringField(1, o.domain), ...intField(2, o.version)])),
  ];
  return Uint8Array.from(bytes);
}

export interface OnnxShape {
  batch: number;
  heads: number;
  l: number;
  s: number;
  d: number;
  causal: boolean;
}

/**
 * com.microsoft MultiHeadAttention, ONNX Runtime's fused CPU kernel:
 * query [B, L, H·d], key and value [B, S, H·d] → output [B, L, H·d].
 * Causal uses the `unidirectional` attribute (valid for L = S).
 */
export function multiHeadAttentionModel(sh: OnnxShape): Uint8Array {
  const hidden = sh.heads * sh.d;
  const attrs: Attribute[] = [{ name: 'num_heads', int: sh.heads }, { name: 'scale', float: 1 / Math.sqrt(sh.d) }];
  if (sh.causal) attrs.push({ name: 'unidirectional', int: 1 });
  return model({
    nodes: [node('MultiHeadAttention', ['query', 'key', 'value'], ['output'], attrs, 'com.microsoft')],
    inputs: [floatInput('query', [sh.batch, sh.l, hidden]), floatInput('key', [sh.batch, sh.s, hidden]), floatInput('value', [sh.batch, sh.s, hidden])],
    outputs: [floatInput('output', [sh.batch, sh.l, hidden])],
  }, [{ domain: '', version: 17 }, { domain: 'com.microsoft', version: 1 }]);
}

/**
 * The unfused graph a framework exports: Transpose(K), MatMul, Mul(scale),
 * [Add(causal mask)], Softmax, MatMul, on [B, H, N, d] tensors. The causal
 * mask is an input [L, S] of 0 / −1e9 (ONNX has no causal flag on MatMul).
 */
export function unfusedAttentionModel(sh: OnnxShape): Uint8Array {
  const nodes = [
    node('Transpose', ['k'], ['kT'], [{ name: 'perm', ints: [0, 1, 3, 2] }]),
    node('MatMul', ['q', 'kT'], ['scores']),
    node('Mul', ['scores', 'scale'], ['scaled']),
  ];
  let logits = 'scaled';
  const inputs = [floatInput('q', [sh.batch, sh.heads, sh.l, sh.d]), floatInput('k', [sh.batch, sh.heads, sh.s, sh.d]), floatInput('v', [sh.batch, sh.heads, sh.s, sh.d])];
  if (sh.causal) {
    nodes.push(node('Add', ['scaled', 'mask'], ['masked']));
    inputs.push(floatInput('mask', [sh.l, sh.s]));
    logits = 'masked';
  }
  nodes.push(node('Softmax', [logits], ['probs'], [{ name: 'axis', int: -1 }]));
  nodes.push(node('MatMul', ['probs', 'v'], ['output']));
  return model({
    nodes,
    inputs,
    outputs: [floatInput('output', [sh.batch, sh.heads, sh.l, sh.d])],
    initializers: [scalarInitializer('scale', 1 / Math.sqrt(sh.d))],
  }, [{ domain: '', version: 17 }]);
}
