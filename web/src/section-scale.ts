import { LiveChart, type Datum } from './chart.js';
import { byId, byTestId, checkedSeed, formatNumber, showFigure } from './format.js';
import { QUERY_ROWS, type ScaleSettings, type StatName } from './scale-stats.js';
import type { ScaleView } from './scale-view.js';
import type { ScaleReply, ScaleRequest } from './scale-worker.js';
import { curveSpec, logitHistogramSpec, probabilityBarsSpec } from './specs.js';

/**
 * Section 1: d_k, n, a and σ against the logits, the softmax and its Jacobian.
 *
 * At n = 1024 one setting is 32 × 1024 logits and a d_k curve of 13 softmaxes
 * of that size: about a second on the main thread the first time. So a worker
 * computes (scale-worker.ts), one request at a time, always the newest
 * settings; a stale request is cut short there, and the main thread only
 * writes the figures and feeds the charts the worker's small summary.
 */
export async function mountScaleSection(section: HTMLElement): Promise<void> {
  const dk = byId<HTMLInputElement>('scale-dk');
  const n = byId<HTMLInputElement>('scale-n');
  const a = byId<HTMLInputElement>('scale-a');
  const std = byId<HTMLInputElement>('scale-std');
  const seed = byId<HTMLInputElement>('scale-seed');
  byTestId(section, 'scale-rows').textContent = String(QUERY_ROWS);

  const logitChart = new LiveChart(byId('chart-logits'), logitHistogramSpec());
  const probChart = new LiveChart(byId('chart-probs'), probabilityBarsSpec());
  const curveStats: StatName[] = ['entropy', 'maxProb', 'jacobianNorm'];
  const curveCharts = [
    new LiveChart(byId('chart-curve-entropy'), curveSpec('Entropy (nats)', 'entropy')),
    new LiveChart(byId('chart-curve-maxprob'), curveSpec('Max probability', 'max p')),
    new LiveChart(byId('chart-curve-jacobian'), curveSpec('Jacobian norm (Frobenius)', '‖diag(p) − ppᵀ‖')),
  ];

  let lastSeed = checkedSeed(seed, 1);
  const read = (): ScaleSettings => ({
    dk: 2 ** Number(dk.value),
    n: 2 ** Number(n.value),
    a: Number(a.value),
    std: Number(std.value),
    seed: lastSeed,
  });

  /** The labels move at once; the figures follow when the worker answers. */
  const showControls = (settings: ScaleSettings): void => {
    const a2 = settings.a.toFixed(2);
    const std2 = settings.std.toFixed(2);
    dk.setAttribute('aria-valuetext', `d_k = ${settings.dk}`);
    n.setAttribute('aria-valuetext', `n = ${settings.n} keys`);
    a.setAttribute('aria-valuetext', `scale exponent a = ${a2}`);
    std.setAttribute('aria-valuetext', `input std σ = ${std2}`);
    byId('scale-dk-out').textContent = String(settings.dk);
    byId('scale-n-out').textContent = String(settings.n);
    byId('scale-a-out').textContent = a2;
    byId('scale-std-out').textContent = std2;
  };

  const worker = new Worker(new URL('./scale-worker.ts', import.meta.url), { type: 'module' });
  // The newest request's generation, shared with the worker so it can drop stale work mid-loop.
  const latest = typeof SharedArrayBuffer === 'function' && crossOriginIsolated ? new Int32Array(new SharedArrayBuffer(4)) : null;
  if (latest !== null) worker.postMessage({ type: 'shared', latest: latest.buffer as SharedArrayBuffer } satisfies ScaleRequest);
  let generation = 0;
  let busy = false;
  let wanted = read();

  const request = (): void => {
    busy = true;
    worker.postMessage({ type: 'view', generation, settings: wanted } satisfies ScaleRequest);
  };
  const changed = (): void => {
    lastSeed = checkedSeed(seed, lastSeed);
    wanted = read();
    showControls(wanted);
    generation++;
    if (latest !== null) Atomics.store(latest, 0, generation);
    if (!busy) request();
  };

  // Drawing is serialised too: only the newest view waits behind the one being drawn.
  /** A view whose `curve` is null is the first part of one: the curve charts wait for the rest. */
  type Drawable = Omit<ScaleView, 'curve'> & { curve: ScaleView['curve'] | null };
  let nextView: Drawable | null = null;
  /** The settings each chart last drew. */
  const shownFor = new Map<LiveChart, string>();
  let drawing: Promise<void> | null = null;
  let firstDrawn: () => void = () => {};
  const drawn = new Promise<void>((resolve) => (firstDrawn = resolve));
  const draw = (view: Drawable): void => {
    nextView = view;
    drawing ??= (async () => {
      while (nextView !== null) {
        const next = nextView;
        nextView = null;
        await show(next);
      }
      drawing = null;
      firstDrawn();
    })().catch(reportError);
  };

  worker.onmessage = (event: MessageEvent<ScaleReply>) => {
    const reply = event.data;
    if (reply.type === 'sample') {
      // The figures and the first two charts now; the curves follow with the whole view.
      draw({ ...reply.view, curve: null });
      return;
    }
    busy = false;
    if (reply.type === 'error') reportError(new Error(`section 1: ${reply.message}`));
    if (reply.type === 'view') draw(reply.view);
    if (reply.generation !== generation) request();
  };
  worker.onerror = (event) => reportError(new Error(`section 1 worker: ${event.message}`));

  const show = async (view: Drawable): Promise<void> => {
    const { settings, figures, curve } = view;
    showFigure(section, 'scale-s', figures.scale);
    showFigure(section, 'scale-logit-std', figures.logitStd);
    showFigure(section, 'scale-logit-std-theory', figures.theoryStd);
    showFigure(section, 'scale-entropy-max', figures.entropyMax);
    showFigure(section, 'scale-entropy', figures.entropy);
    showFigure(section, 'scale-max-prob', figures.maxProb);
    showFigure(section, 'scale-jacobian-norm', figures.jacobianNorm);
    byTestId(section, 'scale-probs-caption').textContent =
      view.probs.length < settings.n
        ? `Softmax of query 1: the ${view.probs.length} most probable of its ${settings.n.toLocaleString('en')} keys, sorted by probability (dashed: uniform 1/n).`
        : `Softmax of query 1: all ${settings.n} keys, sorted by probability (dashed: uniform 1/n).`;
    // Tests wait on this: every figure above now belongs to these settings.
    section.dataset.settings = JSON.stringify(settings);

    const at = (stat: StatName): string => {
      const point = view.current.find((p) => p.stat === stat);
      return point === undefined ? '' : `at d_k = ${settings.dk} the median over ${QUERY_ROWS} queries is ${formatNumber(point.median)}, query 1 ${formatNumber(point.first)}`;
    };
    // The whole view after its first part: the first two charts may already show these settings.
    const key = JSON.stringify(settings);
    const charts: [LiveChart, Record<string, Datum[]>, string][] = [
      [
        logitChart,
        { bins: view.bins as unknown as Datum[], theoryStd: [{ x: -figures.theoryStd }, { x: figures.theoryStd }] },
        `histogram of ${view.logitCount.toLocaleString('en')} logits, standard deviation ${formatNumber(figures.logitStd)} (theory ${formatNumber(figures.theoryStd)})`,
      ],
      [
        probChart,
        { probs: view.probs, uniform: [{ p: 1 / settings.n }] },
        `the ${view.probs.length} largest probabilities of query 1 over ${settings.n} keys; the largest is ${formatNumber(figures.maxProb)}, uniform would be ${formatNumber(1 / settings.n)}`,
      ],
      ...(curve === null ? [] : curveStats).map((stat, i): [LiveChart, Record<string, Datum[]>, string] => [
        curveCharts[i],
        {
          curve: (curve ?? []).filter((point) => point.stat === stat) as unknown as Datum[],
          current: view.current.filter((point) => point.stat === stat) as unknown as Datum[],
          uniform: [{ value: view.uniform[stat] }],
        },
        `against d_k from 1 to 4096; ${at(stat)}`,
      ]),
    ];
    // One chart per task, so no single task holds the page for all five; a newer view
    // arriving meanwhile takes over and the rest of this one is not drawn.
    for (const [chart, data, summary] of charts) {
      if (curve !== null && !curveCharts.includes(chart) && shownFor.get(chart) === key) continue;
      await chart.show(data, summary);
      shownFor.set(chart, key);
      await new Promise((resolve) => setTimeout(resolve, 0));
      if (nextView !== null) return;
    }
    // Tests wait on this: every chart now shows these settings.
    if (curve !== null) section.dataset.rendered = section.dataset.settings;
  };

  for (const control of [dk, n, a, std, seed]) control.addEventListener('input', changed);
  changed();
  await drawn;
}
