import { spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { CaseResult, CaseSpec } from './case.js';
import { benchImpls, defaultImplNames } from './impls.js';
import { PEERS_INSTALL_HINT, peerVersion } from './peers.js';
import { FULL_SHAPES, QUICK_SHAPES, parseShape, type Direction } from './shapes.js';

/**
 * npm run bench [-- --quick] [--impl a,b] [--shape 8x1024x64,causal-1x16384x64] [--direction forward] [--json FILE]
 *
 * Every implementation × shape × direction runs in a child process of its own
 * (bench/case.ts), so each peak RSS is that case's alone. Prints a table on
 * stdout and writes every figure, with the machine and the load it ran under,
 * to bench/results/<timestamp>.json (or --json FILE), whole or not at all.
 */

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const CASE_FILE = resolve(HERE, 'case.ts');

interface Row {
  impl: string;
  shape: string;
  direction: Direction;
  loadAvg1m: number;
  result: CaseResult;
}

function parseOptions() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      impl: { type: 'string' },
      shape: { type: 'string' },
      direction: { type: 'string' },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      'usage: npm run bench -- [--quick] [--impl NAMES] [--shape SHAPES] [--direction forward|backward] [--json FILE]\n' +
      `  implementations: ${benchImpls().map((i) => i.name).join(', ')} (default: all but reference)\n` +
      `  shapes: HEADSxNxD or causal-HEADSxNxD (default: ${FULL_SHAPES.join(', ')}; --quick: ${QUICK_SHAPES.join(', ')})\n`,
    );
    process.exit(0);
  }
  const known = benchImpls().map((i) => i.name);
  const impls = values.impl ? values.impl.split(',').map((s) => s.trim()) : defaultImplNames();
  for (const name of impls) if (!known.includes(name)) throw new Error(`bench: unknown --impl ${name}; expected some of ${known.join(', ')}`);
  const shapes = values.shape ? values.shape.split(',') : values.quick ? QUICK_SHAPES : FULL_SHAPES;
  for (const s of shapes) parseShape(s); // fail before the first case, not in the middle
  const directions: Direction[] = values.direction ? [values.direction as Direction] : ['forward', 'backward'];
  for (const d of directions) if (d !== 'forward' && d !== 'backward') throw new Error(`bench: --direction is ${d}; expected forward or backward`);
  return { quick: values.quick, impls, shapes, directions, json: values.json };
}

function runChild(spec: CaseSpec): CaseResult {
  const child = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', CASE_FILE, JSON.stringify(spec)], {
    cwd: ROOT, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024, timeout: 15 * 60 * 1000,
  });
  const line = child.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as CaseResult;
  } catch {
    const why = child.error?.message ?? (child.signal ? `killed by ${child.signal}` : `exit code ${child.status}`);
    const stderr = child.stderr.trim().split('\n').slice(-3).join(' | ');
    return { status: 'error', reason: `${why}${stderr ? `: ${stderr}` : ''}` };
  }
}

const fmt = (x: number, digits: number): string => (Number.isFinite(x) ? x.toFixed(digits) : String(x));

function table(rows: Row[]): string {
  const header = ['implementation', 'shape', 'direction', 'median ms', 'GFLOP/s', 'peak RSS MiB', 'extra MiB', 'max |err|', 'notes'];
  const lines = rows.map((r) => {
    const res = r.result;
    if (res.status !== 'ok') return [r.impl, r.shape, r.direction, '-', '-', '-', '-', '-', `${res.status}: ${res.reason}`];
    return [
      r.impl, r.shape, r.direction, fmt(res.medianMs, 1), fmt(res.gflops, 2), fmt(res.peakRssMiB, 0), fmt(res.extraMiB, 1),
      res.maxError.toExponential(1), `${res.note}; ${res.reps} runs; load ${r.loadAvg1m.toFixed(1)}`,
    ];
  });
  const widths = header.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c].length)));
  const row = (cells: string[]) => `| ${cells.map((cell, c) => cell.padEnd(widths[c])).join(' | ')} |`;
  return [row(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(row)].join('\n');
}

/** For each shape and direction: the fastest scaledot implementation against every other row, as a speed ratio (their median ms / ours). */
function ratios(rows: Row[]): string[] {
  const scaledot = new Set(benchImpls().filter((i) => i.group === 'scaledot').map((i) => i.name));
  const out: string[] = [];
  const keys = [...new Set(rows.map((r) => `${r.shape} ${r.direction}`))];
  for (const key of keys) {
    const ok = rows.filter((r) => `${r.shape} ${r.direction}` === key && r.result.status === 'ok');
    const ms = (r: Row) => (r.result.status === 'ok' ? r.result.medianMs : Infinity);
    const ours = ok.filter((r) => scaledot.has(r.impl)).sort((a, b) => ms(a) - ms(b))[0];
    const peers = ok.filter((r) => !scaledot.has(r.impl));
    if (!ours || peers.length === 0) continue;
    out.push(`${key}: ${ours.impl} runs at ${peers.map((p) => `${(ms(p) / ms(ours)).toFixed(2)}x the speed of ${p.impl}`).join(', ')}`);
  }
  return out;
}

/** Writes via a temporary file and a rename, so a results file is whole or absent. */
function writeWhole(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

function main(): void {
  const opts = parseOptions();
  const tty = process.stderr.isTTY;
  const cases = opts.shapes.flatMap((shape) => opts.directions.flatMap((direction) => opts.impls.map((impl) => ({ impl, shape, direction }))));
  const rows: Row[] = [];
  const started = Date.now();
  for (const [index, c] of cases.entries()) {
    if (tty) process.stderr.write(`\r\x1b[K[${index + 1}/${cases.length}] ${c.impl} ${c.shape} ${c.direction} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    const spec: CaseSpec = { ...c, targetMs: opts.quick ? 1000 : 6000, maxReps: opts.quick ? 5 : 15 };
    const loadAvg1m = os.loadavg()[0];
    rows.push({ ...c, loadAvg1m, result: runChild(spec) });
  }
  if (tty) process.stderr.write('\r\x1b[K');

  const peersMissing = rows.some((r) => r.result.status === 'skipped' && r.result.reason.includes(PEERS_INSTALL_HINT));
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const lines = [
    `scaledot bench: ${cpu}, ${os.cpus().length} cores, Node ${process.version}${opts.quick ? ', --quick' : ''}`,
    'GFLOP/s: 4·heads·pairs·d forward, 10·heads·pairs·d backward (pairs = N², or N(N+1)/2 causal); extra MiB: peak RSS minus RSS with the inputs allocated',
    '',
    table(rows),
  ];
  const speedRatios = ratios(rows);
  if (speedRatios.length > 0) lines.push('', ...speedRatios);
  if (peersMissing) lines.push('', `Peers not installed: run \`${PEERS_INSTALL_HINT}\` to compare with onnxruntime-node and TensorFlow.js.`);
  process.stdout.write(`${lines.join('\n')}\n`);

  const file = opts.json ?? resolve(ROOT, 'bench', 'results', `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  const record = {
    date: new Date().toISOString(),
    machine: { cpu, cores: os.cpus().length, memoryGiB: os.totalmem() / 1024 ** 3, node: process.version, platform: `${os.platform()} ${os.arch()}` },
    quick: opts.quick,
    peers: Object.fromEntries(['onnxruntime-node', '@tensorflow/tfjs-core', '@tensorflow/tfjs-backend-wasm'].map((p) => [p, peerVersion(p)])),
    results: rows,
  };
  writeWhole(file, `${JSON.stringify(record, null, 2)}\n`);
  process.stderr.write(`bench: results written to ${file}\n`);
}

try {
  main();
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 2;
}
