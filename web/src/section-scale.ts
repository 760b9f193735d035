import { LiveChart, type Datum } from './chart.js';
import { byId, byTestId, readSeed, renderQueue, showFigure } from './format.js';
import { curveAgainstDk, dotTable, sampleScale, summarize, QUERY_ROWS, type CurvePoint, type DotTable, type ScaleSettings, type StatName } from './scale-stats.js';
import { curveSpec, logitHistogramSpec, probabilityBarsSpec } from './specs.js';

/** At most this many bars: past it a bar is thinner than a pixel on a phone. */
const MAX_BARS = 64;

/** Section 1: d_k, n, a and σ against the logits, the softmax and its Jacobian. */
export async function mountScaleSection(section: HTMLElement): Promise<void> {
  const dk = byId<HTMLInputElement>('scale-dk');
  const n = byId<HTMLInputElement>('scale-n');
  const a = byId<HTMLInputElement>('scale-a');
  const std = byId<HTMLInputElement>('scale-std');
  const seed = byId<HTMLInputElement>('scale-seed');
  byTestId(section, 'scale-rows').textContent = String(QUERY_ROWS);

  const logitChart = new LiveChart(byId('chart-logits'), logitHistogramSpec());
  const probChart = new LiveChart(byId('chart-probs'), probabilityBarsSpec());
  const curveCharts = [
    new LiveChart(byId('chart-curve-entropy'), curveSpec('Entropy (nats)', 'entropy')),
    new LiveChart(byId('chart-curve-maxprob'), curveSpec('Max probability', 'max p')),
    new LiveChart(byId('chart-curve-jacobian'), curveSpec('Jacobian norm', '‖diag(p) − ppᵀ‖_F')),
  ];
  const curveStats: StatName[] = ['entropy', 'maxProb', 'jacobianNorm'];

  const read = (): ScaleSettings => ({
    dk: 2 ** Number(dk.value),
    n: 2 ** Number(n.value),
    a: Number(a.value),
    std: Number(std.value),
    seed: readSeed(seed),
  });

  // The draw depends on n, σ and the seed; the curve also on a; moving d_k only moves the dot.
  let table: DotTable | null = null;
  let curveKey = '';
  let curve: CurvePoint[] = [];

  const render = async (): Promise<void> => {
    const settings = read();
    dk.setAttribute('aria-valuetext', `d_k = ${settings.dk}`);
    n.setAttribute('aria-valuetext', `n = ${settings.n}`);
    byId('scale-dk-out').textContent = String(settings.dk);
    byId('scale-n-out').textContent = String(settings.n);
    byId('scale-a-out').textContent = settings.a.toFixed(2);
    byId('scale-std-out').textContent = settings.std.toFixed(2);

    if (table === null || table.n !== settings.n || table.std !== settings.std || table.seed !== settings.seed) {
      table = dotTable(settings.n, settings.std, settings.seed);
      curveKey = '';
    }
    const key = String(settings.a);
    if (key !== curveKey) {
      curve = curveAgainstDk(settings, table);
      curveKey = key;
    }
    const sample = sampleScale(settings, table);
    const current = summarize(sample);
    const first = sample.rows[0];
    // Var(q·k) = d_k σ⁴ for independent components, times s² = d_k^-2a.
    const theoryStd = settings.std ** 2 * settings.dk ** (0.5 - settings.a);
    showFigure(section, 'scale-s', sample.scale);
    showFigure(section, 'scale-logit-std', sample.logitStd);
    showFigure(section, 'scale-logit-std-theory', theoryStd);
    showFigure(section, 'scale-entropy-max', Math.log(settings.n));
    showFigure(section, 'scale-entropy', first.entropy);
    showFigure(section, 'scale-max-prob', first.maxProb);
    showFigure(section, 'scale-jacobian-norm', first.jacobianNorm);
    // Tests wait on this: every figure above now belongs to these settings.
    section.dataset.settings = JSON.stringify(settings);

    const probs = Array.from(sample.probs.subarray(0, settings.n), (p, key) => ({ key, p }))
      .sort((x, y) => y.p - x.p)
      .slice(0, MAX_BARS)
      .map((row, rank) => ({ ...row, rank }));
    const uniform: Record<StatName, number> = {
      entropy: Math.log(settings.n),
      maxProb: 1 / settings.n,
      jacobianNorm: Math.sqrt(1 / settings.n - 1 / settings.n ** 2),
    };
    await Promise.all([
      logitChart.show({
        logits: Array.from(sample.logits, (logit) => ({ logit })),
        theoryStd: [{ x: -theoryStd }, { x: theoryStd }],
      }),
      probChart.show({ probs, uniform: [{ p: 1 / settings.n }] }),
      ...curveStats.map((stat, i) =>
        curveCharts[i].show({
          curve: curve.filter((point) => point.stat === stat) as unknown as Datum[],
          current: current.filter((point) => point.stat === stat) as unknown as Datum[],
          uniform: [{ value: uniform[stat] }],
        }),
      ),
    ]);
    section.dataset.rendered = section.dataset.settings;
  };

  const { schedule, settled } = renderQueue(render);
  for (const control of [dk, n, a, std, seed]) control.addEventListener('input', schedule);
  schedule();
  await settled();
}
