import { ScaledotError } from '../tensor/index.js';
import { readNpyHeader } from './npy.js';
import { readExactly, sizeOfShape, withFile, type StoredTensor } from './stored.js';

/**
 * Key lengths: batch element b's tokens are its first lengths[b] positions;
 * the rest is padding, left out of every figure (its keys, and its queries).
 * `train --save-qk` stores them beside Q and K as the tensor `key_lengths`;
 * `--key-lengths FILE.npy` gives them for any file.
 */
export const KEY_LENGTHS_TENSOR = 'key_lengths';

const WIDTH: Record<string, number> = { '<i8': 8, '<i4': 4, '<f8': 8, '<f4': 4 };

/** The values of a 1-D .npy of int64, int32, float64 or float32. */
export function readNpyNumbers(path: string, what: string): { shape: number[]; values: number[] } {
  return withFile(path, (fd, size) => {
    const h = readNpyHeader(fd, size, what);
    const width = WIDTH[h.fileDType];
    if (width === undefined) throw new ScaledotError('E_DTYPE', `${what}: dtype ${h.fileDType}; expected integers (<i8, <i4) or floats (<f8, <f4)`);
    const bytes = new Uint8Array(sizeOfShape(h.shape) * width);
    readExactly(fd, bytes, h.dataOffset, () => what);
    const values = h.fileDType === '<i8' ? Array.from(new BigInt64Array(bytes.buffer), Number) : h.fileDType === '<i4' ? Array.from(new Int32Array(bytes.buffer))
      : h.fileDType === '<f8' ? Array.from(new Float64Array(bytes.buffer)) : Array.from(new Float32Array(bytes.buffer));
    return { shape: h.shape, values };
  });
}

/** Lengths from a file's key_lengths tensor (float, as safetensors stores it here). */
export async function readLengthsTensor(t: StoredTensor): Promise<{ shape: number[]; values: number[] }> {
  const h = await t.header();
  return { shape: h.shape, values: Array.from(await t.read()) };
}

/** Checks lengths against a layer's batch and key count: one whole number in [1, S] per batch element. */
export function checkLengths(lengths: { shape: number[]; values: number[] }, where: string, layer: string, batch: number, keys: number): number[] {
  const { shape, values } = lengths;
  if (shape.length !== 1 || shape[0] !== batch) {
    throw new ScaledotError('E_SHAPE', `inspect: ${where} has shape (${shape.join(', ')}); layer ${layer} has batch ${batch}, so expected (${batch},): one length per batch element`);
  }
  const bad = values.findIndex((v) => !Number.isInteger(v) || v < 1 || v > keys);
  if (bad >= 0) throw new ScaledotError('E_ARG', `inspect: ${where}[${bad}] is ${values[bad]}; expected a whole number of tokens from 1 to ${keys} (layer ${layer}'s keys)`);
  return values;
}
