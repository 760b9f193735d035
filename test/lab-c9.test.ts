import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { resultsJson, runLab } from '../src/lab/index.js';
import { decide } from '../src/lab/stats.js';

/**
 * C9 from results.json as a reader gets it: every check's figure recomputed
 * from the rows, and held-back values computed here without the library
 * (closed forms written out again, a Monte Carlo with its own generator).
 */

const U = 2 ** -53;
let claim: any;

before(() => {
  claim = JSON.parse(resultsJson(runLab({ seed: 11, only: ['C9'], version: 'test' }))).claims[0];
});

const check = (id: string): any => claim.checks.find((c: any) => c.id === id);
const needle = (series: string): any[] => claim.rows.filter((r: any) => r.part === 'needle' && r.series === series);
const random = (kind: string, sigma: number): any[] => claim.rows.filter((r: any) => r.part === 'random' && r.factorKind === kind && r.sigma === sigma);

/** Ordinary (or weighted-error) least squares written out again: slope, intercept and their propagated errors. */
function fit(xs: number[], ys: number[], ses?: number[]): { slope: number; intercept: number; seSlope: number; seIntercept: number } {
  const m = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / m;
  const my = ys.reduce((a, b) => a + b, 0) / m;
  const sxx = xs.reduce((a, x) => a + (x - mx) ** 2, 0);
  const slope = xs.reduce((a, x, i) => a + (x - mx) * (ys[i] - my), 0) / sxx;
  const intercept = my - slope * mx;
  const rss = xs.reduce((a, x, i) => a + (ys[i] - intercept - slope * x) ** 2, 0);
  const resSlope = Math.sqrt(rss / (m - 2) / sxx);
  const resIntercept = Math.sqrt((rss / (m - 2)) * (1 / m + (mx * mx) / sxx));
  if (!ses) return { slope, intercept, seSlope: resSlope, seIntercept: resIntercept };
  const propSlope = Math.sqrt(xs.reduce((a, x, i) => a + ((x - mx) / sxx) ** 2 * ses[i] ** 2, 0));
  const propIntercept = Math.sqrt(xs.reduce((a, x, i) => a + (1 / m - (mx * (x - mx)) / sxx) ** 2 * ses[i] ** 2, 0));
  return { slope, intercept, seSlope: Math.max(propSlope, resSlope), seIntercept: Math.max(propIntercept, resIntercept) };
}

describe('C9 length (results.json)', () => {
  it('the needle rows match closed forms computed here, in float64 and by a compensated sum', () => {
    for (const r of claim.rows.filter((x: any) => x.part === 'needle')) {
      // plain 1, s·ln n, or Su's ln n / ln 512 (s = 1/ln 512), written out again.
      const f = r.kind === 'plain' ? 1 : r.kind === 'su' ? Math.log(r.n) / Math.log(512) : r.s * Math.log(r.n);
      // 1/(1 + (n − 1)e^(−5f)), with the (n − 1) small terms summed by Kahan's method against the 1 of the needle.
      const small = Math.exp(-5 * f);
      let sum = 1;
      let carry = 0;
      for (let i = 0; i < Math.min(r.n - 1, 2000); i++) {
        const y = small - carry;
        const t = sum + y;
        carry = t - sum - y;
        sum = t;
      }
      const expected = r.n - 1 <= 2000 ? 1 / sum : 1 / (1 + (r.n - 1) * small);
      assert.ok(Math.abs(r.maxProb - expected) <= (r.n + 50 + 20 * f) * U * expected, `${r.series} n=${r.n}: ${r.maxProb} vs ${expected}`);
      assert.ok(Math.abs(r.closedMaxProb - expected) <= 50 * U * expected + 50 * U, `closed form ${r.series} n=${r.n}`);
    }
    // Held back: plain at n = 10⁶ and the s = 1/5 limit n/(2n − 1).
    const plain = needle('plain').find((r) => r.n === 1e6);
    assert.ok(Math.abs(plain.maxProb - 1 / (1 + 999999 * Math.exp(-5))) < 1e-9 * plain.maxProb);
    const critical = needle('s = 0.2').find((r) => r.n === 1e6);
    assert.ok(Math.abs(critical.maxProb - 1e6 / (2e6 - 1)) < 1e-9);
  });

  it('every check\'s figure is recomputed from the rows, and its verdict from the figures', () => {
    // C9.a: the odds' slopes at s = 0.1 and 0.43 over n ≥ 1000, and where the line through them crosses 0.
    const slope = (series: string): number => {
      const pts = needle(series).filter((r) => r.n >= claim.parameters.needleFitFrom);
      return fit(pts.map((r) => Math.log(r.n)), pts.map((r) => Math.log(r.gapToOneHot / r.maxProb))).slope;
    };
    const b1 = slope('s = 0.1');
    const b2 = slope('s = 0.43');
    assert.ok(Math.abs(b1 - 0.5) < 1e-3 && Math.abs(b2 - (1 - 5 * 0.43)) < 1e-3, `${b1} ${b2}`);
    assert.ok(Math.abs(check('C9.a').measured - (0.1 + (0.33 * b1) / (b1 - b2))) < 1e-12);
    // C9.b: the worst error relative to its bound.
    const needles = claim.rows.filter((r: any) => r.part === 'needle');
    const worst = needles.reduce((a: any, r: any) => (r.relError / r.relBound > a.relError / a.relBound ? r : a));
    assert.equal(check('C9.b').measured, worst.relError);
    assert.equal(check('C9.b').tolerance, worst.relBound);
    for (const r of needles) assert.equal(r.relError, Math.abs(r.maxProb - r.closedMaxProb) / r.closedMaxProb);
    // C9.c: the s = 1/5 needle at the largest n.
    assert.equal(check('C9.c').measured, needle('s = 0.2').find((r) => r.n === 1e6).maxProb);
    // C9.d/e: intercept of ln n − H = a + b/n for n ≥ 10e^(σ²), tolerance 4 standard errors.
    for (const [id, sigma] of [['C9.d', 1], ['C9.e', 2]] as const) {
      const pts = random('plain', sigma).filter((r) => r.n >= 10 * Math.exp(sigma * sigma));
      const f = fit(pts.map((r) => 1 / r.n), pts.map((r) => r.entropyGap), pts.map((r) => r.seEntropyGap));
      assert.ok(Math.abs(check(id).measured - f.intercept) < 1e-12, id);
      assert.ok(Math.abs(check(id).tolerance - 4 * f.seIntercept) < 1e-12, id);
      assert.equal(check(id).predicted, sigma * sigma / 2);
    }
    // C9.f/g: Su's claim, |change of H/ln n from n = 512 to the longest| under his factor, bounded by the plain scale's change.
    for (const [id, sigma] of [['C9.f', 1], ['C9.g', 2]] as const) {
      const change = (kind: string) => {
        const [a, b] = [random(kind, sigma).find((r) => r.n === 512), random(kind, sigma).at(-1)];
        return { value: b.relEntropy - a.relEntropy, se: Math.hypot(a.seRelEntropy, b.seRelEntropy) };
      };
      const [su, plain] = [change('su'), change('plain')];
      assert.equal(check(id).measured, Math.abs(su.value), id);
      assert.equal(check(id).predicted, Math.abs(plain.value), id);
      assert.ok(Math.abs(check(id).tolerance - 4 * Math.hypot(su.se, plain.se)) < 1e-15, id);
      assert.equal(check(id).side, 'at-most', `${id}: "roughly invariant" is a bound`);
    }
    for (const c of claim.checks) {
      assert.equal(c.verdict, decide(c.measured, c.predicted, c.tolerance, c.alternative, c.side).verdict, c.id);
      assert.ok(Number.isFinite(c.measured) && Number.isFinite(c.tolerance), `${c.id} has a NaN figure`);
    }
  });

  it('labels the closed-form comparisons as implementation checks and the rest as evidence', () => {
    assert.deepEqual(claim.checks.filter((c: any) => c.kind === 'implementation').map((c: any) => c.id), ['C9.a', 'C9.b', 'C9.c']);
    assert.deepEqual(claim.checks.filter((c: any) => c.kind === 'evidence').map((c: any) => c.id), ['C9.d', 'C9.e', 'C9.f', 'C9.g']);
    assert.match(claim.title, /s·Δ ≥ 1/);
  });

  it("draws Su's factor on the needle chart, and the H/ln n theory only where n ≥ 10·e^((σf)²)", async () => {
    const { EXPERIMENTS } = await import('../src/lab/index.js');
    const [needleChart, relChart] = EXPERIMENTS.find((e) => e.id === 'C9')!.charts(claim) as any[];
    const series = (chart: any, layer: number): Set<string> => new Set(chart.layer[layer].data.values.map((v: any) => v.series));
    assert.ok([...series(needleChart, 1)].some((s) => /Su/.test(s)), 'Su on the needle chart');
    const theory = relChart.layer[0].data.values;
    assert.ok(theory.length > 0);
    for (const t of theory) {
      const f = /^Su/.test(t.series) ? Math.log(t.n) / Math.log(512) : /ln n/.test(t.series) ? 0.43 * Math.log(t.n) : 1;
      const sigma = Number(t.series.split('σ = ')[1]);
      assert.ok(t.n >= 10 * Math.exp((sigma * f) ** 2), `${t.series} drawn at n = ${t.n}`);
    }
    // Legend labels short enough that no two series are cut to the same text (the legend's labelLimit is 200 px, ~6 px a character).
    const labels = [...series(relChart, 1)];
    assert.ok(labels.every((l) => l.length <= 30), labels.join(' | '));
  });

  it('random rows agree with a Monte Carlo run here with its own generator (σ = 1, n = 4096)', () => {
    // xorshift + Box–Muller, nothing from the library; 64 rows of 4096 logits.
    let state = 0x9e3779b9;
    const uniform = (): number => {
      state ^= state << 13; state >>>= 0;
      state ^= state >>> 17;
      state ^= state << 5; state >>>= 0;
      return (state + 0.5) / 4294967296;
    };
    const n = 4096;
    const gaps: number[] = [];
    for (let r = 0; r < 64; r++) {
      const z = Array.from({ length: n }, () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()));
      const m = Math.max(...z);
      const w = z.map((x) => Math.exp(x - m));
      const total = w.reduce((a, b) => a + b, 0);
      const h = -w.reduce((a, x) => a + (x / total) * Math.log(x / total), 0);
      gaps.push(Math.log(n) - h);
    }
    const mine = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    const mySe = Math.sqrt(gaps.reduce((a, g) => a + (g - mine) ** 2, 0) / (gaps.length - 1) / gaps.length);
    const row = random('plain', 1).find((r) => r.n === n);
    assert.ok(Math.abs(row.entropyGap - mine) < 5 * Math.hypot(row.seEntropyGap, mySe), `${row.entropyGap} vs ${mine} ± ${mySe}`);
  });

  it('H/ln n rises toward 1 for plain rows and falls under the log-n factors', () => {
    for (const sigma of [1, 2]) {
      const plain = random('plain', sigma);
      assert.ok(plain.at(-1).relEntropy > plain[0].relEntropy);
      for (const kind of ['su', 'ssmax']) assert.ok(random(kind, sigma).at(-1).relEntropy < plain.at(-1).relEntropy, kind);
    }
  });
});
