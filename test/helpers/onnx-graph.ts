/**
 * Builds ONNX models for the tests, written as protobuf wire bytes here (the
 * handful of onnx.proto fields a graph needs), with no code shared with
 * src/inspect/onnx, which reads them.
 */

type Bytes = number[];

function varint(value: number | bigint): Bytes {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: Bytes = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) byte |= 0x80;
    out.push(byte);
  } while (v > 0n);
  return out;
}
const key = (field: number, wire: number): Bytes => varint((field << 3) | wire);
const int = (field: number, v: number): Bytes => [...key(field, 0), ...varint(v)];
const bytes = (field: number, payload: Bytes | Uint8Array): Bytes => [...key(field, 2), ...varint(payload.length), ...payload];
const str = (field: number, s: string): Bytes => bytes(field, new TextEncoder().encode(s));

export const DT = { float: 1, int64: 7, bool: 9, int32: 6 } as const;

export type Attr = number | number[] | { float: number } | { tensor: Bytes } | { string: string };

function attribute(name: string, a: Attr): Bytes {
  const head = str(1, name);
  if (typeof a === 'number') return [...head, ...int(3, a), ...int(20, 2)];
  if (Array.isArray(a)) return [...head, ...a.flatMap((v) => int(8, v)), ...int(20, 7)];
  if ('string' in a) return [...head, ...str(4, a.string), ...int(20, 3)];
  if ('float' in a) return [...head, ...key(2, 5), ...new Uint8Array(new Float32Array([a.float]).buffer), ...int(20, 1)];
  return [...head, ...bytes(5, a.tensor), ...int(20, 4)];
}

/** A TensorProto: float32 or int64 values in raw_data. */
export function tensorProto(name: string, dims: number[], values: ArrayLike<number>, type: 'float' | 'int64' = 'float'): Bytes {
  const raw = type === 'float' ? new Uint8Array(Float32Array.from(values).buffer) : new Uint8Array(BigInt64Array.from(Array.from(values, (v) => BigInt(v))).buffer);
  return [...dims.flatMap((d) => int(1, d)), ...int(2, DT[type]), ...str(8, name), ...bytes(9, raw)];
}

function valueInfo(name: string, elemType: number, dims: (number | string)[]): Bytes {
  const shape = dims.flatMap((d) => bytes(1, typeof d === 'number' ? int(1, d) : str(2, d)));
  return [...str(1, name), ...bytes(2, bytes(1, [...int(1, elemType), ...bytes(2, shape)]))];
}

export class GraphBuilder {
  private nodes: Bytes[] = [];
  private inits: Bytes[] = [];
  private inputs: Bytes[] = [];
  private outputs: Bytes[] = [];
  private count = 0;
  private names = new Map<string, number>();

  input(name: string, type: keyof typeof DT, dims: (number | string)[]): string {
    this.inputs.push(valueInfo(name, DT[type], dims));
    return name;
  }
  output(name: string, dims: (number | string)[]): void {
    this.outputs.push(valueInfo(name, DT.float, dims));
  }
  init(name: string, dims: number[], values: ArrayLike<number>, type: 'float' | 'int64' = 'float'): string {
    this.inits.push(tensorProto(name, dims, values, type));
    return name;
  }
  /** A node named `${scope}/${op}` (`_1`, `_2` after the first, as torch.onnx names them); returns its first output. */
  node(op: string, inputs: string[], attrs: Record<string, Attr> = {}, scope = '', outputs = 1, domain = ''): string {
    const outs = Array.from({ length: outputs }, () => `t${this.count++}`);
    // Unique names the way torch.onnx makes them: /scope/MatMul, /scope/MatMul_1, ...
    const base = `${scope}/${op}`;
    const seen = this.names.get(base) ?? 0;
    this.names.set(base, seen + 1);
    this.nodes.push([
      ...inputs.flatMap((i) => str(1, i)), ...outs.flatMap((o) => str(2, o)),
      ...str(3, seen === 0 ? base : `${base}_${seen}`), ...str(4, op),
      ...Object.entries(attrs).flatMap(([n, a]) => bytes(5, attribute(n, a))),
      ...(domain ? str(7, domain) : []),
    ]);
    return outs[0];
  }
  /** A Constant node holding a float scalar. */
  scalar(value: number, scope = ''): string {
    return this.node('Constant', [], { value: { tensor: tensorProto('', [], [value]) } }, scope);
  }
  model(opset = 17, more: { domain: string; version: number }[] = []): Uint8Array {
    const graph = [
      ...this.nodes.flatMap((n) => bytes(1, n)), ...str(2, 'test'), ...this.inits.flatMap((t) => bytes(5, t)),
      ...this.inputs.flatMap((x) => bytes(11, x)), ...this.outputs.flatMap((x) => bytes(12, x)),
    ];
    const opsets = [{ domain: '', version: opset }, ...more].flatMap((o) => bytes(8, [...str(1, o.domain), ...int(2, o.version)]));
    return Uint8Array.from([...int(1, 8), ...str(2, 'scaledot-test'), ...bytes(7, graph), ...opsets]);
  }
}

/** A .npy v1.0 file of float32, int64 or bool values. */
export function npyBytes(values: ArrayLike<number>, shape: number[], descr: '<f4' | '<i8' | '<i4' | '|b1' | '<f8'): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const data = descr === '<f4' ? new Uint8Array(Float32Array.from(values).buffer)
    : descr === '<f8' ? new Uint8Array(Float64Array.from(values).buffer)
      : descr === '<i8' ? new Uint8Array(BigInt64Array.from(Array.from(values, (v) => BigInt(v))).buffer)
        : descr === '<i4' ? new Uint8Array(Int32Array.from(values).buffer) : Uint8Array.from(values);
  const out = new Uint8Array(10 + header.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]);
  out.set(new TextEncoder().encode(header), 10);
  out.set(data, 10 + header.length);
  return out;
}
