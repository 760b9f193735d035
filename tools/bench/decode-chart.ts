import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { renderSvg } from '../../src/lab/render-svg.js';
import type { DecodeResult } from '../../src/bench/decode.js';

/**
 * The decode benchmark's K+V GB/s per row and shape against the memory-read
 * ceiling measured between its timed runs (the dashed line over each shape),
 * as a Vega-Lite chart rendered to SVG in Node, in the style of
 * bench/ceiling-chart.ts: the figure in docs/performance.md, drawn from a
 * results file of `npm run bench -- --decode` (no figure typed by hand). The
 * memory copy's bar counts its reads and writes.
 *
 *   node --import tsx bench/decode-chart.ts tools/bench/results/<timestamp>.json docs/performance-decode.svg
 */
const [input, output] = process.argv.slice(2);
if (!input || !output) throw new Error('usage: node --import tsx bench/decode-chart.ts RESULTS.json OUT.svg');
const record = JSON.parse(readFileSync(input, 'utf8')) as {
  date: string; machine: { cpu: string; cores: number; node: string }; wasm: { path: string }; results: DecodeResult[];
};
const shapes = record.results.map((r) => r.shape.name);
const bars = record.results.flatMap((r) => r.rows.filter((row) => Number.isFinite(row.gbps)).map((row) => ({ shape: r.shape.name, series: row.name, gbps: row.gbps })));
const ceilings = record.results.map((r) => ({ shape: r.shape.name, ceiling: r.ceilingGbps, label: `read ceiling ${r.ceilingGbps.toFixed(1)}` }));
const series = [...new Set(bars.map((b) => b.series))];
const palette = ['#1f5fa8', '#7fb2e5', '#d9822b', '#f2c14e', '#b2473e', '#e6968f', '#5b8c5a', '#9a9a9a', '#6c4f9c'];

const spec = {
  $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
  title: {
    text: 'Decoding: GB/s of K and V read against the measured WebAssembly read ceiling',
    subtitle: `${record.machine.cpu}, ${record.machine.cores} cores, Node ${record.machine.node}, ${record.wasm.path}, ${record.date.slice(0, 10)}; ` +
      'dashed: f32x4 loads over 512 MiB on every thread, measured between the timed runs',
    anchor: 'start', fontSize: 13, subtitleFontSize: 10, subtitleColor: '#666',
  },
  width: 620,
  height: 260,
  layer: [
    {
      data: { values: bars },
      mark: { type: 'bar' },
      encoding: {
        x: { field: 'shape', type: 'nominal', title: 'shape (query heads / kv heads × cached keys × dₖ), one query row', sort: shapes, axis: { labelAngle: 0 } },
        xOffset: { field: 'series', type: 'nominal', sort: series },
        y: { field: 'gbps', type: 'quantitative', title: 'GB/s (median; copy: read + write)' },
        color: { field: 'series', type: 'nominal', title: 'row', sort: series, scale: { domain: series, range: palette } },
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

const svg = await renderSvg(spec, 'decode');
const tmp = `${output}.${process.pid}.tmp`;
writeFileSync(tmp, svg);
renameSync(tmp, output);
process.stderr.write(`decode-chart: wrote ${output} (${bars.length} bars)\n`);
