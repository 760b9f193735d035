import { ScaledotError, rounder } from '../../tensor/index.js';
import type { AttentionBackend, AttentionProblem, BackwardResult, ForwardResult } from '../problem.js';
import { gpuBackward } from './backward.js';
import { heldDevice, webGpuAttentionInfo } from './device.js';
import { gpuForward } from './forward.js';
import { fitsKernels } from './kernels.js';

/**
 * impl 'webgpu': the FlashAttention-2 forward and backward as WGSL compute
 * kernels (shader-*.ts) on the device initWebGpuAttention() acquired. Float32
 * arithmetic, so it takes float32 and the half dtypes (held exactly in f32;
 * results rounded to the dtype, as the wasm backend does), not float64.
 * Results come back asynchronously, so it runs only through the async entry
 * points (scaledDotProductAttentionAsync and its kin); the sync ones refuse it.
 */

/**
 * Forward multiply-adds (4 · B·Hq · L · S · max(E, Ev)) below which 'auto'
 * keeps to the CPU: under it a GPU's launch and readback (tens of µs to a
 * ms) cost more than the whole problem on the wasm kernels. A guess to be
 * replaced by a measurement on a real GPU (docs/webgpu.md).
 */
export const WEBGPU_AUTO_MIN_FLOPS = 2 ** 27;

function deviceOrThrow(): GPUDevice {
  const device = heldDevice();
  if (device === null) {
    throw new ScaledotError('E_OPTION', `impl 'webgpu' is unavailable: ${webGpuAttentionInfo().reason}`);
  }
  return device;
}

function syncRefused(): never {
  throw new ScaledotError('E_OPTION', "impl 'webgpu' computes on the GPU, whose results arrive asynchronously; use scaledDotProductAttentionAsync, scaledDotProductAttentionWithLseAsync or scaledDotProductAttentionBackwardAsync");
}

function maxBindingBytes(): number {
  return webGpuAttentionInfo().limits?.maxStorageBufferBindingSize ?? 0;
}

async function forward(p: AttentionProblem): Promise<ForwardResult> {
  const { output, lse } = await gpuForward(deviceOrThrow(), p);
  return { output: roundIn(p, output), lse };
}

async function backward(
  p: AttentionProblem, output: Float64Array | Float32Array, lse: Float64Array, dOut: Float64Array | Float32Array,
): Promise<BackwardResult> {
  const device = deviceOrThrow();
  // D = dO · O needs O to float32 accuracy: a half dtype's rounded output would
  // put its own rounding (2⁻¹¹ for float16) into every gradient, so it is recomputed.
  if (p.dtype !== 'float32') output = (await gpuForward(device, p)).output;
  const g = await gpuBackward(device, p, output, lse, dOut);
  return { dq: roundIn(p, g.dq), dk: roundIn(p, g.dk), dv: roundIn(p, g.dv), dsinks: g.dsinks };
}

/** Float32 results rounded to a half dtype in place (float32 as it is). */
function roundIn(p: AttentionProblem, x: Float32Array): Float32Array {
  if (p.dtype === 'float32') return x;
  const round = rounder(p.dtype);
  for (let i = 0; i < x.length; i++) x[i] = round(x[i]);
  return x;
}

export const webGpuBackend: AttentionBackend = {
  name: 'webgpu',
  priority: 30,
  dtypes: ['float32', 'float16', 'bfloat16'],
  supports(p) {
    return p.dtype !== 'float64' && heldDevice() !== null && fitsKernels(p, maxBindingBytes());
  },
  forward: syncRefused,
  backward: syncRefused,
  async: {
    // SwiftShader (and any CPU adapter) runs WGSL on the CPU, slower than the wasm kernels: never worth it for 'auto'.
    pays(p) {
      const adapter = webGpuAttentionInfo().adapter;
      if (adapter === null || adapter.architecture === 'swiftshader' || adapter.vendor === 'cpu') return false;
      return 4 * p.batch * p.hq * p.l * p.s * Math.max(p.e, p.ev) >= WEBGPU_AUTO_MIN_FLOPS;
    },
    forward,
    backward,
  },
};
