import type { AttentionProblem } from '../problem.js';
import { SLOT } from './abi.js';
import type { Arena } from './layout.js';

/**
 * The model options (softcap, ALiBi, window, keyLengths, sinks) as the
 * kernels read them (assembly/abi.ts, P_SOFTCAP..P_SINKS): per-head slopes
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

/** Writes the arrays and sets every slot, off ones included (slots keep the previous call's values otherwise). */
export function setScoreParams(p: AttentionProblem, params: Map<number, number>, buffer: ArrayBufferLike, r: ScoreRegions): void {
  if (p.alibi) new Float32Array(buffer, r.alibi, p.hq).set(p.alibi.map((x) => x * Math.LOG2E));
  if (p.keyLengths) new Int32Array(buffer, r.keyLengths, p.batch).set(p.keyLengths);
  if (p.sinks) new Float32Array(buffer, r.sinks, p.hq).set(p.sinks.map((x) => x * Math.LOG2E));
  const side = (x: number | undefined) => (x === undefined || x === Infinity ? -1 : x);
  params.set(SLOT.softcap, p.softcap).set(SLOT.alibi, r.alibi).set(SLOT.keyLengths, r.keyLengths).set(SLOT.sinks, r.sinks);
  params.set(SLOT.windowLeft, side(p.window?.left)).set(SLOT.windowRight, side(p.window?.right));
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
