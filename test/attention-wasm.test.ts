import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { build } from 'vite';
import {
  ScaledotError, Tensor, randn, scaledDotProductAttentionBackward, scaledDotProductAttentionWithLse,
  tensor, zeros, type AttentionOptions,
} from '../src/index.js';
import { setWasmAttentionThreads, wasmAttentionInfo } from '../src/attention/wasm/index.js';
import { dropoutKeeps } from '../src/attention/problem.js';
import { refAttention, refAttentionBackward } from './helpers/attention-reference.js';
import { refOptions } from './helpers/ref-options.js';
import { assertClose, gradTolerance, lseTolerance, maxAbs, outputTolerance } from './helpers/close.js';

// Edge cases of impl 'wasm' that the shared suite (attention.test.ts, run
// for every backend) does not reach: its tile and padding boundaries, the
// polynomial exp at long rows, the dropout hash ported to AssemblyScript,
// threads, memory reuse, the fallbacks when SharedArrayBuffer or SIMD is
// missing (in child processes), and Web Workers in Chromium. The kernels'
// blocks are 64 query rows by 64 keys (assembly/blocks.ts), and e, ev are
// padded to multiples of 8.

const WASM: AttentionOptions = { impl: 'wasm' };

/** Forward and backward of impl 'wasm' against the float64 formula, with the shared suite's error bounds. */
function checkAgainstFormula(q: Tensor, k: Tensor, v: Tensor, options: AttentionOptions, what: string): void {
  const [l, e] = q.shape.slice(-2);
  const [s, ev] = v.shape.slice(-2);
  const { output, lse } = scaledDotProductAttentionWithLse(q, k, v, { ...options, ...WASM });
  const exact = refAttention(q, k, v, refOptions(options));
  assertClose(output.data, exact.output, (i) => outputTolerance('float32', s, e, exact.output[i], exact.absSum[i], exact.scoreMag[Math.floor(i / ev)], maxAbs(v.data)), `${what}: output`);
  assertClose(lse.data, exact.lse, (i) => lseTolerance('float32', s, e, exact.lse[i], exact.scoreMag[i]), `${what}: lse`);
  const dO = randn(output.shape, { seed: 99 });
  const grads = scaledDotProductAttentionBackward(q, k, v, dO, { ...options, ...WASM });
  const want = refAttentionBackward(q, k, v, dO, refOptions(options));
  const mag = maxAbs(exact.scoreMag);
  for (const name of ['dq', 'dk', 'dv'] as const) {
    const scale = maxAbs(want[name]);
    assertClose(grads[name].data, want[name], (i) => gradTolerance('float32', l + s + e + ev, mag, want[name][i], scale), `${what}: ${name}`);
  }
}

describe('impl wasm: loading', () => {
  it('loads a SIMD module on this Node and says which path it took', () => {
    const info = wasmAttentionInfo();
    assert.equal(info.available, true, `unavailable: ${info.reason}`);
    assert.equal(info.simd, true);
    assert.match(info.path, /^wasm-(simd128|relaxed-simd)(-threads)?$/);
    assert.equal(info.path.endsWith('-threads'), info.threads > 1);
    assert.equal(info.path.startsWith('wasm-relaxed-simd'), info.relaxedSimd);
  });

  it('refuses float64 (its arithmetic is float32), with the reason in the error', () => {
    const q = randn([1, 2, 3], { seed: 1, dtype: 'float64' });
    assert.throws(() => scaledDotProductAttentionWithLse(q, q, q, WASM), (err: unknown) => err instanceof ScaledotError && err.code === 'E_OPTION' && /wasm/.test(err.message));
  });

  it('rejects a thread count that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, NaN]) {
      assert.throws(() => setWasmAttentionThreads(bad), (err: unknown) => err instanceof ScaledotError && err.code === 'E_ARG');
    }
  });
});

describe('impl wasm: tile and padding edges', () => {
  // l and s on both sides of the 64-row and 64-key block edges, e and ev around the 8-lane padding.
  const shapes: Array<[number, number, number, number]> = [
    [1, 1, 1, 1], [63, 63, 8, 3], [64, 64, 13, 16], [65, 65, 7, 9], [129, 130, 16, 8], [5, 200, 3, 24],
    [5, 0, 4, 3],
  ];
  for (const [l, s, e, ev] of shapes) {
    it(`matches the formula at l ${l}, s ${s}, e ${e}, ev ${ev}, plain and causal`, () => {
      const q = randn([2, l, e], { seed: l });
      const k = randn([2, s, e], { seed: s });
      const v = randn([2, s, ev], { seed: e + ev });
      checkAgainstFormula(q, k, v, {}, `l ${l} s ${s}`);
      checkAgainstFormula(q, k, v, { isCausal: true }, `causal l ${l} s ${s}`);
    });
  }

  it('matches the formula at e 0 (every score 0: the score gemm still needs a nonzero k)', () => {
    const q = randn([2, 5, 0], { seed: 1 });
    const k = randn([2, 70, 0], { seed: 2 });
    const v = randn([2, 70, 3], { seed: 3 });
    checkAgainstFormula(q, k, v, { scale: 1 }, 'e 0');
    checkAgainstFormula(q, k, v, { scale: 1, isCausal: true }, 'causal e 0');
  });

  it('matches the formula with GQA, an additive mask broadcast over heads, dropout and a negative scale', () => {
    const q = randn([2, 4, 45, 12], { seed: 5 });
    const k = randn([2, 2, 70, 12], { seed: 6 });
    const v = randn([2, 2, 70, 10], { seed: 7 });
    const attnMask = randn([45, 70], { seed: 8 });
    checkAgainstFormula(q, k, v, { enableGqa: true, attnMask, dropoutP: 0.2, seed: 3, scale: -0.4, isCausal: true }, 'gqa mask dropout');
  });

  it('gives fully masked rows on either side of a block edge zeros, lse -Infinity and zero dq, never NaN', () => {
    const [l, s] = [70, 100];
    const masked = new Set([0, 31, 32, 63, 64, 69]);
    const maskData = Array.from({ length: l * s }, (_, i) => (masked.has(Math.floor(i / s)) ? 0 : 1));
    const attnMask = tensor(maskData, [l, s], { dtype: 'bool' });
    const q = randn([1, l, 16], { seed: 1 });
    const k = randn([1, s, 16], { seed: 2 });
    const v = randn([1, s, 8], { seed: 3 });
    const { output, lse } = scaledDotProductAttentionWithLse(q, k, v, { attnMask, ...WASM });
    const grads = scaledDotProductAttentionBackward(q, k, v, randn([1, l, 8], { seed: 4 }), { attnMask, ...WASM });
    for (let i = 0; i < l; i++) {
      const rowOut = output.data.subarray(i * 8, i * 8 + 8);
      const rowDq = grads.dq.data.subarray(i * 16, i * 16 + 16);
      if (masked.has(i)) {
        assert.equal(lse.data[i], -Infinity, `lse[${i}]`);
        assert.ok(rowOut.every((x) => x === 0) && rowDq.every((x) => x === 0), `row ${i} is zero`);
      } else {
        assert.ok(Number.isFinite(lse.data[i]) && rowOut.some((x) => x !== 0), `row ${i} is not masked`);
      }
    }
    for (const name of ['dq', 'dk', 'dv'] as const) assert.ok(grads[name].data.every(Number.isFinite), `${name} finite`);
    checkAgainstFormula(q, k, v, { attnMask }, 'masked rows');
  });
});

describe('impl wasm: numerics', () => {
  it('stays within 1e-5 of the float64 formula over 4096 unit-variance keys, and lse does not drift over 64 key blocks', () => {
    const [l, s, e] = [64, 4096, 64];
    const q = randn([1, l, e], { seed: 11 });
    const k = randn([1, s, e], { seed: 12 });
    const v = randn([1, s, e], { seed: 13 });
    const { output, lse } = scaledDotProductAttentionWithLse(q, k, v, WASM);
    // The plain formula in float64, written out here (refAttention's general indexing is slow at this size).
    const scale = 1 / Math.sqrt(e);
    const scores = new Float64Array(s);
    let worstOut = 0;
    let worstLse = 0;
    let lseBias = 0;
    for (let i = 0; i < l; i++) {
      let max = -Infinity;
      for (let j = 0; j < s; j++) {
        let dot = 0;
        for (let c = 0; c < e; c++) dot += q.data[i * e + c] * k.data[j * e + c];
        scores[j] = scale * dot;
        max = Math.max(max, scores[j]);
      }
      let sum = 0;
      for (let j = 0; j < s; j++) sum += Math.exp(scores[j] - max);
      const lseError = lse.data[i] - (max + Math.log(sum));
      worstLse = Math.max(worstLse, Math.abs(lseError));
      lseBias += lseError / l;
      for (let c = 0; c < e; c++) {
        let o = 0;
        for (let j = 0; j < s; j++) o += (Math.exp(scores[j] - max) / sum) * v.data[j * e + c];
        worstOut = Math.max(worstOut, Math.abs(output.data[i * e + c] - o));
      }
    }
    assert.ok(worstOut <= 1e-5, `output error ${worstOut}`);
    assert.ok(worstLse <= 1e-5, `lse error ${worstLse}`);
    // The running sum is rescaled by 2^(m - m') once per key block: unless 2^0 is exactly 1,
    // the rows' lse errors share a sign and grow with the number of blocks (3.6e-6 here when it was not).
    assert.ok(Math.abs(lseBias) <= 5e-7, `mean lse error ${lseBias}`);
  });

  it('keeps scores near ±1e30 finite forward and backward (score differences of -1e23 must exponentiate to 0)', () => {
    const big = 1e15;
    const q = tensor(Array.from({ length: 3 * 4 }, (_, i) => (i % 2 ? big : -big)), [1, 3, 4]);
    const k = tensor(Array.from({ length: 70 * 4 }, (_, i) => (i % 2 ? big : -big) * (1 + (i % 3) * 1e-7)), [1, 70, 4]);
    const v = randn([1, 70, 5], { seed: 1 });
    const { output, lse } = scaledDotProductAttentionWithLse(q, k, v, WASM);
    const grads = scaledDotProductAttentionBackward(q, k, v, randn([1, 3, 5], { seed: 2 }), WASM);
    assert.ok(output.data.every(Number.isFinite) && lse.data.every(Number.isFinite));
    for (const name of ['dq', 'dk', 'dv'] as const) assert.ok(grads[name].data.every(Number.isFinite), `${name} finite`);
  });
});

describe('impl wasm: dropout', () => {
  it('drops exactly the weights dropoutKeeps drops, across blocks and heads (the hash ported bit for bit)', () => {
    // q = 0 makes every weight 1/s and v = I makes output[i, j] the weight of key j after dropout.
    const [heads, l, s, p, seed] = [2, 100, 150, 0.37, 12345];
    const identity = Array.from({ length: heads * s * s }, (_, i) => (Math.floor(i / s) % s === i % s ? 1 : 0));
    const v = tensor(identity, [heads, s, s]);
    const q = zeros([heads, l, 4]);
    const k = randn([heads, s, 4], { seed: 1 });
    const out = scaledDotProductAttentionWithLse(q, k, v, { dropoutP: p, seed, ...WASM }).output.data;
    let kept = 0;
    for (let row = 0; row < heads * l; row++) {
      for (let j = 0; j < s; j++) {
        const keeps = dropoutKeeps(seed, row, j, p);
        kept += keeps ? 1 : 0;
        assert.equal(out[row * s + j] !== 0, keeps, `row ${row} key ${j}`);
      }
    }
    assert.ok(kept > 0 && kept < heads * l * s, 'some weights kept, some dropped');
  });

  it('drops everything when p is so close to 1 that no 32-bit hash reaches p · 2^32', () => {
    const p = 1 - 2 ** -40;
    const q = randn([1, 5, 4], { seed: 1 });
    const k = randn([1, 9, 4], { seed: 2 });
    const v = randn([1, 9, 3], { seed: 3 });
    const { output, lse } = scaledDotProductAttentionWithLse(q, k, v, { dropoutP: p, seed: 1, ...WASM });
    assert.ok(Array.from({ length: 5 * 9 }, (_, i) => dropoutKeeps(1, Math.floor(i / 9), i % 9, p)).every((x) => !x), 'the reference drops all too');
    assert.ok(output.data.every((x) => x === 0), 'all weights dropped');
    assert.ok(lse.data.every(Number.isFinite), 'lse is of the undropped softmax');
  });
});

describe('impl wasm: threads and memory', () => {
  it('gives the same bytes on one thread and on every core, forward and backward', (t) => {
    const cores = wasmAttentionInfo().threads;
    if (cores < 2) {
      t.skip(`one thread here (${wasmAttentionInfo().reason})`);
      return;
    }
    const q = randn([2, 4, 160, 32], { seed: 1 });
    const k = randn([2, 2, 300, 32], { seed: 2 });
    const v = randn([2, 2, 300, 24], { seed: 3 });
    const dO = randn([2, 4, 160, 24], { seed: 4 });
    const options: AttentionOptions = { isCausal: true, enableGqa: true, dropoutP: 0.1, seed: 5, ...WASM };
    const run = (threads: number) => {
      setWasmAttentionThreads(threads);
      const { output, lse } = scaledDotProductAttentionWithLse(q, k, v, options);
      const grads = scaledDotProductAttentionBackward(q, k, v, dO, options);
      return [output.data, lse.data, grads.dq.data, grads.dk.data, grads.dv.data].map((a) => Array.from(a));
    };
    try {
      const one = run(1);
      const all = run(cores);
      assert.deepEqual(all, one);
      assert.deepEqual(run(cores), all);
    } finally {
      setWasmAttentionThreads(cores);
    }
  });

  it('hands tasks of a large call to worker threads (they start asynchronously: given up to 3 s)', async (t) => {
    if (wasmAttentionInfo().threads < 2) {
      t.skip(`one thread here (${wasmAttentionInfo().reason})`);
      return;
    }
    const x = randn([4, 256, 64], { seed: 1 });
    const before = wasmAttentionInfo().workerTasks;
    for (let attempt = 0; attempt < 60 && wasmAttentionInfo().workerTasks === before; attempt++) {
      scaledDotProductAttentionWithLse(x, x, x, WASM);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(wasmAttentionInfo().workerTasks > before, 'no task ran on a worker');
  });

  it('clears padding between calls: a small padded problem after a large one matches the formula', () => {
    scaledDotProductAttentionWithLse(randn([1, 300, 40], { seed: 1 }), randn([1, 300, 40], { seed: 2 }), randn([1, 300, 40], { seed: 3 }), WASM);
    const q = randn([1, 3, 5], { seed: 4 });
    const k = randn([1, 7, 5], { seed: 5 });
    const v = randn([1, 7, 6], { seed: 6 });
    checkAgainstFormula(q, k, v, {}, 'after a large call');
  });
});

/** Runs `body` (an ES module snippet that may import scaledot as `lib`) in a fresh Node; returns its stdout JSON. */
function inChild(prelude: string, body: string, nodeFlags: string[] = []): { status: number | null; json: Record<string, unknown> | null; stderr: string } {
  // lib: the root's names plus the wasm controls under their own names (the root groups them as \`wasm\`).
  const [root, controls] = ['../src/index.ts', '../src/attention/wasm/index.ts'].map((f) => JSON.stringify(new URL(f, import.meta.url).href));
  const code = `${prelude}\nconst lib = { ...(await import(${root})), ...(await import(${controls})) };\n${body}`;
  const child = spawnSync(process.execPath, [...nodeFlags, '--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 30_000 });
  const last = child.stdout.trim().split('\n').pop() ?? '';
  let json: Record<string, unknown> | null = null;
  try {
    json = JSON.parse(last) as Record<string, unknown>;
  } catch {
    json = null;
  }
  return { status: child.status, json, stderr: child.stderr };
}

describe('impl wasm: in a fresh process', () => {
  it('runs 1x4096x64 in at most 16 MiB of WebAssembly memory, and the process exits with workers started', () => {
    const { status, json, stderr } = inChild('', `
      const x = lib.randn([1, 4096, 64], { seed: 1 });
      lib.scaledDotProductAttention(x, x, x, { impl: 'wasm' });
      console.log(JSON.stringify(lib.wasmAttentionInfo()));
    `);
    assert.equal(status, 0, stderr);
    assert.ok(json !== null, stderr);
    assert.ok((json.memoryBytes as number) <= 16 * 2 ** 20, `memory ${json.memoryBytes}`);
  });

  it('falls back to one thread without SharedArrayBuffer, and says why', () => {
    const { status, json, stderr } = inChild('delete globalThis.SharedArrayBuffer;', `
      const q = lib.randn([2, 40, 8], { seed: 1 });
      const a = lib.scaledDotProductAttention(q, q, q, { impl: 'wasm' });
      const b = lib.scaledDotProductAttention(q, q, q, { impl: 'reference' });
      let err = 0;
      for (let i = 0; i < a.data.length; i++) err = Math.max(err, Math.abs(a.data[i] - b.data[i]));
      console.log(JSON.stringify({ ...lib.wasmAttentionInfo(), err }));
    `);
    assert.equal(status, 0, stderr);
    assert.ok(json !== null, stderr);
    assert.equal(json.available, true);
    assert.equal(json.threads, 1);
    assert.match(json.path as string, /^wasm-(simd128|relaxed-simd)$/);
    assert.match(json.reason as string, /SharedArrayBuffer/);
    assert.ok((json.err as number) < 1e-5, `error ${json.err}`);
  });

  it('takes the relaxed-SIMD module where the engine has it (Node 20: a flag), with the same accuracy', () => {
    const { status, json, stderr } = inChild('', `
      const q = lib.randn([2, 3, 130, 24], { seed: 1 });
      const k = lib.randn([2, 3, 150, 24], { seed: 2 });
      const options = { isCausal: true, dropoutP: 0.2, seed: 3 };
      const a = lib.scaledDotProductAttention(q, k, k, { ...options, impl: 'wasm' });
      const b = lib.scaledDotProductAttention(q, k, k, { ...options, impl: 'reference' });
      const ga = lib.scaledDotProductAttentionBackward(q, k, k, a, { ...options, impl: 'wasm' });
      const gb = lib.scaledDotProductAttentionBackward(q, k, k, a, { ...options, impl: 'reference' });
      const diff = (x, y) => x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0);
      console.log(JSON.stringify({ ...lib.wasmAttentionInfo(), err: diff(a.data, b.data), gradErr: Math.max(diff(ga.dq.data, gb.dq.data), diff(ga.dk.data, gb.dk.data)) }));
    `, Number(process.versions.node.split('.')[0]) < 22 ? ['--experimental-wasm-relaxed-simd'] : []);
    assert.equal(status, 0, stderr);
    assert.ok(json !== null, stderr);
    assert.equal(json.relaxedSimd, true);
    assert.match(json.path as string, /^wasm-relaxed-simd/);
    assert.ok((json.err as number) < 1e-5, `error ${json.err}`);
    assert.ok((json.gradErr as number) < 1e-4, `gradient error ${json.gradErr}`);
  });

  it('enableRelaxedSimd() before the first call loads the relaxed module on this Node, and the info says how', () => {
    const { status, json, stderr } = inChild('', `
      const enabled = lib.enableRelaxedSimd();
      const q = lib.randn([1, 2, 70, 16], { seed: 1 });
      const a = lib.scaledDotProductAttention(q, q, q, { impl: 'wasm' });
      const b = lib.scaledDotProductAttention(q, q, q, { impl: 'reference' });
      const err = a.data.reduce((m, v, i) => Math.max(m, Math.abs(v - b.data[i])), 0);
      console.log(JSON.stringify({ ...lib.wasmAttentionInfo(), enabled, err }));
    `);
    assert.equal(status, 0, stderr);
    assert.ok(json !== null, stderr);
    assert.equal(json.enabled, true);
    assert.equal(json.relaxedSimd, true);
    assert.match(json.simdNote as string, /^relaxed SIMD/);
    // Node 20 needs the flag that enableRelaxedSimd() sets; Node 22+ validates relaxed SIMD itself.
    if (!wasmAttentionInfo().relaxedSimd) assert.match(json.simdNote as string, /enableRelaxedSimd\(\) set/);
    assert.ok((json.err as number) < 1e-5, `error ${json.err}`);
  });

  it('says why it runs mul + add where relaxed SIMD is off, and that a late enableRelaxedSimd() does not swap the module', { skip: wasmAttentionInfo().relaxedSimd ? 'relaxed SIMD is on in this process (by default, or enabled before this suite)' : false }, () => {
    const { status, json, stderr } = inChild('', `
      const before = lib.wasmAttentionInfo();
      lib.enableRelaxedSimd();
      console.log(JSON.stringify({ before: before.simdNote, after: lib.wasmAttentionInfo() }));
    `);
    assert.equal(status, 0, stderr);
    assert.ok(json !== null, stderr);
    assert.match(json.before as string, /^SIMD128 mul \+ add: .*flag/);
    const after = json.after as { relaxedSimd: boolean; simdNote: string };
    assert.equal(after.relaxedSimd, false);
    assert.match(after.simdNote, /after the module had loaded/);
  });

  it('is unavailable without SIMD: supports() is false, auto still runs, impl wasm is refused', () => {
    const { status, json, stderr } = inChild('WebAssembly.validate = () => false;', `
      const q = lib.randn([1, 6, 4], { seed: 1 });
      const auto = lib.scaledDotProductAttention(q, q, q);
      let code = null;
      try { lib.scaledDotProductAttention(q, q, q, { impl: 'wasm' }); } catch (e) { code = e.code; }
      console.log(JSON.stringify({ ...lib.wasmAttentionInfo(), autoOk: auto.data.every(Number.isFinite), code }));
    `);
    assert.equal(status, 0, stderr);
    assert.ok(json !== null, stderr);
    assert.equal(json.available, false);
    assert.equal(json.path, 'unavailable');
    assert.match(json.reason as string, /SIMD/);
    assert.equal(json.autoOk, true);
    assert.equal(json.code, 'E_OPTION');
  });
});

// ---------- in a browser: Web Workers over SharedArrayBuffer, or one thread without it ----------

const CHROMIUM = '/usr/bin/chromium';
const inCi = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';
const noBrowser = !existsSync(CHROMIUM) && !inCi ? `${CHROMIUM} not found (apt-get install chromium); under CI=true this fails instead` : false;

/** The page: loads the kernels asynchronously, runs forward and backward, compares with impl 'reference'. */
function pageScript(src: string): string {
  return `
import { randn } from '${src}/tensor/index.ts';
import { scaledDotProductAttention, scaledDotProductAttentionBackward } from '${src}/attention/index.ts';
import { initWasmAttention, wasmAttentionInfo } from '${src}/attention/wasm/index.ts';
const maxDiff = (a, b) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
await initWasmAttention();
const q = randn([2, 4, 200, 32], { seed: 1 });
const k = randn([2, 2, 230, 32], { seed: 2 });
const v = randn([2, 2, 230, 16], { seed: 3 });
const dO = randn([2, 4, 200, 16], { seed: 4 });
const options = { isCausal: true, enableGqa: true, dropoutP: 0.1, seed: 7 };
const fast = scaledDotProductAttention(q, k, v, { ...options, impl: 'wasm' });
const exact = scaledDotProductAttention(q, k, v, { ...options, impl: 'reference' });
const g = scaledDotProductAttentionBackward(q, k, v, dO, { ...options, impl: 'wasm' });
const r = scaledDotProductAttentionBackward(q, k, v, dO, { ...options, impl: 'reference' });
// Workers start (and wake) asynchronously: repeat the call until one has taken a task, for up to 3 s.
let fast2 = fast;
for (let i = 0; i < 30 && (i === 0 || wasmAttentionInfo().workerTasks === 0); i++) {
  await new Promise((resolve) => setTimeout(resolve, 100));
  fast2 = scaledDotProductAttention(q, k, v, { ...options, impl: 'wasm' });
}
window.result = {
  info: wasmAttentionInfo(), isolated: globalThis.crossOriginIsolated === true, sameBytes: fast2.data.every((x, i) => x === fast.data[i]),
  outputError: maxDiff(fast.data, exact.data),
  gradError: Math.max(maxDiff(g.dq.data, r.dq.data), maxDiff(g.dk.data, r.dk.data), maxDiff(g.dv.data, r.dv.data)),
};
`;
}

const MIME: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };

/** A static server for `root`, with or without the headers that make a page cross-origin isolated. */
async function serve(root: string, isolated: boolean): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const path = join(root, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/\/$/, '/index.html'));
    if (!path.startsWith(root) || !existsSync(path)) {
      res.writeHead(404).end();
      return;
    }
    const headers: Record<string, string> = { 'Content-Type': MIME[extname(path)] ?? 'application/octet-stream' };
    if (isolated) Object.assign(headers, { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' });
    res.writeHead(200, headers).end(readFileSync(path));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return { url: `http://127.0.0.1:${address.port}/`, server };
}

describe('impl wasm: in Chromium', { skip: noBrowser }, () => {
  let dir = '';
  let browser: Browser | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'scaledot-wasm-page-'));
    const src = fileURLToPath(new URL('../src', import.meta.url));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><script type="module" src="./main.ts"></script>');
    writeFileSync(join(dir, 'main.ts'), pageScript(src));
    await build({ root: dir, configFile: false, logLevel: 'error', base: './', build: { outDir: join(dir, 'dist'), emptyOutDir: true, target: 'es2022' } });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
  });

  after(async () => {
    await browser?.close();
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });

  for (const isolated of [true, false]) {
    it(isolated ? 'runs on Web Workers in a cross-origin isolated page' : 'runs on one thread in a page without SharedArrayBuffer, and says why', async () => {
      const { url, server } = await serve(join(dir, 'dist'), isolated);
      const page = await browser!.newPage();
      try {
        const errors: string[] = [];
        page.on('pageerror', (err) => errors.push(err.message));
        await page.goto(url);
        await page.waitForFunction(() => (window as unknown as { result?: unknown }).result !== undefined || document.title === 'x', undefined, { timeout: 20_000 }).catch(() => undefined);
        const result = await page.evaluate(() => (window as unknown as { result?: Record<string, unknown> }).result);
        assert.ok(result !== undefined, `the page finished (errors: ${errors.join('; ')})`);
        const info = result.info as { available: boolean; threads: number; path: string; reason: string | null; workerTasks: number };
        assert.equal(result.sameBytes, true, 'the same call gives the same bytes');
        assert.equal(result.isolated, isolated);
        assert.equal(info.available, true, info.reason ?? '');
        if (isolated) {
          assert.match(info.path, /-threads$/);
          assert.ok(info.threads > 1);
          assert.ok(info.workerTasks > 0, 'Web Workers ran some of the tasks');
        } else {
          assert.doesNotMatch(info.path, /-threads$/);
          assert.match(info.reason ?? '', /SharedArrayBuffer/);
          assert.equal(info.workerTasks, 0);
        }
        assert.ok((result.outputError as number) < 1e-5, `output error ${result.outputError}`);
        assert.ok((result.gradError as number) < 1e-4, `gradient error ${result.gradError}`);
      } finally {
        // The page first, then every connection: server.close() alone waits for
        // a keep-alive connection the page still holds (its favicon request
        // could leave one), and hung this test about once in a dozen runs.
        await page.close();
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    });
  }
});
