import { Tensor, dtypeInfo, roundFloat16, rounder, tensor, type FloatDType } from '../../tensor/index.js';
import { softmax, SOFTMAX_ALGORITHMS, type SoftmaxAlgorithm } from '../../softmax/index.js';
import { fmt, makeCheck, verdictPhrase, type Check, type ClaimResult, type Experiment } from '../experiment.js';
import type { Row } from '../types.js';
import { measuredVsTheoryChart } from '../charts.js';
import { normals } from '../sampling.js';
import { softmaxRows } from '../softmax-stats.js';
import { twoSidedNormalTail, Z } from '../stats.js';

const DTYPES: FloatDType[] = ['float32', 'bfloat16', 'float16'];
const WIDTH = 16;
const ACTIVATION_STDS = [1, 4, 16, 32, 64, 128];
/** |x| from which a float16 store rounds to Infinity: halfway between 65504 and the next power of two. */
const F16_STORE_OVERFLOW = 65520;

function allFinite(x: ArrayLike<number>): boolean {
  for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) return false;
  return true;
}

/** The spacing of representable values of a dtype around x > 0. */
function spacing(dtype: FloatDType, x: number): number {
  return 2 ** (Math.floor(Math.log2(x)) - Math.round(-Math.log2(dtypeInfo(dtype).eps)));
}

/**
 * First-order bounds on max |p̂ − p| for one row of n logits, from the
 * roundings each algorithm makes (src/softmax/safe.ts, online.ts), with u_s
 * the unit roundoff of storage and u_a of accumulation (float32 for the half
 * dtypes). Safe: x − m and exp each round once (relative u_s, plus u_s·|x − m|
 * through exp), the sum n − 1 times (u_a each), the division once; with
 * pⱼ|xⱼ − m| ≤ 1/e and Σ pⱼ|xⱼ − m| ≤ ln n this gives
 * u_s(3 + 1/e + ln n) + (n − 1)u_a. Online adds the rescales of the running
 * sum: at most n, each rounding the difference, the exp, the product and the
 * sum (3 + k/e roundings of u_a at the k-th), so 3n·u_a + n²u_a/(2e) more.
 */
function errorBound(dtype: FloatDType, algorithm: 'safe' | 'online', n: number): number {
  const us = dtypeInfo(dtype).unitRoundoff;
  const ua = dtype === 'float16' || dtype === 'bfloat16' ? dtypeInfo('float32').unitRoundoff : us;
  const safe = us * (3 + 1 / Math.E + Math.log(n)) + (n - 1) * ua;
  return algorithm === 'safe' ? safe : safe + ua * (3 * n + (n * n) / (2 * Math.E));
}

function softmaxIn(dtype: FloatDType, algorithm: SoftmaxAlgorithm, values: ArrayLike<number>, rows: number, n: number): Tensor {
  return softmax(tensor(values as ArrayLike<number>, [rows, n], { dtype }), { algorithm });
}

/** Smallest input x (representable in the dtype) for which the naive softmax of [x, 0] is not finite, by bisection. */
function naiveThreshold(dtype: FloatDType): number {
  const round = rounder(dtype);
  const fails = (x: number): boolean => !allFinite(softmaxIn(dtype, 'naive', [round(x), 0], 1, 2).data);
  let lo = 0;
  let hi = 1000;
  for (let i = 0; i < 200 && hi - lo > 1e-13 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (fails(mid)) hi = mid;
    else lo = mid;
  }
  return round(hi);
}

type Accumulation = 'float16' | 'float32';
type Placement = 'scale after the matmul' | 'scale q before' | '√scale on q and k';

/**
 * One float16 dot product as a matmul unit computes it. float16 accumulation:
 * every product and every partial sum rounded to float16. float32
 * accumulation (tensor cores): products of float16 values are exact in
 * float32, partial sums round to float32, the result is stored as float16.
 */
function dotFloat16(q: Float64Array, k: Float64Array, qo: number, ko: number, d: number, acc: Accumulation): number {
  let s = 0;
  if (acc === 'float16') {
    for (let t = 0; t < d; t++) s = roundFloat16(s + roundFloat16(q[qo + t] * k[ko + t]));
    return s;
  }
  for (let t = 0; t < d; t++) s = Math.fround(s + q[qo + t] * k[ko + t]);
  return roundFloat16(s);
}

/**
 * C7. exp(x) is finite only for x ≤ ln(max) of the dtype; the naive softmax
 * computes exp(x) of the raw logits and so overflows there, while the safe
 * and online softmax only ever take exp of x − max ≤ 0.
 */
export const overflow: Experiment = {
  id: 'C7',
  slug: 'overflow',
  title: 'The naive softmax overflows; max-subtraction never does',
  statement:
    'The naive softmax returns Infinity/NaN once the largest logit passes ln(max) of the dtype (float32 ≈ 88.72, bfloat16 ≈ 88.72, float16 ≈ 11.09); the safe and online softmax never do for finite input, and in float16 the scores q·k themselves overflow 65504 unless the scale is applied before the matmul.',
  theory:
    'exp(x) exceeds the largest finite value once x > ln(max), and ∞/∞ is NaN; subtracting the row max makes every exponent ≤ 0 and one term exactly 1, so neither overflow nor a zero sum can occur, and the error stays within a few unit roundoffs (bounds in the checks). ' +
    'In a float16 matmul with float32 accumulation a score overflows when it is stored: given q, q·k ~ N(0, s²|q|²) for keys of std s, so P(overflow) = P(|Z| > 65520/(s|q|)). Scaling q by 1/√d_k first (or both by d_k^(−1/4), as the ONNX Attention spec does) divides that standard deviation by √d_k.',
  run({ settings, seedFor, progress }) {
    const quick = settings.mode === 'quick';
    const rows: Row[] = [];

    // Part 1: where the naive softmax starts to overflow.
    const thresholds = new Map<FloatDType, number>();
    for (const dtype of DTYPES) {
      const measured = naiveThreshold(dtype);
      thresholds.set(dtype, measured);
      rows.push({ part: 'threshold', dtype, naiveThreshold: measured, lnMax: dtypeInfo(dtype).lnMax, inputSpacing: spacing(dtype, dtypeInfo(dtype).lnMax) });
    }
    progress(0.1);

    // Part 2: error against float64 across logit magnitudes 1 … 1e38.
    const rowsPerCell = quick ? 16 : 32;
    // Dense where the thresholds are (1 … 10⁴), then every decade to 10³⁸.
    const magnitudes = [...Array.from({ length: 16 }, (_, i) => 10 ** (i / 4)), ...Array.from({ length: 35 }, (_, i) => 10 ** (i + 4))];
    const nonFinite: Record<SoftmaxAlgorithm, number> = { safe: 0, online: 0, naive: 0 };
    let naiveBeyond = 0;
    let naiveBeyondNonFinite = 0;
    const worstRatio: Record<'safe' | 'online', number> = { safe: 0, online: 0 };
    let finiteRowsTested = 0;
    for (const dtype of DTYPES) {
      const round = rounder(dtype);
      const cellInputs: { magnitude: number; values: Float64Array }[] = magnitudes.map((magnitude) => {
        const z = normals(rowsPerCell, WIDTH, seedFor('logits', dtype, magnitude));
        for (let r = 0; r < rowsPerCell; r++) {
          let big = 0;
          for (let j = 0; j < WIDTH; j++) big = Math.max(big, Math.abs(z[r * WIDTH + j]));
          for (let j = 0; j < WIDTH; j++) z[r * WIDTH + j] = round((magnitude * z[r * WIDTH + j]) / big);
        }
        return { magnitude, values: z };
      });
      // The extremes of the format: every entry at ±max, and max beside −max.
      const max = dtypeInfo(dtype).max;
      const extremes = new Float64Array(3 * WIDTH);
      for (let j = 0; j < WIDTH; j++) {
        extremes[j] = max;
        extremes[WIDTH + j] = -max;
        extremes[2 * WIDTH + j] = j % 2 === 0 ? max : -max;
      }
      cellInputs.push({ magnitude: max, values: extremes });
      for (const { magnitude, values } of cellInputs) {
        const cellRows = values.length / WIDTH;
        if (!allFinite(values)) {
          for (const algorithm of SOFTMAX_ALGORITHMS) rows.push({ part: 'error', dtype, algorithm, magnitude, maxAbsError: null, nonFiniteRows: null, status: 'input not finite in dtype' });
          continue;
        }
        finiteRowsTested += cellRows;
        // The float64 reference on the same (already rounded) inputs, once per cell for all three algorithms.
        const reference = softmaxRows(values, cellRows, WIDTH);
        for (const algorithm of SOFTMAX_ALGORITHMS) {
          const out = softmaxIn(dtype, algorithm, values, cellRows, WIDTH).data;
          let maxErr = 0;
          let bad = 0;
          for (let r = 0; r < cellRows; r++) {
            let rowBad = false;
            for (let j = 0; j < WIDTH; j++) {
              const v = out[r * WIDTH + j];
              if (!Number.isFinite(v)) rowBad = true;
              else maxErr = Math.max(maxErr, Math.abs(v - reference[r * WIDTH + j]));
            }
            if (rowBad) bad++;
            if (algorithm === 'naive') {
              let rowMax = -Infinity;
              for (let j = 0; j < WIDTH; j++) rowMax = Math.max(rowMax, values[r * WIDTH + j]);
              if (rowMax >= (thresholds.get(dtype) as number)) {
                naiveBeyond++;
                if (rowBad) naiveBeyondNonFinite++;
              }
            }
          }
          nonFinite[algorithm] += bad;
          if (algorithm !== 'naive') worstRatio[algorithm] = Math.max(worstRatio[algorithm], maxErr / errorBound(dtype, algorithm, WIDTH));
          rows.push({
            part: 'error', dtype, algorithm, magnitude,
            maxAbsError: bad === cellRows ? null : maxErr, nonFiniteRows: bad, rows: cellRows,
            status: bad > 0 ? 'Infinity/NaN in output' : 'finite', bound: algorithm === 'naive' ? null : errorBound(dtype, algorithm, WIDTH),
          });
        }
      }
      progress(0.1 + (0.3 * (DTYPES.indexOf(dtype) + 1)) / DTYPES.length);
    }

    // Part 3: float16 scores q·k, by where the scale is applied and how the matmul accumulates.
    const pairs = quick ? 48 : 128;
    const predicted: Record<Placement, { count: number; variance: number; measured: number }> = {
      'scale after the matmul': { count: 0, variance: 0, measured: 0 },
      'scale q before': { count: 0, variance: 0, measured: 0 },
      '√scale on q and k': { count: 0, variance: 0, measured: 0 },
    };
    const cells = settings.dims.length * ACTIVATION_STDS.length;
    let done = 0;
    for (const d of settings.dims) {
      for (const s of ACTIVATION_STDS) {
        const q = normals(pairs, d, seedFor('q16', d, s), s).map(roundFloat16);
        const k = normals(pairs, d, seedFor('k16', d, s), s).map(roundFloat16);
        const placements: { placement: Placement; qScale: number; kScale: number; after: number }[] = [
          { placement: 'scale after the matmul', qScale: 1, kScale: 1, after: 1 / Math.sqrt(d) },
          { placement: 'scale q before', qScale: 1 / Math.sqrt(d), kScale: 1, after: 1 },
          { placement: '√scale on q and k', qScale: d ** -0.25, kScale: d ** -0.25, after: 1 },
        ];
        for (const { placement, qScale, kScale, after } of placements) {
          const qs = qScale === 1 ? q : q.map((v) => roundFloat16(v * qScale));
          const ks = kScale === 1 ? k : k.map((v) => roundFloat16(v * kScale));
          const counts: Record<Accumulation, number> = { float16: 0, float32: 0 };
          let expected = 0;
          let expectedVariance = 0;
          for (let i = 0; i < pairs; i++) {
            let qNorm = 0;
            for (let t = i * d; t < (i + 1) * d; t++) qNorm += qs[t] * qs[t];
            // Given q, q·k is N(0, (kScale·s)²|q|²) exactly (Gaussian keys), whatever d is.
            const p = twoSidedNormalTail(F16_STORE_OVERFLOW / (kScale * s * Math.sqrt(qNorm)));
            expected += p;
            expectedVariance += p * (1 - p);
            for (const acc of ['float16', 'float32'] as const) {
              const score = roundFloat16(dotFloat16(qs, ks, i * d, i * d, d, acc) * after);
              if (!Number.isFinite(score)) counts[acc]++;
            }
          }
          predicted[placement].count += expected;
          predicted[placement].variance += expectedVariance;
          predicted[placement].measured += counts.float32;
          rows.push({
            part: 'float16 scores', d, activationStd: s, placement, pairs,
            overflowShareF32: counts.float32 / pairs, overflowShareF16: counts.float16 / pairs, predictedShareF32: expected / pairs,
          });
        }
        progress(0.4 + (0.6 * ++done) / cells);
      }
    }

    const checks: Check[] = DTYPES.map((dtype, i) => {
      const info = dtypeInfo(dtype);
      return makeCheck({
        id: `C7.${'abc'[i]}`,
        statement: `${dtype}: the naive softmax first overflows at ln(max) = ${fmt(info.lnMax, 5)}.`,
        quantity: `smallest ${dtype} logit x for which naive softmax([x, 0]) is not finite (bisection)`,
        measured: thresholds.get(dtype) as number, predicted: info.lnMax,
        tolerance: spacing(dtype, info.lnMax) + 2 * info.unitRoundoff,
        toleranceBasis: `one ${dtype} input spacing at ln(max), plus the half-ulp band in which exp still rounds down to max`,
      });
    });
    checks.push(
      makeCheck({
        id: 'C7.d', statement: 'Every row whose largest logit is past that threshold comes out Infinity/NaN from the naive softmax.',
        quantity: `share of such rows (of ${naiveBeyond}) with a non-finite output`, measured: naiveBeyond === 0 ? NaN : naiveBeyondNonFinite / naiveBeyond, predicted: 1, tolerance: 0,
        toleranceBasis: 'none: the claim is exact',
      }),
      makeCheck({
        id: 'C7.e', statement: 'The safe softmax never returns Infinity/NaN for finite input.',
        quantity: `rows with a non-finite output, of ${finiteRowsTested} finite rows in all three dtypes`, measured: nonFinite.safe, predicted: 0, tolerance: 0,
        toleranceBasis: 'none: the claim is exact',
      }),
      makeCheck({
        id: 'C7.f', statement: 'Nor does the online softmax.',
        quantity: `rows with a non-finite output, of ${finiteRowsTested} finite rows`, measured: nonFinite.online, predicted: 0, tolerance: 0,
        toleranceBasis: 'none: the claim is exact',
      }),
      makeCheck({
        id: 'C7.g', statement: 'The safe softmax stays within its rounding-error bound at every magnitude, in every dtype.',
        quantity: 'largest max|p − p₆₄| divided by the first-order bound u_s(3 + 1/e + ln n) + (n − 1)u_a', measured: worstRatio.safe, predicted: 0, tolerance: 1,
        toleranceBasis: 'the bound itself: the error must be at most 1 bound',
      }),
      makeCheck({
        id: 'C7.h', statement: 'So does the online softmax, within its bound (which adds the rescales of the running sum).',
        quantity: 'largest max|p − p₆₄| divided by the online bound', measured: worstRatio.online, predicted: 0, tolerance: 1,
        toleranceBasis: 'the bound itself: the error must be at most 1 bound',
      }),
      ...(['scale after the matmul', 'scale q before', '√scale on q and k'] as const).map((placement, i) => {
        const pr = predicted[placement];
        return makeCheck({
          id: `C7.${'ijk'[i]}`, statement: `float16 scores with ${placement} (float32 accumulation) overflow as often as P(|N(0, s²|q|²)| > 65520) predicts.`,
          quantity: `scores that overflowed, of ${cells * pairs} (d_k × s grid)`, measured: pr.measured, predicted: pr.count, tolerance: Z * Math.sqrt(pr.variance),
          toleranceBasis: `${Z} binomial standard errors of the predicted count`,
        });
      }),
    );

    const scores = rows.filter((r) => r.part === 'float16 scores');
    const dMax = Math.max(...settings.dims);
    const share = (placement: Placement, s: number, field: string): number =>
      scores.find((r) => r.placement === placement && r.activationStd === s && r.d === dMax)?.[field] as number;
    const sMid = 32;
    const preScaled = scores.filter((r) => r.placement === 'scale q before');
    const preScaledStds = [...new Set(preScaled.filter((r) => (r.overflowShareF32 as number) > 0 || (r.overflowShareF16 as number) > 0).map((r) => r.activationStd as number))];
    const preScaledCount = {
      float32: preScaled.reduce((a, r) => a + Math.round((r.overflowShareF32 as number) * pairs), 0),
      float16: preScaled.reduce((a, r) => a + Math.round((r.overflowShareF16 as number) * pairs), 0),
    };
    return {
      checks,
      rows,
      meaning:
        `The naive softmax broke at x = ${fmt(thresholds.get('float32') as number, 5)} in float32, ${fmt(thresholds.get('bfloat16') as number, 5)} in bfloat16 and ${fmt(thresholds.get('float16') as number, 5)} in float16 — ` +
        `ordinary logits for an unscaled head (C1: std √d_k = ${fmt(Math.sqrt(dMax))} at d_k = ${dMax}). Of ${finiteRowsTested} finite rows up to 10³⁸ the safe softmax gave a non-finite output on ${nonFinite.safe} and the online on ${nonFinite.online}, ` +
        `and their largest errors were ${fmt(worstRatio.safe)} and ${fmt(worstRatio.online)} times their error bounds (${verdictPhrase(checks.find((c) => c.id === 'C7.g') as Check)}; ${verdictPhrase(checks.find((c) => c.id === 'C7.h') as Check)}). ` +
        `In float16 at d_k = ${dMax} with activations of std ${sMid}, ${fmt(100 * share('scale after the matmul', sMid, 'overflowShareF32'))}% of scores overflowed when the scale came after the matmul and ` +
        `${fmt(100 * share('scale q before', sMid, 'overflowShareF32'))}% when q was scaled first.`,
      findings: [
        `Accumulating in float16 overflows earlier than the final score would: a partial sum can pass 65504 before later terms cancel it. ` +
          `At d_k = ${dMax} with activations of std ${sMid} and the scale after the matmul, ${fmt(100 * share('scale after the matmul', sMid, 'overflowShareF16'))}% of scores overflowed with float16 accumulation ` +
          `against ${fmt(100 * share('scale after the matmul', sMid, 'overflowShareF32'))}% with float32 accumulation; with q scaled first, ${fmt(100 * share('scale q before', sMid, 'overflowShareF16'))}% and ` +
          `${fmt(100 * share('scale q before', sMid, 'overflowShareF32'))}%. ` +
          (preScaledStds.length === 0
            ? `Scaling q first prevented every overflow on the grid (activation std up to ${ACTIVATION_STDS[ACTIVATION_STDS.length - 1]}).`
            : `Scaling q first overflowed only from activation std ${Math.min(...preScaledStds)} on, where the scaled score itself (std s²) reaches 65504: ` +
              `${preScaledCount.float32} of ${cells * pairs} scores with float32 accumulation, ${preScaledCount.float16} with float16.`),
      ],
      parameters: {
        width: WIDTH, rowsPerMagnitude: rowsPerCell, magnitudes: '10^(k/4) for k = 0…15, 10^k for k = 4…38, and ±max', pairsPerCell: pairs, activationStds: ACTIVATION_STDS, dims: settings.dims,
      },
    };
  },
  charts(claim: ClaimResult) {
    const errors = claim.rows.filter((r) => r.part === 'error' && r.status !== 'input not finite in dtype' && (r.magnitude as number) <= 1e38);
    const thresholds = claim.rows.filter((r) => r.part === 'threshold');
    const perDtype = DTYPES.map((dtype) => {
      const lnMax = thresholds.find((r) => r.dtype === dtype)?.lnMax as number;
      // Non-finite outputs have no error to plot: they are drawn at 1, where no probability error can be.
      // Safe last, so its points are drawn on top of the online ones they mostly coincide with.
      const order = ['naive', 'online', 'safe'];
      const points: Row[] = errors
        .filter((r) => r.dtype === dtype)
        .sort((a, b) => order.indexOf(a.algorithm as string) - order.indexOf(b.algorithm as string))
        .map((r) => ({ magnitude: r.magnitude, error: r.maxAbsError === null ? 1 : Math.max(r.maxAbsError as number, 1e-12), algorithm: r.algorithm }));
      const theory: Row[] = [
        { magnitude: lnMax, error: 1e-12, algorithm: 'ln(max)' }, { magnitude: lnMax, error: 1, algorithm: 'ln(max)' },
        ...(['safe', 'online'] as const).flatMap((algorithm) => [1, 1e38].map((m) => ({ magnitude: m, error: errorBound(dtype, algorithm, WIDTH), algorithm: `${algorithm} bound` }))),
      ];
      return measuredVsTheoryChart({
        title: `${dtype}: error against float64`, subtitle: 'dashed: ln(max), bounds · Inf/NaN at 1, 0 at 10⁻¹²',
        x: { field: 'magnitude', title: 'largest |logit|', log: true }, y: { field: 'error', title: 'max |p − p₆₄|', log: true },
        points, theory, series: 'algorithm', seriesTitle: 'algorithm', shape: 'algorithm', width: 270, height: 200,
      });
    });
    const scores = claim.rows.filter((r) => r.part === 'float16 scores');
    const scoreChart = (placement: string, accumulation: 'float32' | 'float16'): ReturnType<typeof measuredVsTheoryChart> => {
      const field = accumulation === 'float32' ? 'overflowShareF32' : 'overflowShareF16';
      const rs: Row[] = scores
        .filter((r) => r.placement === placement && (r.activationStd as number) >= 16)
        .map((r) => ({ d: r.d, share: r[field], predicted: r.predictedShareF32, std: `s = ${r.activationStd}` }));
      return measuredVsTheoryChart({
        title: `float16 q·k, ${placement}`,
        subtitle: `${accumulation} accumulation · dashed: ${accumulation === 'float32' ? 'predicted share' : 'float32 prediction'}`,
        x: { field: 'd', title: 'key dimension d_k', log: true }, y: { field: 'share', title: 'share of scores = ±Infinity', domain: [0, 1] },
        points: rs, theory: rs.map((r) => ({ d: r.d, share: r.predicted, std: r.std })), series: 'std', seriesTitle: 'activation std', width: 260, height: 200,
      });
    };
    return [
      ...perDtype,
      scoreChart('scale after the matmul', 'float32'),
      scoreChart('scale after the matmul', 'float16'),
      scoreChart('scale q before', 'float32'), // its float16-accumulation shares are in the CSV
    ];
  },
};
