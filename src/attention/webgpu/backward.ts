import type { AttentionProblem } from '../problem.js';
import { outputBuffer, readBack, storageWith, asF32 } from './buffers.js';
import { commonBuffers, destroyAll } from './forward.js';
import { THREADS, dispatch, pipelineFor } from './kernels.js';

/**
 * The backward pass on the GPU (shader-backward.ts), given the forward's
 * output and lse. D_i = dO_i · o_i (= Σ_j P_ij dP_ij, dropout included) is one
 * dot product per row, taken here in float64 and sent with lse; the kernels
 * recompute every weight from lse. Returns float32 gradients, unrounded, and
 * dsinks summed in float64 from the dq kernel's per-row shares.
 */
export async function gpuBackward(
  device: GPUDevice, p: AttentionProblem, output: Float32Array | Float64Array, lse: Float64Array, dOut: Float32Array | Float64Array,
): Promise<{ dq: Float32Array; dk: Float32Array; dv: Float32Array; dsinks: Float64Array | null }> {
  const bh = p.batch * p.hq;
  const bhkv = p.batch * p.hkv;
  const rows = new Float32Array(2 * bh * p.l);
  for (let r = 0; r < bh * p.l; r++) {
    // +3e38 for an empty row: exp(s − lse) is then exactly 0 for every finite score.
    rows[2 * r] = lse[r] === -Infinity ? 3e38 : lse[r];
    let dot = 0;
    for (let c = 0; c < p.ev; c++) dot += dOut[r * p.ev + c] * output[r * p.ev + c];
    rows[2 * r + 1] = dot;
  }
  const { buffers: common, owned } = commonBuffers(device, p);
  const inputs = [storageWith(device, asF32(dOut)), storageWith(device, rows)];
  const dkvFloats = bhkv * p.s * (p.e + p.ev);
  const dqFloats = bh * p.l * p.e + bh * p.l;
  const dkv = outputBuffer(device, dkvFloats);
  const dq = outputBuffer(device, dqFloats);
  const encoder = device.createCommandEncoder();
  if (bhkv * p.s > 0) dispatch(device, encoder, pipelineFor(device, 'dkdv', p.e, p.ev), [...common, ...inputs, dkv], [Math.ceil(p.s / THREADS), bhkv]);
  if (bh * p.l > 0) dispatch(device, encoder, pipelineFor(device, 'dq', p.e, p.ev), [...common, ...inputs, dq], [Math.ceil(p.l / THREADS), bh]);
  const [dkvData, dqData] = await readBack(device, encoder, [{ buffer: dkv, floats: dkvFloats }, { buffer: dq, floats: dqFloats }]);
  destroyAll([...owned, ...inputs, dkv, dq]);
  let dsinks: Float64Array | null = null;
  if (p.sinks !== null) {
    dsinks = new Float64Array(p.hq);
    for (let r = 0; r < bh * p.l; r++) dsinks[Math.floor(r / p.l) % p.hq] += dqData[bh * p.l * p.e + r];
  }
  return {
    dq: dqData.slice(0, bh * p.l * p.e),
    dk: dkvData.slice(0, bhkv * p.s * p.e),
    dv: dkvData.slice(bhkv * p.s * p.e),
    dsinks,
  };
}
