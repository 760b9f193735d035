import { readFileSync } from 'node:fs';
import { ceilingChartSpec, writeChart } from './ceiling-spec.js';
import type { DecodeResult } from '../../src/bench/decode.js';

/**
 * The decode benchmark's K+V GB/s per row and shape against the memory-read
 * ceiling measured between its timed runs (the dashed line over each shape),
 * as a Vega-Lite chart rendered to SVG in Node, in the style of
 * tools/bench/ceiling-chart.ts: the figure in docs/performance.md, drawn from a
 * results file of `npm run bench -- --decode` (no figure typed by hand). The
 * memory copy's bar counts its reads and writes.
 *
 *   node --import tsx bench/decode-chart.ts tools/bench/results/<timestamp>.json docs/performance-decode.svg
 */
const [input, output] = process.argv.slice(2);
if (!input || !output) throw new Error('usage: node --import tsx bench/decode-chart.ts RESULTS.json OUT.svg');
const record = JSON.parse(readFileSync(input, 'utf8')) as {
  date: string; machine: { cpu: string; cores: number; node: string }; wasm: { path: string }; results: DecodeResult[];
  /** Where the rows ran: 'chromium <version>, <path>' for a --browser run; absent in files from before it. */
  environment?: string;
};
const shapes = record.results.map((r) => r.shape.name);
const bars = record.results.flatMap((r) => r.rows.filter((row) => Number.isFinite(row.gbps)).map((row) => ({ shape: r.shape.name, series: row.name, rate: row.gbps })));
const ceilings = record.results.map((r) => ({ shape: r.shape.name, ceiling: r.ceilingGbps, label: `read ceiling ${r.ceilingGbps.toFixed(1)}` }));

const spec = ceilingChartSpec({
  title: 'Decoding: GB/s of K and V read against the measured WebAssembly read ceiling',
  subtitle: `${record.machine.cpu}, ${record.machine.cores} cores, ${record.environment ?? `Node ${record.machine.node}, ${record.wasm.path}`}, ${record.date.slice(0, 10)}; ` +
    'dashed: f32x4 loads over 512 MiB on every thread, measured between the timed runs',
  xTitle: 'shape (query heads / kv heads × cached keys × dₖ), one query row',
  yTitle: 'GB/s (median; copy: read + write)',
  seriesTitle: 'row',
  shapes, bars, ceilings,
});
await writeChart(spec, 'decode', output);
process.stderr.write(`decode-chart: wrote ${output} (${bars.length} bars)\n`);
