import type { AttentionProblem } from '../problem.js';
import { referenceForwardRow } from '../reference.js';
import { endKey, firstKey, keyOffset } from '../visible.js';
import { F32_MAX } from './score-params.js';

/**
 * The rows whose float32 state cannot hold the answer, which the backend
 * redoes in float64 (reference.ts's row functions). The kernels keep, per
 * query row, a base-2 max m and a sum l; a row is out of their range when
 *   - |m| reached half of float32's range: scores the kernel clamped to
 *     ±F32_MAX (mask.ts), as a float mask of ±3e38 or the Hugging Face
 *     padding mask (−3.4e38 on every key) makes them;
 *   - l is not finite: a score overflowed to +∞ (or ∞ − ∞ = NaN) in q·k;
 *   - l = 0 although the row has a key that nothing masks: every score
 *     overflowed to −∞ in q·k, which would otherwise read as a masked row.
 * Such rows are rare: ordinary problems never reach any of these.
 */
export function stateOutOfRange(p: AttentionProblem, bh: number, i: number, m: number, l: number): boolean {
  if (!Number.isFinite(l)) return true;
  if (m !== -Infinity) return !(Math.abs(m) < F32_MAX / 2);
  return l === 0 && p.sinks === null && rowHasOpenKey(p, bh, i);
}

/** Whether query row i of head bh has a key that neither the structural masks nor attnMask hide (O(S), no dot product). */
function rowHasOpenKey(p: AttentionProblem, bh: number, i: number): boolean {
  const b = Math.floor(bh / p.hq);
  const off = keyOffset(p, b);
  const from = firstKey(p, off, i), to = endKey(p, b, off, i);
  if (to <= from) return false;
  const mask = p.mask;
  if (mask === null) return true;
  const row = mask.headOffset[bh] + i * mask.rowStride;
  for (let j = from; j < to; j++) {
    const x = mask.data[row + j * mask.colStride];
    if (mask.kind === 'bool' ? x !== 0 : x !== -Infinity) return true;
  }
  return false;
}

/** Redoes query row i of head bh in float64: its output (rounded by `round`, if given) and its lse. */
export function redoForwardRow(
  p: AttentionProblem, bh: number, i: number, output: Float32Array, lse: Float64Array, round: ((x: number) => number) | null,
): void {
  const out = new Float64Array(p.ev);
  const scratch = { weights: new Float64Array(p.s), dropScale: new Float64Array(p.s) };
  const row = bh * p.l + i;
  lse[row] = referenceForwardRow(p, Math.floor(bh / p.hq), bh % p.hq, i, out, scratch);
  for (let c = 0; c < p.ev; c++) output[row * p.ev + c] = round ? round(out[c]) : out[c];
}

/**
 * Whether the forward redid a row, from the lse it returned: the backward
 * leaves such rows to the float64 row code too. An lse past half of
 * float32's base-2 range is exactly such a row's (its max is at least that
 * large); a row whose scores all overflowed to −∞ has an lse of that size too.
 */
export function redone(lse: number): boolean {
  return lse !== -Infinity && !(Math.abs(lse * Math.LOG2E) < F32_MAX / 2);
}
