import type { AttentionProblem } from '../problem.js';
import { asF32, auxWords, maskWords, outputBuffer, paramsBytes, readBack, storageWith, uniformWith } from './buffers.js';
import { THREADS, dispatch, pipelineFor } from './kernels.js';
import { residentBuffer } from './resident.js';

/**
 * The buffers both passes bind at 0–5 (shader-common.ts): params, mask, aux,
 * q, k, v; and those of them made for this call (`owned`, destroyed after
 * it). Keys and values of a webgpu KV cache are already on the device
 * (resident.ts): bound as they are, not uploaded.
 */
export function commonBuffers(device: GPUDevice, p: AttentionProblem): { buffers: GPUBuffer[]; owned: GPUBuffer[] } {
  const owned = [uniformWith(device, paramsBytes(p)), storageWith(device, maskWords(p)), storageWith(device, auxWords(p)), storageWith(device, asF32(p.q))];
  const [k, v] = [p.k, p.v].map((data) => {
    const kept = residentBuffer(device, data);
    if (kept !== null) return kept;
    const made = storageWith(device, asF32(data));
    owned.push(made);
    return made;
  });
  return { buffers: [...owned.slice(0, 4), k, v], owned };
}

export function destroyAll(buffers: GPUBuffer[]): void {
  for (const b of buffers) b.destroy();
}

/**
 * The forward pass on the GPU (shader-forward.ts): the output in float32,
 * unrounded, and lse in float64 from the kernel's per-row (m, l), as
 * lse = m + ln l (−∞ where l = 0: a row with no key and no sink).
 */
export async function gpuForward(device: GPUDevice, p: AttentionProblem): Promise<{ output: Float32Array; lse: Float64Array }> {
  const bh = p.batch * p.hq;
  const { buffers: common, owned } = commonBuffers(device, p);
  const out = outputBuffer(device, bh * p.l * p.ev);
  const stats = outputBuffer(device, 2 * bh * p.l);
  const encoder = device.createCommandEncoder();
  if (bh * p.l > 0) dispatch(device, encoder, pipelineFor(device, 'forward', p.e, p.ev), [...common, out, stats], [Math.ceil(p.l / THREADS), bh]);
  const [output, mAndL] = await readBack(device, encoder, [{ buffer: out, floats: bh * p.l * p.ev }, { buffer: stats, floats: 2 * bh * p.l }]);
  destroyAll([...owned, out, stats]);
  const lse = new Float64Array(bh * p.l);
  for (let r = 0; r < lse.length; r++) {
    const sum = mAndL[2 * r + 1];
    lse[r] = sum > 0 ? mAndL[2 * r] + Math.log(sum) : -Infinity;
  }
  return { output, lse };
}
