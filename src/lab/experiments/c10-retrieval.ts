import { composeExperiment, fmt, makeCheck, verdictPhrase, type Check } from '../experiment.js';
import { TOLERANCE_SIGMAS } from '../stats.js';
import type { Row } from '../types.js';
import { retrievalCharts } from './c10-charts.js';
import { ADAPTIVE, C10_LABELS, C10_RULES, C10_TASKS, C10_VARIANTS, c10Plan, measureRetrieval, overSeeds, pointsAt, type C10Figures, type C10Task, type Variant } from './c10-plan.js';
import { pooledLogLogSlope } from './fits.js';

export { c10Plan, type C10Plan } from './c10-plan.js';

const levelsOf = (task: C10Task): number => C10_TASKS.find((t) => t.task === task)?.levels ?? NaN;
const trainSize = (f: C10Figures): number => f.sizes[0];
const longest = (f: C10Figures): number => f.sizes[f.sizes.length - 1];

/** A variant's accuracy at n, over seeds. */
function accuracy(f: C10Figures, task: C10Task, variant: Variant, n: number): { value: number; se: number } {
  const pts = pointsAt(f, task, variant, n);
  return overSeeds(pts.map((p) => p.accuracy), pts.map((p) => p.seAccuracy));
}

/** Accuracy at the longest size minus at the training size, per seed, over seeds. */
function drop(f: C10Figures, task: C10Task, variant: Variant): { value: number; se: number } {
  const lo = pointsAt(f, task, variant, trainSize(f));
  const hi = pointsAt(f, task, variant, longest(f));
  return overSeeds(hi.map((p, i) => p.accuracy - lo[i].accuracy), hi.map((p, i) => Math.hypot(p.seAccuracy, lo[i].seAccuracy)));
}

/** `variant` minus `rival` accuracy at n, paired by seed. */
function gain(f: C10Figures, task: C10Task, variant: Variant, rival: Variant, n: number): { n: number; value: number; se: number } {
  const a = pointsAt(f, task, variant, n);
  const b = pointsAt(f, task, rival, n);
  return { n, ...overSeeds(a.map((p, i) => p.accuracy - b[i].accuracy), a.map((p, i) => Math.hypot(p.seAccuracy, b[i].seAccuracy))) };
}

/** Adaptive temperature's paired gain over plain at every size beyond training, and the one whose gain is least clear (smallest gain/se). */
function adaptiveGains(f: C10Figures, task: C10Task): { all: ReturnType<typeof gain>[]; weakest: ReturnType<typeof gain> } {
  const all = f.sizes.slice(1).map((n) => gain(f, task, ADAPTIVE, 'plain', n));
  const weakest = all.reduce((w, g) => (g.value / g.se < w.value / w.se || !Number.isFinite(g.value / g.se) ? g : w), all[0]);
  return { all, weakest };
}

const seedBasis = (what: string): string =>
  `${TOLERANCE_SIGMAS} standard errors of ${what}: the larger of its spread over seeds and the test sets' binomial error pooled`;

function checks(f: C10Figures): Check[] {
  const { plan } = f;
  const [nMin, nMax] = [trainSize(f), longest(f)];
  const odds = pooledLogLogSlope(Array.from({ length: plan.seeds }, (_, s) => {
    const pts = f.sizes.flatMap((n) => pointsAt(f, 'discrete', 'plain', n).filter((p) => p.seed === s));
    return { series: s, xs: pts.map((p) => p.n - 1), ys: pts.map((p) => p.topOdds), ses: pts.map((p) => p.seTopOdds) };
  }));
  const beats = (id: string, task: C10Task): Check => {
    const { weakest } = adaptiveGains(f, task);
    return makeCheck({
      id, statement: `Veličković et al.: adaptive temperature at inference is a partial fix that sharpens the head beyond its training size, so it beats the plain head at every n > ${nMin} (${levelsOf(task)} priority levels).`,
      quantity: `adaptive − plain accuracy, paired by seed (same head, same test sets), at the n > ${nMin} where the gain is least clear (n = ${weakest.n}), mean over ${plan.seeds} seeds`,
      measured: weakest.value, predicted: 0, tolerance: TOLERANCE_SIGMAS * weakest.se, side: 'above', toleranceBasis: seedBasis('the paired gain'),
    });
  };
  const keeps = (id: string, variant: Variant): Check => {
    const d = drop(f, 'discrete', variant);
    return makeCheck({
      id, statement: `With a gap bounded below (${levelsOf('discrete')} levels), ${variant}'s factor growing like ln n keeps the accuracy the head has at ${nMin} items up to ${nMax}: no loss (the plain head's drop is the rival).`,
      quantity: `accuracy at n = ${nMax} minus at n = ${nMin}, ${variant}, ${levelsOf('discrete')} levels, per seed, mean over ${plan.seeds} seeds`,
      measured: d.value, predicted: 0, tolerance: TOLERANCE_SIGMAS * d.se, side: 'at-least', alternative: drop(f, 'discrete', 'plain').value,
      toleranceBasis: seedBasis('the drop'),
    });
  };
  const fallsShort = (id: string, variant: Variant): Check => {
    const d = drop(f, 'many-level', variant);
    return makeCheck({
      id, statement: `With ${levelsOf('many-level')} levels the top-two gap shrinks as n grows, so no fixed s·Δ ≥ 1 holds and ${variant}'s ln n factor is not enough: the head loses accuracy from ${nMin} to ${nMax} items.`,
      quantity: `accuracy at n = ${nMax} minus at n = ${nMin}, ${variant}, ${levelsOf('many-level')} levels, per seed, mean over ${plan.seeds} seeds`,
      measured: d.value, predicted: 0, tolerance: TOLERANCE_SIGMAS * d.se, side: 'below', toleranceBasis: seedBasis('the drop'),
    });
  };
  return [
    makeCheck({
      id: 'C10.a', statement: `The plain head fades (${levelsOf('discrete')} levels): the mean odds against its top key grow like n − 1, so its top weight falls like 1/n.`,
      quantity: `log-log slope of the mean odds (1 − w)/w against n − 1, n = ${f.sizes.join(', ')}, averaged over seeds`,
      measured: odds.slope, predicted: 1, tolerance: TOLERANCE_SIGMAS * odds.se, alternative: 0,
      toleranceBasis: `${TOLERANCE_SIGMAS} standard errors of the slope, propagated from each size's standard error over its test sets, or from the residuals if larger`,
    }),
    beats('C10.b', 'discrete'),
    keeps('C10.c', 'log-length'),
    keeps('C10.d', 'ssmax'),
    beats('C10.e', 'many-level'),
    fallsShort('C10.f', 'log-length'),
    fallsShort('C10.g', 'ssmax'),
  ];
}

/** The first size at which the plain head's mean entropy has left β's window, where adaptive temperature stops acting (null: never within the sweep). */
function adaptiveStopsAt(f: C10Figures, task: C10Task): { n: number; entropy: number } | null {
  for (const n of f.sizes) {
    const h = overSeeds(pointsAt(f, task, 'plain', n).map((p) => p.entropy), [0]).value;
    if (h > f.betaWindow.to) return { n, entropy: h };
  }
  return null;
}

function meaning(f: C10Figures, c: readonly Check[]): { meaning: string; findings: string[] } {
  const [nMin, nMax] = [trainSize(f), longest(f)];
  const acc = (task: C10Task, v: Variant, n: number): string => fmt(accuracy(f, task, v, n).value);
  const perSeed = (task: C10Task, v: Variant, n: number): string => pointsAt(f, task, v, n).map((p) => fmt(p.accuracy, 2)).join(', ');
  const stops = (task: C10Task): string => {
    const at = adaptiveStopsAt(f, task);
    return at ? `from n = ${at.n} (plain entropy ${fmt(at.entropy)} nats)` : `nowhere in this sweep`;
  };
  const text = (task: C10Task): string =>
    `With ${levelsOf(task)} levels the plain head answered ${acc(task, 'plain', nMin)} at ${nMin} items (per seed ${perSeed(task, 'plain', nMin)}) and ${acc(task, 'plain', nMax)} at ${nMax}; ` +
    `at ${nMax} adaptive temperature gave ${acc(task, ADAPTIVE, nMax)}, log-length ${acc(task, 'log-length', nMax)} and ssmax ${acc(task, 'ssmax', nMax)}.`;
  return {
    meaning:
      `${text('discrete')} There the winner leads the runner-up by one level at every n, a needle with a fixed gap: no loss under log-length and ssmax, ${verdictPhrase(c[2])} and ${verdictPhrase(c[3])}; ` +
      `plain's odds against n − 1, ${verdictPhrase(c[0])}; adaptive temperature against plain, ${verdictPhrase(c[1])}. ` +
      `${text('many-level')} There the gap shrinks with n: adaptive temperature against plain, ${verdictPhrase(c[4])}; a loss under log-length and ssmax despite their factor, ${verdictPhrase(c[5])} and ${verdictPhrase(c[6])}. ` +
      `β(H) exceeds 1 only for ${fmt(f.betaWindow.from, 3)} < H < ${fmt(f.betaWindow.to, 3)} nats, so adaptive temperature stops acting where the plain head's entropy passes ${fmt(f.betaWindow.to, 3)}: ${stops('discrete')} with ${levelsOf('discrete')} levels, ${stops('many-level')} with ${levelsOf('many-level')}.`,
    findings: [
      ...C10_TASKS.map(({ task, levels }) => `Adaptive − plain accuracy by n, paired by seed (${levels} levels): ` +
        adaptiveGains(f, task).all.map((g) => `${g.n}: ${fmt(g.value, 2)} ± ${fmt(g.se, 2)}`).join(', ') + '.'),
      ...C10_TASKS.map(({ task, levels }) => `Top weight at ${nMax} items (${levels} levels): ` +
        C10_VARIANTS.map((v) => `${v} ${fmt(overSeeds(pointsAt(f, task, v, nMax).map((p) => p.maxWeight), [0]).value)}`).join(', ') + '.'),
    ],
  };
}

function rows(f: C10Figures): Row[] {
  return f.points.map((p): Row => ({ ...p, levels: levelsOf(p.task) }));
}

/**
 * C10. One head trained on max-retrieval at 16 items, read out at up to 4096:
 * with a fixed scale the winner's logit lead is fixed, so its odds against
 * n − 1 distractors grow like n and the head fades.
 */
export const retrieval = composeExperiment<C10Figures>({
  id: 'C10',
  slug: 'retrieval',
  title: 'A head trained short fades long; a log factor rescues it only while the winner\'s gap is bounded below',
  statement:
    'A single attention head trained on max-retrieval at 16 items loses sharpness and accuracy at 64 to 4096 items. A factor growing like ln n (log-length, SSMax) holds it when the winner leads by a gap Δ bounded below (s·Δ ≥ 1, as C9\'s needle), ' +
    'and only partly when the top-two gap shrinks with n (many priority levels, as Veličković et al.\'s continuous priorities); adaptive temperature is their partial, inference-time fix.',
  theory:
    'With a fixed scale the trained head gives the winner a fixed lead over each distractor, so the odds against it, (1 − w)/w = Σⱼ e^(zⱼ − z_win), have mean (n − 1)·c: linear in n, and w falls like 1/n (C9\'s needle with s = 0). ' +
    'A factor s·ln n turns a lead Δ into odds ∝ n^(1 − sΔ), held iff sΔ ≥ 1. With 16 levels Δ is one level\'s logit step at every n, as in training; with 64 the runner-up sits ever closer to the winner as n grows, Δ → one fine step, and no fixed s keeps up. ' +
    'Adaptive temperature (Veličković et al. 2024) multiplies a row by β(H) = max(poly(H), 1) fitted on sharp rows; it is 1 outside a window of entropies (computed in the meaning), so a row diluted past it is left alone.',
  fullOnly: true,
  charts: retrievalCharts,
}, {
  measure: (context) => measureRetrieval(context),
  checks,
  meaning,
  rows,
  parameters: (f) => ({
    steps: f.plan.steps, seeds: f.plan.seeds, trainingSetSize: f.plan.setSize, setSizes: f.sizes, testSetsPerSize: f.plan.validation,
    priorityLevels: C10_TASKS.map((t) => t.levels), answer: `the winner's label (${C10_LABELS}-way readout; chance ${fmt(1 / C10_LABELS)})`,
    model: '1 layer, 1 head, head dim 16, width 32, no positions; AdamW lr 1e-2, batch 32', rules: C10_RULES.map((r) => r.rule),
    betaWindowNats: [f.betaWindow.from, f.betaWindow.to],
  }),
});
