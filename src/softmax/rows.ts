/** The float storage arrays of scaledot tensors. */
export type FloatArray = Float64Array | Float32Array;

/**
 * A strided slice of a flat array: element i is data[offset + i * stride],
 * for i in [0, length). The row kernels read and write through these, so one
 * kernel serves the last axis (stride 1), any other axis (stride = the product
 * of the later dimensions) and a scratch buffer of scores.
 */
export interface StridedRow {
  data: FloatArray;
  offset: number;
  length: number;
  stride: number;
}

/** A StridedRow over `data`: `length` elements from `offset`, `stride` apart (by default the whole array). */
export function stridedRow(data: FloatArray, offset = 0, length = data.length - offset, stride = 1): StridedRow {
  return { data, offset, length, stride };
}

/**
 * A row-major shape seen along one axis: `outer` blocks (the dimensions before
 * the axis), each holding `length` × `inner` elements (inner: the dimensions
 * after it). Row (o, i) starts at o·length·inner + i and has stride `inner`.
 */
export interface AxisLayout {
  outer: number;
  length: number;
  inner: number;
}

/** `axis` must already be normalised to [0, rank). */
export function axisLayout(shape: readonly number[], axis: number): AxisLayout {
  let outer = 1;
  let inner = 1;
  for (let d = 0; d < axis; d++) outer *= shape[d];
  for (let d = axis + 1; d < shape.length; d++) inner *= shape[d];
  return { outer, length: shape[axis], inner };
}

/**
 * Calls visit(offset, length, stride, rowIndex) for every row along `axis`
 * (normalised), in row-major order of the remaining dimensions: rowIndex is
 * the row's position in the shape with that axis removed.
 */
export function forEachAxisRow(
  shape: readonly number[],
  axis: number,
  visit: (offset: number, length: number, stride: number, rowIndex: number) => void,
): void {
  const { outer, length, inner } = axisLayout(shape, axis);
  let rowIndex = 0;
  for (let o = 0; o < outer; o++) {
    const base = o * length * inner;
    for (let i = 0; i < inner; i++) visit(base + i, length, inner, rowIndex++);
  }
}
