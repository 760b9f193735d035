import {
  Tensor, scaledDotProductAttentionBackwardAsync, scaledDotProductAttentionWithLseAsync,
  scaledDotProductAttentionAsync, scaledDotProductAttention, webgpu, createKvCache, type AttentionOptions, type FloatDType, type KvCacheOptions,
} from '../../src/index.js';

// The page the webgpu tests drive (test/helpers/webgpu.ts): tensors arrive as
// plain arrays, run through the library's async entry points, and go back as arrays.

export interface Wire { data: number[]; shape: number[]; dtype: FloatDType | 'bool' }
type WireOptions = Record<string, unknown> & { attnMask?: Wire; alibiSlopes?: number[]; sinks?: number[] };

const fromWire = (w: Wire) => new Tensor(w.dtype === 'bool' ? Uint8Array.from(w.data) : w.dtype === 'float64' ? Float64Array.from(w.data) : Float32Array.from(w.data), w.shape, w.dtype);
const toWire = (t: Tensor): Wire => ({ data: Array.from(t.data), shape: [...t.shape], dtype: t.dtype as FloatDType });
const optionsOf = (o: WireOptions): AttentionOptions => ({ ...o, ...(o.attnMask ? { attnMask: fromWire(o.attnMask) } : {}) }) as AttentionOptions;

const api = {
  init: () => webgpu.init(),
  info: () => webgpu.info(),
  async forward(q: Wire, k: Wire, v: Wire, options: WireOptions) {
    const { output, lse } = await scaledDotProductAttentionWithLseAsync(fromWire(q), fromWire(k), fromWire(v), optionsOf(options));
    return { output: toWire(output), lse: toWire(lse) };
  },
  async output(q: Wire, k: Wire, v: Wire, options: WireOptions) {
    return toWire(await scaledDotProductAttentionAsync(fromWire(q), fromWire(k), fromWire(v), optionsOf(options)));
  },
  async backward(q: Wire, k: Wire, v: Wire, dOut: Wire, options: WireOptions, saved?: { output: Wire; lse: Wire }) {
    const o = { ...optionsOf(options), ...(saved ? { saved: { output: fromWire(saved.output), lse: fromWire(saved.lse) } } : {}) };
    const g = await scaledDotProductAttentionBackwardAsync(fromWire(q), fromWire(k), fromWire(v), fromWire(dOut), o);
    return { dq: toWire(g.dq), dk: toWire(g.dk), dv: toWire(g.dv), dsinks: g.dsinks ? toWire(g.dsinks) : null };
  },
  /**
   * A KV cache on the GPU (impl 'webgpu'): the appends in order, then one
   * attention of q over it. With `overwrite`, the cache's CPU keys and values
   * are zeroed behind its back before the call: an output that ignores this
   * was computed from the GPU's copy, not from a fresh upload.
   */
  async kvCache(options: KvCacheOptions, appends: { k: Wire; v: Wire; batchIndex?: number }[], q: Wire, attention: WireOptions, overwrite: boolean) {
    const cache = createKvCache({ ...options, impl: 'webgpu' });
    for (const a of appends) cache.append(fromWire(a.k), fromWire(a.v), a.batchIndex === undefined ? {} : { batchIndex: a.batchIndex });
    const keys = toWire(cache.keys);
    const values = toWire(cache.values);
    if (overwrite) {
      cache.keys.data.fill(0);
      cache.values.data.fill(0);
    }
    const output = await scaledDotProductAttentionAsync(fromWire(q), cache.keys, cache.values, { ...optionsOf(attention), keyLengths: cache.lengths, impl: 'webgpu' });
    return { output: toWire(output), keys, values, lengths: Array.from(cache.lengths) };
  },
  /** The error a call gives, as { code, message }, or null. */
  async errorOf(kind: 'sync' | 'async', q: Wire, options: WireOptions) {
    try {
      if (kind === 'sync') scaledDotProductAttention(fromWire(q), fromWire(q), fromWire(q), optionsOf(options));
      else await scaledDotProductAttentionAsync(fromWire(q), fromWire(q), fromWire(q), optionsOf(options));
      return null;
    } catch (e) {
      return { code: (e as { code?: string }).code ?? null, message: (e as Error).message };
    }
  },
};

(globalThis as unknown as { scaledot: typeof api }).scaledot = api;
export type WebGpuPageApi = typeof api;
