import { IGNORE } from '../loss.js';
import type { Batch } from './batch.js';

/**
 * The character-bigram baseline: P(next | current) from counts on the
 * training batches with add-one (Laplace) smoothing,
 *   P(b | a) = (count(a→b) + 1) / (count(a→·) + V),
 * scored as mean −ln P in nats per predicted character. A model that uses
 * more than the previous character must beat it.
 */
export class BigramModel {
  private readonly logProb: Float64Array;

  constructor(readonly vocabSize: number, training: readonly Batch[]) {
    const v = vocabSize;
    const counts = new Float64Array(v * v);
    for (const b of training) {
      for (let i = 0; i < b.ids.length; i++) if (b.targets[i] !== IGNORE) counts[b.ids[i] * v + b.targets[i]]++;
    }
    this.logProb = new Float64Array(v * v);
    for (let a = 0; a < v; a++) {
      let row = v;
      for (let c = 0; c < v; c++) row += counts[a * v + c];
      for (let c = 0; c < v; c++) this.logProb[a * v + c] = Math.log((counts[a * v + c] + 1) / row);
    }
  }

  /** Mean −ln P(target | id) over the scored positions of the batches, and how many there were. */
  loss(batches: readonly Batch[]): { nats: number; count: number } {
    let total = 0;
    let count = 0;
    for (const b of batches) {
      for (let i = 0; i < b.ids.length; i++) {
        if (b.targets[i] === IGNORE) continue;
        total -= this.logProb[b.ids[i] * this.vocabSize + b.targets[i]];
        count++;
      }
    }
    return { nats: total / count, count };
  }
}
