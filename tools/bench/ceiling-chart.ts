import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { renderSvg } from '../../src/lab/render-svg.js';
import type { BenchRecord } from '../../src/bench/table.js';

/**
 * Measured GFLOP/s of every implementation per shape against the run's
 * SIMD ceiling measured with it (the line over each shape: with --interleave,
 * trials taken between the timed runs of the forward cases), as a Vega-Lite chart rendered to SVG in Node: the
 * figure in docs/performance.md, drawn from a results file of `npm run bench`
 * (no figure typed by hand). Forward rows of every implementation, and the
 * backward rows of scaledot's wasm path.
 *
 *   node --import tsx tools/bench/ceiling-chart.ts tools/bench/results/<timestamp>.json docs/performance-ceiling.svg
 */
const [input, output] = process.argv.slice(2);
if (!input || !output) throw new Error('usage: node --import tsx tools/bench/ceiling-chart.ts RESULTS.json OUT.svg');
const record = JSON.parse(readFileSync(input, 'utf8')) as BenchRecord;
if (!record.ceiling) throw new Error(`${input} has no ceiling (it was run with --no-ceiling)`);

const bars = record.results.flatMap((r) => {
  if (r.result.status !== 'ok' || (r.direction === 'backward' && r.impl !== 'wasm')) return [];
  return [{ shape: r.shape, series: r.direction === 'forward' ? r.impl : `${r.impl} backward`, gflops: r.result.gflops }];
});
const shapes = [...new Set(record.results.map((r) => r.shape))];
const ceilings = shapes.flatMap((shape) => {
  const row = record.results.find((r) => r.shape === shape && r.direction === 'forward' && r.ceilingGflops !== null);
  return row?.ceilingGflops ? [{ shape, ceiling: row.ceilingGflops, label: `ceiling ${row.ceilingGflops.toFixed(1)}` }] : [];
});
const series = [...new Set(bars.map((b) => b.series))];
const { ceiling } = record;
const palette = ['#1f5fa8', '#7fb2e5', '#d9822b', '#f2c14e', '#b2473e', '#e6968f', '#5b8c5a', '#9a9a9a', '#6c4f9c'];

const spec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
  title: {
    text: 'Attention GFLOP/s against the measured WebAssembly SIMD ceiling',
    subtitle: `${record.machine.cpu}, ${record.machine.cores} cores, Node ${record.machine.node}, ${record.date.slice(0, 10)}; ` +
      `dashed: f32x4 ${ceiling.op} on ${ceiling.threads} threads, measured ${ceiling.placement}`,
    anchor: 'start', fontSize: 13, subtitleFontSize: 10, subtitleColor: '#666',
  },
  width: 620,
  height: 260,
  layer: [
    {
      data: { values: bars },
      mark: { type: 'bar' },
      encoding: {
        x: { field: 'shape', type: 'nominal', title: 'shape (heads × N × dₖ), forward unless marked', sort: shapes, axis: { labelAngle: 0 } },
        xOffset: { field: 'series', type: 'nominal', sort: series },
        y: { field: 'gflops', type: 'quantitative', title: 'GFLOP/s (median)' },
        color: { field: 'series', type: 'nominal', title: 'implementation', sort: series, scale: { domain: series, range: palette } },
      },
    },
    {
      data: { values: ceilings },
      mark: { type: 'rule', color: '#222', strokeDash: [6, 4], strokeWidth: 1.5 },
      encoding: {
        x: { field: 'shape', type: 'nominal', sort: shapes, bandPosition: 0.05 },
        x2: { field: 'shape', bandPosition: 0.95 },
        y: { field: 'ceiling', type: 'quantitative' },
      },
    },
    {
      data: { values: ceilings },
      mark: { type: 'text', dy: -7, fontSize: 10, color: '#222' },
      encoding: { x: { field: 'shape', type: 'nominal', sort: shapes }, y: { field: 'ceiling', type: 'quantitative' }, text: { field: 'label' } },
    },
  ],
  config: {
    font: 'Helvetica, Arial, sans-serif',
    view: { stroke: '#d0d5dc' },
    axis: { labelFontSize: 10, titleFontSize: 11, titleFontWeight: 'normal' },
    legend: { labelFontSize: 10, titleFontSize: 10, orient: 'bottom', direction: 'horizontal', columns: 4, labelLimit: 200 },
  },
};

const svg = await renderSvg(spec, 'ceiling');
const tmp = `${output}.${process.pid}.tmp`;
writeFileSync(tmp, svg);
renameSync(tmp, output);
process.stderr.write(`ceiling-chart: wrote ${output} (${bars.length} bars)\n`);
