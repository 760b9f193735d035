import { Rng, ScaledotError } from '../../tensor/index.js';
import { IGNORE } from '../loss.js';
import type { Batch } from './batch.js';

/**
 * Marked copy, a task where an attention head has nothing to do on most rows
 * (the setting in which Miller's softmax₁ argument and Gu et al. 2024 expect a
 * head to park its attention on a sink):
 *
 *   BOS s₁ s₂ s₃ MARK s₅ s₆ MARK …      targets:  ·  s₁ s₂ s₃ s₁ s₅ s₆ s₁ …
 *
 * Every sequence opens with the fixed token BOS; each later position holds a
 * random symbol, or (from position 2 on, with probability `markShare`) the
 * token MARK. At a symbol the target is that symbol (the residual stream
 * already holds it: attention has nothing to add); at a MARK the target is s₁,
 * the symbol right after BOS, which only attention can fetch. So a head that
 * copies s₁ is needed on the marked rows alone, and whatever it reads on the
 * other rows is noise added to an answer that was already right. Every
 * position but BOS is scored.
 */
export interface MarkedCopySpec {
  /** Distinct symbols (ids [0, symbols)); MARK is id `symbols`, BOS id `symbols + 1`. */
  symbols: number;
  /** Positions after BOS (sequence length is length + 1). */
  length: number;
  /** Chance that a position from 2 on is MARK. */
  markShare: number;
}

/** The marked-copy task C12 trains on: 16 symbols, 16 positions after BOS, a quarter of them (from position 2 on) marked. */
export const MARKED_COPY_DEFAULTS: MarkedCopySpec = { symbols: 16, length: 16, markShare: 0.25 };

/** Symbols, MARK and BOS. */
export function markedCopyVocabSize(spec: MarkedCopySpec): number {
  return spec.symbols + 2;
}

/** `batch` marked-copy sequences drawn from `rng`. */
export function markedCopyBatch(rng: Rng, batch: number, spec: MarkedCopySpec): Batch {
  const { symbols, length: positions, markShare } = spec;
  if (!Number.isSafeInteger(symbols) || symbols < 2) throw new ScaledotError('E_OPTION', `markedCopyBatch: symbols is ${symbols}; expected an integer >= 2`);
  if (!Number.isSafeInteger(positions) || positions < 2) throw new ScaledotError('E_OPTION', `markedCopyBatch: length is ${positions}; expected an integer >= 2 (s₁ and one position that may be marked)`);
  if (!(markShare >= 0 && markShare <= 1)) throw new ScaledotError('E_OPTION', `markedCopyBatch: markShare is ${markShare}; expected a number in [0, 1]`);
  const mark = symbols;
  const bos = symbols + 1;
  const length = positions + 1;
  const ids = new Int32Array(batch * length);
  const targets = new Int32Array(batch * length).fill(IGNORE);
  for (let b = 0; b < batch; b++) {
    const o = b * length;
    ids[o] = bos;
    const first = rng.int(symbols);
    ids[o + 1] = first;
    targets[o + 1] = first;
    for (let t = 2; t < length; t++) {
      const marked = rng.uniform() < markShare;
      ids[o + t] = marked ? mark : rng.int(symbols);
      targets[o + t] = marked ? first : ids[o + t];
    }
  }
  return { ids, targets, batch, length };
}
