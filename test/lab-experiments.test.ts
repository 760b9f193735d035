import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { dtypeInfo } from '../src/tensor/index.js';
import { EXPERIMENTS, combineVerdicts, resultsJson, runLab, type LabResults } from '../src/lab/index.js';
import { decide, TOLERANCE_SIGMAS } from '../src/lab/stats.js';
import { missingChartFields } from './helpers/chart-fields.js';

/** Small grids so the whole lab runs in a few seconds: d_k up to 512 still reaches the d_k ≥ 256 fits. */
const SMALL = { dims: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512], keyCounts: [16, 64] };

/** results.json as a reader gets it: parsed text, non-finite numbers spelled as strings. */
function parsed(results: LabResults): any {
  return JSON.parse(resultsJson(results));
}

function num(value: unknown): number {
  if (typeof value === 'number') return value;
  if (value === 'NaN') return NaN;
  if (value === 'Infinity') return Infinity;
  if (value === '-Infinity') return -Infinity;
  throw new Error(`not a number: ${String(value)}`);
}

describe('lab experiments (quick, small grids)', () => {
  let json: any;
  before(() => {
    json = parsed(runLab({ seed: 5, mode: 'quick', version: 'test', settings: SMALL }));
  });

  it('runs every registered experiment but the --full ones, C1…C7 and C9 in order, with the documented structure', () => {
    assert.deepEqual(json.claims.map((c: any) => c.id), ['C1', 'C2', 'C3', 'C4', 'C5', 'C6', 'C7', 'C9']);
    assert.equal(json.seed, 5);
    assert.equal(json.mode, 'quick');
    assert.equal(typeof json.generatedAt, 'string');
    assert.ok(json.verdictRule.length > 50);
    for (const claim of json.claims) {
      for (const key of ['id', 'slug', 'title', 'statement', 'theory', 'verdict', 'meaning']) assert.equal(typeof claim[key], 'string', `${claim.id}.${key}`);
      assert.ok(claim.checks.length >= 2, `${claim.id} has checks`);
      assert.ok(claim.rows.length > 0, `${claim.id} has rows`);
      for (const check of claim.checks) {
        for (const key of ['id', 'statement', 'quantity', 'toleranceBasis']) assert.equal(typeof check[key], 'string', `${check.id}.${key}`);
        assert.ok(check.id.startsWith(`${claim.id}.`));
      }
    }
  });

  it('every verdict follows from its own figures in results.json', () => {
    for (const claim of json.claims) {
      const verdicts = claim.checks.map((c: any) => {
        const expected = decide(num(c.measured), num(c.predicted), num(c.tolerance), c.alternative === null ? null : num(c.alternative), c.side).verdict;
        assert.equal(c.verdict, expected, `${c.id}: measured ${c.measured}, predicted ${c.predicted}, tolerance ${c.tolerance}`);
        return expected;
      });
      assert.equal(claim.verdict, combineVerdicts(verdicts), claim.id);
      // The headline figures are the first check's.
      assert.equal(claim.measured, claim.checks[0].measured);
      assert.equal(claim.predicted, claim.checks[0].predicted);
      assert.equal(claim.tolerance, claim.checks[0].tolerance);
    }
  });

  it('every tolerance is the documented 4-standard-error rule, or its basis says why not (a deterministic bound)', () => {
    for (const claim of json.claims) {
      for (const c of claim.checks) {
        const statistical = new RegExp(`^${TOLERANCE_SIGMAS} (×|[a-z ]*standard errors)`).test(c.toleranceBasis);
        const exact = /deterministic|exact|bound|spacing/.test(c.toleranceBasis);
        assert.ok(statistical || exact, `${c.id}: ${c.toleranceBasis}`);
        if (!statistical) assert.doesNotMatch(c.toleranceBasis, /standard error/, `${c.id} uses another multiple of a standard error: ${c.toleranceBasis}`);
      }
    }
  });

  it('tolerances are non-negative and, where statistical, not zero', () => {
    for (const claim of json.claims) {
      for (const c of claim.checks) {
        const tol = num(c.tolerance);
        assert.ok(tol >= 0 || Number.isNaN(tol), `${c.id} tolerance ${tol}`);
        if (/standard error/.test(c.toleranceBasis)) assert.ok(tol > 0, `${c.id}: a statistical tolerance of 0`);
      }
    }
  });

  it('C1 rows hold the plain theory d·σq²σk² beside the measurement', () => {
    const c1 = json.claims.find((c: any) => c.id === 'C1');
    for (const row of c1.rows) {
      const perD = row.series.includes('√d_k') ? 1 : row.d;
      const factor = row.series.includes('0.5') ? 0.5 ** 2 * 3 ** 2 : 1;
      assert.equal(row.theory, perD * factor, `${row.series} d=${row.d}`);
      assert.ok(Math.abs(row.variance - row.theory) < 6 * row.se + 1e-12, `${row.series} d=${row.d}: ${row.variance} vs ${row.theory}`);
    }
  });

  it('C7 finds the naive overflow at ln(max) of each dtype and none for safe/online', () => {
    const c7 = json.claims.find((c: any) => c.id === 'C7');
    const thresholds = c7.rows.filter((r: any) => r.part === 'threshold');
    // ln(max) of each dtype: float32 ≈ 88.72, bfloat16 ≈ 88.7 (within its coarse spacing of 0.5), float16 ≈ 11.09.
    const expected: Record<string, [number, number]> = { float32: [88.72, 0.01], bfloat16: [88.7, 0.5], float16: [11.09, 0.01] };
    for (const r of thresholds) {
      const [value, tol] = expected[r.dtype];
      assert.ok(Math.abs(r.naiveThreshold - value) <= tol, `${r.dtype}: ${r.naiveThreshold}`);
      assert.equal(r.lnMax, dtypeInfo(r.dtype).lnMax);
    }
    const errors = c7.rows.filter((r: any) => r.part === 'error' && r.algorithm !== 'naive' && r.status !== 'input not finite in dtype');
    assert.ok(errors.length > 100);
    for (const r of errors) assert.equal(r.nonFiniteRows, 0, `${r.dtype} ${r.algorithm} at ${r.magnitude}`);
  });

  it('C3 reports mean, median and 10%/90% quantiles of ‖J‖ and ‖∂L/∂q‖ for both scalings', () => {
    const c3 = json.claims.find((c: any) => c.id === 'C3');
    const attention = c3.rows.filter((r: any) => r.part === 'attention');
    assert.deepEqual([...new Set(attention.map((r: any) => r.scaling))], ['unscaled', 'scaled']);
    for (const r of attention) {
      for (const prefix of ['jacobian', 'dq']) {
        const [q10, med, q90, m] = ['Q10', 'Median', 'Q90', 'Mean'].map((s) => r[`${prefix}${s}`]);
        assert.ok(q10 <= med && med <= q90, `${prefix} quantiles ordered at d=${r.d}`);
        assert.ok(m > 0);
      }
    }
    assert.ok(c3.findings.length >= 1);
  });

  it('C4 sweeps a ∈ {0, 0.25, 0.5, 0.75, 1} and checks the slope 1 − 2a for each', () => {
    const c4 = json.claims.find((c: any) => c.id === 'C4');
    assert.deepEqual([...new Set(c4.rows.map((r: any) => r.a))], [0, 0.25, 0.5, 0.75, 1]);
    const slopes = c4.checks.filter((c: any) => c.quantity.startsWith('log-log slope of Var'));
    assert.deepEqual(slopes.map((c: any) => c.predicted), [1, 0.5, 0, -0.5, -1]);
  });

  it('every experiment draws charts from its own rows', () => {
    for (const claim of json.claims) {
      const experiment = EXPERIMENTS.find((e) => e.id === claim.id);
      assert.ok(experiment);
      const charts = experiment.charts(claim);
      assert.ok(charts.length >= 1);
      for (const chart of charts) assert.deepEqual(missingChartFields(chart), [], `${claim.id} ${JSON.stringify(chart.title)}`);
    }
  });
});

describe('lab determinism', () => {
  it('the same seed gives byte-identical results.json apart from generatedAt and each claim\'s wall time; another seed differs', () => {
    const run = (seed: number, when: string): string =>
      resultsJson(runLab({ seed, mode: 'quick', only: ['C1', 'C4', 'C6'], version: 'test', settings: { dims: [1, 4, 16, 64, 256] }, now: () => new Date(when) }));
    const a = run(9, '2020-01-01T00:00:00Z');
    const b = run(9, '2021-06-01T00:00:00Z');
    assert.notEqual(a, b);
    const strip = (s: string): string => s.replace(/"generatedAt": "[^"]*"/, '').replaceAll(/"seconds": [0-9.e+-]+/g, '');
    assert.ok(JSON.parse(a).claims.every((c: { seconds: number }) => c.seconds >= 0), 'the runner records each claim\'s wall time');
    assert.equal(strip(a), strip(b));
    assert.notEqual(strip(run(10, '2020-01-01T00:00:00Z')), strip(a));
  });

  it('an experiment gives the same figures whether it runs alone or with others', () => {
    const alone = runLab({ seed: 3, mode: 'quick', only: ['C6'], version: 'test', settings: { dims: [4, 16, 64] } });
    const together = runLab({ seed: 3, mode: 'quick', only: ['C1', 'C6'], version: 'test', settings: { dims: [4, 16, 64] } });
    assert.deepEqual({ ...alone.claims[0], seconds: 0 }, { ...together.claims[1], seconds: 0 }, 'the same figures; only the wall time differs');
  });

  it('rejects an unknown experiment and a bad seed before running anything', () => {
    assert.throws(() => runLab({ only: ['C99'], version: 'test' }), (e: any) => e.code === 'E_OPTION' && /C99/.test(e.message));
    assert.throws(() => runLab({ seed: -1, version: 'test' }), { code: 'E_OPTION' });
    assert.throws(() => runLab({ seed: 1.5, version: 'test' }), { code: 'E_OPTION' });
  });
});

describe('lab experiment files', () => {
  it('stay under 250 lines each (measurement helpers live in their own files)', async () => {
    const { readdirSync, readFileSync } = await import('node:fs');
    const folder = new URL('../src/lab/experiments/', import.meta.url);
    const files = readdirSync(folder).filter((f) => f.endsWith('.ts'));
    assert.ok(files.length >= 12);
    for (const file of files) {
      const lines = readFileSync(new URL(file, folder), 'utf8').split('\n').length - 1;
      assert.ok(lines < 250, `${file} has ${lines} lines`);
    }
  });
});
