import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { ScaledotError } from '../tensor/index.js';
import { decodeHalf } from './half.js';

/** The float formats a Q or K tensor may be stored in. */
export type StoredFloat = 'float64' | 'float32' | 'float16' | 'bfloat16';

export const BYTES: Record<StoredFloat, number> = { float64: 8, float32: 4, float16: 2, bfloat16: 2 };

/** What a file's header says about one tensor, before its data is read. */
export interface TensorHeader {
  /** The dtype as the file spells it (F32, <f4, ...). */
  fileDType: string;
  /** null when the file's dtype is not a float this tool reads. */
  dtype: StoredFloat | null;
  shape: number[];
}

export type TensorData = Float32Array | Float64Array;

/**
 * One tensor in a file, listed by name without reading anything of it:
 * `header()` reads only its header, `read()` its values. Tensors that are
 * neither Q nor K are listed and never read, so a file costs what its Q and K cost.
 */
export interface StoredTensor {
  file: string;
  name: string;
  header(): Promise<TensorHeader>;
  read(): Promise<TensorData>;
}

export function sizeOfShape(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Fills `target` from `position` on, or says the file ended first. */
export function readExactly(fd: number, target: Uint8Array, position: number, what: () => string): void {
  let done = 0;
  while (done < target.byteLength) {
    const n = readSync(fd, target, done, target.byteLength - done, position + done);
    if (n === 0) throw new ScaledotError('E_IO', `${what()}: the file ends after ${position + done} bytes; it is truncated`);
    done += n;
  }
}

/** Opens a file for positioned reads; the callback gets the descriptor and the file size. */
export function withFile<T>(path: string, use: (fd: number, size: number) => T): T {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new ScaledotError('E_IO', `inspect: cannot open ${path}: ${(err as Error).message}`);
  }
  try {
    return use(fd, fstatSync(fd).size);
  } finally {
    closeSync(fd);
  }
}

const NATIVE_LITTLE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Raw bytes → values. The bytes must sit in their own ArrayBuffer at an offset
 * aligned to the item size: then float32/float64 in the machine's byte order
 * are viewed in place, with no copy.
 */
export function decodeFloats(bytes: Uint8Array, dtype: StoredFloat, littleEndian: boolean): TensorData {
  if (dtype === 'float16' || dtype === 'bfloat16') return decodeHalf(bytes, dtype, littleEndian);
  const width = BYTES[dtype];
  const count = bytes.byteLength / width;
  if (littleEndian === NATIVE_LITTLE && bytes.byteOffset % width === 0) {
    return dtype === 'float64' ? new Float64Array(bytes.buffer, bytes.byteOffset, count) : new Float32Array(bytes.buffer, bytes.byteOffset, count);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = dtype === 'float64' ? new Float64Array(count) : new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = dtype === 'float64' ? view.getFloat64(i * 8, littleEndian) : view.getFloat32(i * 4, littleEndian);
  return out;
}
