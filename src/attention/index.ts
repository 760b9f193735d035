import { Tensor, type FloatDType } from '../tensor/index.js';
import { resolveBackend } from './backends.js';
import { prepareAttentionBackward, type AttentionBackwardOptions } from './backward-options.js';
import { attentionImplOf, attentionOutputShape, prepareAttention, type AttentionOptions } from './options.js';
import type { AttentionProblem } from './problem.js';

// The layer's interface: src/index.ts picks what a user reads from it and
// src/kernels.ts the plumbing; nothing outside src/attention imports a file of it by path.
export { BACKENDS, listAttentionImpls, resolveBackend, isKnownImpl, type AttentionImpl } from './backends.js';
export { referenceBackend, referenceForward, referenceBackward } from './reference.js';
export { prepareAttention, attentionImplOf, attentionOutputShape, type AttentionOptions } from './options.js';
export { prepareAttentionBackward, type AttentionBackwardOptions, type SavedForward } from './backward-options.js';
export type { ScoreOptions } from './score-options.js';
export { attentionWeights } from './weights.js';
export {
  initWasmAttention, setWasmAttentionThreads, wasmAttentionInfo, enableRelaxedSimd, relaxedSimdSupported, residentOffset, residentBf16Offset, wasmMatmulAddF64, type WasmAttentionInfo, type WasmPath,
} from './wasm/index.js';
export {
  scaledDotProductAttentionAsync, scaledDotProductAttentionWithLseAsync, scaledDotProductAttentionBackwardAsync,
} from './async.js';
export { initWebGpuAttention, setWebGpuAutoMinFlops, webGpuAutoMinFlops, webGpuAttentionInfo, type WebGpuAttentionInfo, type WebGpuInitOptions } from './webgpu/index.js';
export { createKvCache, type KvCache, type KvCacheOptions } from './kv-cache.js';
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
 * float64 whatever the inputs' dtype: it is one number per query row, and a
 * backward given it (`saved`) recomputes every weight as exp(score − lse), so
 * a rounded lse would put its rounding error, |lse|·2⁻²⁴ in float32, into each.
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
 * share a kv head. Each gradient has the shape and dtype of its input. With
 * `sinks` it also returns dsinks [Hq], the gradient of each head's sink logit
 * summed over batch elements and rows (float64 for float64 inputs, else float32).
 *
 * The backward needs the forward's output and lse. Pass them as
 * `saved: { output, lse }` (from scaledDotProductAttentionWithLse with the
 * same inputs and options) and it skips its own forward pass; without them it
 * runs the forward first. Either way the gradients are the same, bit for bit.
 *
 *   const { output, lse } = scaledDotProductAttentionWithLse(q, k, v, opts);
 *   const { dq, dk, dv } = scaledDotProductAttentionBackward(q, k, v, dOut, { ...opts, saved: { output, lse } });
 */
export function scaledDotProductAttentionBackward(
  query: Tensor, key: Tensor, value: Tensor, gradOutput: Tensor, options?: AttentionBackwardOptions,
): { dq: Tensor; dk: Tensor; dv: Tensor; dsinks?: Tensor } {
  const fn = 'scaledDotProductAttentionBackward';
  const { problem, dOut, saved } = prepareAttentionBackward(fn, query, key, value, gradOutput, options);
  const backend = resolveBackend(fn, attentionImplOf(options), problem);
  const { output, lse } = saved ?? backend.forward(problem);
  const { dq, dk, dv, dsinks } = backend.backward(problem, output, lse, dOut);
  return {
    dq: new Tensor(dq, query.shape, problem.dtype),
    dk: new Tensor(dk, key.shape, problem.dtype),
    dv: new Tensor(dv, value.shape, problem.dtype),
    ...(dsinks ? { dsinks: sinkTensor(dsinks, problem.dtype) } : {}),
  };
}

/** float64 for float64 inputs and float32 otherwise (the contract of dsinks; lse is float64 for every dtype). */
function sinkTensor(dsinks: Float64Array, dtype: FloatDType): Tensor {
  return dtype === 'float64' ? new Tensor(dsinks, [dsinks.length], 'float64') : new Tensor(Float32Array.from(dsinks), [dsinks.length], 'float32');
}

function forward(fn: string, query: Tensor, key: Tensor, value: Tensor, options?: AttentionOptions): { output: Tensor; lse: Tensor } {
  const problem: AttentionProblem = prepareAttention(fn, query, key, value, options);
  const backend = resolveBackend(fn, attentionImplOf(options), problem);
  const result = backend.forward(problem);
  return {
    output: new Tensor(result.output, attentionOutputShape(query, problem), problem.dtype),
    lse: new Tensor(result.lse, query.shape.slice(0, -1), 'float64'),
  };
}
