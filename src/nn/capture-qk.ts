import type { Batch } from './data/batch.js';
import type { Transformer } from './transformer.js';

/** One layer's attention inputs on a batch: q [B, H, L, D] and k [B, H, S, D] as attention saw them, and the scale of q·k. */
export interface CapturedQueryKey {
  layer: number;
  /** q's shape. */
  shape: number[];
  /** k's shape: S differs from q's L where only the last position queries (maxretrieval). */
  kShape: number[];
  q: Float32Array;
  k: Float32Array;
  scale: number;
}

/**
 * Runs the model forward on `batch` and keeps every layer's q and k, through
 * the attention layers' onQueryKey hook: the same code path as training, no
 * second copy of the model's arithmetic.
 */
export function captureQueryKey(model: Transformer, batch: Batch): CapturedQueryKey[] {
  const captured: CapturedQueryKey[] = [];
  model.blocks.forEach((block, layer) => {
    block.attn.onQueryKey = (q, k, scale) => {
      captured.push({ layer, shape: [...q.shape], kShape: [...k.shape], q: Float32Array.from(q.data), k: Float32Array.from(k.data), scale });
    };
  });
  try {
    model.forward(batch.ids, batch.batch, batch.length);
  } finally {
    for (const block of model.blocks) block.attn.onQueryKey = null;
  }
  return captured;
}
