import { scaledDotProductAttentionAsync, tensor, wasm, webgpu, type Tensor } from '../../src/index.js';

/**
 * Which backend computes the attention section: webgpu where the browser has
 * WebGPU and its device answers a first small call, else the wasm kernels,
 * else (no WebAssembly SIMD) the float64 CPU path. Chosen once per page; a
 * webgpu call that fails later (a lost device) moves the page to wasm, and
 * the page says which ran and why the better one did not.
 */
export interface AttentionBackend {
  impl: 'webgpu' | 'wasm' | 'auto';
  dtype: 'float32' | 'float64';
  /** What ran, for the reader: the impl and the device or path. */
  label: string;
  /** Why a faster backend is not the one running, or null when webgpu runs. */
  why: string | null;
}

let chosen: Promise<AttentionBackend> | null = null;

/** The backend, asked for once (the first call starts WebGPU and wasm; later ones share the answer). */
export function attentionBackend(): Promise<AttentionBackend> {
  chosen ??= choose();
  return chosen;
}

/** After a webgpu call threw: the CPU backend from now on, with the error as the reason. */
export function demote(error: unknown): Promise<AttentionBackend> {
  chosen = cpuBackend(`webgpu failed during a call (${error instanceof Error ? error.message : String(error)})`);
  return chosen;
}

async function choose(): Promise<AttentionBackend> {
  const info = await webgpu.init();
  if (!info.available) return cpuBackend(info.reason ?? 'webgpu.init() found no device');
  try {
    await probe();
  } catch (error) {
    return cpuBackend(`WebGPU found a device but its first call failed (${error instanceof Error ? error.message : String(error)})`);
  }
  const a = info.adapter;
  return { impl: 'webgpu', dtype: 'float32', label: `webgpu (float32 WGSL on ${a?.vendor || '?'} ${a?.architecture || '?'})`, why: null };
}

/** One tiny attention on the GPU: a device that takes no pipeline or buffer fails here, before the reader's first map. */
async function probe(): Promise<Tensor> {
  const x = tensor([[1, 0], [0, 1]], [2, 2], { dtype: 'float32' });
  return scaledDotProductAttentionAsync(x, x, x, { impl: 'webgpu' });
}

async function cpuBackend(why: string): Promise<AttentionBackend> {
  const info = await wasm.init();
  if (info.available) return { impl: 'wasm', dtype: 'float32', label: `wasm (float32, ${info.path})`, why };
  return { impl: 'auto', dtype: 'float64', label: 'the float64 CPU kernels', why: `${why}; no WebAssembly SIMD either (${info.reason})` };
}
