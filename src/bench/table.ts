import type { CaseResult } from './case.js';
import type { Ceiling } from './ceiling.js';
import type { Direction } from './shapes.js';

/** One row of the results: an implementation on a shape in a direction. */
export interface BenchRow {
  impl: string;
  shape: string;
  direction: Direction;
  /** The 1-minute load average when the case started. */
  loadAvg1m: number;
  result: CaseResult;
  /** The ceiling measured with this case: between its runs (interleaved) or just before its process (one per case). */
  ceilingGflops: number | null;
  /** 100 · GFLOP/s ÷ ceilingGflops; null when the case did not run or no ceiling was measured. */
  ceilingPercent: number | null;
}

/** What a run writes to its JSON file (and what docs scripts read back). */
export interface BenchRecord {
  date: string;
  machine: { cpu: string; cores: number; memoryGiB: number; node: string; platform: string };
  /** Where the cases ran: 'node v20.x' (child processes) or 'chromium 156.x' (a headless page, --browser). */
  environment: string;
  quick: boolean;
  interleave: boolean;
  /** Whether relaxed SIMD was left off (--simd128): the SIMD128 kernels against the mul + add ceiling. */
  simd128: boolean;
  /** Every trial of the run; gflops is the best of them. Null with --no-ceiling. */
  ceiling: (Ceiling & { placement: 'between the timed runs' | 'before each case' }) | null;
  peers: Record<string, string | null>;
  results: BenchRow[];
}

const fmt = (x: number, digits: number): string => (Number.isFinite(x) ? x.toFixed(digits) : String(x));

/** The share of the ceiling a result reached, in percent, or null. */
export function ceilingPercent(result: CaseResult, ceilingGflops: number | null): number | null {
  if (result.status !== 'ok' || ceilingGflops === null || !(ceilingGflops > 0)) return null;
  return (100 * result.gflops) / ceilingGflops;
}

/** The Markdown table of every row: figures for cases that ran, the reason for those that did not. */
export function formatTable(rows: BenchRow[]): string {
  const header = ['implementation', 'shape', 'direction', 'median ms', 'GFLOP/s', '% of ceiling', 'peak RSS MiB', 'extra MiB', 'max abs err', 'cpu ms after', 'notes'];
  const lines = rows.map((r) => {
    const res = r.result;
    if (res.status !== 'ok') return [r.impl, r.shape, r.direction, '-', '-', '-', '-', '-', '-', '-', `${res.status}: ${res.reason}`];
    return [
      r.impl, r.shape, r.direction, fmt(res.medianMs, 1), fmt(res.gflops, 2),
      r.ceilingPercent === null ? '-' : `${fmt(r.ceilingPercent, 0)}%`,
      res.peakRssMiB === null ? '-' : fmt(res.peakRssMiB, 0), res.extraMiB === null ? '-' : fmt(res.extraMiB, 1),
      res.maxError.toExponential(1), res.cpuAfterMs === undefined ? '-' : fmt(res.cpuAfterMs, 1), `${res.note}; ${res.reps} runs${res.coldMs === undefined ? '' : `; first call after idle ${fmt(res.coldMs, 1)} ms`}; load ${r.loadAvg1m.toFixed(1)}`,
    ];
  });
  const widths = header.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c].length)));
  const row = (cells: string[]) => `| ${cells.map((cell, c) => cell.padEnd(widths[c])).join(' | ')} |`;
  return [row(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(row)].join('\n');
}

/** How the note of a row far from the float64 formula begins (browser-page.ts): its time is left out of the ratios. */
export const WRONG_ANSWERS = 'WRONG ANSWERS';

/**
 * For each shape and direction: the fastest of `ours` against every other row
 * that ran and gave right answers, as a speed ratio (their median ms / ours).
 */
export function formatRatios(rows: BenchRow[], ours: ReadonlySet<string>): string[] {
  const out: string[] = [];
  const keys = [...new Set(rows.map((r) => `${r.shape} ${r.direction}`))];
  const ms = (r: BenchRow) => (r.result.status === 'ok' ? r.result.medianMs : Infinity);
  for (const key of keys) {
    const ok = rows.filter((r) => `${r.shape} ${r.direction}` === key && r.result.status === 'ok' && !r.result.note.startsWith(WRONG_ANSWERS));
    const best = ok.filter((r) => ours.has(r.impl)).sort((a, b) => ms(a) - ms(b))[0];
    const others = ok.filter((r) => !ours.has(r.impl));
    if (!best || others.length === 0) continue;
    out.push(`${key}: ${best.impl} runs at ${others.map((p) => `${(ms(p) / ms(best)).toFixed(2)}x the speed of ${p.impl}`).join(', ')}`);
  }
  return out;
}

/** The line that states the ceiling the % column divides by. */
export function formatCeiling(ceiling: BenchRecord['ceiling'], why = '--no-ceiling'): string {
  if (ceiling === null) return `ceiling: not measured (${why})`;
  const sorted = [...ceiling.trials].sort((a, b) => a - b);
  return `ceiling: ${fmt(ceiling.gflops, 1)} GFLOP/s of f32x4 ${ceiling.op} on ${ceiling.threads} threads, in the best of its loop forms ` +
    `(the best of ${sorted.length} trials ${ceiling.placement}, range ${fmt(sorted[0], 1)}-${fmt(sorted[sorted.length - 1], 1)}; contention only lowers a trial); ` +
    '% of ceiling = GFLOP/s / the ceiling measured with that case';
}
