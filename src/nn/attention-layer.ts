import { scaledDotProductAttention, type AttentionImpl, type KvCache } from '../attention/index.js';
import { Rng, ScaledotError, type FloatDType } from '../tensor/index.js';
import { Var, parameter, type Data } from './autograd.js';
import { adaptiveTemperature } from './adaptive-temperature.js';
import { attentionScores, causalAttention, causalMask, softcap, softmaxLast, weightedValues } from './attention-ops.js';
import { attentionStats, type AttentionStats } from './attention-stats.js';
import { filledData } from './init.js';
import { Linear, prefixed, type Module } from './layers.js';
import { lastRow, mergeHeads, scaleHeads, splitHeads } from './head-ops.js';
import { l2Normalize } from './ops.js';
import { rope } from './rope.js';
import { SSMAX_INIT_S, ruleScale, type ScaleRule } from './scale-rules.js';
import { sinkSoftmax } from './sink-ops.js';

export interface AttentionLayerOptions {
  width: number;
  heads: number;
  headDim: number;
  rule: ScaleRule;
  softcap: number;
  impl: AttentionImpl;
  dtype: FloatDType;
  /** Rotary positions on q and k (default); off for set tasks, where order means nothing. */
  rope?: boolean;
}

/** Whether a rule's logits for the cached keys stay the same as the sequence grows (so a KV cache can hold them). */
export function cacheableRule(rule: ScaleRule): boolean {
  return rule !== 'log-length' && rule !== 'ssmax';
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
  /** ssmax's per-head log s (logits times s·ln n); null under other rules. */
  readonly logS: Var | null;
  /** sink's per-head sink logit; null under other rules (softmax1 fixes it at 0 without a parameter). */
  readonly sinkLogit: Var | null;
  readonly options: AttentionLayerOptions;
  /** Inference only: Veličković et al.'s adaptive temperature on every row (see adaptive-temperature.ts). */
  adaptive = false;
  /** Set by forward when asked to measure. */
  lastStats: AttentionStats | null = null;
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
    this.logS = options.rule === 'ssmax' ? parameter(filledData(heads, Math.log(SSMAX_INIT_S), dtype), [heads]) : null;
    this.sinkLogit = options.rule === 'sink' ? parameter(filledData(heads, 0, dtype), [heads]) : null;
  }

  /** Mean attention entropy of the last measured forward (NaN if none). */
  get lastEntropy(): number {
    return this.lastStats?.meanEntropy ?? NaN;
  }

  /**
   * q (its last row alone under `lastOnly`), k (rotated from position `offset`
   * on, qk-normed or ssmax-scaled under those rules) and v, each [B, H, T, D].
   */
  private project(x: Var, offset: number, lastOnly: boolean): { q: Var; k: Var; v: Var } {
    const { heads } = this.options;
    const rotate = this.options.rope ?? true;
    if (lastOnly && rotate) throw new ScaledotError('E_OPTION', 'MultiHeadAttention: lastOnly reads the last row without its position, so it needs rope: false');
    let q = splitHeads(this.wq.forward(lastOnly ? lastRow(x) : x), heads);
    let k = splitHeads(this.wk.forward(x), heads);
    if (rotate) {
      q = rope(q, undefined, offset);
      k = rope(k, undefined, offset);
    }
    const v = splitHeads(this.wv.forward(x), heads);
    if (this.logTau !== null) {
      q = scaleHeads(l2Normalize(q), this.logTau);
      k = l2Normalize(k);
    }
    if (this.logS !== null) q = scaleHeads(q, this.logS);
    return { q, k, v };
  }

  /** x: [B, T, W] → [B, T, W], or [B, 1, W] for the last query row alone (`lastOnly`, which needs rope off). */
  forward(x: Var, measure = false, lastOnly = false): Var {
    const { heads, headDim, rule } = this.options;
    const seqLen = x.shape[1];
    const { q, k, v } = this.project(x, 0, lastOnly);
    const scale = ruleScale(rule, headDim, seqLen);
    const cap = rule === 'softcap' ? this.options.softcap : null;
    this.onQueryKey?.(q, k, scale);
    const sinkRule = rule === 'sink' || rule === 'softmax1';
    const sink = rule === 'sink' ? this.sinkLogit : null;
    const sinkLogits = sinkRule ? (sink?.data ?? new Array<number>(heads).fill(0)) : null;
    if (!this.adaptive) {
      // The kernel path: one node over the shipped kernels, scale, softcap and sinks as their options.
      if (measure) this.lastStats = attentionStats(this.logits(constantOf(q), constantOf(k), scale, cap).data, [...q.shape.slice(0, 3), k.shape[2]], sinkLogits);
      const out = causalAttention(q, k, v, scale, this.options.impl, { softcap: cap, sinks: rule === 'sink' ? sink : rule === 'softmax1' ? 'zero' : null });
      return this.wo.forward(mergeHeads(out));
    }
    // The manual path: adaptive temperature rescales each row by its own entropy, which no
    // kernel option does, so the logits are materialised (fine at the lengths this runs at).
    const logits = adaptiveTemperature(this.logits(q, k, scale, cap));
    if (measure) this.lastStats = attentionStats(logits.data, logits.shape, sinkLogits);
    const p = sinkRule ? sinkSoftmax(logits, sink) : softmaxLast(logits);
    return this.wo.forward(mergeHeads(weightedValues(p, v)));
  }

  /**
   * Inference with a KV cache (no gradient): x [B, T, width] holds the T new
   * positions, which sit after the cache.lengths[0] already cached (every
   * element alike). Their keys and values join the cache, then the new
   * queries attend causally over it, softcap and the sinks as native options:
   * the same function as forward over the whole sequence, at O(T · length)
   * cost. Rules whose scale depends on the whole length (log-length, ssmax)
   * and adaptive temperature cannot use a cache.
   */
  decode(x: Var, cache: KvCache): Var {
    const { headDim, heads, rule, impl } = this.options;
    if (!cacheableRule(rule) || this.adaptive) {
      throw new ScaledotError('E_OPTION', `MultiHeadAttention.decode: the ${this.adaptive ? 'adaptive temperature' : `${rule} rule`} depends on the whole sequence, so a KV cache cannot hold its keys; use forward`);
    }
    const { q, k, v } = this.project(x, cache.lengths[0], false);
    cache.append(k.toTensor(), v.toTensor());
    const sinks = rule === 'sink' ? [...(this.sinkLogit as Var).data] : rule === 'softmax1' ? new Array<number>(heads).fill(0) : null;
    const out = scaledDotProductAttention(q.toTensor(), cache.keys, cache.values, {
      isCausal: true, keyLengths: cache.lengths, scale: ruleScale(rule, headDim, cache.lengths[0]), impl,
      ...(rule === 'softcap' ? { softcap: this.options.softcap } : {}),
      ...(sinks !== null ? { sinks } : {}),
    });
    return this.wo.forward(mergeHeads(new Var(out.data as Data, out.shape, false)));
  }

  /** Masked logits [B, H, T, S] as the softmax sees them. */
  private logits(q: Var, k: Var, scale: number, cap: number | null): Var {
    let scores = attentionScores(q, k, scale);
    if (cap !== null) scores = softcap(scores, cap);
    return causalMask(scores);
  }

  parameters(): [string, Var][] {
    const own: [string, Var][] = [
      ...prefixed('wq', this.wq), ...prefixed('wk', this.wk), ...prefixed('wv', this.wv), ...prefixed('wo', this.wo),
    ];
    if (this.logTau !== null) own.push(['logTau', this.logTau]);
    if (this.logS !== null) own.push(['logS', this.logS]);
    if (this.sinkLogit !== null) own.push(['sinkLogit', this.sinkLogit]);
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
  const logits = causalMask(scores);
  return attentionStats(logits.data, logits.shape, null).meanEntropy;
}

function constantOf(x: Var): Var {
  return new Var(x.data, x.shape, false);
}
