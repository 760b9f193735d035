import { readFileSync } from 'node:fs';
import type { CaseResult } from '../../src/bench/case.js';
import { formatCeiling, type BenchRecord } from '../../src/bench/table.js';

/**
 * A results file of `npm run bench` as Markdown tables (for docs, so no
 * figure is copied by hand): per direction, implementations × shapes with
 * median ms, GFLOP/s and % of the measured ceiling; then the memory each case added.
 *
 *   node --import tsx tools/bench/summarize.ts tools/bench/results/<timestamp>.json
 */
const file = process.argv[2];
if (!file) throw new Error('usage: node --import tsx tools/bench/summarize.ts RESULTS.json');
const data = JSON.parse(readFileSync(file, 'utf8')) as BenchRecord;
const impls = [...new Set(data.results.map((r) => r.impl))];
const shapes = [...new Set(data.results.map((r) => r.shape))];
const find = (impl: string, shape: string, direction: string) =>
  data.results.find((r) => r.impl === impl && r.shape === shape && r.direction === direction);

function grid(direction: string, cell: (res: Extract<CaseResult, { status: 'ok' }>, percent: number | null) => string): string {
  const lines = [`| ${direction} | ${shapes.join(' | ')} |`, `|---|${shapes.map(() => '---').join('|')}|`];
  for (const impl of impls) {
    const cells = shapes.map((shape) => {
      const row = find(impl, shape, direction);
      if (!row) return '';
      return row.result.status === 'ok' ? cell(row.result, row.ceilingPercent ?? null) : row.result.status;
    });
    if (cells.some((c) => c !== 'skipped' && c !== '')) lines.push(`| ${impl} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

const loads = data.results.map((r) => r.loadAvg1m);
const out = [
  // The cases ran in Node or, with --browser, in a page of Chromium (the harness itself ran in Node).
  `${data.machine.cpu}, ${data.machine.cores} cores, ${data.environment ?? `Node ${data.machine.node}`} (harness: Node ${data.machine.node}), ${data.date}` +
    `${data.quick ? ', --quick' : ''}${data.interleave ? ', --interleave' : ''}; 1-minute load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} during the run.`,
  `Peers: ${Object.entries(data.peers).map(([name, v]) => `${name} ${v ?? 'not installed'}`).join(', ')}.`,
  `${formatCeiling(data.ceiling ?? null)}.`,
  '',
  'Median ms (GFLOP/s, % of ceiling):',
  '',
  grid('forward', (r, p) => `${r.medianMs.toFixed(1)} (${r.gflops.toFixed(2)}${p === null ? '' : `, ${p.toFixed(0)}%`})`),
  '',
  grid('backward', (r, p) => `${r.medianMs.toFixed(1)} (${r.gflops.toFixed(2)}${p === null ? '' : `, ${p.toFixed(0)}%`})`),
  '',
  'Extra MiB / peak RSS MiB:',
  '',
  grid('forward', (r) => `${r.extraMiB === null ? '-' : r.extraMiB.toFixed(1)} / ${r.peakRssMiB === null ? '-' : r.peakRssMiB.toFixed(0)}`),
  '',
  grid('backward', (r) => `${r.extraMiB === null ? '-' : r.extraMiB.toFixed(1)} / ${r.peakRssMiB === null ? '-' : r.peakRssMiB.toFixed(0)}`),
  '',
  'Largest |error| on sampled rows (output forward, dQ backward):',
  '',
  grid('forward', (r) => r.maxError.toExponential(1)),
  '',
  grid('backward', (r) => r.maxError.toExponential(1)),
];
process.stdout.write(`${out.join('\n')}\n`);
