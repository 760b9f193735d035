import { ScaledotError, type FloatDType } from '../../tensor/index.js';
import { heldDevice, webGpuAttentionInfo } from './device.js';

/**
 * Keys and values that live on the GPU between calls: the storage of a KV
 * cache made with createKvCache({ impl: 'webgpu' }). Each resident array is a
 * CPU Float32Array (the cache's keys or values tensor, so every impl and
 * every check reads it as before) paired with a GPU buffer of the same
 * floats. The cache's append writes the new rows to both, so a decoding step
 * uploads only its new rows; the webgpu kernels bind the paired buffer
 * instead of uploading the whole array (forward.ts commonBuffers).
 *
 * Why this shape (docs/webgpu.md): a decode step's q and output are one row
 * per head, but K and V are the whole history; uploading them each step is
 * what grows with the context, so that is what stays on the device. The
 * async entry points need no new argument: the cache's tensors are passed
 * as key and value, as for every other impl.
 */

interface Resident {
  device: GPUDevice;
  buffer: GPUBuffer;
}

const resident = new WeakMap<Float32Array, Resident>();

// GPUBufferUsage.STORAGE | COPY_DST (the DOM lib's globals are absent in Node's types).
const STORAGE_COPY_DST = 0x80 | 0x8;

/** How a webgpu KV cache allocates its storage and mirrors its appends to the GPU. */
export interface GpuKvStorage {
  /** A zeroed array of n floats with a zeroed GPU buffer beside it. */
  allocate(n: number): Float32Array;
  /** Copies data[from, from + count) to the GPU: called after the CPU array was written there. */
  written(data: Float32Array, from: number, count: number): void;
}

/**
 * The storage of a webgpu KV cache, on the device webgpu.init() holds.
 * E_OPTION where there is none (with the reason), E_DTYPE for float64
 * (WGSL has no f64): before anything is allocated.
 */
export function gpuKvStorage(fn: string, dtype: FloatDType): GpuKvStorage {
  const device = heldDevice();
  if (device === null) {
    throw new ScaledotError('E_OPTION', `${fn}: impl 'webgpu' is unavailable: ${webGpuAttentionInfo().reason}; await webgpu.init() first, or leave impl out for a CPU cache`);
  }
  if (dtype === 'float64') throw new ScaledotError('E_DTYPE', `${fn}: impl 'webgpu' holds float32, float16 or bfloat16, got dtype float64 (WGSL has no f64)`);
  return {
    allocate(n) {
      const data = new Float32Array(n);
      // WebGPU zero-fills a new buffer, so it equals the zeroed array until the first append.
      const buffer = device.createBuffer({ size: Math.max(16, n * 4), usage: STORAGE_COPY_DST });
      resident.set(data, { device, buffer });
      return data;
    },
    written(data, from, count) {
      const entry = resident.get(data);
      if (entry === undefined || count === 0) return;
      entry.device.queue.writeBuffer(entry.buffer, from * 4, data.buffer, data.byteOffset + from * 4, count * 4);
    },
  };
}

/** The GPU buffer that holds `data` on `device`, or null where `data` is not resident there (then the caller uploads it). */
export function residentBuffer(device: GPUDevice, data: Float32Array | Float64Array): GPUBuffer | null {
  if (!(data instanceof Float32Array)) return null;
  const entry = resident.get(data);
  return entry !== undefined && entry.device === device ? entry.buffer : null;
}
