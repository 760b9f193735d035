import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT } from '../src/cli/main.js';
import { checkBenchOptions } from '../src/cli/bench.js';
import type { BenchRecord } from '../src/bench/table.js';
import type { DecodeResult } from '../src/bench/decode.js';
import { ScaledotError } from '../src/tensor/index.js';
import { CHROMIUM, browserSkip, repoRoot } from './helpers/browser.js';
import { runCli } from './helpers/cli.js';

const refused = (fn: () => unknown, text: string) =>
  assert.throws(fn, (e: unknown) => e instanceof ScaledotError && e.message.includes(text), text);

describe('scaledot bench --browser: the command line is checked before any case runs', () => {
  it('runs scaledot and onnxruntime-web by default, and refuses Node-only rows and a --chromium without --browser', () => {
    // Any existing file passes the path check; nothing is launched here.
    const plan = checkBenchOptions({ browser: true, chromium: process.execPath, ceiling: true });
    for (const name of ['wasm', 'ort-web-mha', 'ort-web-unfused']) assert.ok(plan.impls.includes(name), name);
    for (const name of ['reference', 'ort-mha', 'ort-unfused', 'tfjs-wasm', 'plain-js-naive']) assert.ok(!plan.impls.includes(name), name);
    assert.equal(plan.browser, process.execPath);
    assert.equal(checkBenchOptions({ ceiling: true }).browser, undefined);
    refused(() => checkBenchOptions({ browser: true, chromium: process.execPath, impl: 'wasm,ort-mha', ceiling: true }), '--impl ort-mha runs in Node only');
    refused(() => checkBenchOptions({ browser: true, chromium: process.execPath, impl: 'tfjs-wasm', ceiling: true }), '--impl tfjs-wasm runs in Node only');
    refused(() => checkBenchOptions({ chromium: process.execPath, ceiling: true }), '--chromium is for --browser runs');
  });

  it('has onnxruntime-web\'s webgpu execution provider rows in the browser only', () => {
    const plan = checkBenchOptions({ browser: true, chromium: process.execPath, ceiling: true });
    for (const name of ['webgpu', 'ort-webgpu-mha', 'ort-webgpu-unfused']) assert.ok(plan.impls.includes(name), name);
    assert.deepEqual(checkBenchOptions({ browser: true, chromium: process.execPath, impl: 'ort-webgpu-unfused', ceiling: true }).impls, ['ort-webgpu-unfused']);
    refused(() => checkBenchOptions({ impl: 'ort-webgpu-mha', ceiling: true }), '--impl ort-webgpu-mha runs in a browser only');
    assert.ok(!checkBenchOptions({ ceiling: true }).impls.some((name) => name.startsWith('ort-webgpu')));
  });

  it('exits 2 naming the way out where Chromium is missing, with nothing on stdout', async () => {
    const missing = join(mkdtempSync(join(tmpdir(), 'scaledot-bench-')), 'no-chromium');
    const r = await runCli(['bench', '--browser', '--chromium', missing, '--quick', '--impl', 'wasm']);
    assert.equal(r.code, EXIT.usage, r.err);
    assert.equal(r.out, '');
    assert.match(r.err, new RegExp(`no Chromium at ${missing}.*--chromium PATH or SCALEDOT_CHROMIUM`));
  });
});

describe('scaledot bench --browser in headless Chromium', { skip: browserSkip }, () => {
  it('runs wasm and tiled in a cross-origin isolated page: right answers, on threads with relaxed SIMD, against the page\'s ceiling', async () => {
    const json = join(mkdtempSync(join(tmpdir(), 'scaledot-bench-')), 'browser.json');
    const r = await runCli(['bench', '--browser', '--chromium', CHROMIUM, '--quick', '--interleave', '--impl', 'wasm,tiled',
      '--shape', '2x256x64', '--direction', 'forward,backward', '--json', json]);
    assert.equal(r.code, EXIT.ok, r.err);
    const record = JSON.parse(readFileSync(json, 'utf8')) as BenchRecord;
    assert.match(record.environment, /^chromium \d+\.\d+\.\d+\.\d+$/);
    assert.match(r.out, new RegExp(`${record.environment} \\(headless, cross-origin isolated\\)`));
    // The page measures its own ceiling between the runs, on Web Workers, relaxed SIMD like the attention module.
    assert.equal(record.ceiling?.op, 'relaxed-madd');
    assert.equal(record.ceiling?.placement, 'between the timed runs');
    assert.ok(record.ceiling!.trials.length >= 3 && record.ceiling!.trials.every((g) => g > 0), JSON.stringify(record.ceiling));
    assert.deepEqual(record.results.map((row) => `${row.impl} ${row.direction}`), ['wasm forward', 'tiled forward', 'wasm backward', 'tiled backward']);
    for (const row of record.results) {
      const result = row.result;
      assert.equal(result.status, 'ok', JSON.stringify(result));
      if (result.status !== 'ok') continue;
      assert.ok(result.gflops > 0 && result.reps >= 3, JSON.stringify(result));
      // float32 attention of unit-variance inputs against the float64 formula.
      assert.ok(result.maxError < 1e-5, `${row.impl} ${row.direction}: max error ${result.maxError}`);
      assert.equal(result.peakRssMiB, null);
      assert.ok(row.ceilingPercent !== null && row.ceilingPercent > 0, `${row.impl}: ${row.ceilingPercent}`);
      if (row.impl !== 'wasm') continue;
      // The path the page took, and proof that its Web Workers did part of the work.
      assert.match(result.note, /^float32, wasm-relaxed-simd-threads, \d+ threads, \d+ worker tasks/);
      assert.ok(Number(/(\d+) worker tasks/.exec(result.note)![1]) > 0, result.note);
    }
  });
});

describe('scaledot bench --browser: webgpu rows', { skip: browserSkip }, () => {
  it('runs webgpu in the page (SwiftShader here): right answers, and the note says what the figures are worth', async () => {
    const json = join(mkdtempSync(join(tmpdir(), 'scaledot-bench-')), 'browser.json');
    const r = await runCli(['bench', '--browser', '--chromium', CHROMIUM, '--quick', '--impl', 'webgpu,ort-webgpu-unfused,ort-webgpu-mha',
      '--shape', '1x128x32', '--direction', 'forward,backward', '--json', json]);
    assert.equal(r.code, EXIT.ok, r.err);
    const record = JSON.parse(readFileSync(json, 'utf8')) as BenchRecord;
    assert.deepEqual(record.results.map((row) => `${row.impl} ${row.direction}`), [
      'webgpu forward', 'ort-webgpu-unfused forward', 'ort-webgpu-mha forward', 'webgpu backward', 'ort-webgpu-unfused backward', 'ort-webgpu-mha backward',
    ]);
    const byName = (name: string, direction: string) => record.results.find((row) => row.impl === name && row.direction === direction)!.result;
    assert.deepEqual(byName('ort-webgpu-mha', 'backward'), { status: 'skipped', reason: 'onnxruntime-web runs inference only (no backward)' });
    const peersInstalled = existsSync(join(repoRoot, 'tools/bench/peers/node_modules/onnxruntime-web'));
    for (const name of ['ort-webgpu-unfused', 'ort-webgpu-mha']) {
      const result = byName(name, 'forward');
      if (!peersInstalled) {
        assert.equal(result.status, 'skipped', JSON.stringify(result));
        continue;
      }
      assert.equal(result.status, 'ok', JSON.stringify(result));
      if (result.status !== 'ok') continue;
      assert.match(result.note, /webgpu execution provider on \S+ \S+/);
      if (/swiftshader/.test(result.note)) assert.match(result.note, /these figures say nothing about a GPU/);
      // A row that is off says so in its note, so its time is not read as the time of a right answer.
      assert.equal(/^WRONG ANSWERS/.test(result.note), result.maxError > 1e-3, `${name}: ${result.maxError} ${result.note}`);
    }
    for (const row of record.results.filter((x) => x.impl === 'webgpu')) {
      const result = row.result;
      assert.equal(result.status, 'ok', JSON.stringify(result));
      if (result.status !== 'ok') continue;
      assert.ok(result.maxError < 1e-5, `webgpu ${row.direction}: max error ${result.maxError}`);
      assert.match(result.note, /^float32 WGSL on \S+ \S+/);
      // This machine has no GPU: the adapter is SwiftShader, and the table must say its timings mean nothing.
      if (/swiftshader/.test(result.note)) assert.match(result.note, /these figures say nothing about a GPU/);
    }
    assert.match(r.out, /webgpu .*float32 WGSL on/);
  });
});

describe('scaledot bench --browser --decode in headless Chromium', { skip: browserSkip }, () => {
  it('times every decode row in the page against onnxruntime-web and the read ceiling measured on its Web Workers', async () => {
    const json = join(mkdtempSync(join(tmpdir(), 'scaledot-bench-')), 'decode.json');
    // A child process: --decode ends with process.exit (onnxruntime-web's threads would keep it alive), which runCli's in-process main would pass on to the test runner.
    const main = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
    const child = spawnSync(process.execPath, ['--import', 'tsx', main, 'bench', '--decode', '--browser', '--chromium', CHROMIUM, '--shape', 'decode-4/2x300x8', '--rounds', '1', '--json', json], {
      encoding: 'utf8', timeout: 300_000, env: { ...process.env, NODE_OPTIONS: '' },
    });
    const r = { code: child.status, out: child.stdout, err: child.stderr };
    assert.equal(r.code, EXIT.ok, r.err);
    const record = JSON.parse(readFileSync(json, 'utf8')) as { environment: string; results: DecodeResult[] };
    assert.match(record.environment, /^chromium \d+\.\d+\.\d+\.\d+, wasm-relaxed-simd-threads$/);
    assert.match(r.out, /^scaledot bench --decode --browser: .*chromium \d+/);
    const [result] = record.results;
    assert.ok(result.ceilingGbps > 0 && result.ceilingTrials.length === 1, JSON.stringify(result.ceilingTrials));
    const rows = Object.fromEntries(result.rows.map((row) => [row.name, row]));
    for (const name of ['scaledot', 'scaledot-cache', 'copy', 'ort-web-unfused', 'ort-web-gqa-past']) assert.ok(rows[name]?.ms > 0, `${name}: ${JSON.stringify(rows[name])}`);
    assert.match(rows['scaledot-cache'].note, /^wasm-relaxed-simd-threads, \d+ threads, K and V resident$/);
    assert.ok(rows['scaledot-cache-bf16']?.ms > 0, JSON.stringify(rows['scaledot-cache-bf16']));
    assert.match(rows['scaledot-cache-bf16'].note, /^wasm-relaxed-simd-threads, \d+ threads, K and V resident in bfloat16 \(2-byte values counted\)$/);
    // The peers' answers against scaledot's, measured in the page.
    for (const name of ['ort-web-unfused', 'ort-web-gqa-past']) {
      const diff = Number(/max abs diff from scaledot (\S+)$/.exec(rows[name].note)?.[1]);
      assert.ok(diff < 1e-5, `${name}: ${rows[name].note}`);
    }
  });

  it('refuses --chromium without --browser', async () => {
    const r = await runCli(['bench', '--decode', '--chromium', CHROMIUM, '--shape', 'decode-4/2x300x8']);
    assert.equal(r.code, EXIT.usage, r.err);
    assert.match(r.err, /--chromium is for --browser runs/);
  });
});
