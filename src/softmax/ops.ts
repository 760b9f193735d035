import {
  ScaledotError, Tensor, allocate, checkFloatTensor, formatShape, normalizeAxis, sizeOf, type FloatDType,
} from '../tensor/index.js';
import { describeValue, isPlainObject } from '../tensor/plain.js';
import { dtypeArithmetic } from './arithmetic.js';
import { softmaxBackwardRow, logSoftmaxBackwardRow } from './backward.js';
import { logSoftmaxRow, logsumexpRow } from './log.js';
import { softmaxRowNaive } from './naive.js';
import { softmaxRowOnline } from './online.js';
import { forEachAxisRow, stridedRow, type FloatArray, type StridedRow } from './rows.js';
import { softmaxRowSafe } from './safe.js';

/**
 * The softmax family on tensors: each op checks its arguments, then applies a
 * row kernel to every row along `axis` (default −1, the last). Outputs are new
 * tensors of the input's dtype, computed in that dtype's arithmetic
 * (arithmetic.ts: float16/bfloat16 round to storage after each elementwise op
 * and accumulate in float32).
 */

export type SoftmaxAlgorithm = 'safe' | 'online' | 'naive';
export const SOFTMAX_ALGORITHMS: readonly SoftmaxAlgorithm[] = ['safe', 'online', 'naive'];

export interface AxisOptions {
  /** The axis the op normalises over; negative counts from the end. Default −1. */
  axis?: number;
}

export interface SoftmaxOptions extends AxisOptions {
  /** 'safe' (max-subtracted, default), 'online' (one pass) or 'naive' (overflows, for the lab). */
  algorithm?: SoftmaxAlgorithm;
}

type RowKernel = (x: StridedRow, out: StridedRow, dtype: FloatDType) => void;

const SOFTMAX_KERNELS: Record<SoftmaxAlgorithm, RowKernel> = {
  safe: softmaxRowSafe,
  online: softmaxRowOnline,
  naive: softmaxRowNaive,
};

/** Softmax of one strided row with the named algorithm (see safe.ts, online.ts, naive.ts). */
export function softmaxRow(x: StridedRow, out: StridedRow, dtype: FloatDType, algorithm: SoftmaxAlgorithm = 'safe'): void {
  SOFTMAX_KERNELS[algorithm](x, out, dtype);
}

/** Rejects a non-object and any key the op does not know (a typo would otherwise be ignored silently). */
function checkOptions(fn: string, options: unknown, known: readonly string[]): Record<string, unknown> {
  if (options === undefined) return {};
  if (!isPlainObject(options)) {
    throw new ScaledotError('E_OPTION', `${fn}: options must be a plain object like { axis: -1 }, got ${describeValue(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new ScaledotError('E_OPTION', `${fn}: unknown option ${JSON.stringify(key)}; expected ${known.join(', ')}`);
    }
  }
  return options as Record<string, unknown>;
}

function checkAxis(fn: string, options: Record<string, unknown>, shape: readonly number[]): number {
  return normalizeAxis(fn, options.axis === undefined ? -1 : options.axis, shape);
}

function checkAlgorithm(fn: string, algorithm: unknown): SoftmaxAlgorithm {
  if (algorithm === undefined) return 'safe';
  if (typeof algorithm === 'string' && (SOFTMAX_ALGORITHMS as readonly string[]).includes(algorithm)) {
    return algorithm as SoftmaxAlgorithm;
  }
  throw new ScaledotError('E_OPTION', `${fn}: algorithm is ${JSON.stringify(algorithm)}; expected one of ${SOFTMAX_ALGORITHMS.join(', ')}`);
}

/** Two tensors that must match element for element (a value and its gradient). */
function checkPair(fn: string, a: Tensor, aName: string, b: Tensor, bName: string): void {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new ScaledotError('E_SHAPE', `${fn}: ${bName} has shape ${formatShape(b.shape)} but ${aName} has shape ${formatShape(a.shape)}; they must be equal`);
  }
  if (a.dtype !== b.dtype) {
    throw new ScaledotError('E_DTYPE', `${fn}: ${bName} has dtype ${b.dtype} but ${aName} has dtype ${a.dtype}; they must be equal`);
  }
}

/** Applies `kernel(x row, out row)` along `axis` into a new tensor of x's shape and dtype. */
function mapRows(x: Tensor & { dtype: FloatDType }, axis: number, kernel: RowKernel): Tensor {
  const out = allocate(x.dtype, x.size) as FloatArray;
  const xRow = stridedRow(x.data as FloatArray);
  const outRow = stridedRow(out);
  forEachAxisRow(x.shape, axis, (offset, length, stride) => {
    xRow.offset = outRow.offset = offset;
    xRow.length = outRow.length = length;
    xRow.stride = outRow.stride = stride;
    kernel(xRow, outRow, x.dtype);
  });
  return new Tensor(out, x.shape, x.dtype);
}

/** Like mapRows for a kernel of two same-shaped inputs (a value and its gradient). */
function mapRowPairs(
  a: Tensor & { dtype: FloatDType },
  b: Tensor,
  axis: number,
  kernel: (a: StridedRow, b: StridedRow, out: StridedRow, dtype: FloatDType) => void,
): Tensor {
  const out = allocate(a.dtype, a.size) as FloatArray;
  const aRow = stridedRow(a.data as FloatArray);
  const bRow = stridedRow(b.data as FloatArray);
  const outRow = stridedRow(out);
  forEachAxisRow(a.shape, axis, (offset, length, stride) => {
    aRow.offset = bRow.offset = outRow.offset = offset;
    aRow.length = bRow.length = outRow.length = length;
    aRow.stride = bRow.stride = outRow.stride = stride;
    kernel(aRow, bRow, outRow, a.dtype);
  });
  return new Tensor(out, a.shape, a.dtype);
}

/**
 * softmax(x)ᵢ = exp(xᵢ) / Σⱼ exp(xⱼ) along `axis`.
 *
 * 'safe' and 'online' never give NaN or ∞ from finite input in any dtype; a
 * fully masked row (all −∞) gives zeros; k entries of +∞ share the mass (1/k
 * each); NaN in a row gives NaN for that row. 'naive' computes the formula
 * as written and overflows like the hardware (see naive.ts).
 */
export function softmax(x: Tensor, options?: SoftmaxOptions): Tensor {
  const fn = 'softmax';
  const t = checkFloatTensor(fn, 'x', x);
  const opts = checkOptions(fn, options, ['axis', 'algorithm']);
  const algorithm = checkAlgorithm(fn, opts.algorithm);
  return mapRows(t, checkAxis(fn, opts, t.shape), SOFTMAX_KERNELS[algorithm]);
}

/** logSoftmax(x)ᵢ = xᵢ − logsumexp(x) along `axis`; a fully masked row gives −∞ everywhere (see log.ts). */
export function logSoftmax(x: Tensor, options?: AxisOptions): Tensor {
  const fn = 'logSoftmax';
  const t = checkFloatTensor(fn, 'x', x);
  const opts = checkOptions(fn, options, ['axis']);
  return mapRows(t, checkAxis(fn, opts, t.shape), logSoftmaxRow);
}

/**
 * logsumexp(x) = ln Σⱼ exp(xⱼ) along `axis`, which is removed from the shape.
 * A fully masked (all −∞) or empty row gives −∞, never NaN.
 */
export function logsumexp(x: Tensor, options?: AxisOptions): Tensor {
  const fn = 'logsumexp';
  const t = checkFloatTensor(fn, 'x', x);
  const opts = checkOptions(fn, options, ['axis']);
  const axis = checkAxis(fn, opts, t.shape);
  const outShape = t.shape.filter((_, d) => d !== axis);
  const out = allocate(t.dtype, sizeOf(outShape)) as FloatArray;
  const { store } = dtypeArithmetic(t.dtype);
  const row = stridedRow(t.data as FloatArray);
  forEachAxisRow(t.shape, axis, (offset, length, stride, rowIndex) => {
    row.offset = offset;
    row.length = length;
    row.stride = stride;
    out[rowIndex] = store(logsumexpRow(row, t.dtype));
  });
  return new Tensor(out, outShape, t.dtype);
}

/**
 * The gradient through y = softmax(x, { axis }): given y and dy = ∂L/∂y,
 * returns ∂L/∂x = y ⊙ (dy − Σ_axis y ⊙ dy). y and dy must have the same shape and dtype.
 */
export function softmaxBackward(y: Tensor, dy: Tensor, options?: AxisOptions): Tensor {
  const fn = 'softmaxBackward';
  const yt = checkFloatTensor(fn, 'y', y);
  const dyt = checkFloatTensor(fn, 'dy', dy);
  checkPair(fn, yt, 'y', dyt, 'dy');
  const opts = checkOptions(fn, options, ['axis']);
  return mapRowPairs(yt, dyt, checkAxis(fn, opts, yt.shape), softmaxBackwardRow);
}

/**
 * The gradient through z = logSoftmax(x, { axis }): given z and dz = ∂L/∂z,
 * returns ∂L/∂x = dz − exp(z) ⊙ Σ_axis dz. z and dz must have the same shape and dtype.
 */
export function logSoftmaxBackward(z: Tensor, dz: Tensor, options?: AxisOptions): Tensor {
  const fn = 'logSoftmaxBackward';
  const zt = checkFloatTensor(fn, 'z', z);
  const dzt = checkFloatTensor(fn, 'dz', dz);
  checkPair(fn, zt, 'z', dzt, 'dz');
  const opts = checkOptions(fn, options, ['axis']);
  return mapRowPairs(zt, dzt, checkAxis(fn, opts, zt.shape), logSoftmaxBackwardRow);
}
