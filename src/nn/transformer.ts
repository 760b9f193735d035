import type { AttentionImpl } from '../attention/index.js';
import { Rng, ScaledotError, type FloatDType } from '../tensor/index.js';
import type { Var } from './autograd.js';
import { MultiHeadAttention } from './attention-layer.js';
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
