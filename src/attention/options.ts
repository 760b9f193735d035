import {
  ScaledotError, Tensor, broadcastStrides, checkFloatTensor, checkTensor, formatShape, sameDims, sizeOf, type FloatDType,
} from '../tensor/index.js';
import { describeValue, isPlainObject } from '../tensor/plain.js';
import { isKnownImpl, listAttentionImpls, type AttentionImpl } from './backends.js';
import type { AttentionMask, AttentionProblem } from './problem.js';
import { SCORE_OPTION_KEYS, checkScoreOptions, describe, type ScoreOptions } from './score-options.js';
import { checkAttentionSize } from './size-guard.js';

/**
 * The options of scaledDotProductAttention and its variants, after PyTorch's
 * scaled_dot_product_attention (in camelCase).
 */
export interface AttentionOptions extends ScoreOptions {
  /**
   * Broadcastable to (..., Hq, L, S). A bool mask: true = attend, false = masked
   * out. A float mask (any float dtype): added to the scaled scores (−∞ masks out).
   */
  attnMask?: Tensor | null;
  /**
   * Query i sees key j iff j <= i + S − L (bottom-right aligned, as
   * FlashAttention; the same as PyTorch when L == S). May be combined with
   * attnMask: a key is then attended only if both allow it (PyTorch refuses the pair).
   */
  isCausal?: boolean;
  /** Multiplies q·k before the mask is added; default 1/√E. Any finite number. */
  scale?: number | null;
  /** Probability of dropping each attention weight, in [0, 1); kept weights are scaled by 1/(1 − p). */
  dropoutP?: number;
  /** Dropout seed, an integer in [0, 2³²), required when dropoutP > 0 (every random thing takes a seed). The same seed drops the same weights in forward and backward. */
  seed?: number;
  /** Grouped-query attention: Hq may be any positive multiple of Hkv; query head h reads kv head ⌊h / (Hq/Hkv)⌋. */
  enableGqa?: boolean;
  /** Which backend computes it: a name from listAttentionImpls(), or 'auto' (default): the fastest that supports the call. */
  impl?: AttentionImpl;
}

const OPTION_KEYS = ['attnMask', 'isCausal', 'scale', 'dropoutP', 'seed', 'enableGqa', 'impl', ...SCORE_OPTION_KEYS] as const;
const MAX_SEED = 4294967295;

/** The options object itself: undefined is {}, anything else must be a plain object with known keys. */
function checkOptionsObject(fn: string, options: unknown): AttentionOptions {
  if (options === undefined) return {};
  // A Map, a class instance or an array would have its keys ignored: only a plain object is read.
  if (!isPlainObject(options)) {
    throw new ScaledotError('E_OPTION', `${fn}: options must be a plain object such as { isCausal: true }, got ${describeValue(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!(OPTION_KEYS as readonly string[]).includes(key)) {
      throw new ScaledotError('E_OPTION', `${fn}: unknown option ${JSON.stringify(key)}; expected one of ${OPTION_KEYS.join(', ')}`);
    }
  }
  return options as AttentionOptions;
}

function checkBoolean(fn: string, name: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') {
    throw new ScaledotError('E_OPTION', `${fn}: ${name} is ${describe(value)}; expected true or false`);
  }
  return value;
}

/** The scalar options, checked; the mask and the shapes are checked against the tensors separately. */
function checkScalars(fn: string, o: AttentionOptions, e: number) {
  const causal = checkBoolean(fn, 'isCausal', o.isCausal);
  let scale: number;
  if (o.scale === undefined || o.scale === null) {
    // With E = 0 every dot product is 0 and any finite scale gives the same scores.
    scale = e > 0 ? 1 / Math.sqrt(e) : 1;
  } else if (typeof o.scale !== 'number' || !Number.isFinite(o.scale)) {
    throw new ScaledotError('E_OPTION', `${fn}: scale is ${describe(o.scale)}; expected a finite number (default 1/sqrt(E) = 1/sqrt(${e}))`);
  } else {
    scale = o.scale;
  }
  const dropoutP = o.dropoutP ?? 0;
  if (typeof dropoutP !== 'number' || !Number.isFinite(dropoutP) || dropoutP < 0 || dropoutP >= 1) {
    throw new ScaledotError('E_OPTION', `${fn}: dropoutP is ${describe(dropoutP)}; expected a number in [0, 1)`);
  }
  // Without a seed every call would drop the same weights, silently: refuse it, as DESIGN.md says.
  if (dropoutP > 0 && (o.seed === undefined || o.seed === null)) {
    throw new ScaledotError('E_OPTION', `${fn}: dropoutP is ${dropoutP} but no seed is given; pass seed, an integer in [0, ${MAX_SEED}], so the dropped weights are chosen on purpose (the same seed drops the same weights in the backward)`);
  }
  const seed = o.seed ?? 0;
  // dropoutHash mixes the seed as a 32-bit word: a larger one would silently alias a smaller one.
  if (typeof seed !== 'number' || !Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) {
    throw new ScaledotError('E_OPTION', `${fn}: seed is ${describe(seed)}; expected an integer in [0, ${MAX_SEED}]`);
  }
  const impl = o.impl ?? 'auto';
  if (typeof impl !== 'string' || !isKnownImpl(impl)) {
    throw new ScaledotError('E_OPTION', `${fn}: impl is ${describe(impl)}; expected one of ${['auto', ...listAttentionImpls()].join(', ')}`);
  }
  return { causal, scale, dropoutP, seed, impl };
}

/** The sizes of a call, as the problem carries them. */
type Layout = Pick<AttentionProblem, 'dtype' | 'batchShape' | 'batch' | 'hq' | 'hkv' | 'l' | 's' | 'e' | 'ev'>;

/**
 * The shapes of query (..., Hq, L, E), key (..., Hkv, S, E) and value
 * (..., Hkv, S, Ev), checked against each other. Rank 2 means no head
 * dimension (Hq = Hkv = 1) and no batch.
 */
function checkLayout(fn: string, query: Tensor & { dtype: FloatDType }, key: Tensor, value: Tensor, enableGqa: boolean): Layout {
  const qs = query.shape;
  const ks = key.shape;
  const vs = value.shape;
  const shapes = `query ${formatShape(qs)}, key ${formatShape(ks)}, value ${formatShape(vs)}`;
  for (const [name, t] of [['key', key], ['value', value]] as const) {
    if (t.dtype !== query.dtype) {
      throw new ScaledotError('E_DTYPE', `${fn}: ${name} has dtype ${t.dtype} but query has dtype ${query.dtype}; query, key and value must share one float dtype`);
    }
  }
  if (qs.length < 2) {
    throw new ScaledotError('E_SHAPE', `${fn}: query has shape ${formatShape(qs)}; expected rank >= 2, (..., L, E)`);
  }
  for (const [name, shape] of [['key', ks], ['value', vs]] as const) {
    if (shape.length !== qs.length) {
      throw new ScaledotError('E_SHAPE', `${fn}: ${name} has shape ${formatShape(shape)} (rank ${shape.length}) but query has shape ${formatShape(qs)} (rank ${qs.length}); query, key and value must have the same rank`);
    }
  }
  const rank = qs.length;
  const batchShape = qs.slice(0, Math.max(0, rank - 3));
  if (!sameDims(ks.slice(0, batchShape.length), batchShape)) {
    throw new ScaledotError('E_SHAPE', `${fn}: key has shape ${formatShape(ks)} but query has shape ${formatShape(qs)}; their batch dimensions ${formatShape(ks.slice(0, batchShape.length))} and ${formatShape(batchShape)} must be equal (${shapes})`);
  }
  if (qs[rank - 1] !== ks[rank - 1]) {
    throw new ScaledotError('E_SHAPE', `${fn}: key has shape ${formatShape(ks)} but query has shape ${formatShape(qs)}; their last dimensions (E) must match`);
  }
  if (!sameDims(vs.slice(0, batchShape.length), batchShape)) {
    throw new ScaledotError('E_SHAPE', `${fn}: value has shape ${formatShape(vs)} but key has shape ${formatShape(ks)}; their batch dimensions must be equal (${shapes})`);
  }
  if (rank >= 3 && vs[rank - 3] !== ks[rank - 3]) {
    throw new ScaledotError('E_SHAPE', `${fn}: value has shape ${formatShape(vs)} but key has shape ${formatShape(ks)}; their head counts (Hkv, dimension -3) must match`);
  }
  if (vs[rank - 2] !== ks[rank - 2]) {
    throw new ScaledotError('E_SHAPE', `${fn}: value has shape ${formatShape(vs)} but key has shape ${formatShape(ks)}; their sequence lengths (S, dimension -2) must match`);
  }
  const hq = rank >= 3 ? qs[rank - 3] : 1;
  const hkv = rank >= 3 ? ks[rank - 3] : 1;
  if (enableGqa) {
    if (hq !== hkv && (hkv === 0 || hq % hkv !== 0)) {
      throw new ScaledotError('E_SHAPE', `${fn}: under enableGqa the query heads (Hq = ${hq}, query ${formatShape(qs)}) must be a positive multiple of the key/value heads (Hkv = ${hkv}, key ${formatShape(ks)})`);
    }
  } else if (hq !== hkv) {
    const hint = hkv > 0 && hq % hkv === 0 ? '; pass enableGqa: true for grouped-query attention' : '';
    throw new ScaledotError('E_SHAPE', `${fn}: query has ${hq} heads (shape ${formatShape(qs)}) but key has ${hkv} (shape ${formatShape(ks)}); without enableGqa they must be equal${hint}`);
  }
  return {
    dtype: query.dtype, batchShape, batch: sizeOf(batchShape), hq, hkv,
    l: qs[rank - 2], s: ks[rank - 2], e: qs[rank - 1], ev: vs[rank - 1],
  };
}

/**
 * attnMask checked and broadcast by strides to (..., Hq, L, S), the query's
 * shape with E replaced by S. An additive mask must not hold NaN or +∞: either
 * would make every weight of its row NaN.
 */
function prepareMask(fn: string, maskArg: unknown, query: Tensor, layout: Layout): AttentionMask | null {
  if (maskArg === undefined || maskArg === null) return null;
  const mask = checkTensor(fn, 'attnMask', maskArg);
  const target = [...query.shape.slice(0, -1), layout.s];
  const fits = mask.rank <= target.length && mask.shape.every((d, i) => d === 1 || d === target[target.length - mask.rank + i]);
  if (!fits) {
    throw new ScaledotError('E_MASK', `${fn}: attnMask has shape ${formatShape(mask.shape)}, which does not broadcast to (..., Hq, L, S) = ${formatShape(target)} (query ${formatShape(query.shape)}, S = ${layout.s})`);
  }
  if (mask.dtype !== 'bool') {
    for (let i = 0; i < mask.data.length; i++) {
      const m = mask.data[i];
      if (Number.isNaN(m) || m === Infinity) {
        throw new ScaledotError('E_MASK', `${fn}: attnMask (shape ${formatShape(mask.shape)}, ${mask.dtype}) holds ${m} at flat index ${i}; an additive mask must be finite or -Infinity`);
      }
    }
  }
  const strides = broadcastStrides(mask.shape, target);
  const rank = target.length;
  const { batchShape, batch, hq } = layout;
  const headStride = rank >= 3 ? strides[rank - 3] : 0;
  const headOffset = new Int32Array(batch * hq);
  for (let b = 0; b < batch; b++) {
    // The offset of batch item b: its multi-index over batchShape, last dimension fastest.
    let rest = b;
    let offset = 0;
    for (let d = batchShape.length - 1; d >= 0; d--) {
      offset += (rest % batchShape[d]) * strides[d];
      rest = Math.floor(rest / batchShape[d]);
    }
    for (let h = 0; h < hq; h++) headOffset[b * hq + h] = offset + h * headStride;
  }
  return {
    kind: mask.dtype === 'bool' ? 'bool' : 'additive',
    data: mask.data,
    headOffset,
    rowStride: strides[rank - 2],
    colStride: strides[rank - 1],
  };
}

/**
 * Checks every argument of an attention call and returns the normalised
 * problem a backend consumes. Throws a ScaledotError (E_ARG, E_DTYPE, E_SHAPE,
 * E_MASK or E_OPTION) naming `fn`, the argument and the shapes before any work.
 */
export function prepareAttention(fn: string, query: unknown, key: unknown, value: unknown, options?: unknown): AttentionProblem {
  const o = checkOptionsObject(fn, options);
  const q = checkFloatTensor(fn, 'query', query);
  const k = checkFloatTensor(fn, 'key', key);
  const v = checkFloatTensor(fn, 'value', value);
  const enableGqa = checkBoolean(fn, 'enableGqa', o.enableGqa);
  const layout = checkLayout(fn, q, k, v, enableGqa);
  checkAttentionSize(fn, { ...layout, rank: q.rank });
  const scalars = checkScalars(fn, o, layout.e);
  const mask = prepareMask(fn, o.attnMask, q, layout);
  const scoreFields = checkScoreOptions(fn, o, layout);
  // Object.assign onto the fresh layout rather than spreads into a new object: a decoding step is a few µs of work.
  return Object.assign(layout, scoreFields, {
    q: q.data as Float32Array | Float64Array,
    k: k.data as Float32Array | Float64Array,
    v: v.data as Float32Array | Float64Array,
    scale: scalars.scale,
    causal: scalars.causal,
    mask,
    dropoutP: scalars.dropoutP,
    seed: scalars.seed,
  });
}

/** The impl named by already checked options ('auto' when absent). */
export function attentionImplOf(options?: AttentionOptions): string {
  return options?.impl ?? 'auto';
}

/** The output shape (..., Hq, L, Ev) of a checked call. */
export function attentionOutputShape(query: Tensor, p: AttentionProblem): number[] {
  return [...query.shape.slice(0, -1), p.ev];
}
