import { ScaledotError } from '../../tensor/index.js';
import { float16FromBits } from '../half.js';

/**
 * The slice of onnx.proto that inspect reads, decoded straight from the wire
 * format (field key = number << 3 | wire type; 0 varint, 1 fixed64, 2 length
 * + bytes, 5 fixed32). Initializers are not decoded, only located: a 100 MB
 * model costs its bytes once, and raw weights are never copied. Field numbers
 * are onnx.proto's (ModelProto.graph 7, GraphProto.node 1, ...).
 */

export interface OnnxAttribute {
  name: string;
  f?: number;
  i?: number;
  s?: string;
  ints?: number[];
  /** A tensor attribute (Constant's `value`). */
  t?: OnnxTensor;
}

export interface OnnxNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attributes: Map<string, OnnxAttribute>;
}

/** A TensorProto, located: its small values are read on demand by scalarValue. */
export interface OnnxTensor {
  name: string;
  dims: number[];
  dataType: number;
  bytes: Uint8Array;
  /** [start, end) of each field inside `bytes`, by field number (the last one). */
  fields: Map<number, [number, number, number]>;
}

export interface OnnxValueInfo {
  name: string;
  /** TensorProto.DataType; 0 when the file does not say. */
  elemType: number;
  /** Each dimension's size, or its symbolic name, or null where unknown. */
  dims: (number | string | null)[] | null;
}

export interface OnnxModel {
  bytes: Uint8Array;
  nodes: OnnxNode[];
  initializers: Map<string, OnnxTensor>;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  opsets: Map<string, number>;
}

class Reader {
  constructor(readonly bytes: Uint8Array, public pos: number, readonly end: number, readonly what: string) {}
  varint(): number {
    // Up to 7 bytes (49 bits) in doubles; longer ones (negative int64: 10 bytes) through BigInt.
    let result = 0;
    let mul = 1;
    const start = this.pos;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw corrupt(this.what, 'a varint runs past the end of its message');
      const b = this.bytes[this.pos++];
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return i < 7 ? result : this.bigVarint(start);
      mul *= 128;
    }
    throw corrupt(this.what, 'a varint is longer than 10 bytes');
  }
  private bigVarint(start: number): number {
    let v = 0n;
    for (let i = start, shift = 0n; i < this.pos; i++, shift += 7n) v |= BigInt(this.bytes[i] & 0x7f) << shift;
    return Number(BigInt.asIntN(64, v));
  }
  /** Each field: its number, wire type and the payload range (for varints the value in `value`). */
  *fields(): Generator<{ field: number; wire: number; start: number; end: number; value: number; keyStart: number }> {
    while (this.pos < this.end) {
      const keyStart = this.pos;
      const key = this.varint();
      const field = Math.floor(key / 8);
      const wire = key & 7;
      let start = this.pos;
      let value = 0;
      if (wire === 0) { value = this.varint(); start = this.pos; }
      else if (wire === 1) this.pos += 8;
      else if (wire === 5) this.pos += 4;
      else if (wire === 2) { const n = this.varint(); start = this.pos; this.pos += n; }
      else throw corrupt(this.what, `wire type ${wire} (field ${field}) is not one protobuf writes`);
      if (this.pos > this.end || field === 0) throw corrupt(this.what, `field ${field} runs past the end of its message`);
      yield { field, wire, start, end: this.pos, value, keyStart };
    }
  }
}

function corrupt(what: string, why: string): ScaledotError {
  return new ScaledotError('E_IO', `${what}: not a readable ONNX model (${why}); the file is corrupt or not .onnx`);
}

const text = (b: Uint8Array, s: number, e: number): string => new TextDecoder().decode(b.subarray(s, e));

function packedOrOne(r: Reader, f: { wire: number; start: number; end: number; value: number }, out: number[]): void {
  if (f.wire === 0) { out.push(f.value); return; }
  const inner = new Reader(r.bytes, f.start, f.end, r.what);
  while (inner.pos < inner.end) out.push(inner.varint());
}

function readTensor(bytes: Uint8Array, start: number, end: number, what: string): OnnxTensor {
  const r = new Reader(bytes, start, end, what);
  const t: OnnxTensor = { name: '', dims: [], dataType: 0, bytes, fields: new Map() };
  for (const f of r.fields()) {
    if (f.field === 1) packedOrOne(r, f, t.dims);
    else if (f.field === 2) t.dataType = f.value;
    else if (f.field === 8) t.name = text(bytes, f.start, f.end);
    else t.fields.set(f.field, [f.start, f.end, f.wire]);
  }
  return t;
}

function readAttribute(bytes: Uint8Array, start: number, end: number, what: string): OnnxAttribute {
  const r = new Reader(bytes, start, end, what);
  const a: OnnxAttribute = { name: '' };
  for (const f of r.fields()) {
    if (f.field === 1) a.name = text(bytes, f.start, f.end);
    else if (f.field === 2 && f.wire === 5) a.f = new DataView(bytes.buffer, bytes.byteOffset + f.start, 4).getFloat32(0, true);
    else if (f.field === 3) a.i = f.value;
    else if (f.field === 4) a.s = text(bytes, f.start, f.end);
    else if (f.field === 5) a.t = readTensor(bytes, f.start, f.end, what);
    else if (f.field === 8) packedOrOne(r, f, (a.ints ??= []));
  }
  return a;
}

function readNode(bytes: Uint8Array, start: number, end: number, what: string): OnnxNode {
  const r = new Reader(bytes, start, end, what);
  const n: OnnxNode = { name: '', opType: '', domain: '', inputs: [], outputs: [], attributes: new Map() };
  for (const f of r.fields()) {
    if (f.field === 1) n.inputs.push(text(bytes, f.start, f.end));
    else if (f.field === 2) n.outputs.push(text(bytes, f.start, f.end));
    else if (f.field === 3) n.name = text(bytes, f.start, f.end);
    else if (f.field === 4) n.opType = text(bytes, f.start, f.end);
    else if (f.field === 7) n.domain = text(bytes, f.start, f.end);
    else if (f.field === 5) { const a = readAttribute(bytes, f.start, f.end, what); n.attributes.set(a.name, a); }
  }
  return n;
}

function readValueInfo(bytes: Uint8Array, start: number, end: number, what: string): OnnxValueInfo {
  const info: OnnxValueInfo = { name: '', elemType: 0, dims: null };
  for (const f of new Reader(bytes, start, end, what).fields()) {
    if (f.field === 1) info.name = text(bytes, f.start, f.end);
    if (f.field !== 2) continue;
    // TypeProto.tensor_type (1) → elem_type (1), shape (2) → dim (1) → dim_value (1) | dim_param (2).
    for (const tt of new Reader(bytes, f.start, f.end, what).fields()) {
      if (tt.field !== 1) continue;
      for (const g of new Reader(bytes, tt.start, tt.end, what).fields()) {
        if (g.field === 1) info.elemType = g.value;
        if (g.field !== 2) continue;
        info.dims = [];
        for (const d of new Reader(bytes, g.start, g.end, what).fields()) {
          if (d.field !== 1) continue;
          let size: number | string | null = null;
          for (const v of new Reader(bytes, d.start, d.end, what).fields()) {
            if (v.field === 1) size = v.value;
            else if (v.field === 2) size = text(bytes, v.start, v.end);
          }
          info.dims.push(size);
        }
      }
    }
  }
  return info;
}

/** Decodes a ModelProto's graph: nodes, initializers (located), inputs, outputs, opsets. */
export function readOnnxModel(bytes: Uint8Array, what: string): OnnxModel {
  // A message field given more than once is merged (protobuf's rule): every graph field counts.
  const graphs: { start: number; end: number }[] = [];
  const opsets = new Map<string, number>();
  let sawIrVersion = false;
  for (const f of new Reader(bytes, 0, bytes.byteLength, what).fields()) {
    if (f.field === 1 && f.wire === 0) sawIrVersion = true;
    if (f.field === 7 && f.wire === 2) graphs.push({ start: f.start, end: f.end });
    if (f.field === 8 && f.wire === 2) {
      let domain = '';
      let version = 0;
      for (const o of new Reader(bytes, f.start, f.end, what).fields()) {
        if (o.field === 1) domain = text(bytes, o.start, o.end);
        if (o.field === 2) version = o.value;
      }
      opsets.set(domain === 'ai.onnx' ? '' : domain, version);
    }
  }
  if (graphs.length === 0 || !sawIrVersion) throw corrupt(what, graphs.length === 0 ? 'no graph' : 'no ir_version');
  const model: OnnxModel = { bytes, nodes: [], initializers: new Map(), inputs: [], outputs: [], opsets };
  for (const f of graphs.flatMap((g) => [...new Reader(bytes, g.start, g.end, what).fields()])) {
    if (f.wire !== 2) continue;
    if (f.field === 1) model.nodes.push(readNode(bytes, f.start, f.end, what));
    else if (f.field === 5) { const t = readTensor(bytes, f.start, f.end, what); model.initializers.set(t.name, t); }
    else if (f.field === 11) model.inputs.push(readValueInfo(bytes, f.start, f.end, what));
    else if (f.field === 12) model.outputs.push(readValueInfo(bytes, f.start, f.end, what));
  }
  // Inputs that are also initializers (IR < 4 lists weights as inputs) are not fed.
  model.inputs = model.inputs.filter((i) => !model.initializers.has(i.name));
  return model;
}

const FLOAT = 1;
const DOUBLE = 11;
const FLOAT16 = 10;
const BFLOAT16 = 16;

/** The single value of a one-element float tensor, or null (not one element, not a float, stored outside the file). */
export function scalarValue(t: OnnxTensor): number | null {
  if (t.dims.reduce((a, b) => a * b, 1) !== 1 || t.fields.has(13)) return null;
  const raw = t.fields.get(9);
  const view = (s: number, n: number): DataView => new DataView(t.bytes.buffer, t.bytes.byteOffset + s, n);
  if (raw !== undefined) {
    const [s, e] = raw;
    if (t.dataType === FLOAT && e - s === 4) return view(s, 4).getFloat32(0, true);
    if (t.dataType === DOUBLE && e - s === 8) return view(s, 8).getFloat64(0, true);
    if (t.dataType === FLOAT16 && e - s === 2) return float16FromBits(view(s, 2).getUint16(0, true));
    if (t.dataType === BFLOAT16 && e - s === 2) return new Float32Array(new Uint32Array([view(s, 2).getUint16(0, true) << 16]).buffer)[0];
    return null;
  }
  const floats = t.fields.get(4); // float_data, packed
  if (t.dataType === FLOAT && floats !== undefined && floats[1] - floats[0] === 4) return view(floats[0], 4).getFloat32(0, true);
  const doubles = t.fields.get(10);
  if (t.dataType === DOUBLE && doubles !== undefined && doubles[1] - doubles[0] === 8) return view(doubles[0], 8).getFloat64(0, true);
  const int32 = t.fields.get(5); // float16 / bfloat16 bits in int32_data
  if ((t.dataType === FLOAT16 || t.dataType === BFLOAT16) && int32 !== undefined) {
    const bits = int32[2] === 0 ? 0 : new Reader(t.bytes, int32[0], int32[1], '').varint();
    return t.dataType === FLOAT16 ? float16FromBits(bits) : new Float32Array(new Uint32Array([bits << 16]).buffer)[0];
  }
  return null;
}

function varintBytes(value: number): number[] {
  const out: number[] = [];
  let v = value;
  do {
    let byte = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) byte |= 0x80;
    out.push(byte);
  } while (v > 0);
  return out;
}

/**
 * Bytes that, appended to a model, add `names` as graph outputs: a second
 * ModelProto.graph field (7) holding only GraphProto.output entries (12), each
 * a ValueInfoProto with just a name (the runtime infers its type). Protobuf
 * merges a repeated embedded message into the first and appends repeated
 * fields, so the model's own bytes are neither moved nor copied.
 */
export function extraOutputsSuffix(names: readonly string[]): Uint8Array {
  const enc = new TextEncoder();
  const outputs: number[] = [];
  for (const name of names) {
    const nameBytes = [...enc.encode(name)];
    const info = [0x0a, ...varintBytes(nameBytes.length), ...nameBytes]; // ValueInfoProto.name
    outputs.push(0x62, ...varintBytes(info.length), ...info); // GraphProto.output: field 12, wire 2
  }
  return Uint8Array.from([0x3a, ...varintBytes(outputs.length), ...outputs]); // ModelProto.graph: field 7, wire 2
}
