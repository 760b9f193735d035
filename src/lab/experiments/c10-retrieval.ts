import { trainManySync, type Evaluation, type ScaleRule, type TrainConfig } from '../../nn/index.js';
import { fmt, makeCheck, verdictPhrase, type Check, type ClaimResult, type Experiment, type LabMode } from '../experiment.js';
import type { Row } from '../types.js';
import { measuredVsTheoryChart } from '../charts.js';
import { averageWithError, TOLERANCE_SIGMAS } from '../stats.js';
import { pooledLogLogSlope } from './fits.js';

/** How much C10 trains: `--full` sizes it to about 3 minutes on two cores; tests run the quick plan. */
export interface C10Plan {
  steps: number;
  seeds: number;
  setSize: number;
  multiples: number[];
  validation: number;
}

export function c10Plan(mode: LabMode): C10Plan {
  return mode === 'quick'
    ? { steps: 40, seeds: 1, setSize: 16, multiples: [1, 4, 16], validation: 32 }
    : { steps: 800, seeds: 2, setSize: 16, multiples: [1, 4, 16, 64, 256], validation: 200 };
}

const RULES: { rule: ScaleRule; variant: string }[] = [
  { rule: 'rsqrt', variant: 'plain' },
  { rule: 'log-length', variant: 'log-length' },
  { rule: 'ssmax', variant: 'ssmax' },
];
const ADAPTIVE = 'plain + adaptive temperature';

/**
 * C10. One head trained on max-retrieval at 16 items, read out at up to 4096:
 * with a fixed scale the winner's logit lead is fixed, so its odds against
 * n − 1 distractors grow like n and the head fades.
 */
export const retrieval: Experiment = {
  id: 'C10',
  slug: 'retrieval',
  title: 'A head trained short fades long, and what rescues it',
  statement:
    'A single attention head trained on max-retrieval at set size 16 loses sharpness and accuracy at 64 to 4096 items; adaptive temperature at inference, the log-length rule and SSMax\'s learnt s·ln n are the candidate rescues.',
  theory:
    'With a fixed scale the trained head gives the winner a fixed lead over each distractor, and the distractors\' priorities are drawn the same way at every size, ' +
    'so the odds against the winner, (1 − w)/w = Σⱼ e^(zⱼ − z_win), have mean (n − 1)·c: linear in n, and the top weight w falls like 1/n (C9\'s needle with s = 0). ' +
    'Multiplying the logits by a factor growing like ln n (log-length, SSMax) turns the lead into a power of n and can hold it; adaptive temperature (Veličković et al. 2024) ' +
    'sharpens a row at inference by an inverse temperature fitted to its entropy, which helps only while the entropy is in the range the fit covers. ' +
    'Sized for `--full`: about 70 CPU-seconds, under a minute on two quiet cores (800 steps, 2 seeds per rule, 200 test sets per size).',
  fullOnly: true,
  run({ settings, seedFor, progress }) {
    const plan = c10Plan(settings.mode);
    const jobs = RULES.flatMap(({ rule, variant }) => Array.from({ length: plan.seeds }, (_, s) => ({ rule, variant, seed: s })));
    const configs: TrainConfig[] = jobs.map((j) => ({
      task: 'maxretrieval', scaleRule: j.rule, headDim: 16, heads: 1, width: 32, layers: 1, steps: plan.steps, lr: 1e-2, batchSize: 32,
      seed: seedFor('run', j.rule, j.seed), setSize: plan.setSize, lengthMultiples: plan.multiples, validationSize: plan.validation,
      evalEvery: plan.steps, adaptiveTemperature: j.rule === 'rsqrt',
    }));
    const records = trainManySync(configs, { onDone: (_, done) => progress(done / configs.length) });

    const rows: Row[] = [];
    const push = (variant: string, seed: number, n: number, e: Evaluation): void => {
      const se = Math.sqrt(Math.max(e.accuracy * (1 - e.accuracy), 1 / e.rows.count) / e.rows.count);
      rows.push({
        variant, seed, n, accuracy: e.accuracy, seAccuracy: se, maxWeight: e.rows.maxWeight, seMaxWeight: e.rows.maxWeightSe,
        topOdds: e.rows.topOdds, seTopOdds: e.rows.topOddsSe, entropy: e.attnEntropy, sequences: e.rows.count,
      });
    };
    jobs.forEach((j, i) => {
      for (const l of records[i].lengths) {
        const n = l.length - 1;
        push(j.variant, j.seed, n, l);
        if (l.adaptive !== null) push(ADAPTIVE, j.seed, n, l.adaptive);
      }
    });

    const sizes = plan.multiples.map((m) => m * plan.setSize);
    const nMin = sizes[0];
    const nMax = sizes[sizes.length - 1];
    const pooled = (variant: string, n: number, field: string, seField: string): { value: number; se: number } => {
      const pts = rows.filter((r) => r.variant === variant && r.n === n);
      return averageWithError(pts.map((r) => r[field] as number), pts.map((r) => r[seField] as number));
    };
    const drop = (variant: string): { value: number; se: number } => {
      const a = pooled(variant, nMax, 'accuracy', 'seAccuracy');
      const b = pooled(variant, nMin, 'accuracy', 'seAccuracy');
      return { value: a.value - b.value, se: Math.hypot(a.se, b.se) };
    };
    const oddsSlope = pooledLogLogSlope(Array.from({ length: plan.seeds }, (_, s) => {
      const pts = rows.filter((r) => r.variant === 'plain' && r.seed === s);
      return { series: s, xs: pts.map((r) => (r.n as number) - 1), ys: pts.map((r) => r.topOdds as number), ses: pts.map((r) => r.seTopOdds as number) };
    }));
    const plainDrop = drop('plain');
    const rescue = (id: string, variant: string): Check => {
      const d = drop(variant);
      return makeCheck({
        id, statement: `${variant} keeps the accuracy it has at ${nMin} items up to ${nMax} (the plain head's drop is the rival).`,
        quantity: `accuracy at n = ${nMax} minus at n = ${nMin}, ${variant}, mean over ${plan.seeds} seed(s)`,
        measured: d.value, predicted: 0, tolerance: TOLERANCE_SIGMAS * d.se,
        toleranceBasis: `${TOLERANCE_SIGMAS} standard errors of this drop (binomial, over ${plan.validation} test sets per size and seed)`,
        alternative: plainDrop.value,
      });
    };
    const checks: Check[] = [
      makeCheck({
        id: 'C10.a', statement: 'The plain head fades: the mean odds against its top key grow like n − 1, so its top weight falls like 1/n.',
        quantity: `log-log slope of the mean odds (1 − w)/w against n − 1, n = ${sizes.join(', ')}, averaged over seeds`,
        measured: oddsSlope.slope, predicted: 1, tolerance: TOLERANCE_SIGMAS * oddsSlope.se,
        toleranceBasis: `${TOLERANCE_SIGMAS} standard errors of the slope, propagated from each size's standard error over its test sets, or from the residuals if larger`,
        alternative: 0,
      }),
      rescue('C10.b', ADAPTIVE),
      rescue('C10.c', 'log-length'),
      rescue('C10.d', 'ssmax'),
    ];
    const variants = ['plain', ADAPTIVE, 'log-length', 'ssmax'];
    const acc = (v: string, n: number): number => pooled(v, n, 'accuracy', 'seAccuracy').value;
    const weight = (v: string, n: number): number => pooled(v, n, 'maxWeight', 'seMaxWeight').value;
    // The largest size up to which a variant stays no more than TOLERANCE_SIGMAS standard errors below its own accuracy at the training size.
    const holdsUpTo = (v: string): number => {
      const base = pooled(v, nMin, 'accuracy', 'seAccuracy');
      let last = nMin;
      for (const n of sizes) {
        const at = pooled(v, n, 'accuracy', 'seAccuracy');
        if (base.value - at.value > TOLERANCE_SIGMAS * Math.hypot(at.se, base.se)) break;
        last = n;
      }
      return last;
    };
    return {
      checks,
      rows,
      meaning:
        `Trained at ${nMin} items, the plain head answered ${fmt(acc('plain', nMin))} of test sets there and ${fmt(acc('plain', nMax))} at ${nMax}, its top weight falling from ${fmt(weight('plain', nMin))} to ${fmt(weight('plain', nMax))}; ` +
        `the odds against its top key grew as n^${fmt(oddsSlope.slope)} ± ${fmt(oddsSlope.se)} (n¹ predicted; ${verdictPhrase(checks[0])}). ` +
        `At ${nMax} items adaptive temperature gave ${fmt(acc(ADAPTIVE, nMax))} (${verdictPhrase(checks[1])}), log-length ${fmt(acc('log-length', nMax))} (${verdictPhrase(checks[2])}) and ssmax ${fmt(acc('ssmax', nMax))} (${verdictPhrase(checks[3])}).`,
      findings: [
        `Largest set size up to which each head stays no more than ${TOLERANCE_SIGMAS} standard errors below its own accuracy at ${nMin}: ` +
          variants.map((v) => `${v} ${holdsUpTo(v)}`).join(', ') + '.',
        `Top weight at ${nMax} items: ` + variants.map((v) => `${v} ${fmt(weight(v, nMax))}`).join(', ') + '.',
      ],
      parameters: {
        steps: plan.steps, seeds: plan.seeds, trainingSetSize: plan.setSize, setSizes: sizes, testSetsPerSize: plan.validation,
        model: '1 layer, 1 head, head dim 16, width 32, no positions; AdamW lr 1e-2, batch 32', rules: RULES.map((r) => r.rule),
      },
    };
  },
  charts(claim: ClaimResult) {
    const variants = [...new Set(claim.rows.map((r) => r.variant as string))];
    const sizes = [...new Set(claim.rows.map((r) => r.n as number))];
    const mean = (field: string): Row[] => variants.flatMap((variant) => sizes.map((n) => {
      const pts = claim.rows.filter((r) => r.variant === variant && r.n === n);
      return { variant, n, [field]: pts.reduce((a, r) => a + (r[field] as number), 0) / pts.length };
    }));
    const odds = mean('topOdds');
    const plain = odds.filter((r) => r.variant === 'plain');
    const first = plain[0];
    const common = { series: 'variant', seriesTitle: 'head', width: 330, height: 230, connect: true };
    return [
      measuredVsTheoryChart({
        ...common, title: 'Max-retrieval accuracy against set size', subtitle: 'trained at the smallest size; mean over seeds',
        x: { field: 'n', title: 'items n', log: true }, y: { field: 'accuracy', title: 'accuracy', domain: [0, 1] }, points: mean('accuracy'),
      }),
      measuredVsTheoryChart({
        ...common, title: 'Top attention weight against set size', subtitle: 'mean over test sets and seeds',
        x: { field: 'n', title: 'items n', log: true }, y: { field: 'maxWeight', title: 'top weight', domain: [0, 1] }, points: mean('maxWeight'),
      }),
      measuredVsTheoryChart({
        ...common, title: 'Odds against the top key', subtitle: 'dashed: plain head, ∝ n − 1 through its first point',
        x: { field: 'n', title: 'items n', log: true }, y: { field: 'topOdds', title: 'mean (1 − w)/w', log: true }, points: odds.filter((r) => (r.topOdds as number) > 0),
        theory: first ? plain.map((r) => ({ variant: 'plain', n: r.n, topOdds: ((first.topOdds as number) * ((r.n as number) - 1)) / ((first.n as number) - 1) })) : [],
      }),
    ];
  },
};
