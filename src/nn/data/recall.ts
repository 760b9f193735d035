import { Rng, ScaledotError } from '../../tensor/index.js';
import { IGNORE } from '../loss.js';
import { shuffled, type Batch } from './batch.js';

/**
 * Multi-query associative recall (Arora et al., Zoology): a sequence shows
 * `pairs` key–value pairs, then asks for every key again in a new order:
 *
 *   k₁ v₁ k₂ v₂ … kₙ vₙ | q₁ a₁ q₂ a₂ … qₙ aₙ      (qᵢ a key shown above, aᵢ its value)
 *
 * Only the prediction made at each qᵢ is scored (the answer aᵢ follows it in the
 * input, as in teacher forcing, but each key is asked once so no answer
 * leaks into a later question). Solving it needs attention to find the earlier
 * occurrence of qᵢ and read the token after it: the standard probe of what
 * attention can retrieve. Length = 4·pairs.
 */
export interface RecallSpec {
  /** Distinct keys (and values) in the vocabulary; must be at least `pairs`. */
  symbols: number;
  pairs: number;
}

/** Keys are ids [0, symbols), values [symbols, 2·symbols). */
export function recallVocabSize(spec: RecallSpec): number {
  return 2 * spec.symbols;
}

/** The sequence length of recall with this many pairs: 4 tokens per pair (the pair, then its question and answer). */
export function recallLength(pairs: number): number {
  return 4 * pairs;
}

/** `batch` random recall sequences drawn from `rng`, with only the answers scored (every other target is IGNORE). */
export function recallBatch(rng: Rng, batch: number, spec: RecallSpec): Batch {
  const { symbols, pairs } = spec;
  if (!Number.isSafeInteger(pairs) || pairs < 1 || pairs > symbols) {
    throw new ScaledotError('E_OPTION', `recallBatch: pairs is ${pairs}; expected an integer in [1, ${symbols}] (the number of distinct keys)`);
  }
  const length = recallLength(pairs);
  const ids = new Int32Array(batch * length);
  const targets = new Int32Array(batch * length).fill(IGNORE);
  const uniform = (): number => rng.uniform();
  const allKeys = Array.from({ length: symbols }, (_, i) => i);
  for (let b = 0; b < batch; b++) {
    const keys = shuffled(allKeys, uniform).slice(0, pairs);
    const values = keys.map(() => symbols + rng.int(symbols));
    const o = b * length;
    for (let i = 0; i < pairs; i++) {
      ids[o + 2 * i] = keys[i];
      ids[o + 2 * i + 1] = values[i];
    }
    const order = shuffled(Array.from({ length: pairs }, (_, i) => i), uniform);
    for (let j = 0; j < pairs; j++) {
      const at = o + 2 * pairs + 2 * j;
      ids[at] = keys[order[j]];
      ids[at + 1] = values[order[j]];
      targets[at] = values[order[j]];
    }
  }
  return { ids, targets, batch, length };
}
