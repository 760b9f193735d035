import type { AttentionProblem } from '../problem.js';
import { PARAMS_BYTES, PARAM_WORDS, UNBOUNDED_SIDE } from './shader-common.js';

/**
 * From a checked AttentionProblem to what the kernels read (shader-common.ts):
 * the Params uniform, the mask as f32 bits (a bool mask becomes 0 / −∞, an
 * additive one is rounded to f32), and the aux words (mask head offsets,
 * keyLengths, per-head sink and ALiBi slope). And the GPU buffer plumbing.
 */

const NEG_INF_BITS = 0xff800000;

// WebGPU's GPUBufferUsage and GPUMapMode flags (fixed by the spec; TypeScript's DOM lib lacks the globals).
const USAGE = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 } as const;
const MAP_READ = 0x1;

/** Params as bytes: the words in the order of the WGSL struct. */
export function paramsBytes(p: AttentionProblem): ArrayBuffer {
  const bytes = new ArrayBuffer(PARAMS_BYTES);
  const u = new Uint32Array(bytes);
  const f = new Float32Array(bytes);
  const i = new Int32Array(bytes);
  const w = PARAM_WORDS;
  u[w.batch] = p.batch; u[w.hq] = p.hq; u[w.hkv] = p.hkv; u[w.l] = p.l; u[w.s] = p.s;
  f[w.scale] = p.scale; f[w.softcap] = p.softcap;
  u[w.maskOn] = p.mask === null ? 0 : 1;
  u[w.causal] = p.causal ? 1 : 0;
  u[w.windowOn] = p.window === null ? 0 : 1;
  i[w.windowLeft] = p.window === null || p.window.left === Infinity ? UNBOUNDED_SIDE : p.window.left;
  i[w.windowRight] = p.window === null || p.window.right === Infinity ? UNBOUNDED_SIDE : p.window.right;
  u[w.keyLengthsOn] = p.keyLengths === null ? 0 : 1;
  u[w.alibiOn] = p.alibi === null ? 0 : 1;
  u[w.sinksOn] = p.sinks === null ? 0 : 1;
  // Kept iff hash >= p · 2³² (dropoutKeeps): for an integer hash, iff hash >= ceil(p · 2³²); 2³² itself means drop all.
  const threshold = Math.ceil(p.dropoutP * 4294967296);
  u[w.dropMode] = p.dropoutP === 0 ? 0 : threshold > 0xffffffff ? 2 : 1;
  u[w.dropThreshold] = p.dropoutP === 0 ? 0 : threshold >>> 0;
  u[w.seed] = p.seed >>> 0;
  f[w.dropScale] = p.dropoutP === 0 ? 1 : 1 / (1 - p.dropoutP);
  u[w.maskRowStride] = p.mask?.rowStride ?? 0;
  u[w.maskColStride] = p.mask?.colStride ?? 0;
  u[w.auxKeyLengths] = p.batch * p.hq;
  u[w.auxHeads] = p.batch * p.hq + p.batch;
  return bytes;
}

/** The mask's elements as f32 bits, −∞ (masked) as its own pattern. */
export function maskWords(p: AttentionProblem): Uint32Array {
  if (p.mask === null) return new Uint32Array(1);
  const { kind, data } = p.mask;
  const words = new Uint32Array(Math.max(1, data.length));
  const asFloat = new Float32Array(words.buffer);
  for (let x = 0; x < data.length; x++) {
    const m = data[x];
    if (kind === 'bool') words[x] = m ? 0 : NEG_INF_BITS;
    else if (m === -Infinity) words[x] = NEG_INF_BITS;
    else asFloat[x] = m;
  }
  // A finite float64 below −3.4e38 rounds to −∞ in f32: still a mask value, not a masked key, so keep it finite.
  for (let x = 0; x < data.length; x++) if (kind === 'additive' && data[x] !== -Infinity && asFloat[x] === -Infinity) asFloat[x] = -3.4028234663852886e38;
  return words;
}

/** maskHead [B·Hq] | keyLengths [B] | per head: sink bits, has sink, ALiBi slope bits. */
export function auxWords(p: AttentionProblem): Uint32Array {
  const heads = p.batch * p.hq + p.batch;
  const words = new Uint32Array(heads + 3 * p.hq);
  const asFloat = new Float32Array(words.buffer);
  if (p.mask !== null) words.set(p.mask.headOffset, 0);
  if (p.keyLengths !== null) words.set(p.keyLengths, p.batch * p.hq);
  for (let h = 0; h < p.hq; h++) {
    const sink = p.sinks?.[h] ?? -Infinity;
    // −∞ is a head without a sink (the flag), and a sink below f32's range weighs nothing: clamp it.
    asFloat[heads + 3 * h] = sink === -Infinity ? 0 : Math.max(sink, -3e38);
    words[heads + 3 * h + 1] = sink === -Infinity ? 0 : 1;
    asFloat[heads + 3 * h + 2] = p.alibi?.[h] ?? 0;
  }
  return words;
}

/** A storage buffer holding `data` (at least 16 bytes: WebGPU refuses empty bindings). */
export function storageWith(device: GPUDevice, data: ArrayBufferView | ArrayBuffer): GPUBuffer {
  const bytes = data instanceof ArrayBuffer ? data.byteLength : data.byteLength;
  const buffer = device.createBuffer({ size: Math.max(16, Math.ceil(bytes / 4) * 4), usage: USAGE.STORAGE | USAGE.COPY_DST, mappedAtCreation: true });
  const src = data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  new Uint8Array(buffer.getMappedRange()).set(src);
  buffer.unmap();
  return buffer;
}

export function uniformWith(device: GPUDevice, data: ArrayBuffer): GPUBuffer {
  const buffer = device.createBuffer({ size: data.byteLength, usage: USAGE.UNIFORM | USAGE.COPY_DST });
  device.queue.writeBuffer(buffer, 0, data);
  return buffer;
}

/** An output buffer of `floats` f32s, readable back by copy. */
export function outputBuffer(device: GPUDevice, floats: number): GPUBuffer {
  return device.createBuffer({ size: Math.max(16, floats * 4), usage: USAGE.STORAGE | USAGE.COPY_SRC });
}

/** f32 data as a Float32Array (copied only where it is not one already). */
export function asF32(data: Float32Array | Float64Array): Float32Array {
  return data instanceof Float32Array ? data : Float32Array.from(data);
}

/** Copies `buffers` back to the CPU after the work already submitted, in one submission. */
export async function readBack(device: GPUDevice, encoder: GPUCommandEncoder, buffers: { buffer: GPUBuffer; floats: number }[]): Promise<Float32Array[]> {
  const staging = buffers.map(({ floats }) => device.createBuffer({ size: Math.max(16, floats * 4), usage: USAGE.MAP_READ | USAGE.COPY_DST }));
  buffers.forEach(({ buffer }, x) => encoder.copyBufferToBuffer(buffer, 0, staging[x], 0, staging[x].size));
  device.queue.submit([encoder.finish()]);
  const out = await Promise.all(staging.map(async (s, x) => {
    await s.mapAsync(MAP_READ);
    const copy = new Float32Array(s.getMappedRange(), 0, buffers[x].floats).slice();
    s.unmap();
    s.destroy();
    return copy;
  }));
  return out;
}
