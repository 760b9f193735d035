import { curveAgainstDk, emptyDotTable, growDotTable, sampleScale, summarize, type CurvePoint, type DotTable, type ScaleSettings, type StatName } from './scale-stats.js';

/** At most this many bars: past it a bar is thinner than a pixel on a phone. */
export const MAX_BARS = 64;

/** About this many histogram bins, on round boundaries. */
const TARGET_BINS = 40;

export interface HistogramBin {
  start: number;
  end: number;
  count: number;
}

/**
 * Everything section 1 draws for one setting, small enough to post from a
 * worker: the 32 × n logits arrive as ~40 bins, the softmax of query 1 as its
 * MAX_BARS largest probabilities.
 */
export interface ScaleView {
  settings: ScaleSettings;
  figures: {
    scale: number;
    logitStd: number;
    /** σ²·d_k^(1/2 − a): Var(q·k) = d_k σ⁴ for independent components, times s² = d_k^−2a. */
    theoryStd: number;
    entropyMax: number;
    entropy: number;
    maxProb: number;
    jacobianNorm: number;
  };
  bins: HistogramBin[];
  /** How many logits the histogram counts (QUERY_ROWS · n). */
  logitCount: number;
  /** Query 1's largest probabilities, largest first; `rank` is the position. */
  probs: { key: number; p: number; rank: number }[];
  curve: CurvePoint[];
  current: CurvePoint[];
  uniform: Record<StatName, number>;
}

/**
 * The worker's state: one dot table per seed, grown as n grows, and the
 * d_k curve of the last (n, a, σ, seed), which moving d_k alone does not change.
 * A view comes in two parts so the figures need not wait for the curve:
 * `sample` (the current d_k, one softmax of 32 × n) and then, when the
 * settings changed it, `curve` (13 of them).
 */
export class ScaleModel {
  private table: DotTable | null = null;
  private curveKey = '';
  private curve: CurvePoint[] = [];

  /** The view of `settings` with the curve when it is known (else `curve` is null), or null when `stop` said so. */
  sample(settings: ScaleSettings, stop: () => boolean = () => false): (Omit<ScaleView, 'curve'> & { curve: CurvePoint[] | null }) | null {
    if (this.table === null || this.table.seed !== settings.seed) {
      this.table = emptyDotTable(settings.seed);
      this.curveKey = '';
    }
    if (!growDotTable(this.table, settings.n, stop)) return null;
    return scaleView(settings, this.table, curveKey(settings) === this.curveKey ? this.curve : null);
  }

  /** The d_k curve of `settings` (after `sample` of the same settings), or null when `stop` said so between two d_k. */
  curveOf(settings: ScaleSettings, stop: () => boolean = () => false): CurvePoint[] | null {
    const key = curveKey(settings);
    if (key !== this.curveKey) {
      if (this.table === null) throw new Error('ScaleModel.curveOf: no table yet; call sample first');
      const curve = curveAgainstDk(settings, this.table, stop);
      if (curve === null) return null;
      this.curve = curve;
      this.curveKey = key;
    }
    return this.curve;
  }

  /** Both parts at once (for Node and tests). */
  view(settings: ScaleSettings): ScaleView {
    const sample = this.sample(settings)!;
    return { ...sample, curve: this.curveOf(settings)! };
  }
}

function curveKey(settings: ScaleSettings): string {
  return JSON.stringify([settings.n, settings.a, settings.std, settings.seed]);
}

function scaleView<C>(settings: ScaleSettings, table: DotTable, curve: C): Omit<ScaleView, 'curve'> & { curve: C } {
  const sample = sampleScale(settings, table);
  const first = sample.rows[0];
  const n = settings.n;
  const probs = Array.from(sample.probs.subarray(0, n), (p, key) => ({ key, p }))
    .sort((x, y) => y.p - x.p)
    .slice(0, MAX_BARS)
    .map((row, rank) => ({ ...row, rank }));
  return {
    settings,
    figures: {
      scale: sample.scale,
      logitStd: sample.logitStd,
      theoryStd: settings.std ** 2 * settings.dk ** (0.5 - settings.a),
      entropyMax: Math.log(n),
      entropy: first.entropy,
      maxProb: first.maxProb,
      jacobianNorm: first.jacobianNorm,
    },
    bins: histogram(sample.logits),
    logitCount: sample.logits.length,
    probs,
    curve,
    current: summarize(sample),
    uniform: { entropy: Math.log(n), maxProb: 1 / n, jacobianNorm: Math.sqrt(1 / n - 1 / n ** 2) },
  };
}

/** Counts of x in bins of a round width (1, 2 or 5 × 10^k) that cover its range in about TARGET_BINS steps. */
export function histogram(x: ArrayLike<number>): HistogramBin[] {
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) {
    min = Math.min(min, x[i]);
    max = Math.max(max, x[i]);
  }
  if (!(max >= min)) return [];
  const width = max > min ? roundStep((max - min) / TARGET_BINS) : Math.max(Math.abs(min), 1) * 1e-3;
  // A range too narrow for a round width (subnormal spreads): one bin over all of it.
  if (!(width > 0) || !Number.isFinite(min / width) || !Number.isFinite(max / width)) return [{ start: min, end: max, count: x.length }];
  const first = Math.floor(min / width);
  const counts = new Array<number>(Math.floor(max / width) - first + 1).fill(0);
  for (let i = 0; i < x.length; i++) counts[Math.max(0, Math.min(counts.length - 1, Math.floor(x[i] / width) - first))]++;
  return counts.map((count, b) => ({ start: (first + b) * width, end: (first + b + 1) * width, count }));
}

/** The smallest of 1, 2 or 5 times a power of ten that is at least x. */
function roundStep(x: number): number {
  const power = 10 ** Math.floor(Math.log10(x));
  const mantissa = x / power;
  return (mantissa <= 1 ? 1 : mantissa <= 2 ? 2 : mantissa <= 5 ? 5 : 10) * power;
}
