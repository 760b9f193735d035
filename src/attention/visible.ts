import type { AttentionProblem } from './problem.js';

/**
 * The keys a query row may see under the structural masks (isCausal, window,
 * keyLengths; attnMask aside). Each is an interval in j, so their
 * intersection is one interval [firstKey, endKey), and both ends are
 * non-decreasing in i: a block of rows sees the union [firstKey(i0),
 * endKey(i1)), which is what lets a kernel skip the key blocks outside it.
 *
 *   off = S − L  (keyLengths[b] − L under keyLengths: bottom-right aligned per element)
 *   causal:     j <= i + off
 *   window:     i + off − left <= j <= i + off + right   (an unbounded side is ∞)
 *   keyLengths: j < keyLengths[b]
 */

/** off = (keyLengths[b] ?? S) − L for batch element b. */
export function keyOffset(p: AttentionProblem, b: number): number {
  return (p.keyLengths === null ? p.s : p.keyLengths[b]) - p.l;
}

/** The first key row i of batch element b may see (0 unless a window bounds it on the left). */
export function firstKey(p: AttentionProblem, off: number, i: number): number {
  return p.window === null ? 0 : Math.max(0, i + off - p.window.left);
}

/** One past the last key row i of batch element b may see (<= firstKey when it sees none). */
export function endKey(p: AttentionProblem, b: number, off: number, i: number): number {
  let end = p.keyLengths === null ? p.s : p.keyLengths[b];
  if (p.causal) end = Math.min(end, i + off + 1);
  if (p.window !== null) end = Math.min(end, i + off + p.window.right + 1);
  return end;
}

/**
 * The query rows [start, end) of batch element b that see at least one key
 * of the block [j0, j1): the inverse of the intervals above.
 */
export function queryRangeOfKeys(p: AttentionProblem, b: number, off: number, j0: number, j1: number): [number, number] {
  const length = p.keyLengths === null ? p.s : p.keyLengths[b];
  if (j0 >= length) return [0, 0];
  let start = 0;
  let end = p.l;
  if (p.causal) start = Math.max(start, j0 - off);
  if (p.window !== null) {
    start = Math.max(start, j0 - off - p.window.right);
    end = Math.min(end, j1 - off + p.window.left);
  }
  return [start, Math.max(start, end)];
}

/** Whether any structural mask is on (a kernel may then skip work). */
export function hasKeyRanges(p: AttentionProblem): boolean {
  return p.causal || p.window !== null || p.keyLengths !== null;
}
