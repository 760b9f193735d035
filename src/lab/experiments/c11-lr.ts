import { DIVERGENCE_FACTOR, entropyLowerBound, exactEntropyMinimum, trainManySync, type ScaleRule, type TrainConfig, type TrainRecord } from '../../nn/index.js';
import { fmt, makeCheck, verdictPhrase, type Check, type ClaimResult, type Experiment, type LabMode } from '../experiment.js';
import type { Row } from '../types.js';
import { geomspace, measuredVsTheoryChart } from '../charts.js';
import { mean, standardError, TOLERANCE_SIGMAS } from '../stats.js';
import { lineFit } from './fits.js';

/** How much C11 trains: `--full` sizes it to about 3 minutes on two cores; tests run the quick plan. */
export interface C11Plan {
  steps: number;
  seeds: number;
  lrs: number[];
  /** Every how many steps a step's figures go into the rows (all steps are used for the checks). */
  rowEvery: number;
}

export function c11Plan(mode: LabMode): C11Plan {
  return mode === 'quick'
    ? { steps: 12, seeds: 1, lrs: geomspace(1e-3, 3e-1, 3), rowEvery: 4 }
    : { steps: 200, seeds: 2, lrs: geomspace(1e-3, 3e-1, 6), rowEvery: 10 };
}

const RULES: ScaleRule[] = ['rsqrt', 'qk-norm'];
/** A head's entropy has collapsed when it falls below this share of its value at the first step. */
const COLLAPSE = 0.1;

/** The C11 training run at one learning rate: recall at 4 pairs (16 tokens), a 2-layer model with 4 heads of dim 8 (about 50 ms of CPU a step). */
export function c11Config(rule: ScaleRule, lr: number, seed: number, steps: number): TrainConfig {
  return {
    task: 'recall', scaleRule: rule, headDim: 8, width: 32, layers: 2, steps, lr, batchSize: 16, seed, evalEvery: steps,
    recallPairs: 4, recallSymbols: 16, validationSize: 64, trackAttention: true,
  };
}

/** Final validation loss, or the first step's loss for a run that diverged (Wortsman et al.'s convention). */
export function finalOrInitial(r: Pick<TrainRecord, 'divergedAt' | 'initLoss' | 'final'>): number {
  return r.divergedAt === null ? r.final.valLoss : r.initLoss;
}

/**
 * C11. Learning rate against the attention logits: the small transformer on
 * recall at learning rates from 1e-3 to 3e-1, with 1/√d_k and with QK-norm.
 */
export const learningRate: Experiment = {
  id: 'C11',
  slug: 'learning-rate',
  title: 'Learning rate pushes the logits up; QK-norm holds them',
  statement:
    'Trained at higher learning rates, attention logits grow under 1/√d_k and heads collapse to low entropy before the loss diverges; QK-norm bounds the logits by its learnt temperature and lowers the sensitivity to the learning rate.',
  theory:
    'Adam moves every weight by about the learning rate per step whatever the gradient\'s size, so W_q and W_k grow with it and q·k with their product (Wortsman et al. 2023). ' +
    'Large logits make a head one-hot (entropy → 0) and its Jacobian vanish (C3), the "attention entropy collapse" that Zhai et al. 2023 tie to divergence. ' +
    'QK-norm (ViT-22B) normalises q and k, so |q̂·k̂| ≤ 1 and a logit cannot exceed the learnt temperature τ. ' +
    'Zhai et al. bound the attention entropy from below by that of a row with one logit at the top and the rest at the bottom, ln(1 + (n − 1)e^(−β)) + β(n − 1)e^(−β)/(1 + (n − 1)e^(−β)); checked here with β each row\'s own spread, beside the exact minimum over rows of that spread. ' +
    `A run diverges here when a step's loss is not finite or exceeds ${DIVERGENCE_FACTOR}× the first step's; it stops there and counts at its initial loss. ` +
    'Sized for `--full`: about 4 CPU-minutes, 2 to 3 minutes on two quiet cores (6 learning rates × 2 rules × 2 seeds, 200 AdamW steps each, gradient clipping at 1).',
  fullOnly: true,
  run({ settings, seedFor, progress }) {
    const plan = c11Plan(settings.mode);
    const jobs = RULES.flatMap((rule) => plan.lrs.flatMap((lr) => Array.from({ length: plan.seeds }, (_, s) => ({ rule, lr, seed: s }))));
    const configs = jobs.map((j) => c11Config(j.rule, j.lr, seedFor('run', j.seed), plan.steps));
    const records = trainManySync(configs, { onDone: (_, done) => progress(done / configs.length) });

    const rows: Row[] = [];
    const runs: Row[] = [];
    let boundRows = 0;
    let violations = 0;
    let minMargin = Infinity;
    let exactViolations = 0;
    let exactMinMargin = Infinity;
    jobs.forEach((j, i) => {
      const r = records[i];
      const first = r.steps[0];
      const collapseStep = r.steps.find((p) => p.minEntropy < COLLAPSE * first.minEntropy)?.step ?? null;
      boundRows += r.entropyBound.rows;
      violations += r.entropyBound.violations;
      minMargin = Math.min(minMargin, r.entropyBound.minMargin);
      exactViolations += r.entropyBound.exactViolations;
      exactMinMargin = Math.min(exactMinMargin, r.entropyBound.exactMinMargin);
      for (const p of r.steps) {
        if (p.step % plan.rowEvery === 0 || p.step === 1 || p.step === r.steps.length) {
          rows.push({ part: 'step', rule: j.rule, lr: j.lr, seed: j.seed, step: p.step, loss: p.loss, maxLogit: p.maxLogit, minEntropy: p.minEntropy });
        }
      }
      runs.push({
        part: 'run', rule: j.rule, lr: j.lr, seed: j.seed, diverged: r.divergedAt !== null, divergedAt: r.divergedAt, stepsDone: r.stepsDone,
        initLoss: r.initLoss, finalValLoss: r.divergedAt === null ? r.final.valLoss : null, countedLoss: finalOrInitial(r),
        maxLogit: Math.max(...r.steps.map((p) => p.maxLogit)), minEntropy: Math.min(...r.steps.map((p) => p.minEntropy)),
        firstMinEntropy: first.minEntropy, collapseStep, boundRows: r.entropyBound.rows, boundViolations: r.entropyBound.violations,
        exactViolations: r.entropyBound.exactViolations,
      });
    });

    // LR sensitivity per rule and seed: mean over learning rates of (counted loss − the best over learning rates).
    const sensitivity = (rule: ScaleRule): { value: number; se: number; perSeed: number[] } => {
      const perSeed = Array.from({ length: plan.seeds }, (_, s) => {
        const losses = runs.filter((r) => r.rule === rule && r.seed === s).map((r) => r.countedLoss as number);
        const best = Math.min(...losses);
        return mean(losses.map((l) => l - best));
      });
      return { value: mean(perSeed), se: perSeed.length > 1 ? standardError(perSeed) : NaN, perSeed };
    };
    for (const rule of RULES) sensitivity(rule).perSeed.forEach((v, s) => rows.push({ part: 'sensitivity', rule, seed: s, sensitivity: v }));
    rows.push(...runs);

    // Max logit against learning rate: slope of ln(max logit) on ln(lr), all seeds, per rule.
    const logitFit = (rule: ScaleRule): ReturnType<typeof lineFit> => {
      const pts = runs.filter((r) => r.rule === rule && (r.maxLogit as number) > 0);
      return lineFit(pts.map((r) => Math.log(r.lr as number)), pts.map((r) => Math.log(r.maxLogit as number)));
    };
    const rsqrtFit = logitFit('rsqrt');
    const qkFit = logitFit('qk-norm');
    const diverged = runs.filter((r) => r.diverged);
    const collapsedFirst = diverged.filter((r) => r.collapseStep !== null && (r.collapseStep as number) < (r.divergedAt as number));
    const stable = runs.filter((r) => !r.diverged);
    const collapsedStable = stable.filter((r) => r.collapseStep !== null);
    const share = (k: number, n: number): number => (n > 0 ? k / n : NaN);
    const checks: Check[] = [
      makeCheck({
        id: 'C11.a', statement: 'QK-norm holds the logits: its largest logit does not grow with the learning rate (1/√d_k\'s growth is the rival).',
        quantity: `slope of ln(largest attention logit over training) on ln(learning rate), qk-norm, ${plan.lrs.length} learning rates × ${plan.seeds} seed(s)`,
        measured: qkFit.slope, predicted: 0, tolerance: TOLERANCE_SIGMAS * qkFit.se,
        toleranceBasis: `${TOLERANCE_SIGMAS} standard errors of qk-norm's slope, from the residuals of its fit over learning rates and seeds`, alternative: rsqrtFit.slope,
      }),
      makeCheck({
        id: 'C11.b', statement: `Entropy collapse precedes divergence: a run that diverges first has a head fall below ${COLLAPSE} of its initial entropy.`,
        quantity: `share of the ${diverged.length} diverged run(s) with such a collapse before the step that diverged`,
        measured: share(collapsedFirst.length, diverged.length), predicted: 1, tolerance: diverged.length > 0 ? 1 / (2 * Math.sqrt(diverged.length)) : NaN,
        toleranceBasis: 'one standard error of a fair coin\'s share over the diverged runs, 1/(2√runs); the rival is the share among runs that did not diverge',
        alternative: share(collapsedStable.length, stable.length),
      }),
      makeCheck({
        id: 'C11.c', statement: 'No measured head\'s entropy falls below Zhai et al.\'s bound in its one-up form: the entropy of one logit at the top of the row\'s spread and the rest at the bottom.',
        quantity: `attention rows (of two or more keys) below that one-up entropy, over every step of every run (${boundRows} rows)`,
        measured: violations, predicted: 0, tolerance: 0,
        toleranceBasis: 'exact: a row counts only if it is below the bound by more than the float64 rounding of its entropy (1e-12 per term)',
      }),
      makeCheck({
        id: 'C11.d', statement: 'No row\'s entropy falls below the least entropy any row with its spread can have (k logits at the top, the rest at the bottom, the best k).',
        quantity: `attention rows below that exact minimum, over every step of every run (${boundRows} rows)`,
        measured: exactViolations, predicted: 0, tolerance: 0,
        toleranceBasis: 'exact, as C11.c',
      }),
    ];
    const sR = sensitivity('rsqrt');
    const sQ = sensitivity('qk-norm');
    const topLr = plan.lrs[plan.lrs.length - 1];
    const at = (rule: ScaleRule, lr: number): number => mean(runs.filter((r) => r.rule === rule && r.lr === lr).map((r) => r.maxLogit as number));
    const divergedOf = (rule: ScaleRule): string => {
      const d = diverged.filter((r) => r.rule === rule).map((r) => fmt(r.lr as number));
      return d.length === 0 ? 'none' : [...new Set(d)].join(', ');
    };
    return {
      checks,
      rows,
      meaning:
        `From learning rate ${fmt(plan.lrs[0])} to ${fmt(topLr)} the largest attention logit went from ${fmt(at('rsqrt', plan.lrs[0]))} to ${fmt(at('rsqrt', topLr))} under 1/√d_k ` +
        `(ln-ln slope ${fmt(rsqrtFit.slope)} ± ${fmt(rsqrtFit.se)}) and from ${fmt(at('qk-norm', plan.lrs[0]))} to ${fmt(at('qk-norm', topLr))} under QK-norm (slope ${fmt(qkFit.slope)} ± ${fmt(qkFit.se)}; ${verdictPhrase(checks[0])}). ` +
        `${diverged.length} of ${runs.length} runs diverged (rsqrt at ${divergedOf('rsqrt')}; qk-norm at ${divergedOf('qk-norm')}); ${verdictPhrase(checks[1])}. ` +
        `LR sensitivity (mean excess loss over the best learning rate, nats) was ${fmt(sR.value)} for 1/√d_k and ${fmt(sQ.value)} for QK-norm. ` +
        `${violations} of ${boundRows} rows fell below the one-up entropy (${verdictPhrase(checks[2])}; smallest margin ${fmt(minMargin)} nats) and ${exactViolations} below the exact minimum for their spread (${verdictPhrase(checks[3])}; smallest margin ${fmt(exactMinMargin)} nats).`,
      findings: [
        `The one-up row is the least-entropy row of its spread only when the spread is large: ∂H/∂xⱼ = −pⱼ(xⱼ − Σpx) sends every logit of a minimum to an end of the range, and for moderate spreads more than one logit at the top gives less entropy (n = 16, spread 3: ${fmt(exactEntropyMinimum(3, 16), 4)} nats at best against ${fmt(entropyLowerBound(3, 16), 4)} with one), so C11.c can fail where C11.d holds.`,
        `Runs whose smallest head entropy fell below ${COLLAPSE} of its start without diverging: ${collapsedStable.length} of ${stable.length}.`,
        ...(sR.perSeed.length > 1 ? [`LR sensitivity per seed: rsqrt ${sR.perSeed.map((v) => fmt(v)).join(', ')}; qk-norm ${sQ.perSeed.map((v) => fmt(v)).join(', ')}; their difference ${fmt(sR.value - sQ.value)} nats (no theory gives its size, so it is reported, not checked).`] : []),
      ],
      parameters: {
        steps: plan.steps, seeds: plan.seeds, learningRates: plan.lrs, rules: RULES, divergenceFactor: DIVERGENCE_FACTOR, collapseShare: COLLAPSE,
        model: 'recall (4 pairs of 16 symbols), 2 layers, 4 heads of dim 8, width 32, batch 16; AdamW, weight decay 0.01, clip 1, 5% warmup then cosine', stepRowEvery: plan.rowEvery,
      },
    };
  },
  charts(claim: ClaimResult) {
    const runs = claim.rows.filter((r) => r.part === 'run');
    const steps = claim.rows.filter((r) => r.part === 'step');
    const topLr = Math.max(...runs.map((r) => r.lr as number));
    const topSteps = steps.filter((r) => r.lr === topLr && r.seed === 0).map((r) => ({ ...r, run: `${r.rule}` }));
    return [
      measuredVsTheoryChart({
        title: 'Largest attention logit against learning rate', subtitle: 'one point per run: the largest over its steps', series: 'rule', seriesTitle: 'rule',
        x: { field: 'lr', title: 'peak learning rate', log: true }, y: { field: 'maxLogit', title: 'largest logit', log: true }, points: runs, width: 330, height: 230,
      }),
      measuredVsTheoryChart({
        title: 'Final loss against learning rate', subtitle: 'diverged runs at their initial loss', series: 'rule', seriesTitle: 'rule', shape: 'diverged',
        x: { field: 'lr', title: 'peak learning rate', log: true }, y: { field: 'countedLoss', title: 'validation loss (nats)' }, points: runs, width: 330, height: 230,
      }),
      measuredVsTheoryChart({
        title: `Smallest head entropy over training, lr = ${fmt(topLr)}`, subtitle: 'seed 0', series: 'run', seriesTitle: 'rule', connect: true,
        x: { field: 'step', title: 'step' }, y: { field: 'minEntropy', title: 'smallest per-head entropy (nats)' }, points: topSteps, width: 330, height: 230,
      }),
    ];
  },
};
