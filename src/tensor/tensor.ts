import { checkDType, rounder, type DType, type FloatDType } from './dtype.js';
import { ScaledotError, formatShape } from './error.js';
import { Rng } from './random.js';
import { checkShape, sizeOf } from './shape.js';
import { checkBufferSize } from './size.js';

export type TensorData = Float64Array | Float32Array | Uint8Array;

/** Nested arrays of numbers or booleans, as `toArray` returns and `tensor` accepts. */
export type NestedArray = number | boolean | NestedArray[];

/**
 * A dense, row-major n-dimensional array. Storage by dtype:
 * float64 → Float64Array; float32, float16, bfloat16 → Float32Array (the half
 * dtypes hold only values exactly representable in them); bool → Uint8Array (0/1).
 * Tensors are never mutated by scaledot: every op returns a new one.
 */
export class Tensor {
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly data: TensorData;

  /** Wraps `data` without copying; checks that it fits the shape and dtype. */
  constructor(data: TensorData, shape: readonly number[], dtype: DType) {
    const fn = 'Tensor';
    const dims = checkShape(fn, 'shape', shape as unknown);
    checkDType(fn, 'dtype', dtype);
    if (!(data instanceof storageClass(dtype))) {
      throw new ScaledotError('E_DTYPE', `${fn}: data is a ${data.constructor.name} but dtype ${dtype} is stored in a ${storageClass(dtype).name}`);
    }
    if (data.length !== sizeOf(dims)) {
      throw new ScaledotError('E_SHAPE', `${fn}: data has ${data.length} elements but shape ${formatShape(dims)} needs ${sizeOf(dims)}`);
    }
    this.shape = Object.freeze(dims);
    this.dtype = dtype;
    this.data = data;
  }

  get size(): number {
    return this.data.length;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** The values as nested arrays (booleans for a bool tensor). */
  toArray(): NestedArray {
    const flat = Array.from(this.data, (v) => (this.dtype === 'bool' ? v !== 0 : v));
    if (this.shape.length === 0) return flat[0];
    const build = (dim: number, offset: number): NestedArray[] => {
      const n = this.shape[dim];
      if (dim === this.shape.length - 1) return flat.slice(offset, offset + n);
      const inner = sizeOf(this.shape.slice(dim + 1));
      return Array.from({ length: n }, (_, i) => build(dim + 1, offset + i * inner));
    };
    return build(0, 0);
  }

  /** The same values in another dtype, rounded to it (round to nearest, ties to even). */
  astype(dtype: DType): Tensor {
    return tensor(this.data, this.shape, { dtype });
  }

  /** The same data viewed with another shape of the same size. */
  reshape(shape: readonly number[]): Tensor {
    const dims = checkShape('reshape', 'shape', shape as unknown);
    if (sizeOf(dims) !== this.size) {
      throw new ScaledotError('E_SHAPE', `reshape: cannot view a tensor of shape ${formatShape(this.shape)} (${this.size} elements) as ${formatShape(dims)} (${sizeOf(dims)} elements)`);
    }
    return new Tensor(this.data, dims, this.dtype);
  }

  toString(): string {
    return `Tensor(${this.dtype}, ${formatShape(this.shape)})`;
  }
}

/** The typed array that holds a dtype: Float64Array for float64, Uint8Array for bool, Float32Array otherwise (half dtypes hold values exact in that format). */
export function storageClass(dtype: DType): Float64ArrayConstructor | Float32ArrayConstructor | Uint8ArrayConstructor {
  if (dtype === 'float64') return Float64Array;
  if (dtype === 'bool') return Uint8Array;
  return Float32Array;
}

/** E_SIZE before a tensor of this shape is allocated past MAX_BUFFER_BYTES (size.ts). */
function checkShapeSize(fn: string, dims: readonly number[], dtype: DType): void {
  checkBufferSize(fn, `shape ${formatShape(dims)}`, sizeOf(dims), storageClass(dtype).BYTES_PER_ELEMENT, dtype);
}

/** A zero-filled typed array of the storage class of a dtype. */
export function allocate(dtype: DType, size: number): TensorData {
  return new (storageClass(dtype))(size);
}

export interface TensorOptions {
  dtype?: DType;
}

function inferShape(values: unknown): number[] {
  const shape: number[] = [];
  let v = values;
  while (Array.isArray(v)) {
    shape.push(v.length);
    v = v[0];
  }
  return shape;
}

function flatten(fn: string, values: unknown, shape: number[]): ArrayLike<number | boolean> {
  if (!Array.isArray(values)) return values as ArrayLike<number>;
  if (!Array.isArray(values[0])) return values as (number | boolean)[];
  const out: (number | boolean)[] = [];
  const walk = (v: unknown, dim: number): void => {
    if (dim === shape.length) {
      out.push(v as number);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[dim]) {
      throw new ScaledotError('E_SHAPE', `${fn}: values are ragged: expected ${shape[dim]} entries at depth ${dim} (shape ${formatShape(shape)})`);
    }
    for (const x of v) walk(x, dim + 1);
  };
  walk(values, 0);
  return out;
}

/**
 * tensor(values, shape?, { dtype = 'float32' }): a new tensor holding a copy of
 * `values` (flat in row-major order, nested arrays or a typed array), rounded to
 * the dtype. Without a shape, a nested array gives its own and a flat one is 1-D.
 */
export function tensor(values: NestedArray[] | ArrayLike<number>, shape?: readonly number[], options: TensorOptions = {}): Tensor {
  const fn = 'tensor';
  const dtype = checkDType(fn, 'dtype', options.dtype ?? 'float32');
  if (values === null || typeof values !== 'object') {
    throw new ScaledotError('E_ARG', `${fn}: values must be an array or typed array, got ${String(values)}`);
  }
  const nestedShape = Array.isArray(values) ? inferShape(values) : [values.length];
  const flat = flatten(fn, values, nestedShape);
  const dims = shape === undefined ? (Array.isArray(values) ? nestedShape : [flat.length]) : checkShape(fn, 'shape', shape as unknown);
  if (flat.length !== sizeOf(dims)) {
    throw new ScaledotError('E_SHAPE', `${fn}: got ${flat.length} values but shape ${formatShape(dims)} needs ${sizeOf(dims)}`);
  }
  const data = allocate(dtype, flat.length);
  if (dtype === 'bool') {
    for (let i = 0; i < flat.length; i++) data[i] = flat[i] ? 1 : 0;
  } else {
    const round = rounder(dtype);
    for (let i = 0; i < flat.length; i++) {
      const v = flat[i];
      if (typeof v !== 'number' && typeof v !== 'boolean') {
        throw new ScaledotError('E_ARG', `${fn}: value ${i} is ${String(v)}; expected a number`);
      }
      data[i] = round(Number(v));
    }
  }
  return new Tensor(data, dims, dtype);
}

/** A tensor of this shape filled with zeros (float32 unless options.dtype says otherwise). */
export function zeros(shape: readonly number[], options: TensorOptions = {}): Tensor {
  const dims = checkShape('zeros', 'shape', shape as unknown);
  const dtype = checkDType('zeros', 'dtype', options.dtype ?? 'float32');
  checkShapeSize('zeros', dims, dtype);
  return new Tensor(allocate(dtype, sizeOf(dims)), dims, dtype);
}

/** A tensor of this shape filled with `value`, rounded to the dtype (float32 unless options.dtype says otherwise). */
export function full(shape: readonly number[], value: number, options: TensorOptions = {}): Tensor {
  const dims = checkShape('full', 'shape', shape as unknown);
  const dtype = checkDType('full', 'dtype', options.dtype ?? 'float32');
  checkShapeSize('full', dims, dtype);
  const data = allocate(dtype, sizeOf(dims));
  data.fill(dtype === 'bool' ? (value ? 1 : 0) : rounder(dtype)(value));
  return new Tensor(data, dims, dtype);
}

export interface RandnOptions {
  seed?: number;
  std?: number;
  mean?: number;
  dtype?: FloatDType;
}

/** Normal samples N(mean, std²), seeded (default seed 0): the same seed gives the same tensor. */
export function randn(shape: readonly number[], options: RandnOptions = {}): Tensor {
  const fn = 'randn';
  const dims = checkShape(fn, 'shape', shape as unknown);
  const dtype = checkDType(fn, 'dtype', options.dtype ?? 'float32');
  if (dtype === 'bool') throw new ScaledotError('E_DTYPE', `${fn}: dtype bool cannot hold normal samples; use a float dtype`);
  const { seed = 0, std = 1, mean = 0 } = options;
  if (!Number.isFinite(std) || std < 0) throw new ScaledotError('E_OPTION', `${fn}: std is ${std}; expected a finite number >= 0`);
  if (!Number.isFinite(mean)) throw new ScaledotError('E_OPTION', `${fn}: mean is ${mean}; expected a finite number`);
  checkShapeSize(fn, dims, dtype);
  const rng = new Rng(seed);
  const round = rounder(dtype);
  const data = allocate(dtype, sizeOf(dims));
  for (let i = 0; i < data.length; i++) data[i] = round(mean + std * rng.normal());
  return new Tensor(data, dims, dtype);
}

/** Accepts only a Tensor; anything else is a ScaledotError naming the argument. */
export function checkTensor(fn: string, arg: string, x: unknown): Tensor {
  if (!(x instanceof Tensor)) {
    throw new ScaledotError('E_ARG', `${fn}: ${arg} must be a Tensor, got ${x === null ? 'null' : typeof x}`);
  }
  return x;
}

/** Accepts only a Tensor of a float dtype. */
export function checkFloatTensor(fn: string, arg: string, x: unknown): Tensor & { dtype: FloatDType } {
  const t = checkTensor(fn, arg, x);
  if (t.dtype === 'bool') {
    throw new ScaledotError('E_DTYPE', `${fn}: ${arg} has dtype bool (shape ${formatShape(t.shape)}); expected a float dtype`);
  }
  return t as Tensor & { dtype: FloatDType };
}
