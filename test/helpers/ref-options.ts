import type { AttentionOptions } from '../../src/attention/options.js';
import { dropoutKeeps } from '../../src/attention/problem.js';
import type { RefAttentionOptions } from './attention-reference.js';

/**
 * The options of the float64 test reference for a call with these library
 * options: the same mask, causal flag, scale and dropout probability, and the
 * library's dropout decision (which weights drop is its contract, not math).
 */
export function refOptions(o: AttentionOptions): RefAttentionOptions {
  const p = o.dropoutP ?? 0;
  const seed = o.seed ?? 0;
  return {
    ...(o.attnMask ? { attnMask: o.attnMask } : {}),
    isCausal: o.isCausal ?? false,
    ...(typeof o.scale === 'number' ? { scale: o.scale } : {}),
    dropoutP: p,
    keep: (row, col) => dropoutKeeps(seed, row, col, p),
  };
}
