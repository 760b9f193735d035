import { createKvCache, type AttentionImpl, type KvCache } from '../attention/index.js';
import { Rng, ScaledotError, allocate, type FloatDType } from '../tensor/index.js';
import { Var, type Data } from './autograd.js';
import { MultiHeadAttention, cacheableRule } from './attention-layer.js';
import type { AttentionStats } from './attention-stats.js';
import { lastRow } from './head-ops.js';
import { add, previousEmbedding } from './ops.js';
import { Embedding, Linear, MLP, makeNorm, prefixed, residual, type Module, type NormKind } from './layers.js';
import { DEFAULT_SOFTCAP, checkScaleRule, type ScaleRule } from './scale-rules.js';

export interface TransformerConfig {
  vocabSize: number;
  /** Residual stream width. */
  width: number;
  layers: number;
  heads: number;
  headDim: number;
  scaleRule: ScaleRule;
  mlpRatio?: number;
  norm?: NormKind;
  /**
   * Token shift: add an embedding of the previous token at each position (as
   * RWKV's token shift, or the short convolutions of Zoology's recall study).
   * Recall then needs one attention hop (match the query key, read the pair),
   * not an induction circuit that a small model takes thousands of steps to find.
   */
  tokenShift?: boolean;
  /** The cap of the softcap rule. */
  softcap?: number;
  /** Rotary positions (default true); a set task turns them off. */
  rope?: boolean;
  /** 'last': only the last position's logits are computed, [B, 1, V] (a set task's readout). */
  readout?: 'all' | 'last';
  impl?: AttentionImpl;
  dtype?: FloatDType;
  seed?: number;
}

class Block implements Module {
  readonly norm1;
  readonly attn: MultiHeadAttention;
  readonly norm2;
  readonly mlp: MLP;

  constructor(rng: Rng, c: Required<TransformerConfig>) {
    this.norm1 = makeNorm(c.norm, c.width, c.dtype);
    this.attn = new MultiHeadAttention(rng, {
      width: c.width, heads: c.heads, headDim: c.headDim, rule: c.scaleRule, softcap: c.softcap, impl: c.impl, dtype: c.dtype, rope: c.rope,
    });
    this.norm2 = makeNorm(c.norm, c.width, c.dtype);
    this.mlp = new MLP(rng, c.width, c.mlpRatio, c.dtype);
  }

  /** Pre-norm: x + attn(norm(x)), then + mlp(norm(x)); `lastOnly` keeps the last position alone. */
  forward(x: Var, measure: boolean, lastOnly = false): Var {
    const h = lastOnly
      ? add(lastRow(x), this.attn.forward(this.norm1.forward(x), measure, true))
      : residual(x, (z) => this.attn.forward(this.norm1.forward(z), measure));
    return residual(h, (z) => this.mlp.forward(this.norm2.forward(z)));
  }

  /** forward for new positions only, their keys and values going through `cache` (inference). */
  decode(x: Var, cache: KvCache): Var {
    const h = residual(x, (z) => this.attn.decode(this.norm1.forward(z), cache));
    return residual(h, (z) => this.mlp.forward(this.norm2.forward(z)));
  }

  parameters(): [string, Var][] {
    return [...prefixed('norm1', this.norm1), ...prefixed('attn', this.attn), ...prefixed('norm2', this.norm2), ...prefixed('mlp', this.mlp)];
  }
}

/**
 * A decoder-only transformer (GPT shape, pre-norm, rotary positions, no
 * learnt position table so it runs at any length): token ids [B, T] → logits [B, T, V].
 */
export class Transformer implements Module {
  readonly config: Required<TransformerConfig>;
  readonly embed: Embedding;
  readonly embedPrevious: Embedding | null;
  readonly blocks: Block[];
  readonly normOut;
  readonly head: Linear;

  constructor(config: TransformerConfig) {
    const fn = 'Transformer';
    const c: Required<TransformerConfig> = {
      mlpRatio: 4, norm: 'layer', tokenShift: true, softcap: DEFAULT_SOFTCAP, rope: true, readout: 'all', impl: 'auto', dtype: 'float32', seed: 0, ...config,
    };
    c.scaleRule = checkScaleRule(fn, c.scaleRule);
    for (const key of ['vocabSize', 'width', 'layers', 'heads', 'headDim', 'mlpRatio'] as const) {
      if (!Number.isSafeInteger(c[key]) || c[key] <= 0) {
        throw new ScaledotError('E_OPTION', `${fn}: ${key} is ${String(c[key])}; expected a positive integer`);
      }
    }
    if (c.readout === 'last' && c.rope) {
      throw new ScaledotError('E_OPTION', `${fn}: readout 'last' reads the last row without its position, so it needs rope: false`);
    }
    if (c.rope && c.headDim % 2 !== 0) {
      throw new ScaledotError('E_OPTION', `${fn}: headDim is ${c.headDim}; rotary positions pair up dimensions, so it must be even`);
    }
    this.config = c;
    const rng = new Rng(c.seed);
    this.embed = new Embedding(rng, c.vocabSize, c.width, c.dtype);
    this.embedPrevious = c.tokenShift ? new Embedding(rng, c.vocabSize, c.width, c.dtype) : null;
    this.blocks = Array.from({ length: c.layers }, () => new Block(rng, c));
    this.normOut = makeNorm(c.norm, c.width, c.dtype);
    this.head = new Linear(rng, c.width, c.vocabSize, { dtype: c.dtype });
  }

  /** Logits [B, T, V] for ids [B, T] ([B, 1, V] under readout 'last'); `measure` records each layer's attention statistics. */
  forward(ids: Int32Array, batch: number, length: number, measure = false): Var {
    let x = this.embed.forward(ids, [batch, length]);
    if (this.embedPrevious !== null) x = add(x, previousEmbedding(this.embedPrevious.table, ids, batch, length));
    const last = this.config.readout === 'last';
    this.blocks.forEach((block, i) => (x = block.forward(x, measure, last && i === this.blocks.length - 1)));
    return this.head.forward(this.normOut.forward(x));
  }

  /**
   * A decoder for inference: one KV cache per layer (maxLength positions per
   * batch element), fed a chunk of ids at a time. step(ids [B, T]) returns the
   * logits [B, T, V] of those positions, the same as forward over everything
   * fed since the last reset, without recomputing the earlier positions.
   * Not under the log-length or ssmax rules: their scale depends on the whole length, so
   * every cached key would change as the sequence grows.
   */
  decoder(batch: number, maxLength: number): Decoder {
    const { heads, headDim, dtype } = this.config;
    if (!cacheableRule(this.config.scaleRule)) {
      throw new ScaledotError('E_OPTION', `Transformer.decoder: the ${this.config.scaleRule} scale rule depends on the sequence length, so a KV cache cannot hold its keys; use forward`);
    }
    const caches = this.blocks.map(() => createKvCache({ batch, heads, headDim, maxLength, dtype }));
    const previous = new Int32Array(batch).fill(-1); // the last id fed to each element (token shift)
    return {
      step: (ids: Int32Array, length: number) => {
        let x = this.embed.forward(ids, [batch, length]);
        if (this.embedPrevious !== null) x = add(x, shiftedEmbedding(this.embedPrevious.table, ids, previous, batch, length));
        for (let b = 0; b < batch; b++) if (length > 0) previous[b] = ids[b * length + length - 1];
        for (const [i, block] of this.blocks.entries()) x = block.decode(x, caches[i]);
        return this.head.forward(this.normOut.forward(x));
      },
      reset: () => {
        for (const cache of caches) cache.reset();
        previous.fill(-1);
      },
    };
  }

  /** Mean attention entropy (nats) over layers, from the last forward with `measure`. */
  attentionEntropy(): number {
    return this.blocks.reduce((s, b) => s + b.attn.lastEntropy, 0) / this.blocks.length;
  }

  /** Each layer's attention statistics from the last forward with `measure` (null before one). */
  attentionStats(): (AttentionStats | null)[] {
    return this.blocks.map((b) => b.attn.lastStats);
  }

  /** Veličković et al.'s adaptive temperature in every attention row (inference only), on or off. */
  setAdaptiveTemperature(on: boolean): void {
    for (const b of this.blocks) b.attn.adaptive = on;
  }

  /** The query projections, whose gradient norm the lab follows. */
  queryWeights(): Var[] {
    return this.blocks.map((b) => b.attn.wq.weight);
  }

  parameters(): [string, Var][] {
    return [
      ...prefixed('embed', this.embed),
      ...(this.embedPrevious === null ? [] : prefixed('embedPrevious', this.embedPrevious)),
      ...this.blocks.flatMap((b, i) => prefixed(`blocks.${i}`, b)),
      ...prefixed('normOut', this.normOut),
      ...prefixed('head', this.head),
    ];
  }
}

/** A Transformer's incremental decoder (Transformer.decoder). */
export interface Decoder {
  step(ids: Int32Array, length: number): Var;
  reset(): void;
}

/**
 * previousEmbedding for a chunk that continues a sequence: position 0 of the
 * chunk takes the embedding of the element's last id before it (zero at the
 * start). A constant: the decoder computes no gradient.
 */
function shiftedEmbedding(table: Var, ids: Int32Array, previous: Int32Array, batch: number, length: number): Var {
  const d = table.shape[1];
  const out = allocate(table.data instanceof Float64Array ? 'float64' : 'float32', batch * length * d) as Data;
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < length; t++) {
      const id = t === 0 ? previous[b] : ids[b * length + t - 1];
      if (id >= 0) out.set(table.data.subarray(id * d, id * d + d), (b * length + t) * d);
    }
  }
  return new Var(out, [batch, length, d], false);
}
