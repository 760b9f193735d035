import type { TopLevelSpec } from 'vega-lite';
import { LiveChart, type Datum } from './chart.js';
import { byId, checkedSeed, renderQueue, showFigure } from './format.js';
import { VARIANTS, adaptiveClampEntropy, type AdaptiveFigures, type LengthPoint, type LengthSettings } from './length-stats.js';
import type { LengthReply, LengthRequest } from './length-worker.js';

const COLOURS = ['#1f3b73', '#d9480f', '#2b8a3e'];

/** A curve against n (log axis) per variant, with the current n as dots. */
function lengthSpec(title: string, field: string, yTitle: string): TopLevelSpec {
  // One label a decade: Vega's own log ticks (2, 5, 10k, 20k, 50k, 100k) ran together at 390 px.
  const x = { field: 'n', type: 'quantitative', title: 'keys n', scale: { type: 'log' }, axis: { format: '~s', values: [10, 100, 1000, 10000, 100000], labelOverlap: 'greedy' } };
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

/**
 * Why adaptive temperature may equal plain here: β(H) is clamped to 1 above
 * the entropy where the paper's fit drops below 1 (adaptiveClampEntropy), and
 * a long row's entropy is past it. Every number is computed.
 */
export function adaptiveNote(needle: AdaptiveFigures, random: AdaptiveFigures): string {
  const clamp = adaptiveClampEntropy().toFixed(2);
  const one = (what: string, f: AdaptiveFigures) =>
    `${what}: H = ${f.entropy.toFixed(2)} nats, β = ${f.beta.toFixed(2)}${f.beta === 1 ? ' (clamped: adaptive = plain)' : ''}`;
  return `β(H) = max(poly(H), 1) is 1 for every H above ${clamp} nats, where the paper's fit drops below 1, so adaptive temperature leaves such rows as they are. ` +
    `${one('Needle', needle)}; ${one('random row', random)}.`;
}

/** Section 5: the needle's max p and a random row's H / ln n as n grows, plain, times s·ln n, and with adaptive temperature. */
export async function mountLengthSection(section: HTMLElement): Promise<void> {
  const n = byId<HTMLInputElement>('length-n');
  const s = byId<HTMLInputElement>('length-s');
  const sigma = byId<HTMLInputElement>('length-sigma');
  const seed = byId<HTMLInputElement>('length-seed');
  const needleChart = new LiveChart(byId('chart-length-needle'), lengthSpec('Needle: weight on the +3 key', 'needleMaxProb', 'max p'));
  const randomChart = new LiveChart(byId('chart-length-random'), lengthSpec('Random row: entropy relative to uniform', 'randomRelEntropy', 'H / ln n'));

  // Every figure is computed in a Web Worker (length-worker.ts); a render waits for its own reply.
  const worker = new Worker(new URL('./length-worker.ts', import.meta.url), { type: 'module' });
  const waiting = new Map<number, (reply: LengthReply) => void>();
  worker.onmessage = (event: MessageEvent<LengthReply>) => {
    waiting.get(event.data.id)?.(event.data);
    waiting.delete(event.data.id);
  };
  let nextId = 0;
  const ask = (settings: LengthSettings, withCurve: boolean): Promise<LengthReply> =>
    new Promise((resolve) => {
      const id = nextId++;
      waiting.set(id, resolve);
      worker.postMessage({ id, settings, withCurve } satisfies LengthRequest);
    });

  let lastSeed = checkedSeed(seed, 1);
  const read = (): LengthSettings => {
    lastSeed = checkedSeed(seed, lastSeed); // a bad seed is refused out loud; the last good one stays in use
    return { n: Math.round(10 ** Number(n.value)), s: Number(s.value), sigma: Number(sigma.value), seed: lastSeed };
  };
  let curveKey = '';
  let curve: LengthPoint[] = [];

  const render = async (): Promise<void> => {
    const settings = read();
    n.setAttribute('aria-valuetext', `n = ${settings.n}`);
    s.setAttribute('aria-valuetext', `s = ${settings.s.toFixed(2)}`);
    sigma.setAttribute('aria-valuetext', `σ = ${settings.sigma.toFixed(2)}`);
    byId('length-n-out').textContent = String(settings.n);
    byId('length-s-out').textContent = settings.s.toFixed(2);
    byId('length-sigma-out').textContent = settings.sigma.toFixed(2);
    // The curves depend on s, σ and the seed, not on n: moving n only recomputes the current row.
    const key = `${settings.s}/${settings.sigma}/${settings.seed}`;
    const reply = await ask(settings, key !== curveKey);
    if (reply.curve !== null) {
      curve = reply.curve;
      curveKey = key;
    }
    const figures = reply.figures;
    for (const variant of VARIANTS) {
      showFigure(section, `length-needle-${variant}`, figures.needle[variant].maxProb);
      showFigure(section, `length-random-${variant}`, figures.random[variant].relEntropy);
    }
    byId('length-adaptive-note').textContent = adaptiveNote(figures.needle.beta, figures.random.beta);
    section.dataset.settings = JSON.stringify(settings);
    const current = (field: 'maxProb' | 'relEntropy', part: 'needle' | 'random', name: string): Datum[] =>
      VARIANTS.map((variant) => ({ n: settings.n, variant, [name]: figures[part][variant][field] }));
    // The current row is one more point of each line (same rule, seed + n), so its dot sits on the line.
    const line = [...curve.filter((p) => p.n !== settings.n), ...VARIANTS.map((variant) => ({
      n: settings.n, variant, needleMaxProb: figures.needle[variant].maxProb, randomRelEntropy: figures.random[variant].relEntropy,
    }))].sort((a, b) => a.n - b.n) as unknown as Datum[];
    await Promise.all([
      needleChart.show(
        { curve: line, current: current('maxProb', 'needle', 'needleMaxProb') },
        `Largest weight of a needle row against n, up to ${curve.length > 0 ? curve[curve.length - 1].n.toLocaleString('en') : 'n'} keys, for ${VARIANTS.join(', ')}; at n = ${settings.n.toLocaleString('en')}: ${VARIANTS.map((v) => `${v} ${figures.needle[v].maxProb.toPrecision(3)}`).join(', ')}.`,
      ),
      randomChart.show(
        { curve: line, current: current('relEntropy', 'random', 'randomRelEntropy') },
        `Entropy of a random row over ln n against n, for ${VARIANTS.join(', ')}; at n = ${settings.n.toLocaleString('en')}: ${VARIANTS.map((v) => `${v} ${figures.random[v].relEntropy.toPrecision(3)}`).join(', ')}.`,
      ),
    ]);
    section.dataset.rendered = section.dataset.settings;
  };

  const { schedule, settled } = renderQueue(render);
  for (const control of [n, s, sigma, seed]) control.addEventListener('input', schedule);
  schedule();
  await settled();
}
