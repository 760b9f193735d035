import { ScaledotError, Tensor, checkFloatTensor, formatShape, sameDims } from '../tensor/index.js';
import { attentionOutputShape, prepareAttention, type AttentionOptions } from './options.js';
import type { AttentionProblem } from './problem.js';

// The checks of scaledDotProductAttentionBackward's arguments beyond the
// forward's (options.ts): gradOutput, and the forward's saved output and lse.

/**
 * What the forward saved for the backward (as FlashAttention's backward takes
 * `out` and `softmax_lse`): the output and lse of scaledDotProductAttentionWithLse
 * on the same inputs and options.
 */
export interface SavedForward {
  output: Tensor;
  lse: Tensor;
}

/** The options of scaledDotProductAttentionBackward: the forward's, plus what the forward saved. */
export interface AttentionBackwardOptions extends AttentionOptions {
  /** The forward's output and lse: given, the backward skips its own forward pass (the result is the same, bit for bit). */
  saved?: SavedForward | null;
}

/** A forward's output and lse, in the layout a backend's backward takes. */
export interface SavedArrays {
  output: Float32Array | Float64Array;
  lse: Float64Array;
}

/** Splits `saved` off the options (the forward's checks do not know it); anything but a plain object passes through. */
function splitSaved(options: unknown): { saved: unknown; forwardOptions: unknown } {
  if (options === null || typeof options !== 'object' || Array.isArray(options) || options instanceof Tensor || !('saved' in options)) {
    return { saved: undefined, forwardOptions: options };
  }
  const { saved, ...forwardOptions } = options as AttentionBackwardOptions;
  return { saved, forwardOptions };
}

/** `saved`, checked against the problem: output (..., Hq, L, Ev) in the inputs' dtype and lse (..., Hq, L) in float64, as the forward returns them. */
function checkSaved(fn: string, saved: unknown, query: Tensor, p: AttentionProblem): SavedArrays | null {
  if (saved === undefined || saved === null) return null;
  if (typeof saved !== 'object' || Array.isArray(saved) || saved instanceof Tensor) {
    throw new ScaledotError('E_OPTION', `${fn}: saved must be an object { output, lse } (from scaledDotProductAttentionWithLse), got ${Array.isArray(saved) ? 'an array' : saved instanceof Tensor ? saved.toString() : String(saved)}`);
  }
  const { output, lse } = saved as Partial<SavedForward>;
  const expected = [
    ['saved.output', checkFloatTensor(fn, 'saved.output', output), attentionOutputShape(query, p), p.dtype],
    ['saved.lse', checkFloatTensor(fn, 'saved.lse', lse), query.shape.slice(0, -1), 'float64'],
  ] as const;
  for (const [name, t, shape, dtype] of expected) {
    if (t.dtype !== dtype) {
      throw new ScaledotError('E_DTYPE', `${fn}: ${name} has dtype ${t.dtype} but the forward of ${p.dtype} inputs returns ${dtype}`);
    }
    if (!sameDims(t.shape, shape)) {
      throw new ScaledotError('E_SHAPE', `${fn}: ${name} has shape ${formatShape(t.shape)} but the forward returns ${formatShape(shape)} (query ${formatShape(query.shape)}, Ev = ${p.ev})`);
    }
  }
  return { output: expected[0][1].data as Float32Array | Float64Array, lse: expected[1][1].data as Float64Array };
}

/**
 * prepareAttention for the backward pass, plus gradOutput: a tensor of the
 * output's shape (..., Hq, L, Ev) and of the inputs' dtype; and `saved`, if
 * given, checked against the forward's output and lse.
 */
export function prepareAttentionBackward(
  fn: string, query: unknown, key: unknown, value: unknown, gradOutput: unknown, options?: unknown,
): { problem: AttentionProblem; dOut: Float32Array | Float64Array; saved: SavedArrays | null } {
  const { saved, forwardOptions } = splitSaved(options);
  const problem = prepareAttention(fn, query, key, value, forwardOptions);
  const dOut = checkFloatTensor(fn, 'gradOutput', gradOutput);
  const q = query as Tensor;
  if (dOut.dtype !== problem.dtype) {
    throw new ScaledotError('E_DTYPE', `${fn}: gradOutput has dtype ${dOut.dtype} but query has dtype ${problem.dtype}; they must match`);
  }
  const expected = attentionOutputShape(q, problem);
  if (!sameDims(dOut.shape, expected)) {
    throw new ScaledotError('E_SHAPE', `${fn}: gradOutput has shape ${formatShape(dOut.shape)} but the output has shape (..., Hq, L, Ev) = ${formatShape(expected)} (query ${formatShape(q.shape)}, value ${formatShape((value as Tensor).shape)})`);
  }
  return { problem, dOut: dOut.data as Float32Array | Float64Array, saved: checkSaved(fn, saved, q, problem) };
}
