import { scaledDotProductAttention, type AttentionImpl, type KvCache } from '../attention/index.js';
import { softmax } from '../softmax/index.js';
import { Rng, type FloatDType } from '../tensor/index.js';
import { Var, parameter, type Data } from './autograd.js';
import { attentionScores, causalAttention, causalMask, softcap, softcapAttention } from './attention-ops.js';
import { filledData } from './init.js';
import { Linear, prefixed, type Module } from './layers.js';
import { mergeHeads, splitHeads } from './head-ops.js';
import { l2Normalize, scaleHeads } from './ops.js';
import { rope } from './rope.js';
import { ruleScale, type ScaleRule } from './scale-rules.js';

export interface AttentionLayerOptions {
  width: number;
  heads: number;
  headDim: number;
  rule: ScaleRule;
  softcap: number;
  impl: AttentionImpl;
  dtype: FloatDType;
}

/**
 * Causal multi-head self-attention with rotary positions and a scale rule:
 *   q, k, v = x W_q, x W_k, x W_v split into heads;  q, k rotated by position;
 *   out = concat_h Attention_rule(q_h, k_h, v_h) W_o
 * The projections have no bias and LeCun init, so at initialisation q and k
 * have unit-variance components and Var(q·k) = d_k (what the rules differ on).
 */
export class MultiHeadAttention implements Module {
  readonly wq: Linear;
  readonly wk: Linear;
  readonly wv: Linear;
  readonly wo: Linear;
  /** qk-norm's per-head log temperature; null under other rules. */
  readonly logTau: Var | null;
  readonly options: AttentionLayerOptions;
  /** Set by forward when asked to measure: mean attention entropy (nats) over heads and query rows. */
  lastEntropy = NaN;
  /** When set, forward hands it the q and k that enter attention ([B, H, T, D], rotated, and normalised under qk-norm) and the scale of q·k. */
  onQueryKey: ((q: Var, k: Var, scale: number) => void) | null = null;

  constructor(rng: Rng, options: AttentionLayerOptions) {
    const { width, heads, headDim, dtype } = options;
    const inner = heads * headDim;
    this.options = options;
    this.wq = new Linear(rng, width, inner, { bias: false, dtype });
    this.wk = new Linear(rng, width, inner, { bias: false, dtype });
    this.wv = new Linear(rng, width, inner, { bias: false, dtype });
    this.wo = new Linear(rng, inner, width, { bias: false, dtype });
    // τ = √d_k at start gives q̂·k̂·τ the unit variance that rsqrt gives q·k/√d_k.
    this.logTau = options.rule === 'qk-norm' ? parameter(filledData(heads, 0.5 * Math.log(headDim), dtype), [heads]) : null;
  }

  /** q, k (rotated from position `offset` on, qk-normed under that rule) and v, each [B, H, T, D]. */
  private project(x: Var, offset: number): { q: Var; k: Var; v: Var } {
    const { heads } = this.options;
    let q = rope(splitHeads(this.wq.forward(x), heads), undefined, offset);
    let k = rope(splitHeads(this.wk.forward(x), heads), undefined, offset);
    const v = splitHeads(this.wv.forward(x), heads);
    if (this.logTau !== null) {
      q = scaleHeads(l2Normalize(q), this.logTau);
      k = l2Normalize(k);
    }
    return { q, k, v };
  }

  forward(x: Var, measure = false): Var {
    const { headDim, rule } = this.options;
    const seqLen = x.shape[1];
    const { q, k, v } = this.project(x, 0);
    const scale = ruleScale(rule, headDim, seqLen);
    const cap = rule === 'softcap' ? this.options.softcap : null;
    this.onQueryKey?.(q, k, scale);
    if (measure) this.lastEntropy = attentionEntropy(q, k, scale, cap);
    const out = cap === null ? causalAttention(q, k, v, scale, this.options.impl) : softcapAttention(q, k, v, scale, cap);
    return this.wo.forward(mergeHeads(out));
  }

  /**
   * Inference with a KV cache (no gradient): x [B, T, width] holds the T new
   * positions, which sit after the cache.lengths[0] already cached (every
   * element alike). Their keys and values join the cache, then the new
   * queries attend causally over it, softcap as the native option: the same
   * function as forward over the whole sequence, at O(T · length) cost.
   */
  decode(x: Var, cache: KvCache): Var {
    const { headDim, rule, impl } = this.options;
    const { q, k, v } = this.project(x, cache.lengths[0]);
    cache.append(k.toTensor(), v.toTensor());
    const out = scaledDotProductAttention(q.toTensor(), cache.keys, cache.values, {
      isCausal: true, keyLengths: cache.lengths, scale: ruleScale(rule, headDim, cache.lengths[0]), impl,
      ...(rule === 'softcap' ? { softcap: this.options.softcap } : {}),
    });
    return this.wo.forward(mergeHeads(new Var(out.data as Data, out.shape, false)));
  }

  parameters(): [string, Var][] {
    const own: [string, Var][] = [
      ...prefixed('wq', this.wq), ...prefixed('wk', this.wk), ...prefixed('wv', this.wv), ...prefixed('wo', this.wo),
    ];
    if (this.logTau !== null) own.push(['logTau', this.logTau]);
    return own;
  }
}

/**
 * Mean Shannon entropy −Σⱼ pᵢⱼ ln pᵢⱼ of the causal attention rows (nats), a
 * measurement outside the graph: 0 is a one-hot (saturated) row, ln(i+1) a
 * uniform one over the i+1 visible keys.
 */
export function attentionEntropy(q: Var, k: Var, scale: number, cap: number | null): number {
  let scores = attentionScores(constantOf(q), constantOf(k), scale);
  if (cap !== null) scores = softcap(scores, cap);
  const p = softmax(causalMask(scores).toTensor(), { axis: -1 }).data;
  const s = k.shape[2];
  const rows = p.length / s;
  let total = 0;
  for (let r = 0; r < rows; r++) {
    let h = 0;
    for (let j = 0; j < s; j++) {
      const pj = p[r * s + j];
      if (pj > 0) h -= pj * Math.log(pj);
    }
    total += h;
  }
  return total / rows;
}

function constantOf(x: Var): Var {
  return new Var(x.data, x.shape, false);
}
