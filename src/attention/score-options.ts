import { ScaledotError, Tensor, formatShape } from '../tensor/index.js';
import { describeValue } from '../tensor/plain.js';

/**
 * The options real models add to plain attention (Gemma 2, gpt-oss, Mistral,
 * BLOOM, ONNX Attention), checked here so every backend receives them in one
 * normalised form. Their order on a score is a contract (docs/attention.md):
 * softcap, then ALiBi, then the masks (attnMask, isCausal, window,
 * keyLengths), then the sinks join the softmax, then dropout.
 *
 * One rule for their types: absent, `undefined` and `null` all mean off (as
 * PyTorch's None, and as attnMask and scale take it); a per-head or
 * per-element vector is a Tensor, an array of numbers or any typed array of
 * numbers (Float32Array, Float64Array, Int32Array, …). Anything else is
 * refused with its type named.
 */
export interface ScoreOptions {
  /** s = softcap · tanh(s / softcap) on the scaled scores; > 0, absent or 0 = off. */
  softcap?: number | null;
  /** Per query head (length Hq): s = s − slope[h] · |i + off − j|. Read as numbers whatever the dtype. */
  alibiSlopes?: Tensor | readonly number[] | NumberArray | null;
  /**
   * [left, right], integers >= −1 (−1 = unbounded): key j is attended only if
   * i + off − left <= j <= i + off + right. A side of S + L or more bounds
   * nothing (every |i + off − j| < S + L), so it is the same as −1.
   */
  window?: readonly [number, number] | null;
  /** Per batch element (length = product of the batch dims): keys j >= keyLengths[b] are masked, and off = keyLengths[b] − L. */
  keyLengths?: readonly number[] | NumberArray | null;
  /** Per query head (length Hq): one extra logit in the softmax denominator that carries no value. */
  sinks?: Tensor | readonly number[] | NumberArray | null;
}

/** The typed arrays a vector option takes (not the BigInt ones: their elements are not numbers). */
export type NumberArray = Float32Array | Float64Array | Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array | Uint32Array;

export const SCORE_OPTION_KEYS = ['softcap', 'alibiSlopes', 'window', 'keyLengths', 'sinks'] as const;

/** The checked form a backend reads; a field is null (softcap 0) where the option is off. */
export interface ScoreFields {
  softcap: number;
  alibi: Float64Array | null;
  /** Unbounded sides are Infinity here (the −1 of the option), so range arithmetic needs no special case. */
  window: { left: number; right: number } | null;
  keyLengths: Int32Array | null;
  sinks: Float64Array | null;
}

/** A value as a message names it: a number as itself, anything else with its type (`the string "1"`, `a Map`, `a tensor …`). */
export function describe(value: unknown): string {
  if (value instanceof Tensor) return `a tensor ${value.toString()}`;
  if (typeof value === 'number') return String(value);
  if (isNumberArray(value)) return `a ${value.constructor.name} [${Array.from(value).join(', ')}]`;
  return describeValue(value);
}

/** An array or typed array of numbers, by the rule above (elements are checked one by one afterwards). */
function isNumberArray(value: unknown): value is ArrayLike<number> {
  if (Array.isArray(value)) return true;
  return ArrayBuffer.isView(value) && !(value instanceof DataView) && !(value instanceof BigInt64Array) && !(value instanceof BigUint64Array);
}

/** A per-head vector given as a Tensor or an array, as float64 numbers; `ok` says which values are allowed. */
function perHead(fn: string, name: string, value: unknown, hq: number, ok: (x: number) => boolean, what: string): Float64Array | null {
  if (value === undefined || value === null) return null;
  let values: ArrayLike<number>;
  if (value instanceof Tensor) {
    if (value.dtype === 'bool' || value.rank !== 1) {
      throw new ScaledotError('E_SHAPE', `${fn}: ${name} is a tensor of shape ${formatShape(value.shape)} and dtype ${value.dtype}; expected a float vector of shape [${hq}] (one per query head, Hq = ${hq})`);
    }
    values = value.data;
  } else if (isNumberArray(value)) {
    values = value;
  } else {
    throw new ScaledotError('E_OPTION', `${fn}: ${name} is ${describe(value)}; expected a Tensor, an array or a typed array of ${hq} numbers (one per query head)`);
  }
  if (values.length !== hq) {
    throw new ScaledotError('E_SHAPE', `${fn}: ${name} has length ${values.length}; expected ${hq}, one per query head (Hq = ${hq})`);
  }
  const out = new Float64Array(hq);
  for (let h = 0; h < hq; h++) {
    const x = values[h];
    if (typeof x !== 'number' || !ok(x)) {
      throw new ScaledotError('E_OPTION', `${fn}: ${name}[${h}] is ${describe(x)}; expected ${what}`);
    }
    out[h] = x;
  }
  return out;
}

function checkSoftcap(fn: string, value: unknown): number {
  if (value === undefined || value === null) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ScaledotError('E_OPTION', `${fn}: softcap is ${describe(value)}; expected a finite number > 0 (0 or absent = off)`);
  }
  return value;
}

/**
 * A side of S + L or more is unbounded: every query's position i + off lies
 * in [−L, S), so no key is that far from it. Saying so here keeps every
 * backend's range arithmetic within S + L (wasm's is int32: a bound of 2³²
 * wrapped to 0 there).
 */
function checkWindow(fn: string, value: unknown, l: number, s: number): ScoreFields['window'] {
  if (value === undefined || value === null) return null;
  const bad = !Array.isArray(value) || value.length !== 2 || !value.every((x) => Number.isInteger(x) && x >= -1);
  if (bad) {
    throw new ScaledotError('E_OPTION', `${fn}: window is ${describe(value)}; expected [left, right], two integers >= -1 (-1 = unbounded on that side)`);
  }
  const side = (x: number) => (x === -1 || x >= s + l ? Infinity : x);
  const left = side(value[0] as number), right = side(value[1] as number);
  if (left === Infinity && right === Infinity) return null; // masks nothing
  return { left, right };
}

function checkKeyLengths(fn: string, value: unknown, batch: number, s: number): Int32Array | null {
  if (value === undefined || value === null) return null;
  if (!isNumberArray(value)) {
    throw new ScaledotError('E_OPTION', `${fn}: keyLengths is ${describe(value)}; expected an array or a typed array of ${batch} integers (one per batch element)`);
  }
  if (value.length !== batch) {
    throw new ScaledotError('E_SHAPE', `${fn}: keyLengths has length ${value.length}; expected ${batch}, one per batch element (the product of the batch dimensions)`);
  }
  const out = new Int32Array(batch);
  for (let b = 0; b < batch; b++) {
    const n = value[b];
    if (!Number.isInteger(n) || n < 0 || n > s) {
      throw new ScaledotError('E_OPTION', `${fn}: keyLengths[${b}] is ${describe(n)}; expected an integer in [0, S] = [0, ${s}]`);
    }
    out[b] = n;
  }
  return out;
}

/** Checks the score options against the sizes of the call (Hq heads, `batch` elements, S keys). */
export function checkScoreOptions(fn: string, o: ScoreOptions, sizes: { hq: number; batch: number; l: number; s: number }): ScoreFields {
  return {
    softcap: checkSoftcap(fn, o.softcap),
    alibi: perHead(fn, 'alibiSlopes', o.alibiSlopes, sizes.hq, Number.isFinite, 'a finite number'),
    window: checkWindow(fn, o.window, sizes.l, sizes.s),
    keyLengths: checkKeyLengths(fn, o.keyLengths, sizes.batch, sizes.s),
    // −∞ is a head without a sink; +∞ and NaN would make every weight of the head 0/0.
    sinks: perHead(fn, 'sinks', o.sinks, sizes.hq, (x) => !Number.isNaN(x) && x !== Infinity, 'a number below +Infinity'),
  };
}
