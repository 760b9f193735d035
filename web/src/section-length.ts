import type { TopLevelSpec } from 'vega-lite';
import { LiveChart, type Datum } from './chart.js';
import { byId, readSeed, renderQueue, showFigure } from './format.js';
import { N_GRID, VARIANTS, lengthCurvePoints, lengthFigures, type LengthPoint, type LengthSettings } from './length-stats.js';

const COLOURS = ['#1f3b73', '#d9480f', '#2b8a3e'];

/** A curve against n (log axis) per variant, with the current n as dots. */
function lengthSpec(title: string, field: string, yTitle: string): TopLevelSpec {
  const x = { field: 'n', type: 'quantitative', title: 'keys n', scale: { type: 'log' }, axis: { format: '~s' } };
  const color = { field: 'variant', type: 'nominal', title: null, sort: [...VARIANTS], scale: { domain: [...VARIANTS], range: COLOURS } };
  const y = { field, type: 'quantitative', title: yTitle, scale: { domain: [0, 1] } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 'container',
    height: 180,
    autosize: { type: 'fit', contains: 'padding' },
    title,
    config: { font: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif', axis: { gridColor: '#e8eaef' }, legend: { orient: 'bottom' }, view: { stroke: null } },
    layer: [
      { data: { name: 'curve' }, mark: { type: 'line', strokeWidth: 1.8 }, encoding: { x, y, color } },
      { data: { name: 'current' }, mark: { type: 'point', filled: true, size: 90 }, encoding: { x, y, color } },
    ],
  } as TopLevelSpec;
}

/** Section 5: the needle's max p and a random row's H / ln n as n grows, plain, times s·ln n, and with adaptive temperature. */
export async function mountLengthSection(section: HTMLElement): Promise<void> {
  const n = byId<HTMLInputElement>('length-n');
  const s = byId<HTMLInputElement>('length-s');
  const sigma = byId<HTMLInputElement>('length-sigma');
  const seed = byId<HTMLInputElement>('length-seed');
  const needleChart = new LiveChart(byId('chart-length-needle'), lengthSpec('Needle: weight on the +3 key', 'needleMaxProb', 'max p'));
  const randomChart = new LiveChart(byId('chart-length-random'), lengthSpec('Random row: entropy relative to uniform', 'randomRelEntropy', 'H / ln n'));

  const read = (): LengthSettings => ({ n: Math.round(10 ** Number(n.value)), s: Number(s.value), sigma: Number(sigma.value), seed: readSeed(seed) });
  let curveKey = '';
  let curve: LengthPoint[] = [];

  const render = async (): Promise<void> => {
    const settings = read();
    n.setAttribute('aria-valuetext', `n = ${settings.n}`);
    byId('length-n-out').textContent = String(settings.n);
    byId('length-s-out').textContent = settings.s.toFixed(2);
    byId('length-sigma-out').textContent = settings.sigma.toFixed(2);
    // The curves depend on s, σ and the seed, not on n: moving n only recomputes the current row (≤ 10⁵ keys, a few ms).
    const key = `${settings.s}/${settings.sigma}/${settings.seed}`;
    if (key !== curveKey) {
      // One n per task, yielding in between: the largest (10⁵ keys, six softmaxes) takes tens of ms, the whole grid would block the page.
      const points: LengthPoint[] = [];
      for (const at of N_GRID) {
        points.push(...lengthCurvePoints(settings, at));
        await new Promise<void>((resolve) => setTimeout(resolve, 0));
      }
      curve = points;
      curveKey = key;
    }
    const figures = lengthFigures(settings);
    for (const variant of VARIANTS) {
      showFigure(section, `length-needle-${variant}`, figures.needle[variant].maxProb);
      showFigure(section, `length-random-${variant}`, figures.random[variant].relEntropy);
    }
    section.dataset.settings = JSON.stringify(settings);
    const current = (field: 'maxProb' | 'relEntropy', part: 'needle' | 'random', name: string): Datum[] =>
      VARIANTS.map((variant) => ({ n: settings.n, variant, [name]: figures[part][variant][field] }));
    await Promise.all([
      needleChart.show({ curve: curve as unknown as Datum[], current: current('maxProb', 'needle', 'needleMaxProb') }),
      randomChart.show({ curve: curve as unknown as Datum[], current: current('relEntropy', 'random', 'randomRelEntropy') }),
    ]);
    section.dataset.rendered = section.dataset.settings;
  };

  const { schedule, settled } = renderQueue(render);
  for (const control of [n, s, sigma, seed]) control.addEventListener('input', schedule);
  schedule();
  await settled();
}
