import type { LabMode, RunContext } from '../experiment.js';
import {
  NEEDLE_GAP, gaussianEntropyGap, lengthFactor, needleBySoftmax, needleClosedForm, randomRowFigures, type LengthFactor,
} from '../length.js';
import { normals } from '../sampling.js';
import { mean, standardError } from '../stats.js';

// C9's measurements, typed: needle rows (closed form beside the library's
// softmax) and random Gaussian rows under each length factor.

/** Needle lengths: 1-2-5 steps from 2 to 10⁶. */
export const NEEDLE_NS = [2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6];
/** s·ln n factors on the needle: below, at and above the critical 1/Δ. */
export const NEEDLE_S = [0.1, 0.2, 0.43];
/** The decay exponent is fitted from here on; its finite-n bias is at most 1/(n − 1) there (see C9.a). */
export const NEEDLE_FIT_FROM = 1000;
/** Random-row lengths; 512 is Su's reference length (his factor is 1 there). */
export const RANDOM_NS = [16, 64, 256, 512, 1024, 4096, 16384, 65536, 100000];
export const SU_REFERENCE = 512;
export const SIGMAS = [1, 2];
export const SSMAX_S = 0.43;
export const RANDOM_FACTORS: LengthFactor[] = [{ kind: 'plain' }, { kind: 'su' }, { kind: 'ssmax', s: SSMAX_S }];
/** Unit roundoff of float64. */
const U = 2 ** -53;

/** Short legend names, so two series are never cut to the same text. */
export function shortLabel(factor: LengthFactor): string {
  switch (factor.kind) {
    case 'plain':
      return 'plain';
    case 'su':
      return 'Su ln n/ln 512';
    case 'ssmax':
      return `${factor.s}·ln n`;
  }
}

export interface NeedlePoint {
  series: string;
  /** s of an s·ln n factor (null: plain or Su's). */
  s: number | null;
  kind: LengthFactor['kind'];
  n: number;
  factor: number;
  maxProb: number;
  gapToOneHot: number;
  odds: number;
  closedMaxProb: number;
  closedOdds: number;
  relError: number;
  relBound: number;
}

export interface RandomPoint {
  series: string;
  factorKind: LengthFactor['kind'];
  sigma: number;
  n: number;
  factor: number;
  rows: number;
  entropyGap: number;
  seEntropyGap: number;
  relEntropy: number;
  seRelEntropy: number;
  maxProb: number;
  seMaxProb: number;
}

export interface C9Figures {
  needle: NeedlePoint[];
  random: RandomPoint[];
  /** Elements per random point and the fewest rows per point. */
  budget: number;
  minRows: number;
}

export const NEEDLE_SERIES: { name: string; factor: LengthFactor; s: number | null }[] = [
  { name: 'plain', factor: { kind: 'plain' }, s: null },
  ...NEEDLE_S.map((s) => ({ name: `s = ${s}`, factor: { kind: 'ssmax', s } as LengthFactor, s })),
  { name: `Su, s = 1/ln ${SU_REFERENCE}`, factor: { kind: 'su' }, s: null },
];

/** The needle: deterministic, closed form beside the library's softmax on a real row of length n. */
function measureNeedle(): NeedlePoint[] {
  return NEEDLE_SERIES.flatMap((series) => NEEDLE_NS.map((n): NeedlePoint => {
    const f = lengthFactor(series.factor, n);
    const closed = needleClosedForm(n, f);
    const lib = needleBySoftmax(n, f);
    // Float64 rounding: γ_n for the sum of n terms, a few ulps for exp and the division, and the
    // rounding of logits up to |3f| that e^x turns into relative error.
    return {
      series: series.name, s: series.s, kind: series.factor.kind, n, factor: f,
      maxProb: lib.maxProb, gapToOneHot: lib.gapToOneHot, odds: lib.gapToOneHot / lib.maxProb,
      closedMaxProb: closed.maxProb, closedOdds: closed.odds,
      relError: Math.abs(lib.maxProb - closed.maxProb) / closed.maxProb, relBound: (n + 8 + 4 * NEEDLE_GAP * f) * U,
    };
  }));
}

export function c9Budget(mode: LabMode): { budget: number; minRows: number } {
  return mode === 'quick' ? { budget: 2 ** 15, minRows: 4 } : { budget: 2 ** 17, minRows: 6 };
}

/** Random rows: the same Gaussian draws under each factor (common random numbers). */
export function measureLength({ settings, seedFor, progress }: Pick<RunContext, 'settings' | 'seedFor' | 'progress'>): C9Figures {
  const needle = measureNeedle();
  progress(0.15);
  const { budget, minRows } = c9Budget(settings.mode);
  const random: RandomPoint[] = [];
  let done = 0;
  for (const sigma of SIGMAS) {
    for (const n of RANDOM_NS) {
      const count = Math.max(minRows, Math.round(budget / n));
      const z = normals(count, n, seedFor('rows', sigma, n), sigma);
      for (const factor of RANDOM_FACTORS) {
        const f = lengthFactor(factor, n);
        const fig = randomRowFigures(f === 1 ? z : z.map((x) => x * f), count, n);
        const gap = Array.from(fig.entropy, (h) => Math.log(n) - h);
        random.push({
          series: `${shortLabel(factor)}, σ = ${sigma}`, factorKind: factor.kind, sigma, n, factor: f, rows: count,
          entropyGap: mean(gap), seEntropyGap: standardError(gap),
          relEntropy: mean(fig.entropy) / Math.log(n), seRelEntropy: standardError(fig.entropy) / Math.log(n),
          maxProb: mean(fig.maxProb), seMaxProb: standardError(fig.maxProb),
        });
      }
      progress(0.15 + (0.85 * ++done) / (SIGMAS.length * RANDOM_NS.length));
    }
  }
  return { needle, random, budget, minRows };
}

/**
 * The leading-order law's H/ln n = 1 − (σf)²/(2 ln n), where it is valid: the
 * sum Σe^z a law of large numbers (σf < √(2 ln n)) and its O(e^((σf)²)/n)
 * correction small, n ≥ 10·e^((σf)²) (the cut C9.d–e fit from). Null elsewhere.
 */
export function validRelEntropy(sigma: number, f: number, n: number): number | null {
  const gap = gaussianEntropyGap(sigma * f, n);
  return gap === null || n < 10 * Math.exp((sigma * f) ** 2) ? null : 1 - gap / Math.log(n);
}
