import { basename } from 'node:path';
import { ScaledotError } from '../../tensor/index.js';
import { readNpyHeader } from '../npy.js';
import { readExactly, sizeOfShape, withFile } from '../stored.js';
import type { OnnxValueInfo } from './proto.js';

/** One --input: NAME=FILE.npy, or FILE.npy alone. */
export interface InputSpec {
  name?: string;
  path: string;
}

/** A model input's values as read from .npy, in the runtime's element type. */
export interface Feed {
  name: string;
  type: string;
  data: Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;
  dims: number[];
}

/** TensorProto.DataType → the runtime's type name and the .npy descrs (little-endian) that hold it. */
const TYPES: Record<number, { type: string; descrs: string[] }> = {
  1: { type: 'float32', descrs: ['<f4'] },
  11: { type: 'float64', descrs: ['<f8'] },
  6: { type: 'int32', descrs: ['<i4'] },
  7: { type: 'int64', descrs: ['<i8'] },
  9: { type: 'bool', descrs: ['|b1'] },
};

export function parseInputSpec(raw: string): InputSpec {
  const eq = raw.indexOf('=');
  if (eq > 0 && !raw.slice(0, eq).includes('/')) return { name: raw.slice(0, eq), path: raw.slice(eq + 1) };
  return { path: raw };
}

/** Which model input each --input feeds: by name, or alone for a one-input model, or by file name. */
export function assignInputs(specs: readonly InputSpec[], inputs: readonly OnnxValueInfo[], what: string): Map<string, string> {
  const names = inputs.map((i) => i.name);
  const list = names.join(', ');
  if (specs.length === 0) throw new ScaledotError('E_OPTION', `inspect: ${what} needs its inputs: --input FILE.npy for each of ${list} (NAME=FILE.npy where there are several)`);
  const out = new Map<string, string>();
  for (const spec of specs) {
    const name = spec.name ?? (names.length === 1 ? names[0] : names.find((n) => n === basename(spec.path).replace(/\.npy$/i, '')));
    if (name === undefined) throw new ScaledotError('E_OPTION', `inspect: --input ${spec.path} does not say which input it is; ${what} has inputs ${list}: give --input NAME=${spec.path}`);
    if (!names.includes(name)) throw new ScaledotError('E_OPTION', `inspect: --input ${name}=${spec.path} names no input of ${what}; its inputs are ${list}`);
    if (out.has(name)) throw new ScaledotError('E_OPTION', `inspect: --input gives ${name} twice (${out.get(name)} and ${spec.path})`);
    out.set(name, spec.path);
  }
  const missing = names.filter((n) => !out.has(n));
  if (missing.length > 0) throw new ScaledotError('E_OPTION', `inspect: ${what} needs input(s) ${missing.join(', ')} too; give --input NAME=FILE.npy for each`);
  return out;
}

/** Reads each input's .npy, checking its dtype and shape against the model's declaration (symbolic sizes must agree across inputs). */
export function readFeeds(assigned: Map<string, string>, inputs: readonly OnnxValueInfo[]): Feed[] {
  const symbols = new Map<string, { size: number; input: string }>();
  const feeds: Feed[] = [];
  for (const info of inputs) {
    const path = assigned.get(info.name)!;
    const what = `inspect: --input ${info.name}=${path}`;
    const kind = TYPES[info.elemType];
    if (kind === undefined) throw new ScaledotError('E_DTYPE', `${what}: the model's input has element type ${info.elemType}, which inspect does not feed (float32, float64, int32, int64, bool)`);
    feeds.push(withFile(path, (fd, size) => {
      const h = readNpyHeader(fd, size, what);
      const descr = h.fileDType === '<b1' ? '|b1' : h.fileDType;
      if (!kind.descrs.includes(descr)) {
        throw new ScaledotError('E_DTYPE', `${what}: the file holds ${h.fileDType} but the model's input ${info.name} is ${kind.type}; save it as np.${kind.type === 'bool' ? 'bool_' : kind.type} (${kind.descrs.join(' or ')})`);
      }
      checkShape(what, info, h.shape, symbols);
      const width = kind.type === 'bool' ? 1 : kind.type.endsWith('64') ? 8 : 4;
      const bytes = new Uint8Array(sizeOfShape(h.shape) * width);
      readExactly(fd, bytes, h.dataOffset, () => what);
      const data = kind.type === 'float32' ? new Float32Array(bytes.buffer) : kind.type === 'float64' ? new Float64Array(bytes.buffer)
        : kind.type === 'int32' ? new Int32Array(bytes.buffer) : kind.type === 'int64' ? new BigInt64Array(bytes.buffer) : bytes;
      return { name: info.name, type: kind.type, data, dims: h.shape };
    }));
  }
  return feeds;
}

function checkShape(what: string, info: OnnxValueInfo, shape: number[], symbols: Map<string, { size: number; input: string }>): void {
  if (info.dims === null) return;
  const declared = `(${info.dims.map((d) => d ?? '?').join(', ')})`;
  if (info.dims.length !== shape.length) throw new ScaledotError('E_SHAPE', `${what}: the file's shape (${shape.join(', ')}) has rank ${shape.length}; the model's input is ${declared}`);
  info.dims.forEach((d, axis) => {
    if (typeof d === 'number' && d > 0 && d !== shape[axis]) {
      throw new ScaledotError('E_SHAPE', `${what}: the file's shape (${shape.join(', ')}) has ${shape[axis]} on axis ${axis}; the model's input is ${declared}`);
    }
    // "?" is no name but "unknown" (paddle2onnx writes it on every free axis: height and width of one image), so it ties no two axes together.
    if (typeof d === 'string' && d !== '' && d !== '?') {
      const seen = symbols.get(d);
      if (seen !== undefined && seen.size !== shape[axis]) {
        throw new ScaledotError('E_SHAPE', `${what}: axis ${axis} (${d}) is ${shape[axis]}, but input ${seen.input} has ${d} = ${seen.size}; the model needs them equal`);
      }
      symbols.set(d, { size: shape[axis], input: info.name });
    }
  });
}
