import { readFileSync } from 'node:fs';
import type { CaseResult } from '../src/bench/case.js';

/**
 * A results file of `npm run bench` as Markdown tables (for docs, so no
 * figure is copied by hand): per direction, implementations × shapes with
 * median ms and GFLOP/s; then the memory each case added.
 *
 *   node --import tsx bench/summarize.ts bench/results/<timestamp>.json
 */
interface Results {
  date: string;
  machine: { cpu: string; cores: number; node: string };
  quick: boolean;
  peers: Record<string, string | null>;
  results: { impl: string; shape: string; direction: string; loadAvg1m: number; result: CaseResult }[];
}

const file = process.argv[2];
if (!file) throw new Error('usage: node --import tsx bench/summarize.ts RESULTS.json');
const data = JSON.parse(readFileSync(file, 'utf8')) as Results;
const impls = [...new Set(data.results.map((r) => r.impl))];
const shapes = [...new Set(data.results.map((r) => r.shape))];
const find = (impl: string, shape: string, direction: string) =>
  data.results.find((r) => r.impl === impl && r.shape === shape && r.direction === direction);

function grid(direction: string, cell: (res: Extract<CaseResult, { status: 'ok' }>) => string): string {
  const lines = [`| ${direction} | ${shapes.join(' | ')} |`, `|---|${shapes.map(() => '---').join('|')}|`];
  for (const impl of impls) {
    const cells = shapes.map((shape) => {
      const r = find(impl, shape, direction)?.result;
      if (!r) return '';
      return r.status === 'ok' ? cell(r) : r.status;
    });
    if (cells.some((c) => c !== 'skipped' && c !== '')) lines.push(`| ${impl} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

const loads = data.results.map((r) => r.loadAvg1m);
const out = [
  `${data.machine.cpu}, ${data.machine.cores} cores, Node ${data.machine.node}, ${data.date}` +
    `${data.quick ? ', --quick' : ''}; 1-minute load average ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} during the run.`,
  `Peers: ${Object.entries(data.peers).map(([name, v]) => `${name} ${v ?? 'not installed'}`).join(', ')}.`,
  '',
  'Median ms (GFLOP/s):',
  '',
  grid('forward', (r) => `${r.medianMs.toFixed(1)} (${r.gflops.toFixed(2)})`),
  '',
  grid('backward', (r) => `${r.medianMs.toFixed(1)} (${r.gflops.toFixed(2)})`),
  '',
  'Extra MiB / peak RSS MiB:',
  '',
  grid('forward', (r) => `${r.extraMiB === null ? '-' : r.extraMiB.toFixed(1)} / ${r.peakRssMiB.toFixed(0)}`),
  '',
  grid('backward', (r) => `${r.extraMiB === null ? '-' : r.extraMiB.toFixed(1)} / ${r.peakRssMiB.toFixed(0)}`),
  '',
  'Largest |error| on sampled rows (output forward, dQ backward):',
  '',
  grid('forward', (r) => r.maxError.toExponential(1)),
  '',
  grid('backward', (r) => r.maxError.toExponential(1)),
];
process.stdout.write(`${out.join('\n')}\n`);
