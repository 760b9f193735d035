import { readFileSync } from 'node:fs';
import { ceilingChartSpec, writeChart } from './ceiling-spec.js';
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
  return [{ shape: r.shape, series: r.direction === 'forward' ? r.impl : `${r.impl} backward`, rate: r.result.gflops }];
});
const shapes = [...new Set(record.results.map((r) => r.shape))];
const ceilings = shapes.flatMap((shape) => {
  const row = record.results.find((r) => r.shape === shape && r.direction === 'forward' && r.ceilingGflops !== null);
  return row?.ceilingGflops ? [{ shape, ceiling: row.ceilingGflops, label: `ceiling ${row.ceilingGflops.toFixed(1)}` }] : [];
});
const { ceiling } = record;

const spec = ceilingChartSpec({
  title: 'Attention GFLOP/s against the measured WebAssembly SIMD ceiling',
  subtitle: `${record.machine.cpu}, ${record.machine.cores} cores, Node ${record.machine.node}, ${record.date.slice(0, 10)}; ` +
    `dashed: f32x4 ${ceiling.op} on ${ceiling.threads} threads, measured ${ceiling.placement}`,
  xTitle: 'shape (heads × N × dₖ), forward unless marked',
  yTitle: 'GFLOP/s (median)',
  seriesTitle: 'implementation',
  shapes, bars, ceilings,
});
await writeChart(spec, 'ceiling', output);
process.stderr.write(`ceiling-chart: wrote ${output} (${bars.length} bars)\n`);
