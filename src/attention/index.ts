import { Tensor } from '../tensor/index.js';
import { resolveBackend } from './backends.js';
import {
  attentionImplOf, attentionOutputShape, lseDtypeOf, prepareAttention, prepareAttentionBackward,
  type AttentionBackwardOptions, type AttentionOptions,
} from './options.js';
import type { AttentionProblem } from './problem.js';

export { listAttentionImpls, type AttentionImpl } from './backends.js';
export {
  prepareAttention, prepareAttentionBackward, type AttentionBackwardOptions, type AttentionOptions, type SavedForward,
} from './options.js';
export {
  dropoutHash, dropoutKeeps,
  type AttentionBackend, type AttentionMask, type AttentionProblem, type BackwardResult, type ForwardResult,
} from './problem.js';

/**
 * Attention(Q, K, V) = softmax(Q Kᵀ · scale + M) V, after PyTorch's
 * scaled_dot_product_attention:
 *
 *   query (..., Hq, L, E), key (..., Hkv, S, E), value (..., Hkv, S, Ev) → (..., Hq, L, Ev)
 *
 * The output has the inputs' dtype. A query row whose keys are all masked out
 * gets zeros (PyTorch's math path gives NaN).
 */
export function scaledDotProductAttention(query: Tensor, key: Tensor, value: Tensor, options?: AttentionOptions): Tensor {
  return forward('scaledDotProductAttention', query, key, value, options).output;
}

/**
 * scaledDotProductAttention plus lse (..., Hq, L): the logsumexp of each row of
 * scaled, masked scores, before dropout; −∞ for a fully masked row. lse is
 * float64 for float64 inputs and float32 otherwise (half dtypes cannot hold
 * lse values past 65504 or with useful precision).
 */
export function scaledDotProductAttentionWithLse(
  query: Tensor, key: Tensor, value: Tensor, options?: AttentionOptions,
): { output: Tensor; lse: Tensor } {
  return forward('scaledDotProductAttentionWithLse', query, key, value, options);
}

/**
 * The gradients of ⟨gradOutput, scaledDotProductAttention(query, key, value)⟩
 * with respect to query, key and value, under the same options (the same seed
 * drops the same weights). Under GQA dk and dv sum over the query heads that
 * share a kv head. Each gradient has the shape and dtype of its input.
 *
 * The backward needs the forward's output and lse. Pass them as
 * `saved: { output, lse }` (from scaledDotProductAttentionWithLse with the
 * same inputs and options) and it skips its own forward pass; without them it
 * runs the forward first. Either way the gradients are the same, bit for bit:
 * the backward always reads lse at the precision the forward returns it.
 *
 *   const { output, lse } = scaledDotProductAttentionWithLse(q, k, v, opts);
 *   const { dq, dk, dv } = scaledDotProductAttentionBackward(q, k, v, dOut, { ...opts, saved: { output, lse } });
 */
export function scaledDotProductAttentionBackward(
  query: Tensor, key: Tensor, value: Tensor, gradOutput: Tensor, options?: AttentionBackwardOptions,
): { dq: Tensor; dk: Tensor; dv: Tensor } {
  const fn = 'scaledDotProductAttentionBackward';
  const { problem, dOut, saved } = prepareAttentionBackward(fn, query, key, value, gradOutput, options);
  const backend = resolveBackend(fn, attentionImplOf(options), problem);
  let output: Float64Array | Float32Array;
  let lse: Float64Array;
  if (saved !== null) ({ output, lse } = saved);
  else {
    const result = backend.forward(problem);
    output = result.output;
    lse = lseDtypeOf(problem.dtype) === 'float64' ? result.lse : Float64Array.from(Float32Array.from(result.lse));
  }
  const { dq, dk, dv } = backend.backward(problem, output, lse, dOut);
  return {
    dq: new Tensor(dq, query.shape, problem.dtype),
    dk: new Tensor(dk, key.shape, problem.dtype),
    dv: new Tensor(dv, value.shape, problem.dtype),
  };
}

function forward(fn: string, query: Tensor, key: Tensor, value: Tensor, options?: AttentionOptions): { output: Tensor; lse: Tensor } {
  const problem: AttentionProblem = prepareAttention(fn, query, key, value, options);
  const backend = resolveBackend(fn, attentionImplOf(options), problem);
  const result = backend.forward(problem);
  const lseDtype = lseDtypeOf(problem.dtype);
  const lse = lseDtype === 'float64' ? result.lse : Float32Array.from(result.lse);
  return {
    output: new Tensor(result.output, attentionOutputShape(query, problem), problem.dtype),
    lse: new Tensor(lse, query.shape.slice(0, -1), lseDtype),
  };
}
