import { softmaxRowStats } from '../softmax/index.js';
import type { Data } from './autograd.js';

/** What one forward's attention rows looked like, per layer (measured outside the graph). */
export interface AttentionStats {
  /** Mean entropy (nats) over heads and rows: 0 one-hot, ln n uniform. */
  meanEntropy: number;
  /** Per head: mean entropy over its rows (batch and positions). */
  headEntropy: number[];
  /** Mean over heads and rows of the row's largest attention weight (1 one-hot, 1/n uniform). */
  meanMaxWeight: number;
  /** Over rows: count, Σ and Σ² of the largest weight w and of its odds (1 − w)/w, for standard errors across batches. */
  rowSums: { rows: number; maxWeight: number; maxWeightSq: number; topOdds: number; topOddsSq: number };
  /** The largest logit any row fed its softmax (after the scale rule). */
  maxLogit: number;
  /** Per head: mean attention on key 0 over rows that see more than one key. */
  firstShare: number[];
  /** Per head: what firstShare would be if every row were uniform over its keys (the mean of 1/keys over the same rows). */
  firstUniform: number[];
  /** Per head: mean weight on the sink (0 without one). */
  sinkShare: number[];
  /** Rows of two or more keys checked against the one-up entropy (entropyLowerBound), and how many fell below it (beyond rounding). */
  boundRows: number;
  boundViolations: number;
  /** The smallest margin H − entropyLowerBound(spread, n) over rows (nats). */
  boundMargin: number;
  /** The same against the exact minimum for the spread (exactEntropyMinimum): rows below it, and the smallest margin. */
  exactViolations: number;
  exactMargin: number;
}

/**
 * Zhai et al. 2023's lower bound: a row of n logits whose spread (max − min)
 * is β has entropy at least that of one logit at the top and n − 1 at the
 * bottom,  H_min = ln(1 + (n − 1)e^(−β)) + β(n − 1)e^(−β) / (1 + (n − 1)e^(−β)).
 */
export function entropyLowerBound(spread: number, n: number): number {
  if (n <= 1) return 0;
  const w = (n - 1) * Math.exp(-spread);
  return Math.log1p(w) + (spread * w) / (1 + w);
}

/**
 * The least entropy any row of n logits with spread β can have. ∂H/∂xⱼ =
 * −pⱼ(xⱼ − Σpx), so moving a logit away from the mean lowers H: a minimum
 * has every logit at an end of its range, k at the top and n − k at the
 * bottom, and this is the least of those n − 1 two-level rows. k = 1 (the
 * one-up row of entropyLowerBound) is the least only for large β: at n = 16,
 * β = 3 two logits at the top give 1.768 nats against one's 1.840.
 */
export function exactEntropyMinimum(spread: number, n: number): number {
  if (n <= 1) return 0;
  const e = Math.exp(-spread);
  let least = Infinity;
  for (let k = 1; k < n; k++) {
    // k at the top (weight 1 each, relative), n − k at the bottom (weight e^(−β)).
    const z = k + (n - k) * e;
    least = Math.min(least, Math.log(z) + (spread * (n - k) * e) / z);
  }
  return least;
}

/**
 * The figures of AttentionStats from logits [B, H, T, S] (−∞ where masked)
 * and an optional per-head sink logit (softmax₁: 0), which joins each row.
 */
export function attentionStats(logits: Data, shape: readonly number[], sink: ArrayLike<number> | null): AttentionStats {
  const [b, h, t, s] = shape;
  const headEntropy = new Array<number>(h).fill(0);
  const firstShare = new Array<number>(h).fill(0);
  const firstRows = new Array<number>(h).fill(0);
  const firstUniform = new Array<number>(h).fill(0);
  const sinkShare = new Array<number>(h).fill(0);
  let maxLogit = -Infinity;
  let maxWeight = 0;
  const rowSums = { rows: 0, maxWeight: 0, maxWeightSq: 0, topOdds: 0, topOddsSq: 0 };
  let violations = 0;
  let boundRows = 0;
  let exactViolations = 0;
  let exactMargin = Infinity;
  let margin = Infinity;
  for (let r = 0; r < b * h * t; r++) {
    const head = Math.floor(r / t) % h;
    const o = r * s;
    const bias = sink === null ? -Infinity : sink[head];
    const row = softmaxRowStats(logits, { offset: o, length: s, sink: bias });
    // A sink is one more logit of the row for the spread and the bounds; it cannot be the first key.
    let hi = bias;
    let lo = sink === null ? Infinity : bias;
    for (let j = 0; j < s; j++) {
      const x = logits[o + j];
      if (x === -Infinity) continue;
      if (x > hi) hi = x;
      if (x < lo) lo = x;
      if (x > maxLogit) maxLogit = x;
    }
    const live = row.keys + (sink === null ? 0 : 1);
    if (live === 0) continue;
    if (row.keys > 0) {
      maxWeight += row.maxProb;
      rowSums.rows++;
      rowSums.maxWeight += row.maxProb;
      rowSums.maxWeightSq += row.maxProb * row.maxProb;
      rowSums.topOdds += row.topOdds;
      rowSums.topOddsSq += row.topOdds * row.topOdds;
    }
    headEntropy[head] += row.entropy;
    if (bias !== -Infinity) sinkShare[head] += row.sinkWeight;
    if (row.keys > 1 && logits[o] !== -Infinity) {
      firstShare[head] += Math.exp(logits[o] - row.lse);
      firstUniform[head] += 1 / row.keys;
      firstRows[head]++;
    }
    // A row of one key has H = 0 = its bound: nothing to check there.
    if (live > 1) {
      const entropy = row.entropy;
      const gap = entropy - entropyLowerBound(hi - lo, live);
      if (gap < margin) margin = gap;
      boundRows++;
      // Rounding of H (a sum of `live` terms of size up to |x − m|) allows a few ulps per term.
      const rounding = 1e-12 * live * (1 + hi - lo);
      if (gap < -rounding) violations++;
      const exact = entropy - exactEntropyMinimum(hi - lo, live);
      if (exact < exactMargin) exactMargin = exact;
      if (exact < -rounding) exactViolations++;
    }
  }
  const perHead = b * t;
  const he = headEntropy.map((x) => x / perHead);
  return {
    meanEntropy: he.reduce((a, x) => a + x, 0) / h,
    meanMaxWeight: maxWeight / (b * h * t),
    rowSums,
    headEntropy: he,
    maxLogit,
    firstShare: firstShare.map((x, i) => (firstRows[i] > 0 ? x / firstRows[i] : 0)),
    firstUniform: firstUniform.map((x, i) => (firstRows[i] > 0 ? x / firstRows[i] : 0)),
    sinkShare: sinkShare.map((x) => x / perHead),
    boundRows,
    exactViolations,
    exactMargin,
    boundViolations: violations,
    boundMargin: margin,
  };
}
