import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { EXPERIMENTS, combineVerdicts, deriveSeed, resultsJson, runLab } from '../src/lab/index.js';
import { decide } from '../src/lab/stats.js';
import { renderSvg } from '../src/lab/render-svg.js';
import { trainSync, type ScaleRule } from '../src/nn/index.js';
import { c11Config, c11Plan } from '../src/lab/experiments/c11-lr.js';

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
        assert.equal(k.verdict, decide(num(k.measured), num(k.predicted), num(k.tolerance), k.alternative === null ? null : num(k.alternative), k.side).verdict, k.id);
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

  it('C11: sensitivity, the logit slopes and the bound count recomputed; one run trained again matches its row', () => {
    const c = claim('C11');
    const runs = c.rows.filter((r: any) => r.part === 'run');
    const lrs = [...new Set(runs.map((r: any) => r.lr))] as number[];
    const plan = c11Plan('quick');
    assert.deepEqual(lrs, plan.lrs);
    // log-spaced from 1e-3 to 3e-1
    const ratios = lrs.slice(1).map((lr, i) => lr / lrs[i]);
    assert.ok(Math.abs(lrs[0] - 1e-3) < 1e-15 && Math.abs(lrs.at(-1)! - 3e-1) < 1e-12 && ratios.every((q) => Math.abs(q - ratios[0]) < 1e-9));
    for (const r of runs) assert.equal(r.countedLoss, r.diverged ? r.initLoss : r.finalValLoss);
    for (const rule of ['rsqrt', 'qk-norm']) {
      const mine = runs.filter((r: any) => r.rule === rule);
      const fit = slopeFit(mine.map((r: any) => Math.log(r.lr)), mine.map((r: any) => Math.log(r.maxLogit)));
      if (rule === 'qk-norm') assert.ok(Math.abs(check('C11.a').measured - fit.slope) < 1e-12);
      else assert.ok(Math.abs(check('C11.a').alternative - fit.slope) < 1e-12);
      for (const s of [...new Set(mine.map((r: any) => r.seed))]) {
        const losses = mine.filter((r: any) => r.seed === s).map((r: any) => r.countedLoss);
        const sensitivity = mean(losses.map((l: number) => l - Math.min(...losses)));
        const row = c.rows.find((r: any) => r.part === 'sensitivity' && r.rule === rule && r.seed === s);
        assert.ok(Math.abs(row.sensitivity - sensitivity) < 1e-12);
      }
    }
    assert.equal(check('C11.c').measured, runs.reduce((a: number, r: any) => a + r.boundViolations, 0));
    assert.equal(check('C11.d').measured, runs.reduce((a: number, r: any) => a + r.exactViolations, 0));
    for (const r of runs) assert.ok(r.boundRows > 0, 'every run checked rows against the bound');
    // Held back: the first run trained again here, from its documented config and derived seed.
    const first = runs.find((r: any) => r.rule === 'rsqrt' && r.lr === lrs[0] && r.seed === 0);
    const again = trainSync({ ...c11Config('rsqrt' as ScaleRule, lrs[0], deriveSeed(SEED, ['C11', 'run', 0]), plan.steps), impl: 'auto' });
    assert.equal(again.final.valLoss, first.finalValLoss);
    assert.equal(Math.max(...again.steps.map((p) => p.maxLogit)), first.maxLogit);
    assert.equal(Math.min(...again.steps.map((p) => p.minEntropy)), first.minEntropy);
  });

  it('C12: the parked share and the first-position excess recomputed from the head rows', () => {
    const rows = claim('C12').rows;
    const of = (rule: string): any[] => rows.filter((r: any) => r.rule === rule);
    const plain = of('rsqrt');
    assert.equal(check('C12.a').measured, plain.filter((r) => r.firstShare > r.firstUniform).length / plain.length);
    for (const [id, rule] of [['C12.b', 'sink'], ['C12.c', 'softmax1']]) {
      assert.ok(Math.abs(check(id).measured - mean(of(rule).map((r) => r.firstShare - r.firstUniform))) < 1e-12, id);
      assert.ok(Math.abs(check(id).alternative - mean(plain.map((r) => r.firstShare - r.firstUniform))) < 1e-12, id);
    }
    for (const r of plain) assert.equal(r.sinkShare, 0);
    for (const r of [...of('sink'), ...of('softmax1')]) assert.ok(r.sinkShare > 0 && r.sinkShare < 1 && r.firstShare + r.sinkShare <= 1 + 1e-12);
  });
});
