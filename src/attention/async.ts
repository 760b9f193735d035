import { ScaledotError, Tensor, type FloatDType } from '../tensor/index.js';
import { resolveBackend } from './backends.js';
import { prepareAttentionBackward, type AttentionBackwardOptions } from './backward-options.js';
import { attentionImplOf, attentionOutputShape, prepareAttention, type AttentionOptions } from './options.js';
import type { AttentionBackend, AttentionProblem, BackwardResult, ForwardResult } from './problem.js';
import { webGpuAttentionInfo } from './webgpu/device.js';

/**
 * The attention functions in async form: the same arguments, checks and
 * results as scaledDotProductAttention, …WithLse and …Backward, for every
 * impl. A GPU's results arrive asynchronously, so impl 'webgpu' runs only
 * here; a sync impl runs as in the sync form and its result is resolved. So
 * a caller switches impl without changing code. 'auto' picks webgpu only
 * here, only once initWebGpuAttention() has found a device, and only for a
 * problem large enough to pay for the GPU's launch and readback.
 */

/** The async form of scaledDotProductAttention. */
export async function scaledDotProductAttentionAsync(query: Tensor, key: Tensor, value: Tensor, options?: AttentionOptions): Promise<Tensor> {
  return (await forwardAsync('scaledDotProductAttention', query, key, value, options)).output;
}

/** The async form of scaledDotProductAttentionWithLse: output and lse (float64, −∞ for a fully masked row). */
export async function scaledDotProductAttentionWithLseAsync(
  query: Tensor, key: Tensor, value: Tensor, options?: AttentionOptions,
): Promise<{ output: Tensor; lse: Tensor }> {
  return forwardAsync('scaledDotProductAttentionWithLse', query, key, value, options);
}

/**
 * The async form of scaledDotProductAttentionBackward: dq, dk, dv (and dsinks
 * with sinks). Given `saved: { output, lse }` from the WithLse form it runs
 * no forward pass.
 */
export async function scaledDotProductAttentionBackwardAsync(
  query: Tensor, key: Tensor, value: Tensor, gradOutput: Tensor, options?: AttentionBackwardOptions,
): Promise<{ dq: Tensor; dk: Tensor; dv: Tensor; dsinks?: Tensor }> {
  const fn = 'scaledDotProductAttentionBackward';
  const { problem, dOut, saved } = prepareAttentionBackward(fn, query, key, value, gradOutput, options);
  const backend = backendFor(fn, attentionImplOf(options), problem);
  const { output, lse } = saved ?? (await forwardOf(backend, problem));
  const { dq, dk, dv, dsinks } = await backwardOf(backend, problem, output, lse, dOut);
  return {
    dq: new Tensor(dq, query.shape, problem.dtype),
    dk: new Tensor(dk, key.shape, problem.dtype),
    dv: new Tensor(dv, value.shape, problem.dtype),
    ...(dsinks ? { dsinks: sinkTensor(dsinks, problem.dtype) } : {}),
  };
}

/** resolveBackend for an async call, with the reason in the error where webgpu is named but has no device. */
function backendFor(fn: string, impl: string, p: AttentionProblem): AttentionBackend {
  const info = webGpuAttentionInfo();
  if (impl === 'webgpu' && !info.available) {
    throw new ScaledotError('E_OPTION', `${fn}Async: impl 'webgpu' is unavailable: ${info.reason}; await initWebGpuAttention() first, or pick another impl`);
  }
  return resolveBackend(`${fn}Async`, impl, p, true);
}

function forwardOf(backend: AttentionBackend, p: AttentionProblem): Promise<ForwardResult> {
  return backend.async ? backend.async.forward(p) : Promise.resolve(backend.forward(p));
}

function backwardOf(
  backend: AttentionBackend, p: AttentionProblem, output: Float64Array | Float32Array, lse: Float64Array, dOut: Float64Array | Float32Array,
): Promise<BackwardResult> {
  return backend.async ? backend.async.backward(p, output, lse, dOut) : Promise.resolve(backend.backward(p, output, lse, dOut));
}

/** float64 for float64 inputs and float32 otherwise, as the sync form returns dsinks. */
function sinkTensor(dsinks: Float64Array, dtype: FloatDType): Tensor {
  return dtype === 'float64' ? new Tensor(dsinks, [dsinks.length], 'float64') : new Tensor(Float32Array.from(dsinks), [dsinks.length], 'float32');
}

async function forwardAsync(fn: string, query: Tensor, key: Tensor, value: Tensor, options?: AttentionOptions): Promise<{ output: Tensor; lse: Tensor }> {
  const problem = prepareAttention(fn, query, key, value, options);
  const backend = backendFor(fn, attentionImplOf(options), problem);
  const result = await forwardOf(backend, problem);
  return {
    output: new Tensor(result.output, attentionOutputShape(query, problem), problem.dtype),
    lse: new Tensor(result.lse, query.shape.slice(0, -1), 'float64'),
  };
}
