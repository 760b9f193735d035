import { randn, softmax, tensor } from '../../src/index.js';
import { softmaxRowStats } from '../../src/kernels.js';
import { quantile } from '../../src/lab/index.js';

/** The knobs of section 1. */
export interface ScaleSettings {
  /** Dimension of q and k. */
  dk: number;
  /** Number of keys. */
  n: number;
  /** Scale exponent: s = dk^-a. */
  a: number;
  /** Standard deviation of every component of q and k. */
  std: number;
  seed: number;
}

/**
 * How many queries are drawn: enough for a median and a 10–90 % band, few
 * enough that the whole d_k curve (13 sizes up to 4096, 1024 keys) stays
 * interactive.
 */
export const QUERY_ROWS = 32;

/** The d_k values of the curve: 1, 2, 4, …, 4096, as in the lab. */
export const DK_GRID: readonly number[] = Array.from({ length: 13 }, (_, i) => 2 ** i);
export const MAX_DK = DK_GRID[DK_GRID.length - 1];

export interface RowStats {
  /** −Σ p ln p, in nats; ln n for a uniform row, 0 for one-hot. */
  entropy: number;
  maxProb: number;
  /** Frobenius norm of the softmax Jacobian diag(p) − p pᵀ. */
  jacobianNorm: number;
}

/** The page's figures of the softmax of one row of logits: the lab's (softmaxRowStats), so page and report agree to the last digit. */
export function rowStats(logits: ArrayLike<number>, offset = 0, n = logits.length - offset): RowStats {
  const { entropy, maxProb, jacobianNorm } = softmaxRowStats(logits, { offset, length: n });
  return { entropy, maxProb, jacobianNorm };
}

export interface ScaleSample {
  settings: ScaleSettings;
  scale: number;
  /** [QUERY_ROWS, n] row-major. */
  logits: Float64Array;
  /** softmax of each row of `logits`. */
  probs: Float64Array;
  rows: RowStats[];
  /** Standard deviation of all logits around their mean. */
  logitStd: number;
}

/** The largest n the page offers; the keys of a smaller n are the first rows of this draw. */
export const MAX_KEYS = 1024;

/**
 * The unscaled dot products q·k of every query with every key at every d_k of
 * the grid. The recipe, stated so that anyone (the browser test among them)
 * can recompute every number on the page:
 *
 *   Q = randn([32, 4096], { seed, std: σ }), K = randn([n, 4096], { seed: seed + 1, std: σ })
 *   (float64); at a given d_k, each query and key is its first d_k components.
 *
 * Using prefixes of one draw (common random numbers) makes the curves over
 * d_k smooth, and it is cheap: each dot product at d_k = 2m continues the sum
 * at d_k = m, so the whole grid costs one pass over 4096 components.
 *
 * Two facts make every control cheap after the first draw. randn(σ) is σ times
 * randn(1) element for element, so the table holds the dots of σ = 1 and a
 * logit is dot · σ² · s (equal to the recipe's up to rounding, ~1e-16
 * relative). And randn fills row by row, so the keys of n are the first n rows
 * of the keys of 1024: the table grows key by key (`growDotTable`) and never
 * recomputes a key it has, whichever way n moves.
 */
export interface DotTable {
  seed: number;
  /** How many keys have their dot products computed so far. */
  keys: number;
  /** Q of σ = 1, [QUERY_ROWS, MAX_DK]. */
  q: Float64Array;
  /** K of σ = 1, [MAX_KEYS, MAX_DK]. */
  k: Float64Array;
  /** dots[g][j * QUERY_ROWS + r] = Σ_{i < DK_GRID[g]} Q[r, i] K[j, i], summed in order of i. */
  dots: Float64Array[];
}

export function emptyDotTable(seed: number): DotTable {
  return {
    seed,
    keys: 0,
    q: randn([QUERY_ROWS, MAX_DK], { seed, dtype: 'float64' }).data as Float64Array,
    k: randn([MAX_KEYS, MAX_DK], { seed: seed + 1, dtype: 'float64' }).data as Float64Array,
    dots: DK_GRID.map(() => new Float64Array(QUERY_ROWS * MAX_KEYS)),
  };
}

/**
 * Computes the dot products of keys up to n. `stop` is asked after each key
 * (131,072 multiply-adds): when it says so, the table keeps the keys it has
 * (each is complete) and this returns false, so stale work ends early.
 */
export function growDotTable(table: DotTable, n: number, stop: () => boolean = () => false): boolean {
  const { q, k, dots } = table;
  for (let j = table.keys; j < n; j++) {
    if (stop()) return false;
    for (let r = 0; r < QUERY_ROWS; r++) {
      let dot = 0;
      let i = 0;
      for (let g = 0; g < DK_GRID.length; g++) {
        for (; i < DK_GRID[g]; i++) dot += q[r * MAX_DK + i] * k[j * MAX_DK + i];
        dots[g][j * QUERY_ROWS + r] = dot;
      }
    }
    table.keys = j + 1;
  }
  return true;
}

/** A table with the first n keys of a seed, in one go. */
export function dotTable(n: number, seed: number): DotTable {
  const table = emptyDotTable(seed);
  growDotTable(table, n);
  return table;
}

/** The logits Q Kᵀ · σ² · dk^-a of one setting and the library's softmax of each row. */
export function sampleScale(settings: ScaleSettings, table: DotTable): ScaleSample {
  const { dk, n, a, std, seed } = settings;
  const g = DK_GRID.indexOf(dk);
  if (g < 0 || n > table.keys || table.seed !== seed) {
    throw new Error(`sampleScale: no dot products for ${JSON.stringify(settings)} in this table`);
  }
  const scale = dk ** -a;
  const factor = std * std * scale;
  const dots = table.dots[g];
  const logits = new Float64Array(QUERY_ROWS * n);
  for (let r = 0; r < QUERY_ROWS; r++) {
    for (let j = 0; j < n; j++) logits[r * n + j] = dots[j * QUERY_ROWS + r] * factor;
  }
  const probs = softmax(tensor(logits, [QUERY_ROWS, n], { dtype: 'float64' }), { axis: -1 }).data as Float64Array;
  const rows: RowStats[] = [];
  for (let r = 0; r < QUERY_ROWS; r++) rows.push(rowStats(logits, r * n, n));
  return { settings, scale, logits, probs, rows, logitStd: standardDeviation(logits) };
}

function standardDeviation(x: ArrayLike<number>): number {
  let mean = 0;
  for (let i = 0; i < x.length; i++) mean += x[i];
  mean /= x.length;
  let sumSquares = 0;
  for (let i = 0; i < x.length; i++) sumSquares += (x[i] - mean) ** 2;
  return Math.sqrt(sumSquares / x.length);
}

export type StatName = keyof RowStats;

export interface CurvePoint {
  dk: number;
  stat: StatName;
  median: number;
  q10: number;
  q90: number;
  /** Query 1's value, the one whose softmax is drawn. */
  first: number;
}

/**
 * One point per d_k of the grid and per statistic: the curve the current point
 * sits on; null when `stop` says so between two d_k (stale work ends early).
 */
export function curveAgainstDk(settings: Omit<ScaleSettings, 'dk'>, table: DotTable, stop: () => boolean = () => false): CurvePoint[] | null {
  const curve: CurvePoint[] = [];
  for (const dk of DK_GRID) {
    if (stop()) return null;
    curve.push(...summarize(sampleScale({ ...settings, dk }, table)));
  }
  return curve;
}

export function summarize(sample: ScaleSample): CurvePoint[] {
  const stats: StatName[] = ['entropy', 'maxProb', 'jacobianNorm'];
  return stats.map((stat) => {
    const values = sample.rows.map((row) => row[stat]);
    return {
      dk: sample.settings.dk,
      stat,
      median: quantile(values, 0.5),
      q10: quantile(values, 0.1),
      q90: quantile(values, 0.9),
      first: values[0],
    };
  });
}
