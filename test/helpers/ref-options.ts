import type { AttentionOptions } from '../../src/attention/options.js';
import { dropoutKeeps } from '../../src/attention/problem.js';
import { Tensor } from '../../src/tensor/index.js';
import type { RefAttentionOptions } from './attention-reference.js';

const numbers = (x: Tensor | ArrayLike<number>): number[] => Array.from(x instanceof Tensor ? x.data : x);

/**
 * The options of the float64 test reference for a call with these library
 * options: the same mask, causal flag, scale, dropout probability and model
 * options (softcap, alibiSlopes, window, keyLengths, sinks), and the library's
 * dropout decision (which weights drop is its contract, not math).
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
    ...(typeof o.softcap === 'number' ? { softcap: o.softcap } : {}),
    ...(o.alibiSlopes ? { alibiSlopes: numbers(o.alibiSlopes) } : {}),
    ...(o.window ? { window: [o.window[0], o.window[1]] as [number, number] } : {}),
    ...(o.keyLengths ? { keyLengths: numbers(o.keyLengths) } : {}),
    ...(o.sinks ? { sinks: numbers(o.sinks) } : {}),
  };
}
