import { DIVERGENCE_FACTOR, type ScaleRule } from '../../nn/index.js';
import { composeExperiment, fmt, makeCheck, verdictPhrase, type Check } from '../experiment.js';
import type { Row } from '../types.js';
import { mean, standardError, TOLERANCE_SIGMAS } from '../stats.js';
import { boundViolations, C11_CHANCE, C11_RULES, COLLAPSE, measureC11, sensitivity, STALL, type C11Figures, type C11Run } from './c11-measure.js';
import { c11Charts } from './c11-charts.js';

export { c11Config, c11Plan, finalOrInitial, sensitivity, C11_CHANCE, type C11Plan } from './c11-measure.js';

const of = (f: C11Figures, rule: ScaleRule, seed?: number): C11Run[] => f.runs.filter((r) => r.rule === rule && (seed === undefined || r.seed === seed));
const seeds = (f: C11Figures): number[] => Array.from({ length: f.plan.seeds }, (_, s) => s);
/** The upper half of the learning-rate grid: where Wortsman et al. see the logits grow. */
const highLrs = (f: C11Figures): number[] => f.plan.lrs.slice(Math.floor(f.plan.lrs.length / 2));

/** ln(QK-norm's largest logit / 1/√d_k's) per seed and high learning rate: the paired log ratios. */
function logRatios(f: C11Figures): number[] {
  return seeds(f).flatMap((s) => highLrs(f).map((lr) => {
    const at = (rule: ScaleRule): number => of(f, rule, s).find((r) => r.lr === lr)!.maxLogit;
    return Math.log(at('qk-norm') / at('rsqrt'));
  }));
}

/** Per seed: QK-norm's LR sensitivity minus 1/√d_k's (nats). */
function sensitivityGaps(f: C11Figures): number[] {
  return seeds(f).map((s) => sensitivity(of(f, 'qk-norm', s)) - sensitivity(of(f, 'rsqrt', s)));
}

/** The standard error of a share k/n, floored at one run's worth so that 0/n and n/n keep a width. */
const shareSe = (p: number, n: number): number => Math.sqrt(Math.max(p * (1 - p), 1 / n) / n);

function checks(f: C11Figures): Check[] {
  const ratios = logRatios(f);
  const gaps = sensitivityGaps(f);
  const aboveBest = f.runs.filter((r) => r.aboveBest);
  const stalled = aboveBest.filter((r) => r.stalled);
  const moving = aboveBest.filter((r) => !r.stalled);
  const share = (runs: C11Run[]): number => (runs.length > 0 ? runs.filter((r) => r.collapseStep !== null).length / runs.length : NaN);
  const bound = boundViolations(f.runs);
  const l2 = f.runs.reduce((a, r) => ({ rows: a.rows + r.l2Rows, violations: a.violations + r.l2Violations }), { rows: 0, violations: 0 });
  return [
    makeCheck({
      id: 'C11.a', side: 'below',
      statement: 'Wortsman et al.: at high learning rates QK-layernorm keeps the attention logits far below those of 1/√d_k (it mitigates their growth).',
      quantity: `mean over ${ratios.length} pairs (seeds × learning rates ${highLrs(f).map((x) => fmt(x)).join(', ')}) of ln(QK-norm's largest logit / 1/√d_k's), same seed`,
      measured: mean(ratios), predicted: 0, tolerance: ratios.length > 1 ? TOLERANCE_SIGMAS * standardError(ratios) : 0,
      toleranceBasis: `${TOLERANCE_SIGMAS} standard errors of the mean paired log ratio, from its spread over the pairs; 0 (equal logits) is the null`,
      ...(ratios.length < 2 ? { untestable: 'one pair gives no spread to judge the ratio by' } : {}),
    }),
    makeCheck({
      id: 'C11.b', side: 'below',
      statement: 'Wortsman et al.: QK-layernorm lowers the sensitivity of the final loss to the learning rate.',
      quantity: `QK-norm's LR sensitivity minus 1/√d_k's, mean over ${gaps.length} seed(s) (sensitivity: mean over the grid of min(final loss, initial loss) − the best final loss, nats)`,
      measured: mean(gaps), predicted: 0, tolerance: gaps.length > 1 ? TOLERANCE_SIGMAS * standardError(gaps) : 0,
      toleranceBasis: `${TOLERANCE_SIGMAS} standard errors of the mean paired difference over seeds; 0 (no change) is the null`,
      ...(gaps.length < 2 ? { untestable: 'one seed gives no spread to judge the difference by' } : {}),
    }),
    makeCheck({
      id: 'C11.c', side: 'at-least',
      statement: `Zhai et al.: entropy collapse comes first in a failed run: a run that stalls above the best learning rate had a head fall below ${COLLAPSE} of its initial entropy.`,
      quantity: `share of the ${stalled.length} stalled run(s) (above their best learning rate, final loss ≥ ${STALL} × ln ${Math.round(Math.exp(C11_CHANCE))}) that collapsed during training, before the final loss that marks the stall; rival: the share among the ${moving.length} that did not stall`,
      measured: share(stalled), predicted: 1, tolerance: stalled.length > 0 ? TOLERANCE_SIGMAS * shareSe(share(stalled), stalled.length) : 0,
      toleranceBasis: `${TOLERANCE_SIGMAS} standard errors of a share over the stalled runs, √(max(p(1 − p), 1/n)/n)`,
      alternative: moving.length > 0 ? share(moving) : null,
      ...(stalled.length === 0
        ? { untestable: 'no run stalled, so nothing can come before a stall' }
        : TOLERANCE_SIGMAS * shareSe(share(stalled), stalled.length) >= 1
          ? { untestable: `${stalled.length} stalled run(s) are too few to test: ${TOLERANCE_SIGMAS} standard errors of a share over them cover every possible share` }
          : {}),
    }),
    makeCheck({
      id: 'C11.d', side: 'at-most', kind: 'implementation',
      statement: 'Sanity check of Zhai et al.\'s bound in its L2 form: no attention row has less entropy than the one-up row of the same centred L2 norm.',
      quantity: `rows below the L2-form bound, every row of every step of every run (${l2.rows} rows)`,
      measured: l2.violations, predicted: 0, tolerance: 0,
      toleranceBasis: 'exact: a theorem, so a row below it (beyond float64 rounding, 1e-12 per term) is a bug',
    }),
    makeCheck({
      id: 'C11.e', side: 'at-most', kind: 'implementation',
      statement: 'Zhai et al.\'s bound from the weights and the inputs (σ form) holds for every traced head.',
      quantity: `traced heads (every ${f.plan.rowEvery} steps, ${bound.heads} in all) whose mean entropy is below the bound computed from ‖W_Q‖₂‖W_K‖₂ and the inputs (τ·√n under QK-norm)`,
      measured: bound.violations, predicted: 0, tolerance: 0,
      toleranceBasis: 'exact: the bound follows from Cauchy–Schwarz, so a head below it is a bug',
    }),
  ];
}

function meaning(f: C11Figures, c: readonly Check[]): { meaning: string; findings: string[] } {
  const top = f.plan.lrs[f.plan.lrs.length - 1];
  const at = (rule: ScaleRule, lr: number): number => mean(f.runs.filter((r) => r.rule === rule && r.lr === lr).map((r) => r.maxLogit));
  const tau = (lr: number, last: boolean): number => {
    const runs = of(f, 'qk-norm').filter((r) => r.lr === lr);
    const steps = runs.flatMap((r) => r.traces).map((t) => t.step);
    const step = last ? Math.max(...steps) : Math.min(...steps);
    return mean(runs.flatMap((r) => r.traces.filter((t) => t.step === step).map((t) => t.learnt ?? NaN)));
  };
  const stalled = f.runs.filter((r) => r.stalled);
  const stalls = (rule: ScaleRule): string => {
    const lrs = [...new Set(stalled.filter((r) => r.rule === rule).map((r) => fmt(r.lr)))];
    return lrs.length === 0 ? 'none' : lrs.join(', ');
  };
  const sens = (rule: ScaleRule): number => mean(seeds(f).map((s) => sensitivity(of(f, rule, s))));
  const bound = boundViolations(f.runs);
  const diverged = f.runs.filter((r) => r.divergedAt !== null).length;
  return {
    meaning:
      `At learning rate ${fmt(top)} the largest attention logit reached ${fmt(at('rsqrt', top))} under 1/√d_k and ${fmt(at('qk-norm', top))} under QK-norm, ` +
      `a ratio of ${fmt(Math.exp(mean(logRatios(f))))} (geometric mean over the high learning rates; ${verdictPhrase(c[0])}), while QK-norm's learnt temperature τ went from ${fmt(tau(top, false))} to ${fmt(tau(top, true))}. ` +
      `LR sensitivity was ${fmt(sens('rsqrt'))} nats under 1/√d_k and ${fmt(sens('qk-norm'))} under QK-norm (${verdictPhrase(c[1])}). ` +
      `${stalled.length} of ${f.runs.filter((r) => r.aboveBest).length} runs above their best learning rate stalled (1/√d_k at ${stalls('rsqrt')}; QK-norm at ${stalls('qk-norm')}; ${diverged} diverged); ${verdictPhrase(c[2])}. ` +
      `Zhai et al.'s bound held row by row in its L2 form (${verdictPhrase(c[3])}) and head by head from the weights (${verdictPhrase(c[4])}), but that σ form is loose: measured entropy sat ${fmt(bound.meanGap)} nats above it on average.`,
    findings: [
      `LR sensitivity per seed, QK-norm minus 1/√d_k: ${sensitivityGaps(f).map((v) => fmt(v)).join(', ')} nats.`,
      `Steps at which the stalled runs collapsed: ${f.runs.filter((r) => r.stalled).map((r) => (r.collapseStep === null ? 'never' : String(r.collapseStep))).join(', ') || 'none stalled'} (of ${f.plan.steps}).`,
      `Runs above their best learning rate that collapsed without stalling: ${f.runs.filter((r) => r.aboveBest && !r.stalled && r.collapseStep !== null).length} of ${f.runs.filter((r) => r.aboveBest && !r.stalled).length}.`,
      `Zhai's σ = ‖W_K W_Qᵀ‖₂‖XXᵀ‖₂ at the first traced step: ${fmt(mean(f.runs.flatMap((r) => r.traces.filter((t) => t.step === 1).map((t) => t.sigma))))} (mean over heads and runs); at the last, ${fmt(mean(f.runs.flatMap((r) => r.traces.filter((t) => t.step === Math.max(...r.traces.map((u) => u.step))).map((t) => t.sigma))))}.`,
    ],
  };
}

function rows(f: C11Figures): Row[] {
  const out: Row[] = [];
  for (const r of f.runs) {
    for (const p of r.steps) out.push({ part: 'step', rule: r.rule, lr: r.lr, seed: r.seed, step: p.step, loss: p.loss, maxLogit: p.maxLogit, minEntropy: p.minEntropy });
    for (const t of r.traces) {
      out.push({ part: 'head', rule: r.rule, lr: r.lr, seed: r.seed, step: t.step, layer: t.layer, head: t.head, learnt: t.learnt, sigma: t.sigma, entropy: t.entropy, entropyBound: t.entropyBound });
    }
  }
  for (const rule of C11_RULES) for (const s of seeds(f)) out.push({ part: 'sensitivity', rule, seed: s, sensitivity: sensitivity(of(f, rule, s)) });
  for (const r of f.runs) {
    out.push({
      part: 'run', rule: r.rule, lr: r.lr, seed: r.seed, diverged: r.divergedAt !== null, divergedAt: r.divergedAt, initLoss: r.initLoss, countedLoss: r.countedLoss,
      maxLogit: r.maxLogit, minEntropy: r.minEntropy, firstMinEntropy: r.firstMinEntropy, collapseStep: r.collapseStep, aboveBest: r.aboveBest, stalled: r.stalled,
      l2Rows: r.l2Rows, l2Violations: r.l2Violations,
    });
  }
  return out;
}

/**
 * C11. Learning rate against the attention logits: the small transformer on
 * recall at learning rates from 1e-3 to 3e-1, with 1/√d_k and with QK-norm.
 */
export const learningRate = composeExperiment<C11Figures>(
  {
    id: 'C11',
    slug: 'learning-rate',
    title: 'Learning rate, logit growth and entropy collapse: what QK-norm changes',
    statement:
      'Wortsman et al. 2023: at high learning rates attention logits grow and QK-layernorm mitigates that growth and lowers the sensitivity of the loss to the learning rate; ' +
      'Zhai et al. 2023: attention entropy, bounded below through σ = ‖W_K W_Qᵀ‖₂‖XXᵀ‖₂, collapses in runs that fail.',
    theory:
      'Adam moves every weight by about the learning rate per step whatever the gradient\'s size, so W_q and W_k grow with it and q·k with their product (Wortsman et al.). ' +
      'QK-norm normalises q and k, so a logit cannot exceed the learnt temperature τ (started at √d_k; Adam can grow it too, so its logits are mitigated, not fixed). ' +
      'Wortsman et al. measure LR sensitivity as the mean over a learning-rate range of min(final loss, initial loss) − the best final loss. ' +
      'Zhai et al. (Theorem 3.1) bound a row\'s entropy from below by that of the one-up row with the same L2 norm, and the L2 norm through σ: large σ allows collapse. ' +
      `The trainer stops a run as diverged when a step's loss exceeds ${DIVERGENCE_FACTOR}× the first's, but with gradient clipping at 1 the failure Wortsman et al. describe can show at this scale as a stall (loss stuck near chance) instead, ` +
      `so a run above its best learning rate counts as failed when its final loss is at least ${STALL} × ln ${Math.round(Math.exp(C11_CHANCE))} (chance: an answer is one of ${Math.round(Math.exp(C11_CHANCE))} values).`,
    fullOnly: true,
    charts: c11Charts,
  },
  {
    measure: measureC11,
    checks,
    meaning,
    rows,
    parameters: (f) => ({
      steps: f.plan.steps, seeds: f.plan.seeds, learningRates: f.plan.lrs, rules: C11_RULES, collapseShare: COLLAPSE, stallShare: STALL, chanceLoss: C11_CHANCE,
      model: 'recall (4 pairs of 16 symbols), 2 layers, 4 heads of dim 8, width 32, batch 16, rotary positions; AdamW, weight decay 0.01, clip 1, 5% warmup then cosine',
      traceEvery: f.plan.rowEvery,
    }),
  },
);
