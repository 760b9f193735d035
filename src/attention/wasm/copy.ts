import type { AttentionMask } from '../problem.js';

/**
 * Copies `mats` row-major matrices of rows x cols from `src` into linear
 * memory at byte `dst` as rowsP x colsP, zero-filling the padding (memory is
 * reused between calls, so padding must be cleared every time).
 */
export function copyIn(
  heap: Float32Array, dst: number, src: Float32Array | Float64Array,
  mats: number, rows: number, cols: number, rowsP: number, colsP: number,
): void {
  const base = dst / 4;
  if (rows === rowsP && cols === colsP) {
    heap.set(src, base);
    return;
  }
  heap.fill(0, base, base + mats * rowsP * colsP);
  for (let m = 0; m < mats; m++) {
    for (let r = 0; r < rows; r++) {
      const from = (m * rows + r) * cols;
      const to = base + (m * rowsP + r) * colsP;
      for (let c = 0; c < cols; c++) heap[to + c] = src[from + c];
    }
  }
}

/**
 * copyIn for keys or values under keyLengths: matrix m (a kv head of batch
 * element floor(m / hkv)) needs only its first `live` rows, zero-padded to the
 * end of their key block: the kernels never visit a key block past keyLengths
 * (assembly/visible.ts), so the rest of a cache's maxLength rows is neither
 * copied nor cleared, and a decoding step costs its cache's length, not its size.
 */
export function copyKeysIn(
  heap: Float32Array, dst: number, src: Float32Array | Float64Array, mats: number, rows: number, cols: number,
  rowsP: number, colsP: number, hkv: number, keyLengths: Int32Array | null, blockCols: number,
): void {
  if (keyLengths === null) {
    copyIn(heap, dst, src, mats, rows, cols, rowsP, colsP);
    return;
  }
  const base = dst / 4;
  for (let m = 0; m < mats; m++) {
    const live = keyLengths[Math.floor(m / hkv)];
    const end = Math.min(rowsP, Math.ceil(live / blockCols) * blockCols);
    const at = base + m * rowsP * colsP;
    heap.fill(0, at + live * colsP, at + end * colsP);
    for (let r = 0; r < live; r++) {
      const from = (m * rows + r) * cols;
      const to = at + r * colsP;
      if (cols === colsP) heap.set(src.subarray(from, from + cols), to);
      else {
        for (let c = 0; c < cols; c++) heap[to + c] = src[from + c];
        heap.fill(0, to + cols, to + colsP);
      }
    }
  }
}

/**
 * A new zeroed Float32Array of n elements with every page already written
 * once. A result array is fresh memory, and its first write to each 4 KiB
 * page may be a page fault, which in a virtual machine can cost more than
 * the copy itself (docs/performance.md, short shapes). Touched this way while
 * the workers run the kernel (KernelRuntime.run's `meanwhile`), the faults
 * overlap the work instead of following it.
 */
export function touchedArray(n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 1024) out[i] = 0;
  return out;
}

/**
 * The inverse of copyIn: rows x cols out of rowsP x colsP, through `round`
 * (the dtype's rounding) if given, into `out` if given (touchedArray), else
 * into a new array.
 */
export function copyOut(
  heap: Float32Array, src: number, mats: number, rows: number, cols: number, rowsP: number, colsP: number,
  round: ((x: number) => number) | null, out: Float32Array = new Float32Array(mats * rows * cols),
): Float32Array {
  if (out.length !== mats * rows * cols) throw new Error(`wasm attention: copyOut into ${out.length} elements, expected ${mats * rows * cols}`);
  const base = src / 4;
  if (rows === rowsP && cols === colsP && round === null) {
    out.set(heap.subarray(base, base + out.length));
    return out;
  }
  for (let m = 0; m < mats; m++) {
    for (let r = 0; r < rows; r++) {
      const from = base + (m * rowsP + r) * colsP;
      const to = (m * rows + r) * cols;
      if (round === null) for (let c = 0; c < cols; c++) out[to + c] = heap[from + c];
      else for (let c = 0; c < cols; c++) out[to + c] = round(heap[from + c]);
    }
  }
  return out;
}

/** The mask's values (bool as bytes, additive as float32) and per-head offsets, as the kernel reads them. */
export function copyMask(buffer: ArrayBufferLike, mask: AttentionMask, data: number, head: number): void {
  if (mask.kind === 'bool') new Uint8Array(buffer, data, mask.data.length).set(mask.data);
  else new Float32Array(buffer, data, mask.data.length).set(mask.data);
  new Int32Array(buffer, head, mask.headOffset.length).set(mask.headOffset);
}
