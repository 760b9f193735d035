import { listAttentionImpls, wasm as wasmControls, webgpu } from '../index.js';
import { pageBandwidthPool } from './bandwidth-page.js';
import { runCases, type CaseHost, type CaseOutput, type CaseSpec } from './case.js';
import { pageCeilingPool } from './ceiling-page.js';
import { decodeBench, parseDecodeShape, type DecodeResult } from './decode.js';
import { ORT_WEBGPU_ROWS, onnxImpl, type OrtLoader, type OrtWebGpu } from './impls-onnx.js';
import { scaledotImpl } from './impls-scaledot.js';
import type { Ort } from './peers.js';
import { WRONG_ANSWERS } from './table.js';

/**
 * The benchmark's page side, bundled for Chromium by browser.ts: the same
 * case loop (case.ts), scaledot's backends and onnxruntime-web's two graphs,
 * in a cross-origin isolated page, so both run their WebAssembly on Web
 * Workers over shared memory. browser.ts calls scaledotBench.run once per
 * freshly loaded page.
 */

/** Where browser.ts serves the files the page loads. */
export interface PageConfig {
  /** Folder URL of scaledot's wasm/ (attention*.wasm). */
  wasmBase: string;
  /** onnxruntime-web's ES module entry (its dist/ served beside it), or why it is not installed. */
  ort: { entry: string; webgpuEntry: string } | { missing: string };
}

async function loadOrt(config: PageConfig, entry: 'entry' | 'webgpuEntry'): Promise<OrtLoader> {
  if ('missing' in config.ort) {
    const missing = config.ort.missing;
    return () => ({ missing });
  }
  if (entry === 'webgpuEntry' && !webgpu.info().available) {
    const missing = `no WebGPU in this page: ${webgpu.info().reason}`;
    return () => ({ missing });
  }
  try {
    const module = (await import(config.ort[entry])) as Ort;
    return () => ({ module });
  } catch (err) {
    const missing = `onnxruntime-web does not load in the page: ${(err as Error).message}`;
    return () => ({ missing });
  }
}

async function run(spec: CaseSpec, config: PageConfig): Promise<CaseOutput> {
  const wasm = await wasmControls.init({ baseUrl: config.wasmBase });
  // The webgpu rows run where the page has a device; elsewhere they are skipped with the reason.
  await webgpu.init();
  const ort = await loadOrt(config, 'entry');
  const ortGpu: OrtLoader = spec.impls.some((name) => ORT_WEBGPU_ROWS.includes(name)) ? await loadOrt(config, 'webgpuEntry') : () => ({ missing: 'not asked for' });
  const gpu: OrtWebGpu = { ep: 'webgpu', device: gpuDevice };
  // As many threads as scaledot's pool: one per core the browser reports.
  const threads = wasm.threads > 0 ? wasm.threads : navigator.hardwareConcurrency;
  const ceiling = spec.ceilingMs ? await pageCeilingPool(config.wasmBase, navigator.hardwareConcurrency) : null;
  const host: CaseHost = {
    impls: [
      ...listAttentionImpls().map(scaledotImpl),
      onnxImpl('ort-web-mha', 'onnxruntime-web', true, ort, threads),
      onnxImpl('ort-web-unfused', 'onnxruntime-web', false, ort, threads),
      onnxImpl(ORT_WEBGPU_ROWS[0], 'onnxruntime-web', true, ortGpu, threads, gpu),
      onnxImpl(ORT_WEBGPU_ROWS[1], 'onnxruntime-web', false, ortGpu, threads, gpu),
    ],
    // A page cannot read its process's resident memory.
    rss: () => null,
    peakRss: () => null,
    ...(ceiling ? { ceilingPool: () => ceiling } : {}),
    // A message to itself: the event loop turns without setTimeout's clamp to 4 ms.
    yieldToHost: () => new Promise<void>((resolve) => {
      const channel = new MessageChannel();
      channel.port1.onmessage = () => resolve();
      channel.port2.postMessage(null);
    }),
    // A page cannot read its CPU time: a fixed pause instead, longer than
    // onnxruntime-web's threads were seen spinning after a call in Node (20-40 ms).
    quiet: () => new Promise<null>((resolve) => setTimeout(() => resolve(null), PAGE_QUIET_MS)),
  };
  return flagWrongAnswers(await runCases(spec, host));
}

/**
 * A float32 attention of unit-variance inputs is within 1e-5 of the float64
 * formula on every correct row (bench-browser.test.ts); onnxruntime-web's
 * webgpu MultiHeadAttention was seen far off on SwiftShader, so a row off by
 * more than WRONG_ERROR says it, since its time is then not for the same result.
 */
function flagWrongAnswers(output: CaseOutput): CaseOutput {
  const results = output.results.map((r) => (r.status === 'ok' && r.maxError > WRONG_ERROR
    ? { ...r, note: `${WRONG_ANSWERS} (max abs err ${r.maxError.toExponential(1)} > ${WRONG_ERROR}): its time is not for the same result; ${r.note}` }
    : r));
  return { ...output, results };
}

const WRONG_ERROR = 1e-3;

/** The adapter the page's WebGPU rows ran on, as the scaledot webgpu rows name it (impls-scaledot.ts). */
function gpuDevice(): string {
  const adapter = webgpu.info().adapter;
  const cpu = adapter?.architecture === 'swiftshader' ? ' (SwiftShader runs WGSL on the CPU: these figures say nothing about a GPU)' : '';
  return `${adapter?.vendor ?? '?'} ${adapter?.architecture ?? '?'}${cpu}`;
}

/** The page's stand-in for the quiet wait (see quiet above). */
const PAGE_QUIET_MS = 60;

/**
 * `scaledot bench --browser --decode`: one decode shape (decode.ts) in the
 * page, scaledot against onnxruntime-web's decode graphs, with the read
 * ceiling measured on Web Workers between the rounds.
 */
async function runDecode(shape: string, rounds: number, bandwidthBytes: number, config: PageConfig): Promise<DecodeResult> {
  const wasm = await wasmControls.init({ baseUrl: config.wasmBase });
  const ort = await loadOrt(config, 'entry');
  const threads = wasm.threads > 0 ? wasm.threads : navigator.hardwareConcurrency;
  const pool = await pageBandwidthPool(config.wasmBase, navigator.hardwareConcurrency, bandwidthBytes);
  try {
    const pause = () => new Promise<null>((resolve) => setTimeout(() => resolve(null), PAGE_QUIET_MS));
    return await decodeBench(parseDecodeShape(shape), rounds, { ort, bandwidth: pool, quiet: pause, threads });
  } finally {
    await pool.close();
  }
}

(globalThis as { scaledotBench?: unknown }).scaledotBench = { run, runDecode };
