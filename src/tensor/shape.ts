import { ScaledotError, formatShape } from './error.js';

/** The number of elements of a tensor of this shape: the product of its dimensions (1 for a scalar, []). */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Every dimension a non-negative safe integer, or a ScaledotError naming the argument. */
export function checkShape(fn: string, arg: string, shape: unknown): number[] {
  if (!Array.isArray(shape)) {
    throw new ScaledotError('E_SHAPE', `${fn}: ${arg} must be an array of dimensions, got ${String(shape)}`);
  }
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i];
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) {
      throw new ScaledotError(
        'E_SHAPE',
        `${fn}: ${arg} [${shape.map(String).join(',')}] has dimension ${i} = ${String(d)}; dimensions must be non-negative integers`,
      );
    }
  }
  return [...shape];
}

/** A possibly negative axis turned into an index into a shape of the given rank. */
export function normalizeAxis(fn: string, axis: unknown, shape: readonly number[]): number {
  const rank = shape.length;
  // "1" and 1.5 are not out of range: they are not axes at all.
  if (typeof axis !== 'number' || !Number.isInteger(axis)) {
    throw new ScaledotError(
      'E_OPTION',
      `${fn}: axis ${typeof axis === 'string' ? `${JSON.stringify(axis)} (a string)` : String(axis)} must be an integer; expected one in [${-rank}, ${rank - 1}] for a tensor of shape ${formatShape(shape)}`,
    );
  }
  if (axis < -rank || axis >= rank) {
    throw new ScaledotError(
      'E_OPTION',
      `${fn}: axis ${String(axis)} is out of range for a tensor of shape ${formatShape(shape)} (rank ${rank}); expected an integer in [${-rank}, ${rank - 1}]`,
    );
  }
  return axis < 0 ? axis + rank : axis;
}

/** Whether two shapes are the same, dimension for dimension. */
export function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * NumPy broadcasting of two shapes (align on the right; a dimension of 1
 * stretches), or null if they do not broadcast.
 */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] | null {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) return null;
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * Strides (in elements) to read a tensor of shape `from` as if it had the
 * larger shape `to` it broadcasts to: a stretched dimension gets stride 0.
 * Assumes broadcastShapes(from, to) equals `to`.
 */
export function broadcastStrides(from: readonly number[], to: readonly number[]): number[] {
  const strides = new Array<number>(to.length).fill(0);
  let stride = 1;
  for (let i = from.length - 1; i >= 0; i--) {
    const j = to.length - from.length + i;
    strides[j] = from[i] === 1 ? 0 : stride;
    stride *= from[i];
  }
  return strides;
}

/** Row-major strides of a shape. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = stride;
    stride *= shape[i];
  }
  return strides;
}
