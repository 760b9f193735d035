import type { TopLevelSpec } from 'vega-lite';
import { ALGORITHMS } from './overflow.js';

/**
 * The page's charts as plain Vega-Lite, the format the lab report uses. Data
 * comes in through named datasets (LiveChart.update), so a spec is built once
 * per chart and never holds numbers itself.
 */

const COMMON = {
  $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
  width: 'container',
  height: 180,
  autosize: { type: 'fit', contains: 'padding' },
  config: {
    font: 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif',
    axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 500, gridColor: '#e8eaef' },
    title: { fontSize: 13, fontWeight: 600, anchor: 'start' },
    view: { stroke: null },
  },
} as const;

const INK = '#1f3b73';
const ACCENT = '#d9480f';
/** The dashed rule that marks a theoretical level on a chart. */
const THEORY_RULE = { type: 'rule', color: ACCENT, strokeDash: [4, 3], strokeWidth: 1.5 } as const;

/** Histogram of the logits, with ±1 theoretical standard deviation marked. */
export function logitHistogramSpec(): TopLevelSpec {
  return {
    ...COMMON,
    title: 'Distribution of the logits',
    layer: [
      {
        // Binned where the logits are (the worker): 32 × 1024 rows through Vega's bin transform cost the main thread tens of ms a step.
        data: { name: 'bins' },
        mark: { type: 'bar', color: INK, opacity: 0.85, binSpacing: 0 },
        encoding: {
          x: { field: 'start', type: 'quantitative', title: 'logit q·k·s', scale: { zero: false } },
          x2: { field: 'end' },
          y: { field: 'count', type: 'quantitative', title: 'count' },
        },
      },
      {
        data: { name: 'theoryStd' },
        mark: THEORY_RULE,
        encoding: { x: { field: 'x', type: 'quantitative' } },
      },
    ],
  } as TopLevelSpec;
}

/** Bars of one softmax row, sorted, with the uniform 1/n level. */
export function probabilityBarsSpec(): TopLevelSpec {
  return {
    ...COMMON,
    title: 'Softmax of query 1',
    layer: [
      {
        data: { name: 'probs' },
        mark: { type: 'bar', color: INK },
        encoding: {
          x: { field: 'rank', type: 'ordinal', title: 'key (sorted by probability)', axis: { labels: false, ticks: false } },
          y: { field: 'p', type: 'quantitative', title: 'probability', scale: { zero: true } },
          tooltip: [
            { field: 'key', type: 'quantitative', title: 'key' },
            { field: 'p', type: 'quantitative', format: '.4g' },
          ],
        },
      },
      {
        data: { name: 'uniform' },
        mark: THEORY_RULE,
        encoding: { y: { field: 'p', type: 'quantitative' } },
      },
    ],
  } as TopLevelSpec;
}

/**
 * One statistic against d_k (log₂ axis): median line, 10–90 % band, the
 * uniform-softmax level, the current d_k as a dot and query 1 as a ring.
 */
export function curveSpec(title: string, yTitle: string): TopLevelSpec {
  const x = { field: 'dk', type: 'quantitative', title: 'dₖ', scale: { type: 'log', base: 2 }, axis: { values: [1, 4, 16, 64, 256, 1024, 4096] } };
  return {
    ...COMMON,
    height: 150,
    title,
    layer: [
      {
        data: { name: 'curve' },
        mark: { type: 'area', color: INK, opacity: 0.15 },
        encoding: { x, y: { field: 'q10', type: 'quantitative', title: yTitle }, y2: { field: 'q90' } },
      },
      {
        data: { name: 'curve' },
        mark: { type: 'line', color: INK, point: { size: 18 } },
        encoding: {
          x,
          y: { field: 'median', type: 'quantitative' },
          tooltip: [
            { field: 'dk', type: 'quantitative', title: 'dₖ' },
            { field: 'median', type: 'quantitative', format: '.4g' },
            { field: 'q10', type: 'quantitative', format: '.4g' },
            { field: 'q90', type: 'quantitative', format: '.4g' },
          ],
        },
      },
      {
        data: { name: 'uniform' },
        mark: { type: 'rule', color: '#868e96', strokeDash: [4, 3] },
        encoding: { y: { field: 'value', type: 'quantitative' } },
      },
      {
        data: { name: 'current' },
        mark: { type: 'point', shape: 'circle', filled: true, size: 110, color: ACCENT },
        encoding: { x, y: { field: 'median', type: 'quantitative' } },
      },
      {
        data: { name: 'current' },
        mark: { type: 'point', shape: 'circle', filled: false, size: 110, color: ACCENT, strokeWidth: 2 },
        encoding: { x, y: { field: 'first', type: 'quantitative' } },
      },
    ],
  } as TopLevelSpec;
}

/** Naive, safe and online results side by side per logit; a non-finite value gets a red label instead of a bar. */
export function overflowBarsSpec(): TopLevelSpec {
  const x = { field: 'key', type: 'nominal', title: 'logit', axis: { labelAngle: 0 } };
  const xOffset = { field: 'algorithm', type: 'nominal', sort: [...ALGORITHMS] };
  return {
    ...COMMON,
    height: 170,
    data: { name: 'results' },
    layer: [
      {
        mark: { type: 'bar' },
        encoding: {
          x,
          xOffset,
          y: { field: 'bar', type: 'quantitative', title: 'probability', scale: { domain: [0, 1] } },
          color: {
            field: 'algorithm',
            type: 'nominal',
            sort: [...ALGORITHMS],
            scale: { domain: [...ALGORITHMS], range: ['#e8590c', INK, '#5c940d'] },
            legend: { orient: 'top', title: null },
          },
          tooltip: [
            { field: 'algorithm', type: 'nominal' },
            { field: 'key', type: 'nominal', title: 'logit' },
            { field: 'label', type: 'nominal', title: 'value' },
          ],
        },
      },
      {
        transform: [{ filter: '!datum.finite' }],
        mark: { type: 'text', color: '#c92a2a', fontWeight: 700, fontSize: 11, angle: 270, align: 'left', baseline: 'middle', dx: 4 },
        encoding: { x, xOffset, y: { datum: 0, type: 'quantitative' }, text: { field: 'label' } },
      },
    ],
  } as TopLevelSpec;
}

/** A matrix as a heatmap with its values written in the cells; a cell with `masked` is drawn blank grey. */
export function heatmapSpec(title: string, rowTitle: string, columnTitle: string, scheme: string, domain?: [number, number]): TopLevelSpec {
  const x = { field: 'column', type: 'ordinal', title: columnTitle, axis: { labelAngle: 0 } };
  const y = { field: 'row', type: 'ordinal', title: rowTitle };
  const shown = { filter: '!datum.masked' };
  return {
    ...COMMON,
    height: 240,
    title,
    data: { name: 'cells' },
    layer: [
      {
        transform: [{ filter: 'datum.masked' }],
        mark: { type: 'rect', fill: '#f1f3f5', stroke: '#fff', strokeWidth: 1 },
        encoding: { x, y },
      },
      {
        transform: [shown],
        mark: { type: 'rect', stroke: '#fff', strokeWidth: 1 },
        encoding: {
          x,
          y,
          color: {
            field: 'value',
            type: 'quantitative',
            scale: domain ? { scheme, domain } : { scheme, domainMid: 0 },
            legend: { orient: 'bottom', gradientLength: 160, title: null },
          },
          tooltip: [
            { field: 'row', type: 'ordinal', title: rowTitle },
            { field: 'column', type: 'ordinal', title: columnTitle },
            { field: 'value', type: 'quantitative', format: '.4f' },
          ],
        },
      },
      {
        transform: [shown],
        mark: { type: 'text', fontSize: 10 },
        encoding: {
          x,
          y,
          text: { field: 'value', type: 'quantitative', format: '.2f' },
          color: { condition: { test: 'datum.dark', value: '#fff' }, value: '#212529' },
        },
      },
    ],
  } as TopLevelSpec;
}

const RULE_COLOURS = [INK, ACCENT, '#2b8a3e', '#862e9c', '#868e96', '#e67700'];

/** Colour by scale rule, in the order the runs were started (rule A first). */
function ruleColour(): Record<string, unknown> {
  return { field: 'rule', type: 'nominal', title: null, sort: { field: 'order' }, scale: { range: RULE_COLOURS }, legend: { orient: 'top' } };
}

/** Live loss curves: every step's training loss as a line, the validation points as dots, log scale. */
export function trainingLossSpec(): TopLevelSpec {
  const x = { field: 'step', type: 'quantitative', title: 'step' };
  const y = { type: 'quantitative', title: 'loss (nats, log scale)', scale: { type: 'log' } };
  return {
    ...COMMON,
    height: 200,
    title: 'Loss',
    layer: [
      {
        data: { name: 'steps' },
        mark: { type: 'line', strokeWidth: 1.5, opacity: 0.8, clip: true },
        encoding: { x, y: { ...y, field: 'loss' }, color: ruleColour() },
      },
      {
        data: { name: 'points' },
        mark: { type: 'point', filled: true, size: 60, stroke: '#fff', strokeWidth: 1 },
        encoding: {
          x,
          y: { ...y, field: 'valLoss' },
          color: ruleColour(),
          tooltip: [
            { field: 'rule', type: 'nominal' },
            { field: 'step', type: 'quantitative' },
            { field: 'valLoss', type: 'quantitative', format: '.4g', title: 'validation loss' },
          ],
        },
      },
    ],
  } as TopLevelSpec;
}

/** Attention entropy at the validation points, one line per rule. */
export function trainingEntropySpec(): TopLevelSpec {
  return {
    ...COMMON,
    height: 200,
    title: 'Attention entropy',
    data: { name: 'points' },
    mark: { type: 'line', point: { size: 40 }, strokeWidth: 2 },
    encoding: {
      x: { field: 'step', type: 'quantitative', title: 'step' },
      y: { field: 'attnEntropy', type: 'quantitative', title: 'entropy (nats)', scale: { zero: true } },
      color: ruleColour(),
      tooltip: [
        { field: 'rule', type: 'nominal' },
        { field: 'step', type: 'quantitative' },
        { field: 'attnEntropy', type: 'quantitative', format: '.4g' },
      ],
    },
  } as TopLevelSpec;
}
