import { measuredVsTheoryChart } from '../lab/charts.js';
import type { ChartSpec } from '../lab/types.js';
import type { HeadFigures } from './figures.js';
import type { InspectResult } from './run.js';

/** The figures the heat map shows, each coloured on its own range (they have different units). */
const HEAT_FIGURES: [string, (h: HeadFigures) => number][] = [
  ['logitStd', (h) => h.logitStd],
  ['entropyRatioMean', (h) => h.entropyRatioMean],
  ['maxProbMean', (h) => h.maxProbMean],
  ['saturatedShare', (h) => h.saturatedShare],
  ['jacobianNormMedian', (h) => h.jacobianNormMedian],
  ['firstKeyMass', (h) => h.firstKeyMass],
  ['fp16 scoreMaxAbs', (h) => h.fp16.scoreMaxAbs],
];

/** Too many rows to print a number in each cell legibly; the colour alone then. */
const LABEL_LIMIT = 64;

/** Heads (rows) by figure (columns); colour: the value's place between that figure's smallest and largest over the heads. */
export function headHeatmap(heads: readonly HeadFigures[]): ChartSpec {
  const values = HEAT_FIGURES.flatMap(([figure, get]) => {
    const all = heads.map(get).filter(Number.isFinite);
    const lo = Math.min(...all);
    const hi = Math.max(...all);
    return heads.map((h) => {
      const v = get(h);
      return {
        head: headLabel(h),
        figure,
        value: Number.isFinite(v) ? v : null,
        // A column whose values are all equal has no range to place them on: light, as its smallest (an all-zero column is not mid-shade).
        shade: Number.isFinite(v) ? (hi > lo ? (v - lo) / (hi - lo) : 0) : null,
        label: Number.isFinite(v) ? Number(v.toPrecision(3)).toString() : '—',
      };
    });
  });
  const order = heads.map(headLabel);
  const layers: Record<string, unknown>[] = [{
    mark: { type: 'rect' },
    encoding: {
      x: { field: 'figure', type: 'nominal', sort: HEAT_FIGURES.map(([f]) => f), title: null, axis: { labelAngle: -30, orient: 'top' } },
      // The head number first and no label limit: a long layer name must not hide it; many heads get smaller rows and labels.
      y: { field: 'head', type: 'nominal', sort: order, title: 'head · layer', axis: { labelLimit: 0, labelFontSize: heads.length <= LABEL_LIMIT ? 10 : 8 } },
      color: { field: 'shade', type: 'quantitative', scale: { scheme: 'blues', domain: [0, 1] }, legend: { title: 'low → high (per figure)', titleLimit: 0, format: '.0%' } },
    },
  }];
  if (heads.length <= LABEL_LIMIT) {
    layers.push({
      mark: { type: 'text', fontSize: 9 },
      encoding: {
        x: { field: 'figure', type: 'nominal', sort: HEAT_FIGURES.map(([f]) => f) },
        y: { field: 'head', type: 'nominal', sort: order },
        text: { field: 'label', type: 'nominal' },
        color: { condition: { test: 'datum.shade > 0.6', value: 'white' }, value: '#1d2330' },
      },
    });
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: 'Heads by figure', subtitle: 'each column coloured from its own smallest (light) to largest (dark) value', anchor: 'start', fontSize: 13, subtitleFontSize: 11, subtitleColor: '#666' },
    data: { values },
    width: 7 * 90,
    // 11 px rows fit an 8 px label each: past LABEL_LIMIT the rows shrink, but no label overlaps the next.
    height: { step: heads.length <= LABEL_LIMIT ? 16 : 11 },
    layer: layers,
    config: { font: 'Helvetica, Arial, sans-serif', view: { stroke: null }, axis: { labelFontSize: 10, titleFontSize: 11 } },
  };
}

function headLabel(h: HeadFigures): string {
  return `h${h.head} · ${h.layer}`;
}

/** logitStd of every head against the layer's depth (its place in the layer order), with the layer's mean joined by a line. */
export function logitStdByDepth(r: InspectResult): ChartSpec {
  const depth = new Map(r.inputs.map((input, i) => [input.layer, i]));
  const points = r.heads.filter((h) => Number.isFinite(h.logitStd)).map((h) => ({ depth: depth.get(h.layer) ?? 0, logitStd: h.logitStd, layer: h.layer }));
  const means = r.inputs.map((input, i) => {
    const own = points.filter((p) => p.layer === input.layer);
    return { depth: i, logitStd: own.reduce((s, p) => s + p.logitStd, 0) / own.length };
  }).filter((p) => Number.isFinite(p.logitStd));
  const spec = measuredVsTheoryChart({
    title: 'Logit std against depth',
    subtitle: 'points: heads · dashed line: the layer mean',
    // A model's layers come in graph order (the order it computes them); tensor files' in name order.
    x: { field: 'depth', title: `layer (0 = first in ${'model' in r ? 'graph' : 'name'} order)` },
    y: { field: 'logitStd', title: 'std of the logits s·q·k' },
    points,
    theory: means,
  });
  // Depth is a whole number: ticks at the layers only (not 0.1 … 0.9 between two layers), thinned where there are many.
  const step = Math.max(1, Math.ceil(r.inputs.length / 12));
  const ticks = r.inputs.map((_, i) => i).filter((i) => i % step === 0);
  for (const layer of spec.layer as { encoding: { x: Record<string, unknown> } }[]) layer.encoding.x = { ...layer.encoding.x, axis: { ...(layer.encoding.x.axis as object), values: ticks, format: 'd' } };
  return spec;
}
