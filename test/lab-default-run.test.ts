import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SEED, EXPERIMENTS, measuredVsTheoryChart, runLab, type LabResults } from '../src/lab/index.js';
import { missingChartFields } from './helpers/chart-fields.js';

// The default run (`scaledot lab`, seed 20170612) is what the README and the
// report show. Its verdicts are pinned: a change that turns any of them (or
// drops or adds a check) must be a decision, so this test names which verdict
// moved. C8 and C10-C12 are --full only and minutes long: their tiny plans are
// tested in train-c8 and lab-c10-c12.
const CHECKS_THAT_HOLD: Record<string, string> = {
  C1: 'abc', C2: 'abcde', C3: 'abcdefghij', C4: 'abcdefghi', C5: 'abcdefg', C6: 'abcde', C7: 'abcdefghijk', C9: 'abcde',
};
// Issue 19: C9.f/g test Su's claim as he states it (his factor keeps the
// entropy roughly invariant as n grows): H/ln n under it moves further from
// n = 512 to 10⁵ than with no factor, at σ = 1 and 2, so the claim fails.
const CHECKS_THAT_FAIL: Record<string, string> = { C9: 'fg' };
const verdictOf = (claimId: string, letter: string): string => (CHECKS_THAT_FAIL[claimId]?.includes(letter) ? 'fails' : 'holds');

describe('the default lab run (seed 20170612)', () => {
  let results: LabResults;
  before(() => {
    results = runLab({ seed: DEFAULT_SEED, mode: 'default', version: 'test' });
  });

  it('runs C1…C7 and C9', () => {
    assert.equal(DEFAULT_SEED, 20170612);
    assert.deepEqual(results.claims.map((c) => c.id), Object.keys(CHECKS_THAT_HOLD));
  });

  it('every check keeps its pinned verdict, and no check was added or dropped', () => {
    const moved: string[] = [];
    for (const claim of results.claims) {
      const letters = [...CHECKS_THAT_HOLD[claim.id], ...(CHECKS_THAT_FAIL[claim.id] ?? '')].sort();
      const claimVerdict = letters.some((l) => verdictOf(claim.id, l) === 'fails') ? 'fails' : 'holds';
      if (claim.verdict !== claimVerdict) moved.push(`${claim.id} ${claim.verdict}`);
      assert.deepEqual(claim.checks.map((c) => c.id), letters.map((letter) => `${claim.id}.${letter}`), `${claim.id}'s checks`);
      for (const check of claim.checks) {
        const pinned = verdictOf(claim.id, check.id.split('.')[1]);
        if (check.verdict !== pinned) moved.push(`${check.id} ${check.verdict}, pinned ${pinned} (measured ${check.measured}, predicted ${check.predicted} ± ${check.tolerance})`);
      }
    }
    assert.deepEqual(moved, [], `verdicts that moved: ${moved.join('; ')}`);
  });

  it("every field each chart encodes exists in that chart's rows", () => {
    for (const claim of results.claims) {
      const charts = EXPERIMENTS.find((e) => e.id === claim.id)!.charts(claim);
      assert.ok(charts.length > 0, `${claim.id} draws charts`);
      charts.forEach((chart, i) => {
        const title = (chart.title as { text?: string } | undefined)?.text ?? `chart ${i}`;
        assert.deepEqual(missingChartFields(chart), [], `${claim.id} "${title}"`);
      });
    }
  });
});

describe('missingChartFields', () => {
  it('finds a field a chart encodes but its rows lack, and passes one whose rows hold every field', () => {
    const chart = (yField: string) => measuredVsTheoryChart({
      title: 't', x: { field: 'd', title: 'd' }, y: { field: yField, title: 'y' }, series: 'rule',
      points: [{ d: 1, value: 2, rule: 'a' }], theory: [{ d: 1, value: 1, rule: 'a' }],
    });
    assert.deepEqual(missingChartFields(chart('value')), []);
    const missing = missingChartFields(chart('valu'));
    assert.ok(missing.length === 2 && missing.every((m) => m.includes('y → valu')), missing.join('; '));
  });
});
