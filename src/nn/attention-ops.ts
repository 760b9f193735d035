import {
  scaledDotProductAttentionBackward, scaledDotProductAttentionWithLse, type AttentionImpl, type AttentionOptions,
} from '../attention/index.js';
import { softmax, softmaxBackward } from '../softmax/index.js';
import { ScaledotError, Tensor, formatShape } from '../tensor/index.js';
import { Var, allocLike, result, type Data } from './autograd.js';

// Attention as nodes of the graph. Training runs one node over the library's
// own kernels (causalAttention), softcap and sinks included; the pieces below
// (scores, softcap, mask, softmax, values) are the manual path, written out for
// what the kernel cannot do (adaptive temperature on materialised logits) and
// as the formula the node is tested against.

function tensorOf(data: Data, shape: readonly number[]): Tensor {
  return new Tensor(data, shape, data instanceof Float64Array ? 'float64' : 'float32');
}

function check4d(fn: string, arg: string, x: Var): void {
  if (x.shape.length !== 4) throw new ScaledotError('E_SHAPE', `${fn}: ${arg} has shape ${formatShape(x.shape)}; expected [B, H, T, D]`);
}

/** The score rules causalAttention passes to the kernels. */
export interface AttentionRules {
  /** cap · tanh(s / cap) on the scaled scores (Gemma 2); null or absent: off. */
  softcap?: number | null;
  /**
   * A per-head sink logit [H] that joins every row's normaliser and carries no
   * value: a parameter (its gradient is the kernels' dsinks), or 'zero' for
   * softmax₁ (b = 0, nothing to learn). null or absent: no sink.
   */
  sinks?: Var | 'zero' | null;
}

/**
 * causalAttention(q, k, v) = softmax(capped(q kᵀ · scale) + M, sinks) v, M causal,
 * q: [B, H, L, D], k: [B, H, T, D], v: [B, H, T, Dv] (L ≤ T, aligned bottom-right):
 * one node over the library's scaledDotProductAttentionWithLse, so training
 * exercises the same kernels the library ships, softcap and sinks included
 * (impl 'auto' picks the fast ones for float32). The backward is
 * scaledDotProductAttentionBackward fed the forward's saved output and lse, so
 * it runs no second forward; its dsinks is the sink parameter's gradient.
 */
export function causalAttention(q: Var, k: Var, v: Var, scale: number, impl: AttentionImpl = 'auto', rules: AttentionRules = {}): Var {
  const fn = 'causalAttention';
  check4d(fn, 'q', q);
  check4d(fn, 'k', k);
  check4d(fn, 'v', v);
  const [query, key, value] = [q.toTensor(), k.toTensor(), v.toTensor()];
  const sink = rules.sinks instanceof Var ? rules.sinks : null;
  const sinks = rules.sinks === 'zero' ? new Array<number>(q.shape[1]).fill(0) : sink !== null ? Array.from(sink.data) : null;
  const options: AttentionOptions = {
    isCausal: true, scale, impl,
    ...(rules.softcap != null ? { softcap: rules.softcap } : {}),
    ...(sinks !== null ? { sinks } : {}),
  };
  const saved = scaledDotProductAttentionWithLse(query, key, value, options);
  const y: Var = result(saved.output.data as Data, saved.output.shape, sink === null ? [q, k, v] : [q, k, v, sink], () => {
    const grads = scaledDotProductAttentionBackward(query, key, value, tensorOf(y.grad as Data, y.shape), { ...options, saved });
    const pairs: [Var, Tensor | undefined][] = [[q, grads.dq], [k, grads.dk], [v, grads.dv]];
    if (sink !== null) pairs.push([sink, grads.dsinks]);
    for (const [node, g] of pairs) {
      if (!node.requiresGrad || g === undefined) continue;
      const buf = node.gradBuffer();
      for (let i = 0; i < buf.length; i++) buf[i] += g.data[i];
    }
  });
  return y;
}

/**
 * scores(q, k) = q kᵀ · scale,  q: [B, H, T, D], k: [B, H, S, D] → [B, H, T, S]
 * dq = dS k · scale,  dk = dSᵀ q · scale.
 */
export function attentionScores(q: Var, k: Var, scale: number): Var {
  const fn = 'attentionScores';
  check4d(fn, 'q', q);
  check4d(fn, 'k', k);
  const [b, h, t, d] = q.shape;
  const s = k.shape[2];
  if (k.shape[0] !== b || k.shape[1] !== h || k.shape[3] !== d) {
    throw new ScaledotError('E_SHAPE', `${fn}: k has shape ${formatShape(k.shape)} but q has shape ${formatShape(q.shape)}; expected [${b}, ${h}, S, ${d}]`);
  }
  const out = allocLike(q.data, b * h * t * s);
  for (let bh = 0; bh < b * h; bh++) {
    for (let i = 0; i < t; i++) {
      const qo = (bh * t + i) * d;
      for (let j = 0; j < s; j++) {
        const ko = (bh * s + j) * d;
        let dot = 0;
        for (let e = 0; e < d; e++) dot += q.data[qo + e] * k.data[ko + e];
        out[(bh * t + i) * s + j] = dot * scale;
      }
    }
  }
  const y: Var = result(out, [b, h, t, s], [q, k], () => {
    const ds = y.grad as Data;
    const dq = q.requiresGrad ? q.gradBuffer() : null;
    const dk = k.requiresGrad ? k.gradBuffer() : null;
    for (let bh = 0; bh < b * h; bh++) {
      for (let i = 0; i < t; i++) {
        const qo = (bh * t + i) * d;
        for (let j = 0; j < s; j++) {
          const g = ds[(bh * t + i) * s + j] * scale;
          if (g === 0) continue;
          const ko = (bh * s + j) * d;
          for (let e = 0; e < d; e++) {
            if (dq !== null) dq[qo + e] += g * k.data[ko + e];
            if (dk !== null) dk[ko + e] += g * q.data[qo + e];
          }
        }
      }
    }
  });
  return y;
}

/**
 * softcap(x) = cap · tanh(x / cap)   (Gemma 2's logit soft-capping)
 * d/dx = 1 − tanh²(x / cap). −∞ (a masked score) stays −∞ and passes no gradient.
 */
export function softcap(x: Var, cap: number): Var {
  if (!(cap > 0) || !Number.isFinite(cap)) throw new ScaledotError('E_OPTION', `softcap: cap is ${cap}; expected a finite number > 0`);
  const out = allocLike(x.data, x.size);
  for (let i = 0; i < out.length; i++) out[i] = cap * Math.tanh(x.data[i] / cap);
  const y: Var = result(out, x.shape, [x], () => {
    const dy = y.grad as Data;
    const dx = x.gradBuffer();
    for (let i = 0; i < dx.length; i++) {
      const t = out[i] / cap;
      dx[i] += dy[i] * (1 - t * t);
    }
  });
  return y;
}

/**
 * causalMask(x)[…, i, j] = x[…, i, j] if j ≤ i + S − T else −∞  (x: [..., T, S]),
 * aligned bottom-right like the library's isCausal. Masked entries pass no gradient.
 */
export function causalMask(x: Var): Var {
  if (x.shape.length < 2) throw new ScaledotError('E_SHAPE', `causalMask: x has shape ${formatShape(x.shape)}; expected [..., T, S]`);
  const t = x.shape[x.shape.length - 2];
  const s = x.shape[x.shape.length - 1];
  const out = allocLike(x.data, x.size);
  const visible = (idx: number): boolean => idx % s <= (Math.floor(idx / s) % t) + s - t;
  for (let i = 0; i < out.length; i++) out[i] = visible(i) ? x.data[i] : -Infinity;
  const y: Var = result(out, x.shape, [x], () => {
    const dy = y.grad as Data;
    const dx = x.gradBuffer();
    for (let i = 0; i < dx.length; i++) if (visible(i)) dx[i] += dy[i];
  });
  return y;
}

/** softmax over the last axis by the library's softmax; backward by its softmaxBackward: y ⊙ (dy − Σ y ⊙ dy). */
export function softmaxLast(x: Var): Var {
  const yt = softmax(x.toTensor(), { axis: -1 });
  const y: Var = result(yt.data as Data, x.shape, [x], () => {
    const dx = softmaxBackward(yt, tensorOf(y.grad as Data, x.shape), { axis: -1 });
    const g = x.gradBuffer();
    for (let i = 0; i < g.length; i++) g[i] += dx.data[i];
  });
  return y;
}

/**
 * weighted(p, v) = p v,  p: [B, H, T, S], v: [B, H, S, Dv] → [B, H, T, Dv]
 * dp = dO vᵀ,  dv = pᵀ dO.
 */
export function weightedValues(p: Var, v: Var): Var {
  const fn = 'weightedValues';
  check4d(fn, 'p', p);
  check4d(fn, 'v', v);
  const [b, h, t, s] = p.shape;
  const dv = v.shape[3];
  if (v.shape[0] !== b || v.shape[1] !== h || v.shape[2] !== s) {
    throw new ScaledotError('E_SHAPE', `${fn}: v has shape ${formatShape(v.shape)} but p has shape ${formatShape(p.shape)}; expected [${b}, ${h}, ${s}, Dv]`);
  }
  const out = allocLike(v.data, b * h * t * dv);
  for (let bh = 0; bh < b * h; bh++) {
    for (let i = 0; i < t; i++) {
      const oo = (bh * t + i) * dv;
      for (let j = 0; j < s; j++) {
        const w = p.data[(bh * t + i) * s + j];
        if (w === 0) continue;
        const vo = (bh * s + j) * dv;
        for (let e = 0; e < dv; e++) out[oo + e] += w * v.data[vo + e];
      }
    }
  }
  const y: Var = result(out, [b, h, t, dv], [p, v], () => {
    const dO = y.grad as Data;
    const dp = p.requiresGrad ? p.gradBuffer() : null;
    const dV = v.requiresGrad ? v.gradBuffer() : null;
    for (let bh = 0; bh < b * h; bh++) {
      for (let i = 0; i < t; i++) {
        const oo = (bh * t + i) * dv;
        for (let j = 0; j < s; j++) {
          const pi = (bh * t + i) * s + j;
          const vo = (bh * s + j) * dv;
          const w = p.data[pi];
          let dot = 0;
          for (let e = 0; e < dv; e++) {
            dot += dO[oo + e] * v.data[vo + e];
            if (dV !== null) dV[vo + e] += w * dO[oo + e];
          }
          if (dp !== null) dp[pi] += dot;
        }
      }
    }
  });
  return y;
}

/**
 * Soft-capped causal attention written out, the manual path:
 * softmax(causal(cap · tanh(q kᵀ · scale / cap))) v, from the explicit ops
 * (the [T, S] scores materialised). Training takes causalAttention with
 * `softcap`, one node over the kernels; this is the formula it is tested against.
 */
export function softcapAttention(q: Var, k: Var, v: Var, scale: number, cap: number): Var {
  return weightedValues(softmaxLast(causalMask(softcap(attentionScores(q, k, scale), cap))), v);
}
