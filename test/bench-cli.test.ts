import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT } from '../src/cli/main.js';
import { checkBenchOptions } from '../src/cli/bench.js';
import { checkWritable } from '../src/bench/harness.js';
import { writeFileWhole } from '../src/node/output-file.js';
import { QUICK_SHAPES, FULL_SHAPES } from '../src/bench/shapes.js';
import { WRONG_ANSWERS, ceilingPercent, formatCeiling, formatRatios, formatTable, type BenchRow } from '../src/bench/table.js';
import { ScaledotError } from '../src/tensor/index.js';
import { relaxedSimdSupported } from '../src/attention/index.js';
import { runCli, type CliRun } from './helpers/cli.js';

/** The CLI in this process, output captured: only for command lines refused before any work. */
const cli = (args: string[]): Promise<CliRun> => runCli(args);

const refused = (fn: () => unknown, flag: string) =>
  assert.throws(fn, (e: unknown) => e instanceof ScaledotError && e.code === 'E_OPTION' && e.message.includes(flag));

describe('scaledot bench: the command line is checked before any case runs', () => {
  it('refuses an unknown or empty --impl, a malformed --shape, a wrong --direction and an empty --json, naming the flag', () => {
    refused(() => checkBenchOptions({ impl: 'wasm,nope', ceiling: true }), '--impl nope');
    refused(() => checkBenchOptions({ impl: ' , ', ceiling: true }), '--impl is empty');
    refused(() => checkBenchOptions({ shape: '8x1024', ceiling: true }), '8x1024');
    refused(() => checkBenchOptions({ shape: '0x1024x64', ceiling: true }), '0x1024x64');
    refused(() => checkBenchOptions({ direction: 'sideways', ceiling: true }), '--direction');
    refused(() => checkBenchOptions({ json: ' ', ceiling: true }), '--json');
  });

  it('refuses --simd128 with --browser (Chromium\'s default path is relaxed) and with --decode (always the default path)', async () => {
    refused(() => checkBenchOptions({ simd128: true, browser: true, ceiling: true }), '--simd128');
    const r = await cli(['bench', '--decode', '--simd128']);
    assert.equal(r.code, EXIT.usage, r.err);
    assert.match(r.err, /--simd128 does not apply to --decode/);
  });

  it('fills in the defaults: every implementation but reference, the full or quick shapes, both directions', () => {
    const full = checkBenchOptions({ ceiling: true });
    assert.ok(!full.impls.includes('reference'));
    for (const name of ['wasm', 'ort-web-mha', 'ort-web-unfused', 'ort-mha', 'tfjs-wasm']) assert.ok(full.impls.includes(name), name);
    assert.deepEqual(full.shapes, FULL_SHAPES);
    assert.deepEqual(full.directions, ['forward', 'backward']);
    assert.equal(full.interleave, false);
    const quick = checkBenchOptions({ quick: true, direction: 'forward,forward', impl: 'wasm', interleave: true, ceiling: false });
    assert.deepEqual(quick.shapes, QUICK_SHAPES);
    assert.deepEqual(quick.directions, ['forward']);
    assert.deepEqual(quick.impls, ['wasm']);
    assert.equal(quick.interleave, true);
    assert.equal(quick.ceiling, false);
  });

  it('exits 2 with the reason on stderr and nothing on stdout, for its own checks and for commander\'s', async () => {
    const blocked = join(mkdtempSync(join(tmpdir(), 'scaledot-bench-')), 'file');
    writeFileSync(blocked, 'not a folder');
    for (const args of [['bench', '--json', join(blocked, 'out.json')], ['bench', '--impl', 'nope'], ['bench', '--shape', 'big'], ['bench', '--direction', 'up'], ['bench', '--bogus'], ['bench', '--impl']]) {
      const r = await cli(args);
      assert.equal(r.code, EXIT.usage, `${args.join(' ')}: ${r.err}`);
      assert.equal(r.out, '', args.join(' '));
      assert.notEqual(r.err, '', args.join(' '));
    }
  });

  it('checks a --json under folders that do not exist yet without making them: a run stopped before its write leaves none behind', () => {
    const dir = mkdtempSync(join(tmpdir(), 'scaledot-bench-'));
    const json = join(dir, 'new', 'sub', 'out.json');
    checkWritable(json);
    assert.equal(existsSync(join(dir, 'new')), false, 'the check left the folders it probed with');
    writeFileWhole(json, '{}\n', 'bench: --json', true); // the run's write makes them
    assert.equal(readFileSync(json, 'utf8'), '{}\n');
  });

  it('refuses to replace a --json file it did not write, before any case runs, and leaves it as it was (with --decode too)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'scaledot-bench-'));
    const mine = join(dir, 'package.json');
    writeFileSync(mine, '{"name": "mine"}\n');
    for (const args of [['bench', '--json', mine], ['bench', '--decode', '--json', mine]]) {
      const r = await cli(args);
      assert.equal(r.code, EXIT.usage, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, /exists and is not a scaledot bench result; refusing to replace it/);
      assert.equal(readFileSync(mine, 'utf8'), '{"name": "mine"}\n');
    }
  });
});

interface ChildRecord { simd128: boolean; results: { result: { status: string; note?: string } }[]; ceiling: { op: string } }

/** `bench` on one tiny wasm case in a child node given no engine flag; its stdout and the record it wrote. */
function benchChild(extra: string[]): { stdout: string; record: ChildRecord } {
  const json = join(mkdtempSync(join(tmpdir(), 'scaledot-bench-')), 'out.json');
  const main = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
  const r = spawnSync(process.execPath, ['--import', 'tsx', main, 'bench', ...extra, '--impl', 'wasm', '--shape', '1x64x8', '--direction', 'forward', '--json', json], {
    encoding: 'utf8', timeout: 120_000, env: { ...process.env, NODE_OPTIONS: '' },
  });
  assert.equal(r.status, 0, r.stderr);
  return { stdout: r.stdout, record: JSON.parse(readFileSync(json, 'utf8')) as ChildRecord };
}

describe('scaledot bench as a command of its own', () => {
  it('runs the relaxed-SIMD kernels and ceiling on every Node (a V8 flag on Node 20), and says so in the row', () => {
    // node itself gets no flag: the command must turn relaxed SIMD on from inside.
    const { record } = benchChild([]);
    assert.equal(record.results[0].result.status, 'ok');
    assert.match(record.results[0].result.note ?? '', /wasm-relaxed-simd/);
    assert.equal(record.ceiling.op, 'relaxed-madd');
  });

  // Node 22+ validates relaxed SIMD by default: its default path is the relaxed one, and --simd128 is refused there.
  // (Read as this file loads, before any test here turns the flag on.)
  const relaxedByDefault = relaxedSimdSupported();
  it('with --simd128 runs Node 20\'s default path: the SIMD128 kernels against the mul + add ceiling, and says so', { skip: relaxedByDefault && 'this Node has relaxed SIMD by default' }, () => {
    const { stdout, record } = benchChild(['--simd128']);
    assert.match(stdout, /--simd128/);
    assert.equal(record.results[0].result.status, 'ok');
    assert.match(record.results[0].result.note ?? '', /wasm-simd128/);
    assert.equal(record.ceiling.op, 'mul+add');
    assert.equal(record.simd128, true);
  });
});

const ok = (medianMs: number, gflops: number, extraMiB: number | null) => ({
  status: 'ok' as const, medianMs, minMs: medianMs, reps: 5, gflops, peakRssMiB: 150, extraMiB, maxError: 2.5e-7, note: 'n',
});

describe('the bench table: % of ceiling and ratios from fixed figures', () => {
  it('divides GFLOP/s by the ceiling, and gives null where nothing ran or no ceiling was measured', () => {
    assert.equal(ceilingPercent(ok(10, 20, 1), 40), 50);
    assert.equal(ceilingPercent(ok(10, 20, 1), null), null);
    assert.equal(ceilingPercent({ status: 'skipped', reason: 'x' }, 40), null);
  });

  it('prints the percentage in its column, a dash for what was not measured, and the reason of a skipped row', () => {
    const rows: BenchRow[] = [
      { impl: 'wasm', shape: '8x1024x64', direction: 'forward', loadAvg1m: 3.25, result: ok(12.5, 42.9, null), ceilingGflops: 65.6, ceilingPercent: 65.4 },
      { impl: 'ort-web-mha', shape: '8x1024x64', direction: 'backward', loadAvg1m: 3, result: { status: 'skipped', reason: 'inference only' }, ceilingGflops: 65.6, ceilingPercent: null },
    ];
    const lines = formatTable(rows).split('\n');
    const cells = (line: string) => line.split('|').slice(1, -1).map((c) => c.trim());
    const header = cells(lines[0]);
    const wasm = cells(lines[2]);
    assert.equal(wasm[header.indexOf('% of ceiling')], '65%');
    assert.equal(wasm[header.indexOf('GFLOP/s')], '42.90');
    assert.equal(wasm[header.indexOf('extra MiB')], '-');
    assert.equal(wasm[header.indexOf('cpu ms after')], '-');
    const spinning = cells(formatTable([{ ...rows[0], result: { ...ok(3.7, 36, null), cpuAfterMs: 31.24 } }]).split('\n')[2]);
    assert.equal(spinning[header.indexOf('cpu ms after')], '31.2');
    assert.match(wasm[header.indexOf('notes')], /load 3\.3/);
    const skipped = cells(lines[3]);
    assert.equal(skipped[header.indexOf('% of ceiling')], '-');
    assert.equal(skipped[header.indexOf('notes')], 'skipped: inference only');
  });

  it('states each peer\'s speed against the fastest of ours, per shape and direction', () => {
    const row = (impl: string, ms: number): BenchRow => ({ impl, shape: '8x256x64', direction: 'forward', loadAvg1m: 1, result: ok(ms, 1, 1), ceilingGflops: null, ceilingPercent: null });
    const lines = formatRatios([row('tiled', 40), row('wasm', 10), row('ort-web-unfused', 25), row('tfjs-wasm', 30)], new Set(['tiled', 'wasm']));
    assert.deepEqual(lines, ['8x256x64 forward: wasm runs at 2.50x the speed of ort-web-unfused, 3.00x the speed of tfjs-wasm']);
  });

  it('leaves a row flagged WRONG ANSWERS (far from the float64 formula) out of the ratios, ours or a peer', () => {
    const row = (impl: string, ms: number, wrong = false): BenchRow => {
      const result = ok(ms, 1, 1);
      return { impl, shape: '8x256x64', direction: 'forward', loadAvg1m: 1, result: wrong && result.status === 'ok' ? { ...result, note: `${WRONG_ANSWERS} (max abs err 4.4e-1 > 0.001): ${result.note}` } : result, ceilingGflops: null, ceilingPercent: null };
    };
    const lines = formatRatios([row('webgpu', 5, true), row('wasm', 10), row('ort-webgpu-mha', 2, true), row('ort-webgpu-unfused', 30)], new Set(['webgpu', 'wasm']));
    assert.deepEqual(lines, ['8x256x64 forward: wasm runs at 3.00x the speed of ort-webgpu-unfused']);
  });

  it('names the ceiling it divides by, or says it was not measured', () => {
    const text = formatCeiling({ gflops: 33, trials: [31, 27, 33, 29, 30], threads: 2, op: 'mul+add', placement: 'between the timed runs' });
    assert.match(text, /^ceiling: 33\.0 GFLOP\/s of f32x4 mul\+add on 2 threads, in the best of its loop forms \(the best of 5 trials between the timed runs, range 27\.0-33\.0;/);
    assert.match(formatCeiling(null), /not measured/);
  });
});
