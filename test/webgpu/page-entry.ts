import {
  Tensor, scaledDotProductAttentionBackwardAsync, scaledDotProductAttentionWithLseAsync,
  scaledDotProductAttentionAsync, scaledDotProductAttention, webgpu, type AttentionOptions, type FloatDType,
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
