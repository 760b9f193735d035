import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { EXPERIMENTS, combineVerdicts, deriveSeed, resultsJson, runLab } from '../src/lab/index.js';
import { renderSvg } from '../src/lab/render-svg.js';
import { trainSync, type ScaleRule } from '../src/nn/index.js';
import { c11Config, c11Plan } from '../src/lab/experiments/c11-lr.js';
import { POOL_LOGIT } from '../src/lab/experiments/c12-sinks.js';
import { decide } from '../src/lab/stats.js';

/**
 * C10–C12 (the training claims of --full) on their quick plans: the figures
 * each check reports are recomputed here from the rows of results.json, and
 * one C11 run is trained again here and compared with its row.
 */

const SEED = 3;
let claims: any[];

before(() => {
  claims = JSON.parse(resultsJson(runLab({ seed: SEED, mode: 'quick', only: ['C10', 'C11', 'C12'], allowLong: true, version: 'test' }))).claims;
});

const claim = (id: string): any => claims.find((c) => c.id === id);
const check = (id: string): any => claim(id.split('.')[0]).checks.find((c: any) => c.id === id);
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const claimText = (c: any): string => `${c.statement} ${c.theory} ${c.meaning}`;
const num = (x: unknown): number => (typeof x === 'number' ? x : x === 'NaN' ? NaN : Number(x));

/** Least squares written out again; with errors, the slope's error is the larger of the propagated and the residual one. */
function slopeFit(xs: number[], ys: number[], ses?: number[]): { slope: number; se: number } {
  const m = xs.length;
  const mx = mean(xs);
  const my = mean(ys);
  const sxx = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
  const slope = xs.reduce((a, x, i) => a + (x - mx) * (ys[i] - my), 0) / sxx;
  const rss = xs.reduce((a, x, i) => a + (ys[i] - (my + slope * (x - mx))) ** 2, 0);
  const residual = m > 2 ? Math.sqrt(rss / (m - 2) / sxx) : 0;
  if (!ses) return { slope, se: residual };
  const propagated = Math.sqrt(xs.reduce((a, x, i) => a + ((x - mx) / sxx) ** 2 * ses[i] ** 2, 0));
  return { slope, se: Math.max(propagated, residual) };
}

describe('C10–C12 (quick plans, results.json)', () => {
  it('run in order, each verdict from its own figures', () => {
    assert.deepEqual(claims.map((c) => c.id), ['C10', 'C11', 'C12']);
    for (const c of claims) {
      const verdicts = c.checks.map((k: any) => {
        const decided = k.reason !== null && k.verdict === 'inconclusive' && !/tolerance|rival|not a finite/.test(k.reason)
          ? { verdict: 'inconclusive' } // untestable, with its reason
          : decide(num(k.measured), num(k.predicted), num(k.tolerance), k.alternative === null ? null : num(k.alternative), k.side);
        assert.equal(k.verdict, decided.verdict, k.id);
        if (k.verdict === 'inconclusive') assert.ok(typeof k.reason === 'string' && k.reason.length > 10, `${k.id} says why it is inconclusive`);
        return k.verdict;
      });
      assert.equal(c.verdict, combineVerdicts(verdicts));
      assert.ok(c.rows.length > 0 && c.meaning.length > 50);
      for (const row of c.rows) for (const v of Object.values(row)) assert.ok(v !== 'NaN', `${c.id}: NaN in a row ${JSON.stringify(row)}`);
    }
  });

  it('draw their charts from their own rows', async () => {
    for (const c of claims) {
      const charts = EXPERIMENTS.find((e) => e.id === c.id)!.charts(c);
      assert.ok(charts.length >= 2, c.id);
      for (const chart of charts) assert.match(await renderSvg(chart, c.id), /<svg/);
    }
  });

  it('C10: the odds exponent, the paired gains and the accuracy drops recomputed from the rows, each check one-sided where its claim is', () => {
    const rows = claim('C10').rows;
    // Both tasks are measured: the discrete one (16 levels) and the many-level one, every variant at every size and seed.
    const tasks = [...new Set(rows.map((r: any) => r.task))];
    assert.deepEqual(tasks, ['discrete', 'many-level']);
    const seeds = [...new Set(rows.map((r: any) => r.seed))] as number[];
    const sizes = ([...new Set(rows.map((r: any) => r.n))] as number[]).sort((a, b) => a - b);
    for (const task of tasks) for (const v of ['plain', 'adaptive temperature', 'log-length', 'ssmax']) {
      assert.equal(rows.filter((r: any) => r.task === task && r.variant === v).length, seeds.length * sizes.length, `${task} ${v}`);
    }
    assert.ok(rows.find((r: any) => r.task === 'many-level').levels > rows.find((r: any) => r.task === 'discrete').levels);
    // Legend labels short enough not to be cut at the legend's width (about 24 characters showed whole in Chromium).
    for (const v of new Set(rows.map((r: any) => r.variant))) assert.ok((v as string).length <= 22, `${v} is cut in the legend`);
    const fits = seeds.map((s) => {
      const pts = rows.filter((r: any) => r.task === 'discrete' && r.variant === 'plain' && r.seed === s);
      // se of ln y = se(y)/y (delta method)
      return slopeFit(pts.map((r: any) => Math.log(r.n - 1)), pts.map((r: any) => Math.log(r.topOdds)), pts.map((r: any) => r.seTopOdds / r.topOdds));
    });
    assert.ok(Math.abs(check('C10.a').measured - mean(fits.map((f) => f.slope))) < 1e-12);
    assert.ok(Math.abs(check('C10.a').tolerance - (4 * Math.sqrt(fits.reduce((a, f) => a + f.se ** 2, 0))) / fits.length) < 1e-12);
    const at = (task: string, variant: string, n: number): any[] =>
      rows.filter((r: any) => r.task === task && r.variant === variant && r.n === n).sort((a: any, b: any) => a.seed - b.seed);
    // Mean over seeds with the larger of the seed spread and the pooled binomial error.
    const overSeeds = (values: number[], ses: number[]): { value: number; se: number } => {
      const m = mean(values);
      const spread = values.length > 1 ? Math.sqrt(values.reduce((a, x) => a + (x - m) ** 2, 0) / (values.length - 1) / values.length) : 0;
      return { value: m, se: Math.max(Math.sqrt(ses.reduce((a, x) => a + x * x, 0)) / ses.length, spread) };
    };
    const diff = (a: any[], b: any[]) => overSeeds(a.map((r, i) => r.accuracy - b[i].accuracy), a.map((r, i) => Math.hypot(r.seAccuracy, b[i].seAccuracy)));
    const drop = (task: string, v: string) => diff(at(task, v, sizes.at(-1)!), at(task, v, sizes[0]));
    for (const [id, task] of [['C10.b', 'discrete'], ['C10.e', 'many-level']]) {
      // Adaptive temperature against plain, paired by seed, at the size beyond training where the gain is least clear.
      const gains = sizes.slice(1).map((n) => diff(at(task, 'adaptive temperature', n), at(task, 'plain', n)));
      const weakest = gains.reduce((w, g) => (g.value / g.se < w.value / w.se ? g : w));
      assert.ok(Math.abs(check(id).measured - weakest.value) < 1e-12 && Math.abs(check(id).tolerance - 4 * weakest.se) < 1e-12, id);
      assert.equal(check(id).side, 'above', id);
    }
    for (const [id, v] of [['C10.c', 'log-length'], ['C10.d', 'ssmax']]) {
      const d = drop('discrete', v);
      assert.ok(Math.abs(check(id).measured - d.value) < 1e-12 && Math.abs(check(id).tolerance - 4 * d.se) < 1e-12, id);
      assert.ok(Math.abs(check(id).alternative - drop('discrete', 'plain').value) < 1e-12, id);
      assert.equal(check(id).side, 'at-least', `${id}: "no loss" is a bound`);
    }
    for (const [id, v] of [['C10.f', 'log-length'], ['C10.g', 'ssmax']]) {
      assert.ok(Math.abs(check(id).measured - drop('many-level', v).value) < 1e-12, id);
      assert.equal(check(id).side, 'below', id);
    }
    for (const c of claim('C10').checks) assert.ok(Number.isFinite(c.measured) && Number.isFinite(c.tolerance), `${c.id}: ${c.measured} ± ${c.tolerance}`);
    // β(H) > 1 only inside a window of entropies, whose upper edge is where adaptive temperature stops acting.
    const [from, to] = claim('C10').parameters.betaWindowNats;
    const poly = (h: number): number => -0.037 * h ** 4 + 0.481 * h ** 3 - 2.3 * h ** 2 + 4.917 * h - 1.791;
    assert.ok(poly(to - 1e-6) > 1 && poly(to + 1e-6) < 1 && poly(from + 1e-6) > 1 && poly(from - 1e-6) < 1, `${from} ${to}`);
    assert.match(claim('C10').meaning, new RegExp(`stops acting where the plain head's entropy passes ${String(Number(to.toPrecision(3)))}`));
    for (const r of rows) assert.ok(r.maxWeight > 0 && r.maxWeight <= 1 && r.topOdds >= 0 && Math.abs(r.seAccuracy - Math.sqrt(Math.max(r.accuracy * (1 - r.accuracy), 1 / r.sequences) / r.sequences)) < 1e-15);
  });

  it('C11: the paired logit ratio, sensitivity, stalls and the bound counts recomputed from the rows; one run trained again matches its row', () => {
    const c = claim('C11');
    const runs = c.rows.filter((r: any) => r.part === 'run');
    const lrs = [...new Set(runs.map((r: any) => r.lr))] as number[];
    const plan = c11Plan('quick');
    assert.deepEqual(lrs, plan.lrs);
    // log-spaced from 1e-3 to 3e-1
    const ratios = lrs.slice(1).map((lr, i) => lr / lrs[i]);
    assert.ok(Math.abs(lrs[0] - 1e-3) < 1e-15 && Math.abs(lrs.at(-1)! - 3e-1) < 1e-12 && ratios.every((q) => Math.abs(q - ratios[0]) < 1e-9));
    for (const r of runs) assert.equal(r.countedLoss, r.diverged ? r.initLoss : r.countedLoss);
    const seeds = [...new Set(runs.map((r: any) => r.seed))] as number[];
    const high = lrs.slice(Math.floor(lrs.length / 2));
    const at = (rule: string, s: number, lr: number): any => runs.find((r: any) => r.rule === rule && r.seed === s && r.lr === lr);
    const logRatios = seeds.flatMap((s) => high.map((lr) => Math.log(at('qk-norm', s, lr).maxLogit / at('rsqrt', s, lr).maxLogit)));
    assert.ok(Math.abs(check('C11.a').measured - mean(logRatios)) < 1e-12);
    assert.equal(check('C11.a').side, 'below');
    // Wortsman et al.'s sensitivity: mean over the grid of min(final, initial) − the best final
    const sensitivity = (rule: string, s: number): number => {
      const mine = runs.filter((r: any) => r.rule === rule && r.seed === s);
      const best = Math.min(...mine.map((r: any) => r.countedLoss));
      return mean(mine.map((r: any) => Math.min(r.countedLoss, r.initLoss) - best));
    };
    for (const rule of ['rsqrt', 'qk-norm']) for (const s of seeds) {
      const row = c.rows.find((r: any) => r.part === 'sensitivity' && r.rule === rule && r.seed === s);
      assert.ok(Math.abs(row.sensitivity - sensitivity(rule, s)) < 1e-12);
    }
    assert.ok(Math.abs(check('C11.b').measured - mean(seeds.map((s) => sensitivity('qk-norm', s) - sensitivity('rsqrt', s)))) < 1e-12);
    // A stall: above the best learning rate of its rule and seed, final loss ≥ 0.9 × ln 16 (chance on recall's answers)
    const chance = c.parameters.chanceLoss;
    assert.ok(Math.abs(chance - Math.log(16)) < 1e-15);
    for (const r of runs) {
      const best = runs.filter((u: any) => u.rule === r.rule && u.seed === r.seed).reduce((a: any, u: any) => (u.countedLoss < a.countedLoss ? u : a));
      assert.equal(r.aboveBest, r.lr > best.lr);
      assert.equal(r.stalled, r.aboveBest && r.countedLoss >= 0.9 * chance);
    }
    const stalled = runs.filter((r: any) => r.stalled);
    if (stalled.length === 0) assert.match(check('C11.c').reason, /no run stalled/);
    else assert.equal(check('C11.c').measured, stalled.filter((r: any) => r.collapseStep !== null).length / stalled.length);
    assert.equal(check('C11.d').measured, runs.reduce((a: number, r: any) => a + r.l2Violations, 0));
    assert.equal(check('C11.d').kind, 'implementation');
    const heads = c.rows.filter((r: any) => r.part === 'head');
    assert.equal(check('C11.e').measured, heads.filter((r: any) => r.entropy < r.entropyBound - 1e-9).length);
    assert.equal(heads.length, runs.length * 2 * 4 * (1 + Math.floor(plan.steps / plan.rowEvery)));
    for (const r of heads) {
      assert.ok(Number.isFinite(r.sigma) && r.sigma > 0 && r.entropyBound >= 0);
      if (r.rule === 'qk-norm') assert.ok(r.learnt > 0, 'the learnt temperature is logged');
      else assert.equal(r.learnt, null);
    }
    for (const r of runs) assert.ok(r.l2Rows > 0, 'every run checked rows against the bound');
    assert.doesNotMatch(claimText(c), /CPU-minute|about \d+ minutes/);
    // Held back: the first run trained again here, from its documented config and derived seed.
    const first = runs.find((r: any) => r.rule === 'rsqrt' && r.lr === lrs[0] && r.seed === 0);
    const again = trainSync({ ...c11Config('rsqrt' as ScaleRule, lrs[0], deriveSeed(SEED, ['C11', 'run', 0]), plan.steps, plan.rowEvery), impl: 'auto' });
    assert.equal(again.final.valLoss, first.countedLoss);
    assert.equal(Math.max(...again.steps.map((p) => p.maxLogit)), first.maxLogit);
    assert.equal(Math.min(...again.steps.map((p) => p.minEntropy)), first.minEntropy);
    assert.equal(again.l2Bound.violations, first.l2Violations);
  });

  it('C12: the excess over a uniform row (less the sink\'s share) recomputed from the head rows, on names and marked copy', () => {
    const c = claim('C12');
    const rows = c.rows;
    assert.match(c.statement, /long contexts/);
    assert.deepEqual([...new Set(rows.map((r: any) => r.task))], ['names', 'markedcopy']);
    for (const r of rows) {
      assert.ok(Math.abs(r.baseline - (1 - r.sinkShare) * r.firstUniform) < 1e-15);
      assert.ok(Math.abs(r.excess - (r.firstShare - r.baseline)) < 1e-15);
    }
    const ids = [['C12.a', 'C12.b', 'names'], ['C12.c', 'C12.d', 'markedcopy']];
    for (const [plainId, sinkId, task] of ids) {
      const of = (rule: string): any[] => rows.filter((r: any) => r.task === task && r.rule === rule);
      assert.ok(Math.abs(check(plainId).measured - mean(of('rsqrt').map((r) => r.firstShare - r.firstUniform))) < 1e-12, plainId);
      assert.equal(check(plainId).side, 'above');
      // pooled when every learnt sink logit ended within POOL_LOGIT of softmax₁'s 0
      const pooled = of('sink').every((r) => Math.abs(r.sinkEnd) <= POOL_LOGIT);
      const arm = pooled ? [...of('softmax1'), ...of('sink')] : of('sink');
      assert.ok(Math.abs(check(sinkId).measured - mean(arm.map((r) => r.excess))) < 1e-12, sinkId);
      assert.equal(check(sinkId).side, 'at-most');
      for (const r of of('rsqrt')) assert.equal(r.sinkShare, 0);
      for (const r of [...of('sink'), ...of('softmax1')]) assert.ok(r.sinkShare > 0 && r.sinkShare < 1);
      for (const r of of('sink')) assert.ok(r.sinkStart === 0 && Number.isFinite(r.sinkEnd), 'the learnt sink starts at 0 and is logged');
    }
  });
});
