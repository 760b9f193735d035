import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SEED, EXPERIMENTS, measuredVsTheoryChart, runLab, type LabResults } from '../src/lab/index.js';
import { missingChartFields } from './helpers/chart-fields.js';

// The default run (`scaledot lab`, seed 20170612) is what the README and the
// report show. Every claim and every check of it holds; a change that turns
// any of them (or drops or adds a check) must be a decision, so this test
// names which verdict moved. C8 and C10-C12 are --full only and minutes
// long: their tiny plans are tested in train-c8 and lab-c10-c12.
const CHECKS_THAT_HOLD: Record<string, string> = {
  C1: 'abc', C2: 'abcde', C3: 'abcdefghij', C4: 'abcdefghi', C5: 'abcdefg', C6: 'abcde', C7: 'abcdefghijk', C9: 'abcdef',
};

describe('the default lab run (seed 20170612)', () => {
  let results: LabResults;
  before(() => {
    results = runLab({ seed: DEFAULT_SEED, mode: 'default', version: 'test' });
  });

  it('runs C1…C7 and C9', () => {
    assert.equal(DEFAULT_SEED, 20170612);
    assert.deepEqual(results.claims.map((c) => c.id), Object.keys(CHECKS_THAT_HOLD));
  });

  it('every claim and every check holds, and no check was added or dropped', () => {
    const moved: string[] = [];
    for (const claim of results.claims) {
      if (claim.verdict !== 'holds') moved.push(`${claim.id} ${claim.verdict}`);
      const expected = [...CHECKS_THAT_HOLD[claim.id]].map((letter) => `${claim.id}.${letter}`);
      assert.deepEqual(claim.checks.map((c) => c.id), expected, `${claim.id}'s checks`);
      for (const check of claim.checks) if (check.verdict !== 'holds') moved.push(`${check.id} ${check.verdict} (measured ${check.measured}, predicted ${check.predicted} ± ${check.tolerance})`);
    }
    assert.deepEqual(moved, [], `verdicts that changed from holds: ${moved.join('; ')}`);
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
