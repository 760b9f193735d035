import { composeExperiment, fmt, makeCheck, verdictPhrase, type Check } from '../experiment.js';
import { NEEDLE_GAP } from '../length.js';
import { TOLERANCE_SIGMAS } from '../stats.js';
import type { Row } from '../types.js';
import { lengthCharts } from './c9-charts.js';
import {
  NEEDLE_FIT_FROM, NEEDLE_NS, NEEDLE_S, RANDOM_NS, SIGMAS, SSMAX_S, SU_REFERENCE, measureLength,
  type C9Figures, type NeedlePoint, type RandomPoint,
} from './c9-measure.js';
import { lineFit } from './fits.js';

const nMax = NEEDLE_NS[NEEDLE_NS.length - 1];
const nTop = RANDOM_NS[RANDOM_NS.length - 1];
const SU_S = 1 / Math.log(SU_REFERENCE);

function needleAt(f: C9Figures, series: string, n: number): NeedlePoint {
  const p = f.needle.find((r) => r.series === series && r.n === n);
  if (!p) throw new Error(`C9: no needle point for ${series} at n = ${n}`);
  return p;
}

function randomOf(f: C9Figures, kind: RandomPoint['factorKind'], sigma: number): RandomPoint[] {
  return f.random.filter((r) => r.factorKind === kind && r.sigma === sigma);
}

function randomAt(f: C9Figures, kind: RandomPoint['factorKind'], sigma: number, n: number): RandomPoint {
  const p = randomOf(f, kind, sigma).find((r) => r.n === n);
  if (!p) throw new Error(`C9: no random point for ${kind}, σ = ${sigma} at n = ${n}`);
  return p;
}

/** The odds' log-log decay exponent of one needle series over n ≥ NEEDLE_FIT_FROM. */
function oddsSlope(f: C9Figures, series: string): number {
  const pts = f.needle.filter((r) => r.series === series && r.n >= NEEDLE_FIT_FROM);
  return lineFit(pts.map((r) => Math.log(r.n)), pts.map((r) => Math.log(r.odds))).slope;
}

/** ln n − H = a + b/n, fitted from n ≥ 10e^(σ²) where the O(e^(σ²)/n) correction is its first term; the intercept with its propagated error. */
function limitFit(f: C9Figures, sigma: number): { intercept: number; se: number } {
  const pts = randomOf(f, 'plain', sigma).filter((r) => r.n >= 10 * Math.exp(sigma * sigma));
  const xs = pts.map((r) => 1 / r.n);
  const ys = pts.map((r) => r.entropyGap);
  const fit = lineFit(xs, ys, pts.map((r) => r.seEntropyGap));
  if (!Number.isFinite(fit.intercept)) return { intercept: NaN, se: NaN };
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sxx = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
  // intercept = ȳ − slope·x̄: weights 1/m − x̄(xᵢ − x̄)/Sxx on each yᵢ.
  const propagated = Math.sqrt(pts.reduce((a, r, i) => a + (1 / pts.length - (mx * (xs[i] - mx)) / sxx) ** 2 * r.seEntropyGap ** 2, 0));
  // Not below what the residuals show (as fits.ts guards the slopes).
  const residual = pts.length >= 3 ? lineFit(xs, ys).se * Math.sqrt(sxx / pts.length + mx * mx) : 0;
  return { intercept: fit.intercept, se: Math.max(propagated, residual) };
}

/** How far H/ln n moves from Su's reference length to the longest, for one factor and σ, with its standard error. */
function relDrift(f: C9Figures, kind: RandomPoint['factorKind'], sigma: number): { value: number; se: number } {
  const [a, b] = [randomAt(f, kind, sigma, SU_REFERENCE), randomAt(f, kind, sigma, nTop)];
  return { value: b.relEntropy - a.relEntropy, se: Math.hypot(a.seRelEntropy, b.seRelEntropy) };
}

const statBasis = (what: string): string => `${TOLERANCE_SIGMAS} standard errors of ${what}, from the rows' own scatter`;

function checks(f: C9Figures): Check[] {
  const [sLow, sMid, sHigh] = NEEDLE_S;
  const [bLow, bHigh] = [oddsSlope(f, `s = ${sLow}`), oddsSlope(f, `s = ${sHigh}`)];
  const critical = sLow + ((sHigh - sLow) * bLow) / (bLow - bHigh);
  const worst = f.needle.reduce((w, r) => (r.relError / r.relBound > w.relError / w.relBound ? r : w), f.needle[0]);
  const atCritical = needleAt(f, `s = ${sMid}`, nMax);
  const su = (id: string, sigma: number): Check => {
    const [dSu, dPlain] = [relDrift(f, 'su', sigma), relDrift(f, 'plain', sigma)];
    return makeCheck({
      id, statement: `Su: multiplying the logits by ln n/ln ${SU_REFERENCE} keeps the entropy roughly invariant as n grows; for random rows of std σ = ${sigma}, H/ln n moves from n = ${SU_REFERENCE} to ${fmt(nTop)} no more than it does with no factor.`,
      quantity: `|change of H/ln n from n = ${SU_REFERENCE} to ${fmt(nTop)}| under Su's factor (${fmt(dSu.value)}), against the plain scale's (${fmt(dPlain.value)}) as the bound`,
      measured: Math.abs(dSu.value), predicted: Math.abs(dPlain.value), tolerance: TOLERANCE_SIGMAS * Math.hypot(dSu.se, dPlain.se), side: 'at-most',
      toleranceBasis: `${TOLERANCE_SIGMAS} standard errors of the two changes combined, from the rows' own scatter; "roughly invariant" is read as no worse than doing nothing, the drift the factor is meant to remove`,
    });
  };
  return [
    makeCheck({
      id: 'C9.a', kind: 'implementation', statement: `The needle is kept iff s ≥ 1/${NEEDLE_GAP}: the odds' exponent 1 − ${NEEDLE_GAP}s crosses 0 at s = 1/${NEEDLE_GAP}.`,
      quantity: `s where the odds' log-log slope (n ≥ ${NEEDLE_FIT_FROM}), measured at s = ${sLow} and s = ${sHigh}, crosses 0 (linear in s)`,
      measured: critical, predicted: 1 / NEEDLE_GAP, tolerance: 1 / (NEEDLE_GAP * (NEEDLE_FIT_FROM - 1)) + 1e-9,
      toleranceBasis: `deterministic: ln(n − 1) differs from ln n by a term whose slope in ln n is at most 1/(n − 1) = ${fmt(1 / (NEEDLE_FIT_FROM - 1))} for n ≥ ${NEEDLE_FIT_FROM}, which moves the crossing by at most that over ${NEEDLE_GAP}; plus 1e-9 for float64 rounding`,
    }),
    makeCheck({
      id: 'C9.b', kind: 'implementation', statement: 'The library\'s softmax on real needle rows (n up to 10⁶) gives the closed-form max p.',
      quantity: 'relative error of the softmax max p against the closed form, at the (n, s) where it is largest relative to its bound',
      measured: worst.relError, predicted: 0, tolerance: worst.relBound,
      toleranceBasis: 'deterministic: float64 rounding, (n + 8 + 4·gap·f)·2⁻⁵³ (γₙ for the sum of n terms, a few ulps for exp and the division, the rounding of the scaled logits)',
    }),
    makeCheck({
      id: 'C9.c', kind: 'implementation', statement: `At s = 1/${NEEDLE_GAP} the needle tends to max p = 1/2.`,
      quantity: `max p at s = ${sMid}, n = ${fmt(nMax)} (library softmax)`,
      measured: atCritical.maxProb, predicted: 0.5, tolerance: 1 / (2 * (2 * nMax - 1)) + atCritical.relBound,
      toleranceBasis: 'deterministic: the closed form\'s distance from its limit at this n, 1/(2(2n − 1)), plus float64 rounding as in C9.b',
    }),
    ...SIGMAS.map((sigma, i) => {
      const fit = limitFit(f, sigma);
      return makeCheck({
        id: `C9.${String.fromCharCode(100 + i)}`, statement: `Random rows, σ = ${sigma}: ln n − H tends to σ²/2 = ${sigma * sigma / 2} whatever n.`,
        quantity: 'intercept of ln n − H = a + b/n, fitted for n ≥ 10e^(σ²)',
        measured: fit.intercept, predicted: (sigma * sigma) / 2, tolerance: TOLERANCE_SIGMAS * fit.se, alternative: 0,
        toleranceBasis: statBasis('the intercept, propagated from each n\'s standard error, or from the residuals if larger'),
      });
    }),
    ...SIGMAS.map((sigma, i) => su(`C9.${String.fromCharCode(102 + i)}`, sigma)),
  ];
}

function meaning(f: C9Figures, c: readonly Check[]): { meaning: string; findings: string[] } {
  const [sLow, sMid, sHigh] = NEEDLE_S;
  const suName = `Su, s = 1/ln ${SU_REFERENCE}`;
  const rel = (kind: RandomPoint['factorKind'], sigma: number, n: number): string => fmt(randomAt(f, kind, sigma, n).relEntropy);
  const ssTop = randomAt(f, 'ssmax', 1, nTop);
  return {
    meaning:
      `Plain softmax gave the needle max p = ${fmt(needleAt(f, 'plain', nMax).maxProb)} at n = ${fmt(nMax)}; with logits times s·ln n its odds decay with exponent ${fmt(oddsSlope(f, `s = ${sLow}`))} at s = ${sLow} and ${fmt(oddsSlope(f, `s = ${sHigh}`))} at s = ${sHigh}, ` +
      `crossing 0 at s = 1/${NEEDLE_GAP} (${verdictPhrase(c[0])}), and at s = ${sMid} max p was ${fmt(needleAt(f, `s = ${sMid}`, nMax).maxProb, 9)} at n = ${fmt(nMax)}. ` +
      `Su's factor is s = 1/ln ${SU_REFERENCE} = ${fmt(SU_S)}, so s·Δ = ${fmt(SU_S * NEEDLE_GAP)} ${SU_S * NEEDLE_GAP < 1 ? '<' : '≥'} 1 for this gap of ${NEEDLE_GAP}: its needle went from p = ${fmt(needleAt(f, suName, 500).maxProb)} at n = 500 to ${fmt(needleAt(f, suName, nMax).maxProb)} at ${fmt(nMax)}. ` +
      `Random rows kept ln n − H → σ²/2 (${verdictPhrase(c[3])}, ${verdictPhrase(c[4])}). ` +
      `From n = ${SU_REFERENCE} to ${fmt(nTop)}, H/ln n went ${rel('su', 1, SU_REFERENCE)} → ${rel('su', 1, nTop)} under Su's factor and ${rel('plain', 1, SU_REFERENCE)} → ${rel('plain', 1, nTop)} plain at σ = 1 (${verdictPhrase(c[5])}), ` +
      `${rel('su', 2, SU_REFERENCE)} → ${rel('su', 2, nTop)} against ${rel('plain', 2, SU_REFERENCE)} → ${rel('plain', 2, nTop)} at σ = 2 (${verdictPhrase(c[6])}).`,
    findings: [
      `SSMax's factor at s = ${SSMAX_S} multiplies a σ = 1 row's std by ${fmt(ssTop.factor)} at n = ${fmt(nTop)}, past √(2 ln n) = ${fmt(Math.sqrt(2 * Math.log(nTop)))} where the σ²/2 law ends: the row is carried by a few keys (H/ln n = ${fmt(ssTop.relEntropy)}), which is what a needle needs and a diffuse head does not.`,
      `A factor s·ln n holds a needle of gap Δ iff s·Δ ≥ 1; Su's s = ${fmt(SU_S)} holds gaps Δ ≥ ${fmt(1 / SU_S)} and lets smaller ones fade, as a fixed scale does, only more slowly (odds exponent ${fmt(oddsSlope(f, suName))}).`,
    ],
  };
}

function rows(f: C9Figures): Row[] {
  return [...f.needle.map((p): Row => ({ part: 'needle', ...p })), ...f.random.map((p): Row => ({ part: 'random', ...p }))];
}

/**
 * C9. Softmax over n keys: a needle's share falls like 1/n unless its logit
 * gap grows like ln n, and random rows drift to uniform relative to ln n.
 */
export const length = composeExperiment<C9Figures>({
  id: 'C9',
  slug: 'length',
  title: 'Length dilutes attention; a factor s·ln n holds a needle of gap Δ only when s·Δ ≥ 1',
  statement:
    `A needle (one logit Δ = ${NEEDLE_GAP} above n − 1 others) loses its weight as n grows unless the logits are multiplied by s·ln n with s·Δ ≥ 1; ` +
    'random rows of fixed logit std σ keep ln n − H → σ²/2, so H/ln n → 1; Su claims his factor ln n/ln 512 keeps the entropy roughly invariant as n grows.',
  theory:
    `Plain, max p = 1/(1 + (n − 1)e^(−Δ)) → 0. With logits times s·ln n the gap becomes Δs·ln n and max p = 1/(1 + (n − 1)n^(−Δs)): ` +
    'the odds (1 − p)/p grow as n^(1 − Δs), so the needle is kept iff s·Δ ≥ 1, and at s·Δ = 1 max p → 1/2. Su\'s s = 1/ln 512 ≈ 0.16 holds only gaps Δ ≥ ln 512. ' +
    'For n iid N(0, σ²) logits, Σe^z ≈ n e^(σ²/2) and Σpz ≈ σ², so H = ln Σe^z − Σpz → ln n − σ²/2 (up to O(e^(σ²)/n)): the distance to uniform is fixed while ln n grows. ' +
    'A factor f(n) makes the std σf(n), so ln n − H grows as (σf)²/2, valid while n ≫ e^((σf)²) (drawn only there), until σf passes √(2 ln n) and a few keys take the row.',
  charts: lengthCharts,
}, {
  measure: measureLength,
  checks,
  meaning,
  rows,
  parameters: (f) => ({
    needleLengths: NEEDLE_NS, needleS: NEEDLE_S, needleFitFrom: NEEDLE_FIT_FROM, randomLengths: RANDOM_NS, sigmas: SIGMAS, ssmaxS: SSMAX_S,
    suReference: SU_REFERENCE, elementsPerRandomPoint: f.budget, minRowsPerRandomPoint: f.minRows,
  }),
});
