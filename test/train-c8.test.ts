import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { deriveSeed } from '../src/lab/experiment.js';
import { c8Plan, runC8, training, type C8Plan } from '../src/lab/experiments/c8-training.js';
import { decide } from '../src/lab/stats.js';
import { missingChartFields } from './helpers/chart-fields.js';

// The full and quick plans take minutes (measured in docs/training.md); this
// runs the same code on a plan small enough for a unit test and checks that
// every figure, check and chart is produced from the runs.
const TINY: C8Plan = {
  ...c8Plan('quick'),
  initDims: [8, 16, 32],
  initSeedCount: 2,
  dims: [8, 32],
  namesSteps: 4,
  namesValidation: 16,
  evalEvery: 2,
  recallSteps: 4,
  recallBatch: 8,
  recallPairs: 2,
};

describe('lab C8 (training)', () => {
  it('is a full-only experiment whose quick plan is smaller than its full plan', () => {
    assert.equal(training.id, 'C8');
    assert.equal(training.fullOnly, true);
    const quick = c8Plan('quick');
    const full = c8Plan('full');
    assert.deepEqual(full.dims, [16, 64, 256]);
    assert.equal(full.rules.length, 6);
    assert.deepEqual(full.optimizers, ['adamw', 'sgd']);
    assert.ok(quick.namesSteps < full.namesSteps && quick.rules.length < full.rules.length);
  });

  it('runs a tiny plan: rows for every run, checks with computed verdicts, charts from the rows', () => {
    const fractions: number[] = [];
    const out = runC8(TINY, {
      settings: { seed: 1, mode: 'quick', dims: [], keyCounts: [] },
      seedFor: (...parts) => deriveSeed(1, ['C8', ...parts]),
      progress: (f) => fractions.push(f),
    });
    const by = (study: string) => out.rows.filter((r) => r.study === study);
    assert.equal(by('init').length, TINY.initDims.length * 6 * TINY.initSeedCount);
    assert.equal(by('names-summary').length, TINY.dims.length * TINY.rules.length * TINY.optimizers.length * TINY.seedCount);
    assert.equal(by('names').length, by('names-summary').length * 2, 'two curve points per run (steps 2 and 4)');
    assert.equal(by('recall-length').length, TINY.recallRules.length * TINY.recallOptimizers.length * TINY.recallSeedCount * TINY.multiples.length);
    for (const r of by('names')) assert.ok(Number.isFinite(r.valLoss as number) && (r.qGradNorm as number) > 0 && (r.attnEntropy as number) >= 0);
    assert.deepEqual(out.checks.map((c) => c.id), ['C8.a', 'C8.b', 'C8.c']);
    for (const c of out.checks) assert.equal(c.verdict, decide(c.measured, c.predicted, c.tolerance, c.alternative, c.side).verdict);
    // C8.b tests the size of the paired loss gap (not only its sign), C8.c Su's claim one-sided against rsqrt's drift, paired by seed and optimiser.
    const [b, c] = [out.checks[1], out.checks[2]];
    const gaps = by('names-summary').filter((r) => r.d === 32 && r.rule === 'none').map((r) => {
      const rsqrt = by('names-summary').find((q) => q.d === 32 && q.rule === 'rsqrt' && q.optimizer === r.optimizer && q.seed === r.seed)!;
      return (r.meanValLoss as number) - (rsqrt.meanValLoss as number);
    });
    const gapMean = gaps.reduce((a, g) => a + g, 0) / gaps.length;
    const gapSe = Math.sqrt(gaps.reduce((a, g) => a + (g - gapMean) ** 2, 0) / (gaps.length - 1) / gaps.length);
    assert.ok(Math.abs(b.measured - gapMean) < 1e-12 && Math.abs(b.tolerance - 4 * gapSe) < 1e-12, `${b.measured} vs ${gapMean}`);
    assert.equal(b.side, 'above');
    const drift = (rule: string, optimizer: string, seed: number): number => {
      const rows = by('recall-length').filter((r) => r.rule === rule && r.optimizer === optimizer && r.seed === seed);
      return (rows.find((r) => r.multiple === 4)!.attnEntropy as number) - (rows.find((r) => r.multiple === 1)!.attnEntropy as number);
    };
    const diffs = [0, 1].map((seed) => drift('log-length', 'adamw', seed) - drift('rsqrt', 'adamw', seed));
    assert.ok(Math.abs(c.measured - (diffs[0] + diffs[1]) / 2) < 1e-12);
    assert.equal(c.side, 'below');
    assert.match(c.statement, /Su/);
    assert.ok(fractions.length > 0 && Math.abs(fractions[fractions.length - 1] - 1) < 1e-9);
    assert.ok(fractions.every((f, i) => i === 0 || f >= fractions[i - 1]));
    const charts = training.charts({ rows: out.rows } as never);
    // per optimiser: validation loss at each d_k, then training loss, ‖∂L/∂W_q‖ and entropy at the largest; the init chart; two length charts
    assert.equal(charts.length, TINY.optimizers.length * (TINY.dims.length + 3) + 1 + 2);
    for (const chart of charts) assert.deepEqual(missingChartFields(chart), [], JSON.stringify(chart.title));
    assert.match(out.meaning, /d_k\^/);
  });
});
