import { composeExperiment, fmt, makeCheck, verdictPhrase, type Check, type ClaimResult } from '../experiment.js';
import type { ChartSpec, Row } from '../types.js';
import { measuredVsTheoryChart } from '../charts.js';
import { mean, standardError, TOLERANCE_SIGMAS } from '../stats.js';
import { numberField, stringField } from '../rows.js';
import { C12_RULES, C12_TASKS, measureC12, POOL_LOGIT, type C12Figures, type C12Head, type C12Task } from './c12-measure.js';

export { c12Config, c12Plan, POOL_LOGIT, type C12Plan } from './c12-measure.js';

const on = (f: C12Figures, task: C12Task, ...rules: string[]): C12Head[] => f.heads.filter((h) => h.task === task && rules.includes(h.rule));

/** Whether the learnt sink stayed near softmax₁'s 0 on this task, so the two arms are one piece of evidence. */
function pooled(f: C12Figures, task: C12Task): boolean {
  return on(f, task, 'sink').every((h) => h.sinkEnd !== null && Math.abs(h.sinkEnd) <= POOL_LOGIT);
}

const sinkArm = (f: C12Figures, task: C12Task): C12Head[] => (pooled(f, task) ? on(f, task, 'sink', 'softmax1') : on(f, task, 'sink'));
const se = (xs: number[]): number => (xs.length > 1 ? standardError(xs) : NaN);

function checks(f: C12Figures): Check[] {
  const out: Check[] = [];
  C12_TASKS.forEach(({ task, label }, t) => {
    const plain = on(f, task, 'rsqrt').map((h) => h.excess);
    const arm = sinkArm(f, task);
    const armExcess = arm.map((h) => h.excess);
    const few = (n: number): { untestable?: string } => (n < 2 ? { untestable: 'one head gives no spread to judge the mean by' } : {});
    out.push(makeCheck({
      id: `C12.${String.fromCharCode(97 + 2 * t)}`, side: 'above',
      statement: `Xiao et al.: trained plain-softmax heads put more attention on the first position than a uniform row would (${label}).`,
      quantity: `weight on key 0 minus a uniform row's, mean over ${plain.length} plain heads (layers × heads × seeds)`,
      measured: mean(plain), predicted: 0, tolerance: TOLERANCE_SIGMAS * se(plain),
      toleranceBasis: `${TOLERANCE_SIGMAS} standard errors of the mean over heads; 0 (no preference for key 0) is the null`, ...few(plain.length),
    }));
    out.push(makeCheck({
      id: `C12.${String.fromCharCode(98 + 2 * t)}`, side: 'at-most',
      statement: `Miller (softmax₁), Xiao et al. (sink token): with a sink in the normaliser, heads put no more on the first position than a uniform row over the mass the sink leaves (${label}).`,
      quantity: `weight on key 0 minus (1 − sink share) × a uniform row's, mean over ${arm.length} heads of ${pooled(f, task) ? 'the learnt sink and softmax₁ together (the learnt sink stayed within ' + POOL_LOGIT + ' of 0)' : 'the learnt sink'}`,
      measured: mean(armExcess), predicted: 0, tolerance: TOLERANCE_SIGMAS * se(armExcess),
      toleranceBasis: `${TOLERANCE_SIGMAS} standard errors of the mean over heads`, ...few(armExcess.length),
    }));
  });
  return out;
}

function meaning(f: C12Figures, c: readonly Check[]): { meaning: string; findings: string[] } {
  const avg = (task: C12Task, rule: string, pick: (h: C12Head) => number): number => mean(on(f, task, rule).map(pick));
  const parts = C12_TASKS.map(({ task, label }, t) =>
    `On ${label}, plain heads put ${fmt(avg(task, 'rsqrt', (h) => h.firstShare))} of their attention on key 0 against ${fmt(avg(task, 'rsqrt', (h) => h.firstUniform))} for a uniform row (${verdictPhrase(c[2 * t])}); ` +
    `with a learnt sink key 0 got ${fmt(avg(task, 'sink', (h) => h.firstShare))} and the sink ${fmt(avg(task, 'sink', (h) => h.sinkShare))}, with softmax₁ ${fmt(avg(task, 'softmax1', (h) => h.firstShare))} and ${fmt(avg(task, 'softmax1', (h) => h.sinkShare))} (${verdictPhrase(c[2 * t + 1])}).`);
  const moved = (task: C12Task): string => {
    const sinks = on(f, task, 'sink');
    return `from ${fmt(mean(sinks.map((h) => h.sinkStart ?? NaN)))} to a mean of ${fmt(mean(sinks.map((h) => h.sinkEnd ?? NaN)))} (largest |b| ${fmt(Math.max(...sinks.map((h) => Math.abs(h.sinkEnd ?? NaN))))})`;
  };
  return {
    meaning: `${parts.join(' ')} Sinks are reported in trained LLMs with long contexts and long training; this 2-layer, width-32 model after ${f.plan.steps} steps was not expected to show them on names, and the marked-copy task is the toy setting where a head has nothing to do on most rows.`,
    findings: [
      ...C12_TASKS.map(({ task, label }) => `Learnt sink logits on ${label} went ${moved(task)}; the learnt sink and softmax₁ ${pooled(f, task) ? 'are counted as one piece of evidence' : 'diverged and are counted apart'}.`),
      ...C12_TASKS.map(({ task, label }) => `Validation loss on ${label} (nats per scored token): ${C12_RULES.map(({ rule, label: l }) => `${l} ${fmt(avg(task, rule, (h) => h.valLoss))}`).join(', ')}.`),
      `Largest weight on key 0 of any plain head: ${C12_TASKS.map(({ task, label }) => `${label} ${fmt(Math.max(...on(f, task, 'rsqrt').map((h) => h.firstShare)))}`).join(', ')}.`,
    ],
  };
}

function rows(f: C12Figures): Row[] {
  return f.heads.map((h) => ({
    task: h.task, rule: h.rule, label: h.label, seed: h.seed, layer: h.layer, head: h.head, headName: `L${h.layer}H${h.head}`,
    firstShare: h.firstShare, firstUniform: h.firstUniform, sinkShare: h.sinkShare, baseline: h.baseline, excess: h.excess,
    sinkStart: h.sinkStart, sinkEnd: h.sinkEnd, valLoss: h.valLoss,
  }));
}

function charts(claim: ClaimResult): ChartSpec[] {
  const heads = Math.max(...claim.rows.map((r) => numberField(r, 'head'))) + 1;
  return C12_TASKS.flatMap(({ task, label }) => {
    const mine = claim.rows.filter((r) => r.task === task).map((r) => ({
      ...r, index: numberField(r, 'layer') * heads + numberField(r, 'head') + 0.15 * (numberField(r, 'seed') - 0.5), series: stringField(r, 'label'),
    }));
    const xs = mine.map((r) => r.index);
    const zero = [{ series: 'uniform (0)', index: Math.min(...xs), excess: 0 }, { series: 'uniform (0)', index: Math.max(...xs), excess: 0 }];
    return [
      measuredVsTheoryChart({
        title: `Weight on key 0 above a uniform row's, per head (${label})`, subtitle: 'sink rules: the baseline leaves out the sink\'s share',
        series: 'series', seriesTitle: '', x: { field: 'index', title: 'head: layer × heads + head, seeds side by side' }, y: { field: 'excess', title: 'excess weight on key 0' },
        points: mine, theory: zero, width: 330, height: 230,
      }),
      measuredVsTheoryChart({
        title: `Weight on the sink against weight on key 0 (${label})`, subtitle: 'one point per head; softmax₁ hides under the learnt sink where they agree', series: 'series', seriesTitle: '',
        x: { field: 'firstShare', title: 'weight on key 0', domain: [0, 1] }, y: { field: 'sinkShare', title: 'weight on the sink', domain: [0, 1] }, points: mine, width: 330, height: 230,
      }),
    ];
  });
}

/**
 * C12. Where a trained head puts the attention it does not need: on the first
 * position (plain softmax), or on a sink that carries no value.
 */
export const sinks = composeExperiment<C12Figures>(
  {
    id: 'C12',
    slug: 'sinks',
    title: 'Where attention goes when no key matters: sinks',
    statement:
      'Xiao et al. 2023 report that heads of trained LLMs (long contexts, long training) park attention on the first token; Miller\'s softmax₁ and a learnt sink logit give that mass a place with no value. ' +
      'Nobody expects sinks in a 2-layer, width-32 model after a few hundred steps on names; the marked-copy task gives heads nothing to do on most rows, where Gu et al. 2024 say sinks emerge.',
    theory:
      'A softmax row must sum to 1, so a head with nothing to read still spreads its weight somewhere; a key whose value the network can ignore, such as the always-present ' +
      'first token, becomes that place (Xiao et al., "attention sinks"; Gu et al. 2024, "When attention sink emerges"). Adding a logit to every row\'s normaliser that carries no value — 0 in Miller\'s softmax₁ ' +
      '("off by one"), a learnt b_h per head — lets the row sum to less than 1 instead, so the first position should lose its excess. The baseline for "excess" is the ' +
      'weight a uniform row would put on key 0 (the mean of 1/keys visible over the same rows); under a sink rule the row\'s keys share only what the sink leaves, so the baseline is scaled by (1 − sink share). ' +
      'Marked copy: BOS, then symbols, some replaced by MARK; at a symbol the target is the symbol itself, at a MARK the first symbol after BOS, so a copy head is needed on marked rows only.',
    fullOnly: true,
    charts,
  },
  {
    measure: measureC12,
    checks,
    meaning,
    rows,
    parameters: (f) => ({
      steps: f.plan.steps, seeds: f.plan.seeds, validationNames: f.plan.validationNames, rules: C12_RULES.map((r) => r.rule), tasks: C12_TASKS.map((t) => t.task), poolLogit: POOL_LOGIT,
      model: '2 layers, 4 heads of dim 8, width 32, rotary positions and token shift; AdamW lr 3e-3, batch 32; marked copy: 16 symbols, 16 positions after BOS, a quarter marked',
    }),
  },
);
