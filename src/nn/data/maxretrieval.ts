import { Rng, ScaledotError } from '../../tensor/index.js';
import { IGNORE } from '../loss.js';
import type { Batch } from './batch.js';

/**
 * Max-retrieval (Veličković et al. 2024, "softmax is not enough"): a set of
 * `items` tokens, then a query token; the model must output the item with the
 * largest priority.
 *
 *   x₁ x₂ … xₙ ?      xᵢ = (priorityᵢ, labelᵢ) as one token id,  target at ? = the winner's id
 *
 * One winner has priority p* drawn from the top half of [0, priorities); the
 * others are drawn below p*, so the answer is unique and, as n grows, more and
 * more near-winners compete for attention. The order of the set carries no
 * information (the model reads it without positions). Length = items + 1.
 *
 * With few priority levels the winner always leads the runner-up by at least
 * one level (a lower-bounded gap, C9's needle); with many levels the top-two
 * gap shrinks as n grows, as with Veličković et al.'s continuous priorities.
 * `answer: 'label'` asks for the winner's label alone (a `labels`-way
 * readout) instead of its whole id, so the readout is not what limits accuracy.
 */
export interface MaxRetrievalSpec {
  items: number;
  priorities: number;
  labels: number;
  /** What the query position must output: the winner's id (default) or its label (class index in [0, labels)). */
  answer?: 'item' | 'label';
}

export const MAX_RETRIEVAL_DEFAULTS = { priorities: 16, labels: 8 } as const;

/** Item ids are priority·labels + label in [0, priorities·labels); the query is the last id. */
export function maxRetrievalVocabSize(spec: Pick<MaxRetrievalSpec, 'priorities' | 'labels'>): number {
  return spec.priorities * spec.labels + 1;
}

/** `batch` sets of spec.items items and their query (ids and targets [batch, items + 1]), drawn from `rng`; only the query position has a target. */
export function maxRetrievalBatch(rng: Rng, batch: number, spec: MaxRetrievalSpec): Batch {
  const { items, priorities, labels, answer = 'item' } = spec;
  if (!Number.isSafeInteger(items) || items < 1) throw new ScaledotError('E_OPTION', `maxRetrievalBatch: items is ${items}; expected a positive integer`);
  if (!Number.isSafeInteger(priorities) || priorities < 2) throw new ScaledotError('E_OPTION', `maxRetrievalBatch: priorities is ${priorities}; expected an integer >= 2`);
  const length = items + 1;
  const query = priorities * labels;
  const ids = new Int32Array(batch * length);
  const targets = new Int32Array(batch * length).fill(IGNORE);
  const half = Math.floor(priorities / 2);
  for (let b = 0; b < batch; b++) {
    const o = b * length;
    const top = half + rng.int(priorities - half);
    const winnerAt = rng.int(items);
    for (let i = 0; i < items; i++) {
      const priority = i === winnerAt ? top : rng.int(top);
      ids[o + i] = priority * labels + rng.int(labels);
    }
    ids[o + items] = query;
    targets[o + items] = answer === 'label' ? ids[o + winnerAt] % labels : ids[o + winnerAt];
  }
  return { ids, targets, batch, length };
}
