import { checkBufferSize, formatShape, storageClass, type FloatDType } from '../tensor/index.js';

/**
 * The buffers every backend allocates from the sizes of a call, checked before
 * any of them is: the output (..., Hq, L, Ev) in the dtype's storage and lse
 * (..., Hq, L) in float64 (the tiled and reference kernels keep it so). The
 * gradients of a backward pass have the inputs' sizes, which already exist.
 * Without this a call whose output needs 2³² elements made the reference throw
 * a raw RangeError, the tiled kernel allocate for seconds, and wasm say only
 * that it "does not support this problem".
 */
export function checkAttentionSize(
  fn: string,
  sizes: { dtype: FloatDType; batchShape: readonly number[]; batch: number; hq: number; l: number; ev: number; rank: number },
): void {
  const { dtype, batchShape, batch, hq, l, ev, rank } = sizes;
  const heads = rank >= 3 ? [hq] : [];
  const outputShape = [...batchShape, ...heads, l, ev];
  checkBufferSize(fn, `the output (..., Hq, L, Ev) = ${formatShape(outputShape)}`, batch * hq * l * ev, storageClass(dtype).BYTES_PER_ELEMENT, dtype);
  checkBufferSize(fn, `lse (..., Hq, L) = ${formatShape(outputShape.slice(0, -1))}`, batch * hq * l, Float64Array.BYTES_PER_ELEMENT, 'float64');
}
