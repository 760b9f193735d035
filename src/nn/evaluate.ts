import { scoredCount, type Batch } from './data/batch.js';
import { IGNORE, crossEntropy } from './loss.js';
import type { Transformer } from './transformer.js';

export interface Evaluation {
  valLoss: number;
  accuracy: number;
  /** Mean attention entropy (nats) over layers, heads and rows. */
  attnEntropy: number;
  /** Mean over layers, heads and rows of the largest attention weight in a row. */
  maxWeight: number;
  /** Last layer, over every measured row: the largest weight w's mean and standard error, and those of its odds (1 − w)/w. */
  rows: { count: number; maxWeight: number; maxWeightSe: number; topOdds: number; topOddsSe: number };
  /** Per layer and head, averaged over the measured batches: entropy, weight on key 0 (and its uniform baseline), weight on the sink. */
  heads: HeadFigures[];
}

export interface HeadFigures {
  layer: number;
  head: number;
  entropy: number;
  firstShare: number;
  firstUniform: number;
  sinkShare: number;
}

function meanAndSe(sum: number, sumSq: number, n: number): [number, number] {
  const m = sum / n;
  return [m, n > 1 ? Math.sqrt(Math.max(sumSq / n - m * m, 0) / (n - 1)) : NaN];
}

/** The targets the model's logits line up with: all positions, or (readout 'last') each sequence's last one. */
export function readoutTargets(model: Transformer, b: Batch): Int32Array {
  if (model.config.readout !== 'last') return b.targets;
  return Int32Array.from({ length: b.batch }, (_, i) => b.targets[(i + 1) * b.length - 1]);
}

/**
 * Loss (nats per scored token), top-1 accuracy and attention figures over a
 * set of batches. Attention is measured on the first batch, or on every batch
 * with `measureAll` (a set task, whose one query row per sequence is cheap).
 * `adaptive` evaluates with Veličković et al.'s adaptive temperature.
 */
export function evaluate(model: Transformer, batches: readonly Batch[], options: { measureAll?: boolean; adaptive?: boolean } = {}): Evaluation {
  let total = 0;
  let count = 0;
  let correct = 0;
  let entropy = 0;
  let maxWeight = 0;
  let measured = 0;
  const sums = { rows: 0, maxWeight: 0, maxWeightSq: 0, topOdds: 0, topOddsSq: 0 };
  let heads: HeadFigures[] = [];
  model.setAdaptiveTemperature(options.adaptive ?? false);
  try {
    batches.forEach((b, bi) => {
      const measure = bi === 0 || options.measureAll === true;
      const logits = model.forward(b.ids, b.batch, b.length, measure);
      if (measure) {
        const stats = model.attentionStats();
        entropy += stats.reduce((s, x) => s + (x?.meanEntropy ?? NaN), 0) / stats.length;
        maxWeight += stats.reduce((s, x) => s + (x?.meanMaxWeight ?? NaN), 0) / stats.length;
        measured++;
        stats.forEach((layer, li) => layer?.headEntropy.forEach((entropy, hi) => {
          const at = heads.find((x) => x.layer === li && x.head === hi) ?? heads[heads.push({ layer: li, head: hi, entropy: 0, firstShare: 0, firstUniform: 0, sinkShare: 0 }) - 1];
          at.entropy += entropy;
          at.firstShare += layer.firstShare[hi];
          at.firstUniform += layer.firstUniform[hi];
          at.sinkShare += layer.sinkShare[hi];
        }));
        const lastLayer = stats[stats.length - 1]?.rowSums;
        if (lastLayer) for (const key of Object.keys(sums) as (keyof typeof sums)[]) sums[key] += lastLayer[key];
      }
      const targets = readoutTargets(model, b);
      const scored = scoredCount({ ...b, targets });
      total += crossEntropy(logits, targets).data[0] * scored;
      count += scored;
      const v = model.config.vocabSize;
      for (let r = 0; r < targets.length; r++) {
        const t = targets[r];
        if (t === IGNORE) continue;
        let best = 0;
        for (let j = 1; j < v; j++) if (logits.data[r * v + j] > logits.data[r * v + best]) best = j;
        if (best === t) correct++;
      }
    });
  } finally {
    model.setAdaptiveTemperature(false);
  }
  heads = heads.map((x) => ({ ...x, entropy: x.entropy / measured, firstShare: x.firstShare / measured, firstUniform: x.firstUniform / measured, sinkShare: x.sinkShare / measured }));
  const [w, wSe] = meanAndSe(sums.maxWeight, sums.maxWeightSq, sums.rows);
  const [odds, oddsSe] = meanAndSe(sums.topOdds, sums.topOddsSq, sums.rows);
  return {
    valLoss: total / count, accuracy: correct / count, attnEntropy: entropy / measured, maxWeight: maxWeight / measured,
    rows: { count: sums.rows, maxWeight: w, maxWeightSe: wSe, topOdds: odds, topOddsSe: oddsSe },
    heads,
  };
}
