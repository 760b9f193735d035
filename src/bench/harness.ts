import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { outputFileProblem, writeFileWhole } from '../node/output-file.js';
import { ScaledotError } from '../tensor/index.js';
import { openBenchBrowser } from './browser.js';
import type { CaseOutput, CaseSpec } from './case.js';
import { measureCeiling, type Ceiling } from './ceiling.js';
import { benchImpls } from './impls.js';
import { IN_REPO, PACKAGE_ROOT, PEERS_INSTALL_HINT, PEER_PACKAGES, peerVersion } from './peers.js';
import type { Direction } from './shapes.js';
import { ceilingPercent, formatCeiling, formatRatios, formatTable, type BenchRecord, type BenchRow } from './table.js';

/** A checked benchmark plan (src/cli/bench.ts checks the command line into one). */
export interface BenchOptions {
  quick: boolean;
  impls: string[];
  shapes: string[];
  directions: Direction[];
  /** Where the results go; default tools/bench/results/<timestamp>.json in a checkout, ./scaledot-bench-<timestamp>.json otherwise. */
  json?: string;
  /** All implementations of a shape and direction in one process, timed in turn (fair ratios on a loaded machine). */
  interleave: boolean;
  ceiling: boolean;
  /** Run the cases in headless Chromium at this path (browser.ts) instead of Node child processes. */
  browser?: string;
  /** Time the SIMD128 kernels against the mul + add ceiling: Node 20's default path (CaseSpec.simd128). */
  simd128?: boolean;
}

// The child is this directory's case-main, as TypeScript under tsx in a
// checkout or as JavaScript from dist/ in an installed package.
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const CASE_MAIN = fileURLToPath(new URL(`./case-main.${FROM_SOURCE ? 'ts' : 'js'}`, import.meta.url));

function runChild(spec: CaseSpec): CaseOutput {
  const loader = FROM_SOURCE ? ['--import', import.meta.resolve('tsx')] : [];
  const child = spawnSync(process.execPath, ['--expose-gc', ...loader, CASE_MAIN, JSON.stringify(spec)], {
    encoding: 'utf8', maxBuffer: 16 * 1024 * 1024, timeout: 15 * 60 * 1000,
  });
  const line = child.stdout.trim().split('\n').pop() ?? '';
  try {
    const output = JSON.parse(line) as CaseOutput;
    if (Array.isArray(output.results) && output.results.length === spec.impls.length) return output;
  } catch {
    // reported below
  }
  const why = child.error?.message ?? (child.signal ? `killed by ${child.signal}` : `exit code ${child.status}`);
  const stderr = child.stderr.trim().split('\n').slice(-3).join(' | ');
  return { results: spec.impls.map(() => ({ status: 'error', reason: `${why}${stderr ? `: ${stderr}` : ''}` })), ceiling: null };
}

/** The results file: the given one, or tools/bench/results/<timestamp>.json in a checkout, ./scaledot-bench-<timestamp>.json otherwise. */
export function resultsPath(given: string | undefined): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return resolve(given ?? (IN_REPO ? join(PACKAGE_ROOT, 'tools', 'bench', 'results', `${stamp}.json`) : `scaledot-bench-${stamp}.json`));
}

/**
 * Fails now, not after a run of many minutes, where the results file cannot
 * be written, or where it would replace a file the bench did not write: an
 * existing --json is replaced only when it is an earlier bench's results (a
 * JSON object with date, machine and a results array, as both the bench's
 * and --decode's records are), never some other file of the user's.
 */
export function checkWritable(file: string): void {
  const problem = outputFileProblem(file, true);
  if (problem !== null) throw new ScaledotError('E_IO', `bench: --json ${file} cannot be written: ${problem}`);
  if (existsSync(file) && !isBenchRecord(file)) {
    throw new ScaledotError('E_IO', `bench: --json ${file} exists and is not a scaledot bench result; refusing to replace it: give another path, or move the file`);
  }
}

/** Whether `file` reads as a bench results record (read only when it is under 64 MiB: a record is far smaller). */
function isBenchRecord(file: string): boolean {
  try {
    if (statSync(file).size > 64 * 2 ** 20) return false;
    const record: unknown = JSON.parse(readFileSync(file, 'utf8'));
    return typeof record === 'object' && record !== null && 'date' in record && 'machine' in record && 'results' in record && Array.isArray(record.results);
  } catch {
    return false;
  }
}

interface Group {
  impls: string[];
  shape: string;
  direction: Direction;
}

/** Every group's rows, each run by `run`, and the ceilings measured with them. */
async function runGroups(groups: Group[], options: BenchOptions, run: (spec: CaseSpec) => Promise<CaseOutput>,
  progress: ((line: string) => void) | null): Promise<{ results: BenchRow[]; ceilings: Ceiling[] }> {
  // In a page the trials always sit between the runs: it has no RSS to keep them out of.
  const between = options.interleave || options.browser !== undefined;
  const results: BenchRow[] = [];
  const ceilings: Ceiling[] = [];
  const started = Date.now();
  for (const [index, g] of groups.entries()) {
    progress?.(`[${index + 1}/${groups.length}] ${g.impls.join(',')} ${g.shape} ${g.direction} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
    // Interleaved, the ceiling takes its turn between the timed runs in the case's process (or page); one case
    // per process, it is measured here just before, so its worker threads stay out of the case's peak RSS.
    const ceilingMs = options.quick ? 200 : 400;
    const spec: CaseSpec = {
      ...g, targetMs: options.quick ? 1000 : 6000, maxReps: options.quick ? 5 : 15,
      // Interleaved, each turn is a burst of 3 calls (one cold, two timed); one
      // case per process keeps single calls, so its peak RSS is one call's.
      burst: options.interleave ? 3 : 1,
      ...(options.ceiling && between ? { ceilingMs } : {}),
      ...(options.simd128 ? { simd128: true } : {}),
    };
    const before = options.ceiling && !between ? await measureCeiling(3, ceilingMs) : null;
    const loadAvg1m = os.loadavg()[0];
    const output = await run(spec);
    const ceiling = output.ceiling ?? before;
    if (ceiling) ceilings.push(ceiling);
    output.results.forEach((result, i) => results.push({
      impl: g.impls[i], shape: g.shape, direction: g.direction, loadAvg1m, result,
      ceilingGflops: ceiling?.gflops ?? null, ceilingPercent: ceilingPercent(result, ceiling?.gflops ?? null),
    }));
  }
  return { results, ceilings };
}

/**
 * Runs every implementation × shape × direction, each in a child process
 * (or, with interleave, each shape × direction), measures the ceiling before
 * and after, writes the record whole to JSON and returns it with its table.
 * With browser, each group runs in a freshly loaded page of one headless
 * Chromium (browser.ts), which measures its own ceiling between the runs.
 */
export async function runBench(options: BenchOptions, progress: ((line: string) => void) | null): Promise<{ record: BenchRecord; text: string; file: string }> {
  const groups = options.shapes.flatMap((shape) => options.directions.flatMap((direction) =>
    options.interleave ? [{ impls: options.impls, shape, direction }] : options.impls.map((impl) => ({ impls: [impl], shape, direction }))));
  const browser = options.browser === undefined ? null : await openBenchBrowser(options.browser);
  let measured: { results: BenchRow[]; ceilings: Ceiling[] };
  try {
    measured = await runGroups(groups, options, browser ? (spec) => browser.run(spec) : async (spec) => runChild(spec), progress);
  } finally {
    await browser?.close();
  }
  const { results, ceilings } = measured;
  const trials = ceilings.flatMap((c) => c.trials);
  const ceiling: BenchRecord['ceiling'] = ceilings.length === 0 ? null : {
    gflops: Math.max(...trials), trials, threads: ceilings[0].threads, op: ceilings[0].op,
    placement: options.interleave || browser ? 'between the timed runs' : 'before each case',
  };

  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const environment = browser?.environment ?? `node ${process.version}`;
  const record: BenchRecord = {
    date: new Date().toISOString(),
    machine: { cpu, cores: os.cpus().length, memoryGiB: os.totalmem() / 1024 ** 3, node: process.version, platform: `${os.platform()} ${os.arch()}` },
    environment,
    quick: options.quick,
    interleave: options.interleave,
    simd128: options.simd128 === true,
    ceiling,
    peers: Object.fromEntries(PEER_PACKAGES.map((p) => [p, peerVersion(p)])),
    results,
  };
  const ours = new Set(benchImpls().filter((i) => i.group === 'scaledot').map((i) => i.name));
  const lines = [
    `scaledot bench: ${cpu}, ${os.cpus().length} cores, ${browser ? `${environment} (headless, cross-origin isolated)` : `Node ${process.version}`}${options.quick ? ', --quick' : ''}${options.interleave ? ', --interleave' : ''}${options.simd128 ? ', --simd128' : ''}`,
    'GFLOP/s: 4·heads·pairs·d forward, 10·heads·pairs·d backward (pairs = N², or N(N+1)/2 causal); extra MiB: peak RSS minus RSS with the inputs allocated' +
      (browser ? ' (a page cannot read its RSS: -)' : ''),
    formatCeiling(ceiling),
    '',
    formatTable(results),
  ];
  const ratios = formatRatios(results, ours);
  if (ratios.length > 0) lines.push('', ...ratios);
  if (results.some((r) => r.result.status === 'skipped' && r.result.reason.includes(PEERS_INSTALL_HINT))) {
    lines.push('', `Peers not installed: ${PEERS_INSTALL_HINT}, to compare with onnxruntime (node and web) and TensorFlow.js.`);
  }
  const file = options.json ?? resultsPath(undefined);
  writeFileWhole(file, `${JSON.stringify(record, null, 2)}\n`, 'bench: --json', true);
  return { record, text: lines.join('\n'), file };
}
