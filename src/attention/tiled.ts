import { FLOAT_DTYPES } from '../tensor/index.js';
import type { AttentionBackend } from './problem.js';
import { tiledForward } from './tiled-forward.js';
import { tiledBackward } from './tiled-backward.js';
import { tiledDecode, tiledDecodes } from './tiled-decode.js';

/**
 * impl 'tiled': FlashAttention-style blocks with an online softmax, in plain
 * TypeScript (tiled-forward.ts, tiled-backward.ts). Takes every problem the
 * reference takes (all dtypes, masks, causal, GQA, dropout) in O(N·d) memory,
 * so 'auto' prefers it to the reference; a native-speed backend outranks it.
 */
export const tiledBackend: AttentionBackend = {
  name: 'tiled',
  priority: 10,
  dtypes: FLOAT_DTYPES,
  supports: () => true,
  // A decoding step (a few query rows, no attnMask or dropout) takes the row loop of tiled-decode.ts.
  forward: (p) => (tiledDecodes(p) ? tiledDecode(p) : tiledForward(p)),
  backward: (p, output, lse, dOut) => tiledBackward(p, output, lse, dOut),
};
