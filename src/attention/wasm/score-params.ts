import type { AttentionProblem } from '../problem.js';
import type { ForwardParams, SharedParams } from './abi.js';
import type { Arena } from './layout.js';

/**
 * The model options (softcap, ALiBi, window, keyLengths, sinks) as the
 * kernels read them (PARAMS softcap..sinks in abi.ts): per-head slopes
 * and sinks pre-multiplied by log2(e), since the kernels work on base-2
 * scores; an unbounded window side as −1; arrays by pointer, 0 when off.
 */
export interface ScoreRegions {
  alibi: number;
  keyLengths: number;
  sinks: number;
}

export function takeScoreRegions(arena: Arena, p: AttentionProblem): ScoreRegions {
  return {
    alibi: p.alibi ? arena.take(p.hq * 4) : 0,
    keyLengths: p.keyLengths ? arena.take(p.batch * 4) : 0,
    sinks: p.sinks ? arena.take(p.hq * 4) : 0,
  };
}

/** The option slots both passes read. */
export type ScoreParams = Pick<SharedParams, 'softcap' | 'alibi' | 'windowLeft' | 'windowRight' | 'keyLengths'>;

/**
 * Writes the arrays into their regions and gives every option's slot value,
 * off ones included (a slot keeps the previous call's value otherwise); the
 * sinks only the forward's kernels read.
 */
export function scoreParams(p: AttentionProblem, buffer: ArrayBufferLike, r: ScoreRegions): { shared: ScoreParams; sinks: ForwardParams['sinks'] } {
  if (p.alibi) new Float32Array(buffer, r.alibi, p.hq).set(p.alibi.map((x) => x * Math.LOG2E));
  if (p.keyLengths) new Int32Array(buffer, r.keyLengths, p.batch).set(p.keyLengths);
  if (p.sinks) new Float32Array(buffer, r.sinks, p.hq).set(p.sinks.map((x) => x * Math.LOG2E));
  const side = (x: number | undefined) => (x === undefined || x === Infinity ? -1 : x);
  return {
    shared: {
      softcap: p.softcap, alibi: r.alibi, keyLengths: r.keyLengths,
      windowLeft: side(p.window?.left), windowRight: side(p.window?.right),
    },
    sinks: r.sinks,
  };
}

/** The largest float32, and the smallest normal one. */
export const F32_MAX = 3.4028234663852886e38;
const F32_MIN_NORMAL = 2 ** -126;

/**
 * Why the kernels cannot take p's option values, or null. They hold scores
 * in base 2 (s · log2 e) in float32, so a value whose base-2 form overflows
 * (|x| past F32_MAX / log2 e ≈ 2.36e38) would turn into ±∞ and then NaN
 * (∞ − ∞); a softcap below float32's normals rounds to 0 or loses its bits.
 * These are options, known before any work: 'auto' takes another backend
 * (tiled computes in float64). Values in the data (a mask of −3.4e38, the
 * Hugging Face padding) are clamped in the kernel instead (mask.ts) and the
 * rows they reach are redone in float64 (backend.ts).
 */
export function float32Refusal(p: AttentionProblem): string | null {
  const overflows = (x: number) => !Number.isFinite(Math.fround(x * Math.LOG2E));
  if (overflows(p.scale)) return `scale ${p.scale}: its float32 kernels hold scale · log2(e), which overflows past ±2.36e38`;
  if (p.softcap > 0 && (overflows(p.softcap) || Math.fround(p.softcap) < F32_MIN_NORMAL)) {
    return `softcap ${p.softcap}: its float32 kernels take a softcap in [1.2e-38, 2.36e38] (a normal float32 whose base-2 form is finite)`;
  }
  const reach = p.s + p.l; // the largest |i + off − j| is below S + L
  const slope = p.alibi?.find((x) => overflows(x * reach));
  if (slope !== undefined) return `alibiSlopes value ${slope}: its float32 kernels hold slope · |i + off − j| · log2(e), which overflows past ±2.36e38 at distances up to ${reach}`;
  const sink = p.sinks?.find((x) => x !== -Infinity && overflows(x));
  if (sink !== undefined) return `sinks value ${sink}: its float32 kernels hold the sink times log2(e), which overflows past ±2.36e38`;
  return null;
}

/**
 * dσ_h = −Σ over rows of head h of exp(σ_h − lse) · D (D = rowsum(dO ∘ O)):
 * the sink carries no value, so its gradient needs only what the forward kept.
 * The kernels' lse passes through float32, so a huge sink (1e30) and its lse
 * may differ by more than the exponent can take: the weight is clamped to
 * its bound 1 (else ∞ · 0 = NaN where D = 0).
 */
export function sinkGradient(p: AttentionProblem, lse: Float64Array, rowD: (row: number) => number): Float64Array | null {
  if (!p.sinks) return null;
  const dsinks = new Float64Array(p.hq);
  for (let bh = 0; bh < p.batch * p.hq; bh++) {
    const h = bh % p.hq;
    const sink = p.sinks[h];
    if (sink === -Infinity) continue;
    for (let i = 0; i < p.l; i++) dsinks[h] -= Math.min(1, Math.exp(sink - lse[bh * p.l + i])) * rowD(bh * p.l + i);
  }
  return dsinks;
}
