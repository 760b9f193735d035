import { trainManySync, type ScaleRule, type TrainConfig } from '../../nn/index.js';
import { fmt, makeCheck, verdictPhrase, type Check, type ClaimResult, type Experiment, type LabMode } from '../experiment.js';
import type { Row } from '../types.js';
import { measuredVsTheoryChart } from '../charts.js';
import { mean, standardError, TOLERANCE_SIGMAS } from '../stats.js';

/** How much C12 trains: `--full` sizes it to about 3 minutes on two cores; tests run the quick plan. */
export interface C12Plan {
  steps: number;
  seeds: number;
  validationNames: number;
}

export function c12Plan(mode: LabMode): C12Plan {
  return mode === 'quick' ? { steps: 10, seeds: 1, validationNames: 64 } : { steps: 400, seeds: 2, validationNames: 256 };
}

const RULES: { rule: ScaleRule; label: string }[] = [
  { rule: 'rsqrt', label: 'plain softmax' },
  { rule: 'softmax1', label: 'softmax₁ (sink at 0)' },
  { rule: 'sink', label: 'learnt sink' },
];

/** The C12 runs: character-level names (every sequence opens with the boundary token), 2 layers × 4 heads of dim 8 (about 50 ms of CPU a step). */
export function c12Config(rule: ScaleRule, seed: number, plan: C12Plan): TrainConfig {
  return {
    task: 'names', scaleRule: rule, headDim: 8, width: 32, layers: 2, steps: plan.steps, lr: 3e-3, batchSize: 32, seed,
    evalEvery: plan.steps, validationSize: plan.validationNames, trackAttention: true,
  };
}

/**
 * C12. Where a trained head puts the attention it does not need: on the first
 * position (plain softmax), or on a sink that carries no value.
 */
export const sinks: Experiment = {
  id: 'C12',
  slug: 'sinks',
  title: 'Where attention goes when no key matters: sinks',
  statement:
    'Trained heads with a plain softmax park attention on the first position, far above what a uniform row would give it; a sink (softmax₁\'s fixed one or a learnt logit per head) takes that mass instead.',
  theory:
    'A softmax row must sum to 1, so a head with nothing to read still spreads its weight somewhere; a key whose value the network can ignore, such as the always-present ' +
    'first token, becomes that place (Xiao et al. 2023, "attention sinks"). Adding a logit to every row\'s normaliser that carries no value — 0 in Miller\'s softmax₁ ' +
    '("off by one"), a learnt b_h per head — lets the row sum to less than 1 instead, so the first position should lose its excess. The baseline for "excess" is the ' +
    'weight a uniform row would put on key 0, the mean of 1/(keys visible) over the same rows. ' +
    'Sized for `--full`: about 2.5 CPU-minutes, under 2 minutes on two quiet cores (3 rules × 2 seeds, 400 steps on names).',
  fullOnly: true,
  run({ settings, seedFor, progress }) {
    const plan = c12Plan(settings.mode);
    const jobs = RULES.flatMap(({ rule, label }) => Array.from({ length: plan.seeds }, (_, s) => ({ rule, label, seed: s })));
    const records = trainManySync(jobs.map((j) => c12Config(j.rule, seedFor('run', j.seed), plan)), { onDone: (_, done) => progress(done / jobs.length) });
    const rows: Row[] = [];
    jobs.forEach((j, i) => {
      for (const h of records[i].heads) {
        rows.push({
          rule: j.rule, label: j.label, seed: j.seed, layer: h.layer, head: h.head, headName: `L${h.layer}H${h.head}`,
          firstShare: h.firstShare, firstUniform: h.firstUniform, firstExcess: h.firstShare - h.firstUniform, sinkShare: h.sinkShare, entropy: h.entropy,
          valLoss: records[i].final.valLoss,
        });
      }
    });
    const of = (rule: ScaleRule): Row[] => rows.filter((r) => r.rule === rule);
    const excess = (rule: ScaleRule): { value: number; se: number } => {
      const xs = of(rule).map((r) => r.firstExcess as number);
      return { value: mean(xs), se: xs.length > 1 ? standardError(xs) : NaN };
    };
    const plain = of('rsqrt');
    const parked = plain.filter((r) => (r.firstShare as number) > (r.firstUniform as number)).length / plain.length;
    const plainExcess = excess('rsqrt');
    const sinkCheck = (id: string, rule: ScaleRule, label: string): Check => {
      const e = excess(rule);
      return makeCheck({
        id, statement: `With ${label}, heads put no more on the first position than a uniform row would (the plain heads' excess is the rival).`,
        quantity: `weight on key 0 minus its uniform baseline, mean over ${of(rule).length} heads (layers × heads × seeds), ${rule}`,
        measured: e.value, predicted: 0, tolerance: TOLERANCE_SIGMAS * Math.hypot(e.se, plainExcess.se),
        toleranceBasis: `${TOLERANCE_SIGMAS} standard errors of the difference, from the spread over heads and seeds`, alternative: plainExcess.value,
      });
    };
    const checks: Check[] = [
      makeCheck({
        id: 'C12.a', statement: 'Plain-softmax heads park attention on the first position: each puts more on it than a uniform row would.',
        quantity: `share of the ${plain.length} plain heads (layers × heads × seeds) whose weight on key 0 exceeds its uniform baseline`,
        measured: parked, predicted: 1, tolerance: 1 / (2 * Math.sqrt(plain.length)),
        toleranceBasis: 'one standard error of a fair coin\'s share over the heads, 1/(2√heads): no preference for key 0 would give 1/2', alternative: 0.5,
      }),
      sinkCheck('C12.b', 'sink', 'a learnt sink'),
      sinkCheck('C12.c', 'softmax1', 'softmax₁'),
    ];
    const avg = (rule: ScaleRule, field: string): number => mean(of(rule).map((r) => r[field] as number));
    const loss = (rule: ScaleRule): number => mean(records.filter((_, i) => jobs[i].rule === rule).map((r) => r.final.valLoss));
    return {
      checks,
      rows,
      meaning:
        `Plain heads put ${fmt(avg('rsqrt', 'firstShare'))} of their attention on the first position on average, against ${fmt(avg('rsqrt', 'firstUniform'))} for uniform rows; ` +
        `${fmt(100 * parked)}% of them exceeded that baseline (${verdictPhrase(checks[0])}). With a learnt sink the first position got ${fmt(avg('sink', 'firstShare'))} and the sink ${fmt(avg('sink', 'sinkShare'))} ` +
        `(${verdictPhrase(checks[1])}); with softmax₁, ${fmt(avg('softmax1', 'firstShare'))} and ${fmt(avg('softmax1', 'sinkShare'))} (${verdictPhrase(checks[2])}).`,
      findings: [
        `Validation loss (nats/char): plain ${fmt(loss('rsqrt'))}, softmax₁ ${fmt(loss('softmax1'))}, learnt sink ${fmt(loss('sink'))}.`,
        `Largest weight on key 0 of any plain head: ${fmt(Math.max(...plain.map((r) => r.firstShare as number)))}.`,
      ],
      parameters: {
        steps: plan.steps, seeds: plan.seeds, validationNames: plan.validationNames, rules: RULES.map((r) => r.rule),
        model: 'names, 2 layers, 4 heads of dim 8, width 32, rotary positions and token shift; AdamW lr 3e-3, batch 32',
      },
    };
  },
  charts(claim: ClaimResult) {
    const common = { series: 'label', seriesTitle: 'softmax', width: 330, height: 230 };
    return [
      measuredVsTheoryChart({
        ...common, title: 'Weight on the first position, per head', subtitle: 'dashed: a uniform row\'s weight on key 0, per head',
        x: { field: 'firstUniform', title: 'uniform baseline' }, y: { field: 'firstShare', title: 'weight on key 0', domain: [0, 1] }, points: claim.rows,
        theory: claim.rows.map((r) => ({ label: r.label, firstUniform: r.firstUniform, firstShare: r.firstUniform })),
      }),
      measuredVsTheoryChart({
        ...common, title: 'Weight on the sink against weight on key 0', subtitle: 'one point per head',
        x: { field: 'firstShare', title: 'weight on key 0', domain: [0, 1] }, y: { field: 'sinkShare', title: 'weight on the sink', domain: [0, 1] }, points: claim.rows,
      }),
    ];
  },
};
