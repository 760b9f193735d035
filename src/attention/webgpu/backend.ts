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
 * 'auto' picks webgpu (in the async forms, with a device) only for a problem
 * of at least this many forward floating-point operations, 4 · B·Hq · L · S · max(E, Ev):
 * below it a GPU's launch and readback (tens of µs to a ms) are thought to
 * cost more than the whole problem on the wasm kernels. 2²⁷ (about 8 heads ×
 * 512 × 512 × 64) is a guess, not yet measured on any GPU (this project has
 * none); webgpu.setAutoMinFlops() replaces it (docs/webgpu.md says how to
 * find the value on a GPU).
 */
export const WEBGPU_AUTO_MIN_FLOPS = 2 ** 27;

let autoMinFlops = WEBGPU_AUTO_MIN_FLOPS;

/** The threshold 'auto' uses now (WEBGPU_AUTO_MIN_FLOPS until setWebGpuAutoMinFlops changes it). */
export function webGpuAutoMinFlops(): number {
  return autoMinFlops;
}

/**
 * Sets the size from which 'auto' picks webgpu (forward floating-point operations,
 * see WEBGPU_AUTO_MIN_FLOPS); returns the previous one. 0 picks webgpu for every
 * problem it supports on a GPU, Infinity never. A CPU adapter (SwiftShader)
 * is never picked whatever the threshold. E_OPTION for a negative or NaN value.
 */
export function setWebGpuAutoMinFlops(flops: number): number {
  if (typeof flops !== 'number' || Number.isNaN(flops) || flops < 0) {
    throw new ScaledotError('E_OPTION', `webgpu.setAutoMinFlops: flops is ${String(flops)}; expected a number >= 0 (forward floating-point operations, 4·B·Hq·L·S·max(E, Ev); Infinity turns 'auto' off webgpu)`);
  }
  const previous = autoMinFlops;
  autoMinFlops = flops;
  return previous;
}

/** Whether 'auto' should run problem p on this adapter: never on a CPU adapter, else from the threshold up. */
export function webGpuPays(p: AttentionProblem, adapter: { vendor: string; architecture: string } | null, minFlops: number): boolean {
  // SwiftShader (and any CPU adapter) runs WGSL on the CPU, slower than the wasm kernels: never worth it for 'auto'.
  if (adapter === null || adapter.architecture === 'swiftshader' || adapter.vendor === 'cpu') return false;
  return 4 * p.batch * p.hq * p.l * p.s * Math.max(p.e, p.ev) >= minFlops;
}

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
    pays: (p) => webGpuPays(p, webGpuAttentionInfo().adapter, autoMinFlops),
    forward,
    backward,
  },
};
