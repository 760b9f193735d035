import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXPERIMENTS } from '../src/lab/index.js';
import { listAttentionImpls } from '../src/index.js';
import { npyBytes } from './helpers/onnx-graph.js';
import { buildTransformer } from './helpers/onnx-transformer.js';

// The package as a user gets it: the files `npm pack` puts in the tarball,
// installed with npm into an empty folder, used through its three entry
// points and its command. The library is compiled from the current source into
// a staging copy (the worktree's dist/ is neither read nor written), and the
// tarball is packed from there without the prepack build, which builds the
// explainer page too; `npm pack` from a clean clone runs that prepack.

const root = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string; files: string[] };
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

// Under `npm test` the parent npm's run-script variables (npm_package_*, npm_lifecycle_*, its
// prefix) would steer the child npm; only where the cache and registry are is passed on.
const KEPT_NPM_VARIABLES = new Set(['npm_config_cache', 'npm_config_registry', 'npm_config_userconfig']);
const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_') || KEPT_NPM_VARIABLES.has(name.toLowerCase())));

function run(command: string, args: string[], cwd: string): string {
  return execFileSync(command, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('the packed package', () => {
  let staging: string;
  let consumer: string;
  let tarball: string;

  before(() => {
    staging = mkdtempSync(join(tmpdir(), 'scaledot-pack-'));
    consumer = mkdtempSync(join(tmpdir(), 'scaledot-consumer-'));
    for (const entry of ['package.json', 'README.md', 'bin', 'wasm']) cpSync(join(root, entry), join(staging, entry), { recursive: true });
    run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', join(staging, 'dist')], root);
    const [packed] = JSON.parse(run(npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', staging], staging)) as { filename: string }[];
    tarball = join(staging, packed.filename);
    writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    // --prefer-offline: the npm cache serves what it holds; the registry only what it lacks.
    run(npm, ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], consumer);
  });

  after(() => {
    for (const dir of [staging, consumer]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs attention from scaledot and imports scaledot/kernels, scaledot/nn and scaledot/lab', () => {
    writeFileSync(join(consumer, 'use.mjs'), `
      import { randn, scaledDotProductAttention, scaledDotProductAttentionBackward, scaledDotProductAttentionWithLse } from 'scaledot';
      const [q, k, v] = [1, 2, 3].map((seed) => randn([1, 2, 8, 4], { seed }));
      const out = scaledDotProductAttention(q, k, v, { isCausal: true, impl: 'wasm' });
      const saved = scaledDotProductAttentionWithLse(q, k, v, { isCausal: true });
      const { dq } = scaledDotProductAttentionBackward(q, k, v, randn([1, 2, 8, 4], { seed: 4 }), { isCausal: true, saved });
      const kernels = await import('scaledot/kernels');
      const nn = await import('scaledot/nn');
      const lab = await import('scaledot/lab');
      console.log(JSON.stringify({ shape: out.shape, finite: out.data.every(Number.isFinite), dq: dq.shape, kernels: kernels.BACKENDS.map((b) => b.name), nn: typeof nn.Transformer, lab: lab.EXPERIMENTS.map((e) => e.id) }));
    `);
    const result = JSON.parse(run(process.execPath, ['use.mjs'], consumer)) as Record<string, unknown>;
    assert.deepEqual(result, {
      shape: [1, 2, 8, 4], finite: true, dq: [1, 2, 8, 4], kernels: listAttentionImpls(), nn: 'function', lab: EXPERIMENTS.map((e) => e.id), // the packed lab holds the source's experiments
    });
  });

  it('installs the scaledot command, which prints the package version', () => {
    assert.equal(run(join(consumer, 'node_modules/.bin/scaledot'), ['--version'], consumer).trim(), pkg.version);
  });

  it('runs scaledot bench from the installed package, a peer that is not installed reported in its row', () => {
    const out = join(consumer, 'bench.json');
    run(join(consumer, 'node_modules/.bin/scaledot'), ['bench', '--quick', '--impl', 'wasm,ort-web-unfused', '--shape', '2x64x16', '--direction', 'forward', '--no-ceiling', '--json', out], consumer);
    const record = JSON.parse(readFileSync(out, 'utf8')) as { results: { impl: string; result: { status: string; reason?: string; maxError?: number } }[] };
    const [wasm, ortWeb] = record.results;
    assert.equal(wasm.impl, 'wasm');
    assert.equal(wasm.result.status, 'ok');
    assert.ok((wasm.result.maxError ?? Infinity) < 1e-5);
    assert.equal(ortWeb.result.status, 'skipped');
    assert.match(ortWeb.result.reason ?? '', /onnxruntime-web.*npm install/);
  });

  it('inspect MODEL.onnx without ONNX Runtime installed exits 2 saying what to install (scaledot does not depend on it)', () => {
    assert.ok(!Object.keys((pkg as { dependencies?: Record<string, string> }).dependencies ?? {}).some((d) => d.startsWith('onnxruntime')));
    const model = join(consumer, 'm.onnx');
    writeFileSync(model, buildTransformer({ batch: 1, length: 3, width: 4, headDim: 2, padMask: false, seed: 9, layers: [{ heads: 2, scaleAt: 'scores-div' }] }).bytes);
    writeFileSync(join(consumer, 'x.npy'), npyBytes(new Array(12).fill(0.5), [1, 3, 4], '<f4'));
    let failure: { status: number; stderr: string } | null = null;
    try {
      run(join(consumer, 'node_modules/.bin/scaledot'), ['inspect', 'm.onnx', '--input', 'x.npy', '--json', 'never.json'], consumer);
    } catch (err) {
      failure = err as { status: number; stderr: string };
    }
    assert.equal(failure?.status, 2);
    assert.match(failure?.stderr ?? '', /needs ONNX Runtime, which scaledot does not install for you; run `npm install onnxruntime-node` or `npm install onnxruntime-web`/);
    assert.equal(existsSync(join(consumer, 'never.json')), false);
  });

  it('ships only what package.json lists (no source, tests or tooling)', () => {
    const listing = run('tar', ['-tzf', tarball], staging).split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
    const allowed = ['package.json', 'README.md', ...pkg.files];
    const stray = listing.filter((f) => !allowed.some((a) => f === a || f.startsWith(`${a}/`)));
    assert.deepEqual(stray, []);
    for (const needed of ['dist/index.js', 'dist/nn/index.js', 'dist/lab/index.js', 'dist/cli/main.js', 'bin/scaledot.js', 'wasm/attention.wasm', 'wasm/ceiling.wasm', 'dist/bench/case-main.js', 'dist/bench/browser-page.js']) {
      assert.ok(listing.includes(needed), `the tarball lacks ${needed}`);
    }
  });
});
