import { IGNORE } from '../loss.js';

/**
 * Token ids [batch, length] and, for each position, the id the model should
 * predict next there (IGNORE where nothing is scored).
 */
export interface Batch {
  ids: Int32Array;
  targets: Int32Array;
  batch: number;
  length: number;
  /** Where sequences are padded to `length`: each one's tokens before its padding. */
  lengths?: Int32Array;
}

/** How many positions of a batch are scored. */
export function scoredCount(b: Batch): number {
  let n = 0;
  for (const t of b.targets) if (t !== IGNORE) n++;
  return n;
}

/** A seeded Fisher–Yates shuffle of a copy. */
export function shuffled<T>(items: readonly T[], uniform: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(uniform() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
