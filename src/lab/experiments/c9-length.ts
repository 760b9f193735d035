import { fmt, makeCheck, verdictPhrase, type Check, type ClaimResult, type Experiment } from '../experiment.js';
import type { Row } from '../types.js';
import { measuredVsTheoryChart } from '../charts.js';
import {
  NEEDLE_GAP, factorLabel, gaussianEntropyGap, lengthFactor, needleBySoftmax, needleClosedForm, randomRowFigures, type LengthFactor,
} from '../length.js';
import { normals } from '../sampling.js';
import { mean, standardError, TOLERANCE_SIGMAS } from '../stats.js';
import { lineFit } from './fits.js';

/** Needle lengths: 1-2-5 steps from 2 to 10⁶. */
const NEEDLE_NS = [2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6];
const NEEDLE_S = [0.1, 0.2, 0.43];
/** The decay exponent is fitted from here on; its finite-n bias is at most 1/(n − 1) there (see C9.a). */
const NEEDLE_FIT_FROM = 1000;
const RANDOM_NS = [16, 64, 256, 1024, 4096, 16384, 65536, 100000];
const SIGMAS = [1, 2];
const SSMAX_S = 0.43;
const FACTORS: LengthFactor[] = [{ kind: 'plain' }, { kind: 'su' }, { kind: 'ssmax', s: SSMAX_S }];
/** Unit roundoff of float64. */
const U = 2 ** -53;

/**
 * C9. Softmax over n keys: a needle's share falls like 1/n unless its logit
 * gap grows like ln n, and random rows drift to uniform relative to ln n.
 */
export const length: Experiment = {
  id: 'C9',
  slug: 'length',
  title: 'Length dilutes attention; a log-n factor holds it',
  statement:
    `A needle (one logit ${NEEDLE_GAP} above n − 1 others) loses its weight as n grows unless the logits are multiplied by s·ln n with s ≥ 1/${NEEDLE_GAP}; ` +
    'random rows of fixed logit std σ keep ln n − H → σ²/2, so H/ln n → 1.',
  theory:
    `Plain, max p = 1/(1 + (n − 1)e^(−${NEEDLE_GAP})) → 0. With logits times s·ln n the gap becomes ${NEEDLE_GAP}s·ln n and max p = 1/(1 + (n − 1)n^(−${NEEDLE_GAP}s)): ` +
    `the odds (1 − p)/p grow as n^(1 − ${NEEDLE_GAP}s), so the needle is kept iff s ≥ 1/${NEEDLE_GAP}, and at s = 1/${NEEDLE_GAP} max p → 1/2. ` +
    'For n iid N(0, σ²) logits, Σe^z ≈ n e^(σ²/2) and Σpz ≈ σ², so H = ln Σe^z − Σpz → ln n − σ²/2 (up to O(e^(σ²)/n)): the distance to uniform is fixed while ln n grows. ' +
    'A factor f(n) on the logits makes the std σf(n): Su\'s ln n/ln 512 and SSMax\'s s·ln n make ln n − H grow as (σ f)²/2, until σf passes √(2 ln n) and a few keys take the row.',
  run({ settings, seedFor, progress }) {
    const rows: Row[] = [];
    // The needle: deterministic, closed form beside the library's softmax on a real row of length n.
    const needleSeries: { name: string; factor: LengthFactor; s: number | null }[] = [
      { name: 'plain', factor: { kind: 'plain' }, s: null },
      ...NEEDLE_S.map((s) => ({ name: `s = ${s}`, factor: { kind: 'ssmax', s } as LengthFactor, s })),
    ];
    // The (n, s) whose error is largest relative to its rounding bound decides C9.b.
    let worst = { relError: NaN, relBound: NaN, ratio: -1 };
    for (const series of needleSeries) {
      for (const n of NEEDLE_NS) {
        const f = lengthFactor(series.factor, n);
        const closed = needleClosedForm(n, f);
        const lib = needleBySoftmax(n, f);
        const relError = Math.abs(lib.maxProb - closed.maxProb) / closed.maxProb;
        // Float64 rounding: γ_n for the sum of n terms, a few ulps for exp and the division, and the
        // rounding of logits up to |3f| that e^x turns into relative error.
        const relBound = (n + 8 + 4 * NEEDLE_GAP * f) * U;
        if (!(relError / relBound <= worst.ratio)) worst = { relError, relBound, ratio: relError / relBound };
        rows.push({
          part: 'needle', series: series.name, s: series.s, n, factor: f,
          maxProb: lib.maxProb, gapToOneHot: lib.gapToOneHot, odds: lib.gapToOneHot / lib.maxProb,
          closedMaxProb: closed.maxProb, closedOdds: closed.odds, relError, relBound,
        });
      }
    }
    progress(0.15);

    // The decay exponent of the odds for the s that bracket 1/5, and where the line through them crosses 0.
    const oddsSlope = (name: string): ReturnType<typeof lineFit> => {
      const pts = rows.filter((r) => r.part === 'needle' && r.series === name && (r.n as number) >= NEEDLE_FIT_FROM);
      return lineFit(pts.map((r) => Math.log(r.n as number)), pts.map((r) => Math.log(r.odds as number)));
    };
    const [sLow, sMid, sHigh] = NEEDLE_S;
    const bLow = oddsSlope(`s = ${sLow}`).slope;
    const bHigh = oddsSlope(`s = ${sHigh}`).slope;
    const critical = sLow + ((sHigh - sLow) * bLow) / (bLow - bHigh);
    // ln(n − 1) = ln n + ln(1 − 1/n): a least-squares slope is a weighted mean of pairwise slopes, so this
    // term moves each fitted slope by at most 1/(n_min − 1), the same for both s; the crossing moves by ≤ that over 5.
    const criticalTol = 1 / (NEEDLE_GAP * (NEEDLE_FIT_FROM - 1)) + 1e-9;
    const nMax = NEEDLE_NS[NEEDLE_NS.length - 1];
    const atCritical = rows.find((r) => r.part === 'needle' && r.series === `s = ${sMid}` && r.n === nMax) as Row;
    const plainTop = rows.find((r) => r.part === 'needle' && r.series === 'plain' && r.n === nMax) as Row;

    // Random rows: the same Gaussian draws under each factor (common random numbers).
    const budget = settings.mode === 'quick' ? 2 ** 15 : 2 ** 17;
    const minRows = settings.mode === 'quick' ? 4 : 6;
    let done = 0;
    for (const sigma of SIGMAS) {
      for (const n of RANDOM_NS) {
        const count = Math.max(minRows, Math.round(budget / n));
        const z = normals(count, n, seedFor('rows', sigma, n), sigma);
        for (const factor of FACTORS) {
          const f = lengthFactor(factor, n);
          const fig = randomRowFigures(f === 1 ? z : z.map((x) => x * f), count, n);
          const gap = Array.from(fig.entropy, (h) => Math.log(n) - h);
          const theoryGap = gaussianEntropyGap(sigma * f, n);
          rows.push({
            part: 'random', series: `${factorLabel(factor)}, σ = ${sigma}`, factorKind: factor.kind, sigma, n, factor: f, rows: count,
            entropyGap: mean(gap), seEntropyGap: standardError(gap),
            relEntropy: mean(fig.entropy) / Math.log(n), seRelEntropy: standardError(fig.entropy) / Math.log(n),
            maxProb: mean(fig.maxProb), seMaxProb: standardError(fig.maxProb),
            theoryEntropyGap: theoryGap, theoryRelEntropy: theoryGap === null ? null : 1 - theoryGap / Math.log(n),
          });
        }
        progress(0.15 + (0.85 * ++done) / (SIGMAS.length * RANDOM_NS.length));
      }
    }
    const randomOf = (kind: string, sigma: number): Row[] => rows.filter((r) => r.part === 'random' && r.factorKind === kind && r.sigma === sigma);
    // ln n − H = a + b/n from n ≥ 10 e^(σ²), where the O(e^(σ²)/n) correction is small enough to be its first term.
    const limitFit = (sigma: number): ReturnType<typeof lineFit> => {
      const pts = randomOf('plain', sigma).filter((r) => (r.n as number) >= 10 * Math.exp(sigma * sigma));
      return lineFit(pts.map((r) => 1 / (r.n as number)), pts.map((r) => r.entropyGap as number), pts.map((r) => r.seEntropyGap as number));
    };
    const fits = SIGMAS.map(limitFit);
    const nTop = RANDOM_NS[RANDOM_NS.length - 1];
    const top = (kind: string, sigma: number): Row => randomOf(kind, sigma).find((r) => r.n === nTop) as Row;
    const suTop = top('su', 1);
    const statBasis = (what: string): string => `${TOLERANCE_SIGMAS} standard errors of ${what}, from the rows' own scatter`;

    const checks: Check[] = [
      makeCheck({
        id: 'C9.a', statement: `The needle is kept iff s ≥ 1/${NEEDLE_GAP}: the odds' exponent 1 − ${NEEDLE_GAP}s crosses 0 at s = 1/${NEEDLE_GAP}.`,
        quantity: `s where the odds' log-log slope (n ≥ ${NEEDLE_FIT_FROM}), measured at s = ${sLow} and s = ${sHigh}, crosses 0 (linear in s)`,
        measured: critical, predicted: 1 / NEEDLE_GAP, tolerance: criticalTol,
        toleranceBasis: `deterministic: ln(n − 1) differs from ln n by a term whose slope in ln n is at most 1/(n − 1) = ${fmt(1 / (NEEDLE_FIT_FROM - 1))} for n ≥ ${NEEDLE_FIT_FROM}, which moves the crossing by at most that over ${NEEDLE_GAP}; plus 1e-9 for float64 rounding`,
      }),
      makeCheck({
        id: 'C9.b', statement: 'The library\'s softmax on real needle rows (n up to 10⁶) gives the closed-form max p.',
        quantity: 'relative error of the softmax max p against the closed form, at the (n, s) where it is largest relative to its bound',
        measured: worst.relError, predicted: 0, tolerance: worst.relBound,
        toleranceBasis: 'deterministic: float64 rounding, (n + 8 + 4·gap·f)·2⁻⁵³ (γₙ for the sum of n terms, a few ulps for exp and the division, the rounding of the scaled logits); adding n − 1 equal small terms to 1 rounds the same way each time, so near max p = 1 the error comes close to this bound',
      }),
      makeCheck({
        id: 'C9.c', statement: `At s = 1/${NEEDLE_GAP} the needle tends to max p = 1/2.`,
        quantity: `max p at s = ${sMid}, n = ${fmt(nMax)} (library softmax)`,
        measured: atCritical.maxProb as number, predicted: 0.5, tolerance: 1 / (2 * (2 * nMax - 1)) + (atCritical.relBound as number),
        toleranceBasis: 'deterministic: the closed form\'s distance from its limit at this n, n/(2n − 1) − 1/2 = 1/(2(2n − 1)), plus float64 rounding as in C9.b',
      }),
      ...SIGMAS.map((sigma, i) => makeCheck({
        id: `C9.${String.fromCharCode(100 + i)}`, statement: `Random rows, σ = ${sigma}: ln n − H tends to σ²/2 = ${sigma * sigma / 2} whatever n.`,
        quantity: `intercept of ln n − H = a + b/n, fitted for n ≥ 10e^(σ²)`,
        measured: fits[i].intercept, predicted: (sigma * sigma) / 2, tolerance: TOLERANCE_SIGMAS * interceptSe(randomOf('plain', sigma), sigma),
        toleranceBasis: statBasis('the intercept, propagated from each n\'s standard error'), alternative: 0,
      })),
      makeCheck({
        id: 'C9.f', statement: 'Su\'s factor ln n/ln 512 multiplies the logit std, so ln n − H follows (σ·ln n/ln 512)²/2 instead of σ²/2.',
        quantity: `ln n − H at n = ${fmt(nTop)}, σ = 1, logits times ln n/ln 512`,
        measured: suTop.entropyGap as number, predicted: suTop.theoryEntropyGap as number, tolerance: TOLERANCE_SIGMAS * (suTop.seEntropyGap as number),
        toleranceBasis: statBasis('the mean'), alternative: 0.5,
      }),
    ];
    const plainTopRandom = top('plain', 1);
    const ssTop = top('ssmax', 1);
    return {
      checks,
      rows,
      meaning:
        `Plain softmax gave the needle max p = ${fmt(plainTop.maxProb as number)} at n = ${fmt(nMax)}; with logits times s·ln n its odds decay with exponent ${fmt(bLow)} at s = ${sLow} and ${fmt(bHigh)} at s = ${sHigh}, ` +
        `crossing 0 at s = ${fmt(critical, 5)} (1/${NEEDLE_GAP} predicted; ${verdictPhrase(checks[0])}), and at s = ${sMid} max p was ${fmt(atCritical.maxProb as number, 9)} at n = ${fmt(nMax)}. ` +
        `Random rows kept ln n − H → ${fmt(fits[0].intercept)} for σ = 1 and ${fmt(fits[1].intercept)} for σ = 2 (σ²/2 predicted; ${verdictPhrase(checks[3])}, ${verdictPhrase(checks[4])}), so H/ln n rose to ${fmt(plainTopRandom.relEntropy as number)} at n = ${fmt(nTop)} (σ = 1). ` +
        `Su's factor lowered it to ${fmt(suTop.relEntropy as number)} and SSMax's (s = ${SSMAX_S}) to ${fmt(ssTop.relEntropy as number)}, with mean max p ${fmt(plainTopRandom.maxProb as number)} plain, ${fmt(suTop.maxProb as number)} and ${fmt(ssTop.maxProb as number)}.`,
      findings: [
        `SSMax's factor at s = ${SSMAX_S} multiplies a σ = 1 row's std by ${fmt(ssTop.factor as number)} at n = ${fmt(nTop)}, past √(2 ln n) = ${fmt(Math.sqrt(2 * Math.log(nTop)))} where the σ²/2 law ends: the row is carried by a few keys (H/ln n = ${fmt(ssTop.relEntropy as number)}), which is what a needle needs and a diffuse head does not.`,
      ],
      parameters: {
        needleLengths: NEEDLE_NS, needleS: NEEDLE_S, needleFitFrom: NEEDLE_FIT_FROM, randomLengths: RANDOM_NS, sigmas: SIGMAS, ssmaxS: SSMAX_S,
        elementsPerRandomPoint: budget, minRowsPerRandomPoint: minRows,
      },
    };
  },
  charts(claim: ClaimResult) {
    const needle = claim.rows.filter((r) => r.part === 'needle');
    const random = claim.rows.filter((r) => r.part === 'random');
    const common = { width: 330, height: 230 };
    return [
      measuredVsTheoryChart({
        ...common, title: 'Needle: max p against length', series: 'series', seriesTitle: 'logits',
        x: { field: 'n', title: 'keys n', log: true }, y: { field: 'maxProb', title: 'max p (needle)', domain: [0, 1] },
        points: needle, theory: needle.map((r) => ({ n: r.n, maxProb: r.closedMaxProb, series: r.series })),
      }),
      measuredVsTheoryChart({
        ...common, title: 'Random rows: H / ln n', series: 'series', seriesTitle: 'factor, σ', subtitle: 'dashed: 1 − (σf)²/(2 ln n) while σf < √(2 ln n)',
        x: { field: 'n', title: 'keys n', log: true }, y: { field: 'relEntropy', title: 'H / ln n', domain: [0, 1] },
        points: random, theory: random.filter((r) => r.theoryRelEntropy !== null).map((r) => ({ n: r.n, relEntropy: r.theoryRelEntropy, series: r.series })),
      }),
      measuredVsTheoryChart({
        ...common, title: 'Random rows: mean max p', series: 'series', seriesTitle: 'factor, σ', connect: true,
        x: { field: 'n', title: 'keys n', log: true }, y: { field: 'maxProb', title: 'mean max p', log: true },
        points: random,
      }),
    ];
  },
};

/** The standard error of the limit fit's intercept, propagated from each point's error (as lineFit's slope error is). */
function interceptSe(points: Row[], sigma: number): number {
  const pts = points.filter((r) => (r.n as number) >= 10 * Math.exp(sigma * sigma));
  const xs = pts.map((r) => 1 / (r.n as number));
  const fit = lineFit(xs, pts.map((r) => r.entropyGap as number), pts.map((r) => r.seEntropyGap as number));
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sxx = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
  // intercept = ȳ − slope·x̄: weights 1/m − x̄(xᵢ − x̄)/Sxx on each yᵢ.
  const propagated = Math.sqrt(pts.reduce((a, r, i) => a + (1 / pts.length - (mx * (xs[i] - mx)) / sxx) ** 2 * (r.seEntropyGap as number) ** 2, 0));
  // Guarded as the slopes are: not below what the residuals show (fit.se / slope's propagated se scales both alike).
  const residual = pts.length >= 3 ? lineFit(xs, pts.map((r) => r.entropyGap as number)).se * Math.sqrt(sxx / pts.length + mx * mx) : 0;
  return Number.isFinite(fit.intercept) ? Math.max(propagated, residual) : NaN;
}
