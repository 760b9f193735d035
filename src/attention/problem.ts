import type { FloatDType } from '../tensor/index.js';
import type { ScoreFields } from './score-options.js';

/**
 * The normalised form of one attention call, after every argument has been
 * checked. Every backend (reference, tiled, wasm) consumes exactly this, so
 * the checks and the broadcasting rules live in one place (options.ts).
 *
 * Layout, all row-major and contiguous (the caller's tensors as they are):
 *   q: [batch, hq, l, e]    k: [batch, hkv, s, e]    v: [batch, hkv, s, ev]
 *   output: [batch, hq, l, ev]    lse: [batch, hq, l]
 * where `batch` is the product of the leading dimensions `batchShape`.
 * Query head h reads kv head floor(h / (hq / hkv)) (GQA; hq === hkv without it).
 *
 * The score options (ScoreFields: softcap, alibi, window, keyLengths, sinks)
 * apply in this order to s = scale · q·k, with off = S − L per batch element
 * (keyLengths[b] − L under keyLengths): softcap, ALiBi, then every mask, then
 * the sink joins the softmax. visible.ts gives the keys the masks leave.
 */
export interface AttentionProblem extends ScoreFields {
  dtype: FloatDType;
  batchShape: number[];
  batch: number;
  hq: number;
  hkv: number;
  l: number;
  s: number;
  e: number;
  ev: number;
  q: Float32Array | Float64Array;
  k: Float32Array | Float64Array;
  v: Float32Array | Float64Array;
  /** Multiplies q·k before the mask is added. */
  scale: number;
  /** Bottom-right aligned: query i sees key j iff j <= i + off (off = s − l, or keyLengths[b] − l). */
  causal: boolean;
  mask: AttentionMask | null;
  /** Probability of zeroing one attention weight; kept weights are scaled by 1/(1 - p). */
  dropoutP: number;
  seed: number;
}

/**
 * A mask already broadcast (by strides) to [batch, hq, l, s].
 * bool: 1 = attend, 0 = masked out (score −∞). additive: added to the scaled score.
 * The element for (b, h, i, j) is data[headOffset[b * hq + h] + i * rowStride + j * colStride].
 */
export interface AttentionMask {
  kind: 'bool' | 'additive';
  data: Uint8Array | Float32Array | Float64Array;
  headOffset: Int32Array;
  rowStride: number;
  colStride: number;
}

/** What a forward pass returns: output [batch, hq, l, ev] and lse [batch, hq, l] (−∞ for a fully masked row). */
export interface ForwardResult {
  output: Float64Array | Float32Array;
  lse: Float64Array;
}

/**
 * Gradients with the shapes of q, k and v (GQA: a kv head sums over its query
 * heads), and with sinks the gradient of each head's sink logit (float64, [hq]).
 */
export interface BackwardResult {
  dq: Float64Array | Float32Array;
  dk: Float64Array | Float32Array;
  dv: Float64Array | Float32Array;
  dsinks: Float64Array | null;
}

/**
 * A way to compute attention. Every backend consumes the same checked
 * AttentionProblem and returns arrays of the storage class of `p.dtype`
 * (Float64Array for float64, Float32Array otherwise) holding values already
 * rounded to `p.dtype`. `supports` says whether it takes this problem (dtype,
 * sizes, options); impl 'auto' picks the highest `priority` that does.
 * `backward` gets the forward's own output and lse (FlashAttention recomputes
 * the weights from them) and dOut with the layout of the output.
 */
export interface AttentionBackend {
  readonly name: string;
  readonly priority: number;
  /** The dtypes it takes where it is available: `supports(p)` is false for any other `p.dtype`. */
  readonly dtypes: readonly FloatDType[];
  supports(p: AttentionProblem): boolean;
  /** Why `supports(p)` is false when the reason is the problem's values (not its sizes): for the error a named impl gives. */
  refusal?(p: AttentionProblem): string | null;
  forward(p: AttentionProblem): ForwardResult;
  backward(
    p: AttentionProblem,
    output: Float64Array | Float32Array,
    lse: Float64Array,
    dOut: Float64Array | Float32Array,
  ): BackwardResult;
  /**
   * Set on a backend whose results arrive asynchronously (the GPU's): the
   * sync entry points refuse it by name and 'auto' skips it there; the async
   * ones await these. `pays(p)` says whether 'auto' should pick it for p.
   */
  readonly async?: AsyncPasses;
}

/** The passes of an asynchronous backend, as AttentionBackend's sync ones. */
export interface AsyncPasses {
  pays(p: AttentionProblem): boolean;
  forward(p: AttentionProblem): Promise<ForwardResult>;
  backward(
    p: AttentionProblem, output: Float64Array | Float32Array, lse: Float64Array, dOut: Float64Array | Float32Array,
  ): Promise<BackwardResult>;
}

/**
 * Dropout must give the same mask on every backend and in the backward pass,
 * whatever order the scores are visited in, so it is a pure function of
 * (seed, row, column) rather than a stream: a 32-bit integer hash (murmur3's
 * finaliser applied to each word in turn). row = (b * hq + h) * l + i, col = j.
 * Integer-only math, so a WebAssembly kernel can reproduce it bit for bit.
 */
export function dropoutHash(seed: number, row: number, col: number): number {
  let h = fmix32(seed ^ 0x5bd1e995);
  h = fmix32(h ^ Math.imul(row | 0, 0xcc9e2d51));
  h = fmix32(h ^ Math.imul(col | 0, 0x1b873593));
  return h;
}

function fmix32(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Whether the weight at (row, col) survives dropout with probability p of being dropped. */
export function dropoutKeeps(seed: number, row: number, col: number, p: number): boolean {
  return dropoutHash(seed, row, col) >= p * 4294967296;
}
