import { createKvCache, randn, scaledDotProductAttention, ScaledotError, type Tensor } from '../index.js';
import { residentBf16Offset, residentOffset, wasmAttentionInfo } from '../attention/index.js';
import { median } from '../lab/stats.js';
import { groupQueryAttentionDecodeModel, multiHeadAttentionDecodeModel } from './onnx-decode-model.js';
import { multiHeadAttentionModel, unfusedAttentionModel } from './onnx-model.js';
import type { Ort, OrtTensor } from './peers.js';

/**
 * The decoding benchmark (`scaledot bench --decode`): one step of generation,
 * L query rows against a cache of S keys, timed interleaved in one process
 * against onnxruntime-web, a memory copy and the memory-read ceiling
 * (bandwidth.ts). Decoding is bound by reading K and V, so the figure is the
 * GB/s of K and V read (bytes each kv head holds once ÷ time) and its share
 * of the ceiling measured between the timed runs.
 *
 * Rows: scaledot as a user calls it with plain tensors (the default path:
 * K and V are copied into the kernels' memory per call), scaledot over a
 * createKvCache (K and V already there), the same over a cache stored in
 * bfloat16 (storage: 'bfloat16': half the bytes to read, its GB/s counted
 * from those 2-byte values), onnxruntime-web's unfused graph and
 * its MultiHeadAttention (L query rows against S keys; under GQA both take K
 * and V repeated to the query heads, as a graph exported with repeat_kv
 * does), at L = 1 its GroupQueryAttention and (Hq = Hkv) MultiHeadAttention
 * with past key and value (the cache of S − 1 keys plus the new one: the
 * ops a model exported for decoding runs; onnx-decode-model.ts), and a
 * Float32Array.set of K and V (read + write counted).
 */

/** "decode-8x4096x128" (8 heads, L = 1), "decode-32/8x4096x128" (GQA: 32 query heads, 8 kv heads), "decode-8x4096x128-l4" (L = 4). */
export interface DecodeShape {
  name: string; hq: number; hkv: number; s: number; e: number; l: number;
}

export const DECODE_SHAPES = ['decode-8x4096x128', 'decode-32/8x4096x128', 'decode-8x32768x128', 'decode-32/8x32768x128'];

export function parseDecodeShape(text: string): DecodeShape {
  const m = /^decode-(\d+)(?:\/(\d+))?x(\d+)x(\d+)(?:-l(\d+))?$/.exec(text.trim());
  const bad = () => new ScaledotError('E_OPTION', `bench: decode shape ${JSON.stringify(text)} is not decode-HQ[/HKV]xSxE[-lL] (e.g. decode-32/8x4096x128)`);
  if (!m) throw bad();
  const [hq, hkv, s, e, l] = [Number(m[1]), Number(m[2] ?? m[1]), Number(m[3]), Number(m[4]), Number(m[5] ?? 1)];
  if (hq < 1 || hkv < 1 || hq % hkv !== 0 || s < 1 || e < 1 || l < 1) throw bad();
  return { name: text.trim(), hq, hkv, s, e, l };
}

export interface DecodeRow { name: string; ms: number; gbps: number; note: string }
export interface DecodeResult { shape: DecodeShape; rows: DecodeRow[]; ceilingGbps: number; ceilingTrials: number[]; kvBytes: number }

type Call = () => unknown;

/**
 * What the benchmark needs from where it runs (Node: decode-run.ts; a page of
 * Chromium: browser-page.ts): onnxruntime-web or why it is missing, a
 * read-ceiling trial over all threads, the quiet wait before each turn, and
 * the threads onnxruntime-web is given (scaledot's pool has as many).
 */
export interface DecodeHost {
  ort: () => { module: Ort } | { missing: string };
  bandwidth: { trial(ms: number): Promise<number> };
  quiet: () => Promise<unknown>;
  threads: number;
}

/** K or V [hkv, s, e] repeated to [hq, s, e] (query head h reads kv head h / group). */
function repeatHeads(x: Float32Array, hq: number, hkv: number, s: number, e: number): Float32Array {
  const out = new Float32Array(hq * s * e);
  for (let h = 0; h < hq; h++) out.set(x.subarray(Math.floor(h / (hq / hkv)) * s * e, (Math.floor(h / (hq / hkv)) + 1) * s * e), h * s * e);
  return out;
}

/** [heads, n, e] → [n, heads·e], the layout MultiHeadAttention takes. */
function headsToRows(x: Float32Array, heads: number, n: number, e: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let h = 0; h < heads; h++) for (let i = 0; i < n; i++) out.set(x.subarray((h * n + i) * e, (h * n + i + 1) * e), (i * heads + h) * e);
  return out;
}

export async function ortCalls(sh: DecodeShape, q: Tensor, k: Tensor, v: Tensor, host: DecodeHost, expected: Float32Array): Promise<{ calls: Record<string, Call>; notes: Record<string, string>; close: () => Promise<void> }> {
  const loaded = host.ort();
  const threads = host.threads;
  if ('missing' in loaded) return { calls: {}, notes: { 'ort-web': loaded.missing }, close: async () => {} };
  const ort = loaded.module;
  if (ort.env) ort.env.wasm.numThreads = threads;
  const kr = repeatHeads(k.data as Float32Array, sh.hq, sh.hkv, sh.s, sh.e);
  const vr = repeatHeads(v.data as Float32Array, sh.hq, sh.hkv, sh.s, sh.e);
  const dims = { batch: 1, heads: sh.hq, l: sh.l, s: sh.s, d: sh.e, causal: false };
  const calls: Record<string, Call> = {};
  const notes: Record<string, string> = {};
  const sessions: { release(): Promise<void> }[] = [];
  const graphs: [string, Uint8Array, Record<string, OrtTensor>][] = [
    ['ort-web-unfused', unfusedAttentionModel(dims), {
      q: new ort.Tensor('float32', q.data as Float32Array, [1, sh.hq, sh.l, sh.e]),
      k: new ort.Tensor('float32', kr, [1, sh.hq, sh.s, sh.e]), v: new ort.Tensor('float32', vr, [1, sh.hq, sh.s, sh.e]),
    }],
  ];
  // Under GQA its GroupQueryAttention (below) is the op to compare; MultiHeadAttention would need K and V repeated once more.
  if (sh.hq === sh.hkv) {
    graphs.push(['ort-web-mha', multiHeadAttentionModel(dims), {
      query: new ort.Tensor('float32', headsToRows(q.data as Float32Array, sh.hq, sh.l, sh.e), [1, sh.l, sh.hq * sh.e]),
      key: new ort.Tensor('float32', headsToRows(kr, sh.hq, sh.s, sh.e), [1, sh.s, sh.hq * sh.e]),
      value: new ort.Tensor('float32', headsToRows(vr, sh.hq, sh.s, sh.e), [1, sh.s, sh.hq * sh.e]),
    }]);
  }
  if (sh.l === 1) {
    // The cache holds keys 0..S−2; key S−1 is the step's new one.
    const past = (x: Float32Array) => {
      const out = new Float32Array(sh.hkv * (sh.s - 1) * sh.e);
      for (let h = 0; h < sh.hkv; h++) out.set(x.subarray(h * sh.s * sh.e, (h * sh.s + sh.s - 1) * sh.e), h * (sh.s - 1) * sh.e);
      return out;
    };
    const last = (x: Float32Array) => {
      const out = new Float32Array(sh.hkv * sh.e);
      for (let h = 0; h < sh.hkv; h++) out.set(x.subarray((h * sh.s + sh.s - 1) * sh.e, (h + 1) * sh.s * sh.e), h * sh.e);
      return out;
    };
    const kd = k.data as Float32Array;
    const vd = v.data as Float32Array;
    const dims4 = [1, sh.hkv, sh.s - 1, sh.e];
    const step = {
      query: new ort.Tensor('float32', q.data as Float32Array, [1, 1, sh.hq * sh.e]),
      key: new ort.Tensor('float32', last(kd), [1, 1, sh.hkv * sh.e]), value: new ort.Tensor('float32', last(vd), [1, 1, sh.hkv * sh.e]),
      past_key: new ort.Tensor('float32', past(kd), dims4), past_value: new ort.Tensor('float32', past(vd), dims4),
    };
    const g = { hq: sh.hq, hkv: sh.hkv, past: sh.s - 1, d: sh.e };
    graphs.push(['ort-web-gqa-past', groupQueryAttentionDecodeModel(g), {
      ...step, seqlens_k: new ort.Tensor('int32', Int32Array.of(sh.s - 1), [1]), total_sequence_length: new ort.Tensor('int32', Int32Array.of(sh.s), []),
    }]);
    if (sh.hq === sh.hkv) graphs.push(['ort-web-mha-past', multiHeadAttentionDecodeModel(g), step]);
  }
  for (const [name, model, feeds] of graphs) {
    try {
      // Errors only: the past graphs' declared present shapes draw a warning on every run.
      const session = await ort.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all', logSeverityLevel: 3 });
      const out = (await session.run(feeds)).output.data;
      sessions.push(session as unknown as { release(): Promise<void> });
      calls[name] = () => session.run(feeds);
      // A fast wrong answer must show: the output against scaledot's (MultiHeadAttention's rows are [L, Hq·d], the same order only at L = 1).
      let diff = 0;
      if (sh.l === 1 || name === 'ort-web-unfused') for (let i = 0; i < expected.length; i++) diff = Math.max(diff, Math.abs(out[i] - expected[i]));
      const repeated = name.endsWith('past') || sh.hq === sh.hkv ? '' : `, K and V repeated to ${sh.hq} heads`;
      notes[name] = `${ort.env?.wasm.numThreads} wasm threads${repeated}${sh.l === 1 || name === 'ort-web-unfused' ? `, max abs diff from scaledot ${diff.toExponential(1)}` : ''}`;
    } catch (err) {
      notes[name] = `fails: ${(err as Error).message.split('\n')[0].slice(0, 100)}`;
    }
  }
  return { calls, notes, close: async () => { for (const s of sessions) await s.release(); } };
}

/**
 * Times every row of one shape in turn, `rounds` times (the order rotating
 * each round; a quiet wait, then a burst of 3 calls of which the last 2 are
 * timed), with one trial of the read ceiling per round.
 */
export async function decodeBench(sh: DecodeShape, rounds: number, host: DecodeHost): Promise<DecodeResult> {
  const q = randn([1, sh.hq, sh.l, sh.e], { seed: 1 });
  const k = randn([1, sh.hkv, sh.s, sh.e], { seed: 2 });
  const v = randn([1, sh.hkv, sh.s, sh.e], { seed: 3 });
  const cache = createKvCache({ batch: 1, heads: sh.hkv, headDim: sh.e, maxLength: sh.s });
  cache.append(k, v);
  const bf16Cache = createKvCache({ batch: 1, heads: sh.hkv, headDim: sh.e, maxLength: sh.s, storage: 'bfloat16' });
  bf16Cache.append(k, v);
  const gqa = { enableGqa: sh.hq !== sh.hkv };
  const copyTarget = new Float32Array(k.size + v.size);
  const calls: Record<string, Call> = {
    scaledot: () => scaledDotProductAttention(q, k, v, gqa),
    'scaledot-cache': () => scaledDotProductAttention(q, cache.keys, cache.values, { ...gqa, keyLengths: cache.lengths }),
    'scaledot-cache-bf16': () => scaledDotProductAttention(q, bf16Cache.keys, bf16Cache.values, { ...gqa, keyLengths: bf16Cache.lengths }),
  };
  const ortRows = await ortCalls(sh, q, k, v, host, scaledDotProductAttention(q, k, v, gqa).data as Float32Array);
  Object.assign(calls, ortRows.calls);
  calls.copy = () => { copyTarget.set(k.data, 0); copyTarget.set(v.data, k.size); };
  const kvBytes = (k.size + v.size) * 4;
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(calls).map((name) => [name, []]));
  const trials: number[] = [];
  const names = Object.keys(calls);
  for (const name of names) for (let i = 0; i < 3; i++) await calls[name](); // warm-up
  for (let r = 0; r < rounds; r++) {
    for (let t = 0; t < names.length; t++) {
      const name = names[(t + r) % names.length];
      await host.quiet();
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        await calls[name]();
        if (i > 0) times[name].push(performance.now() - t0);
      }
    }
    await host.quiet();
    trials.push(await host.bandwidth.trial(200));
  }
  await ortRows.close();
  const info = wasmAttentionInfo();
  const rows = names.map((name) => {
    const ms = median(times[name]);
    // The copy reads and writes every byte: both count, as a memory copy's rate is usually quoted.
    const bf16 = name === 'scaledot-cache-bf16';
    const bytes = name === 'copy' ? 2 * kvBytes : bf16 ? kvBytes / 2 : kvBytes;
    const resident = bf16 ? residentBf16Offset(bf16Cache.keys.data as Float32Array) !== null : residentOffset(cache.keys.data as Float32Array) !== null;
    const where = name === 'scaledot' ? ', K and V copied in per call'
      : resident ? `, K and V resident${bf16 ? ' in bfloat16 (2-byte values counted)' : ''}` : ', the cache could not be resident: copied in per call';
    const note = name.startsWith('scaledot') ? `${info.path}, ${info.threads} threads${where}` : name === 'copy' ? 'Float32Array.set of K and V, read + write' : ortRows.notes[name];
    return { name, ms, gbps: bytes / (ms / 1000) / 1e9, note };
  });
  for (const [name, note] of Object.entries(ortRows.notes)) if (!(name in calls)) rows.push({ name, ms: NaN, gbps: NaN, note });
  return { shape: sh, rows, ceilingGbps: Math.max(...trials), ceilingTrials: trials, kvBytes };
}

/** The results as Markdown: ms, GB/s of K+V, % of the read ceiling, and the faster onnxruntime-web graph's time over each row's. */
export function decodeTable(results: DecodeResult[]): string {
  const lines = ['| shape | row | ms | K+V GB/s | % of read ceiling | faster ort-web ÷ row | note |', '|---|---|---|---|---|---|---|'];
  for (const r of results) {
    const ort = r.rows.filter((x) => x.name.startsWith('ort-web') && Number.isFinite(x.ms)).map((x) => x.ms);
    const best = ort.length > 0 ? Math.min(...ort) : NaN;
    for (const row of r.rows) {
      const pct = row.name === 'copy' || !Number.isFinite(row.ms) ? '-' : `${((100 * row.gbps) / r.ceilingGbps).toFixed(0)}%`;
      const ratio = Number.isFinite(best) && Number.isFinite(row.ms) && row.name !== 'copy' ? `${(best / row.ms).toFixed(2)}x` : '-';
      lines.push(`| ${r.shape.name} | ${row.name} | ${Number.isFinite(row.ms) ? row.ms.toFixed(2) : '-'} | ${Number.isFinite(row.gbps) ? row.gbps.toFixed(1) : '-'} | ${pct} | ${ratio} | ${row.note} |`);
    }
    lines.push(`| ${r.shape.name} | read ceiling | | ${r.ceilingGbps.toFixed(1)} | 100% | | best of ${r.ceilingTrials.length} trials, ${(r.kvBytes / 2 ** 20).toFixed(0)} MiB of K+V |`);
  }
  return lines.join('\n');
}
