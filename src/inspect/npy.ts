import { basename } from 'node:path';
import { ScaledotError } from '../tensor/index.js';
import { BYTES, decodeFloats, readExactly, sizeOfShape, withFile, type StoredFloat, type StoredTensor, type TensorHeader } from './stored.js';

/**
 * NumPy's .npy: the magic "\x93NUMPY", a version (1.x: a u16 header length;
 * 2.x and 3.x: u32), then a Python dict literal
 * {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } padded with
 * spaces, then the values in C order.
 */
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
const KINDS: Record<string, StoredFloat> = { f8: 'float64', f4: 'float32', f2: 'float16' };

export interface NpyHeader extends TensorHeader {
  littleEndian: boolean;
  /** Where the values start, from the start of the .npy. */
  dataOffset: number;
}

/** The length of the preamble (magic, version, length field) and of the dict, from the first 12 bytes. */
export function npyPreamble(first: Uint8Array, what: string): { preamble: number; dictLength: number } {
  if (first.byteLength < 10 || MAGIC.some((b, i) => first[i] !== b)) throw new ScaledotError('E_IO', `${what}: not a .npy (no \\x93NUMPY magic)`);
  const view = new DataView(first.buffer, first.byteOffset, first.byteLength);
  const major = first[6];
  if (major === 1) return { preamble: 10, dictLength: view.getUint16(8, true) };
  if ((major === 2 || major === 3) && first.byteLength >= 12) return { preamble: 12, dictLength: view.getUint32(8, true) };
  throw new ScaledotError('E_IO', `${what}: .npy format version ${major} is not one this tool reads (1, 2, 3)`);
}

/** Parses the dict and checks that `available` bytes after it hold the values. */
export function parseNpyHeader(dict: string, dataOffset: number, available: number, what: string): NpyHeader {
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(dict)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(dict)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(dict)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new ScaledotError('E_IO', `${what}: the .npy header ${JSON.stringify(dict.trim())} lacks descr, fortran_order or shape`);
  }
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  if (!shape.every((n) => Number.isSafeInteger(n) && n >= 0)) throw new ScaledotError('E_IO', `${what}: the .npy shape (${shapeText}) is not a tuple of sizes`);
  if (fortran === 'True') {
    throw new ScaledotError('E_ARG', `${what}: the array is stored in Fortran order; save np.ascontiguousarray(x) instead`);
  }
  const order = descr[0];
  const dtype = KINDS[descr.slice(1)] ?? null;
  const littleEndian = order !== '>' && order !== '!';
  if (dtype !== null && sizeOfShape(shape) * BYTES[dtype] > available) {
    throw new ScaledotError('E_IO', `${what}: shape (${shape.join(', ')}) of ${descr} needs ${sizeOfShape(shape) * BYTES[dtype]} bytes but only ${available} follow the header; the file is truncated`);
  }
  return { fileDType: descr, dtype, shape, littleEndian, dataOffset };
}

export function unsupportedDType(what: string, fileDType: string): ScaledotError {
  return new ScaledotError('E_DTYPE', `${what}: dtype ${fileDType} is not a float this tool reads; expected <f8, <f4 or <f2 (or big-endian >f8, >f4, >f2)`);
}

/** The header of the .npy file open as `fd` (of `size` bytes): magic, version and dict, checked; `what` starts each message. */
export function readNpyHeader(fd: number, size: number, what: string): NpyHeader {
  const first = new Uint8Array(Math.min(12, size));
  readExactly(fd, first, 0, () => what);
  const { preamble, dictLength } = npyPreamble(first, what);
  const dict = new Uint8Array(dictLength);
  readExactly(fd, dict, preamble, () => `${what}: .npy header`);
  const dataOffset = preamble + dictLength;
  return parseNpyHeader(new TextDecoder('latin1').decode(dict), dataOffset, size - dataOffset, what);
}

/** A .npy file: one tensor, named after the file. */
export function listNpy(path: string): StoredTensor[] {
  const what = `inspect: ${path}`;
  const readHeader = (fd: number, size: number): NpyHeader => readNpyHeader(fd, size, what);
  return [{
    file: path,
    name: basename(path).replace(/\.npy$/i, ''),
    header: async () => withFile(path, readHeader),
    read: async () => withFile(path, (fd, size) => {
      const h = readHeader(fd, size);
      if (h.dtype === null) throw unsupportedDType(what, h.fileDType);
      const bytes = new Uint8Array(sizeOfShape(h.shape) * BYTES[h.dtype]);
      readExactly(fd, bytes, h.dataOffset, () => what);
      return decodeFloats(bytes, h.dtype, h.littleEndian);
    }),
  }];
}
