import type { AttentionProblem } from '../problem.js';
import { dkdvShader, dqShader } from './shader-backward.js';
import { forwardShader } from './shader-forward.js';

/**
 * The tile sizes and compiled pipelines of the webgpu kernels. A tile size
 * is chosen so the workgroup memory of one kernel stays within WebGPU's
 * guaranteed 16 KiB (maxComputeWorkgroupStorageSize's default): 64
 * invocations per workgroup, and as many keys (or query rows) per tile as
 * fit, at most 32. One pipeline per kernel and head size (E, Ev), compiled
 * on first use and kept.
 */

/** The largest E or Ev: q, the accumulators and (backward) k, v, dk, dv live in private arrays of this size. */
export const MAX_HEAD_DIM = 256;
/** Invocations per workgroup: query rows (forward, dq) or keys (dkdv). */
export const THREADS = 64;
const WORKGROUP_FLOATS = 16384 / 4;
/** WebGPU's guaranteed maxComputeWorkgroupsPerDimension. */
export const MAX_WORKGROUPS = 65535;

/** Keys (or query rows) per tile staged in workgroup memory, for head sizes e and ev and `extra` floats per row. */
export function tileRows(e: number, ev: number, extra = 0): number {
  return Math.max(1, Math.min(32, Math.floor(WORKGROUP_FLOATS / (Math.max(e, 1) + Math.max(ev, 1) + extra))));
}

export type KernelName = 'forward' | 'dkdv' | 'dq';

const pipelines = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();

export function pipelineFor(device: GPUDevice, kernel: KernelName, e: number, ev: number): GPUComputePipeline {
  let cache = pipelines.get(device);
  if (cache === undefined) pipelines.set(device, (cache = new Map()));
  const key = `${kernel}:${e}:${ev}`;
  let pipeline = cache.get(key);
  if (pipeline === undefined) {
    const code = kernel === 'forward' ? forwardShader(e, ev, THREADS, tileRows(e, ev))
      : kernel === 'dq' ? dqShader(e, ev, THREADS, tileRows(e, ev))
        : dkdvShader(e, ev, THREADS, tileRows(e, ev, 2));
    const module = device.createShaderModule({ code, label: `scaledot ${key}` });
    pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' }, label: `scaledot ${key}` });
    cache.set(key, pipeline);
  }
  return pipeline;
}

/** Encodes one dispatch of `pipeline` over `groups` workgroups with `buffers` at bindings 0, 1, 2, … */
export function dispatch(device: GPUDevice, encoder: GPUCommandEncoder, pipeline: GPUComputePipeline, buffers: GPUBuffer[], groups: [number, number]): void {
  const bindGroup = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(groups[0], groups[1]);
  pass.end();
}

/** Whether the kernels take the problem's sizes on a device with these limits. */
export function fitsKernels(p: AttentionProblem, maxBindingBytes: number): boolean {
  if (p.e > MAX_HEAD_DIM || p.ev > MAX_HEAD_DIM) return false;
  const bh = p.batch * p.hq;
  if (bh > MAX_WORKGROUPS || Math.ceil(p.l / THREADS) > MAX_WORKGROUPS || Math.ceil(p.s / THREADS) > MAX_WORKGROUPS) return false;
  // Indices are u32 in the kernels, and every buffer must fit one binding.
  const largest = 4 * Math.max(bh * p.l * Math.max(p.e, p.ev) + bh * p.l, p.batch * p.hkv * p.s * (p.e + p.ev), p.mask?.data.length ?? 0);
  return largest <= maxBindingBytes && largest < 2 ** 32;
}
