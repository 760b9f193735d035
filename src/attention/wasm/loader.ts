import { ScaledotError } from '../../tensor/index.js';
import { KernelRuntime, MAX_PAGES } from './dispatch.js';
import { coreCount, isNode, nodeHost, sharedMemoryAvailable } from './platform.js';
import { relaxedSimdNote } from './relaxed.js';
import { startNodeWorkers, startWebWorkers, type WorkerStarter } from './workers.js';

/**
 * Module choice and loading for impl 'wasm': which of the four builds of
 * assembly/ this engine runs (threads or not, relaxed SIMD or not), loaded
 * once per thread of JavaScript — synchronously in Node, after
 * initWasmAttention() in a browser — and what the public API reports about it.
 */

export interface WasmAttentionInfo {
  /** Whether impl 'wasm' can run here. */
  available: boolean;
  /** Whether the engine runs the module's SIMD128 code (false where no module loaded). */
  simd: boolean;
  /** Whether the loaded module uses relaxed-SIMD fused multiply-add (Node >= 22, Chrome >= 114; Node 20 with --experimental-wasm-relaxed-simd). */
  relaxedSimd: boolean;
  /** Threads a large job runs on (the caller's plus workers'); 0 when unavailable. */
  threads: number;
  /** Bytes of WebAssembly memory held now (it grows to the largest problem seen and is reused). */
  memoryBytes: number;
  /** Tasks (blocks of work) that worker threads have run since loading: 0 means every call ran on the calling thread. */
  workerTasks: number;
  /** The path in one word: 'wasm-simd128' or 'wasm-relaxed-simd', with '-threads' when threads > 1; or 'unavailable'. */
  path: WasmPath;
  /** Why threads, relaxed SIMD or the whole path are missing, or null. */
  reason: string | null;
  /** Which multiply-add the loaded module uses and why: relaxed SIMD (and how it came to be on) or SIMD128 mul + add (and why not relaxed). */
  simdNote: string;
}

export type WasmPath =
  | 'wasm-relaxed-simd-threads' | 'wasm-relaxed-simd' | 'wasm-simd128-threads' | 'wasm-simd128' | 'unavailable';

interface LoadState {
  runtime: KernelRuntime | null;
  relaxed: boolean;
  reason: string | null;
}

let state: LoadState | undefined;

// One entry per module built by assembly/build.mjs, best first. Each URL is a
// literal `new URL(..., import.meta.url)` so that bundlers (Vite) emit the file.
const MODULES = {
  threads: [
    { relaxed: true, url: () => new URL('../../../wasm/attention-relaxed.wasm', import.meta.url) },
    { relaxed: false, url: () => new URL('../../../wasm/attention.wasm', import.meta.url) },
  ],
  single: [
    { relaxed: true, url: () => new URL('../../../wasm/attention-single-relaxed.wasm', import.meta.url) },
    { relaxed: false, url: () => new URL('../../../wasm/attention-single.wasm', import.meta.url) },
  ],
} as const;

interface Compiled {
  module: WebAssembly.Module;
  relaxed: boolean;
  /** Why the relaxed-SIMD module was passed over, if it was. */
  notRelaxed: string | null;
}

/** Reads a module's bytes (null if missing) and compiles them; sync in Node, precomputed in a browser. */
interface ModuleSource {
  read(url: URL): BufferSource | null;
  compile(url: URL, bytes: BufferSource): WebAssembly.Module;
}

/** The best module of a kind that this engine validates, or why there is none. */
function pickModule(kind: 'threads' | 'single', source: ModuleSource): Compiled | string {
  let reason = '';
  for (const candidate of MODULES[kind]) {
    const url = candidate.url();
    const bytes = source.read(url);
    if (bytes === null) {
      reason = `${url.pathname} is missing: run npm run build:wasm`;
      continue;
    }
    if (!WebAssembly.validate(bytes)) {
      reason = candidate.relaxed
        ? 'relaxed SIMD unsupported by this engine (Node 20: enableRelaxedSimd() or --experimental-wasm-relaxed-simd): using mul + add'
        : 'this engine does not validate WebAssembly SIMD128 (or threads)';
      continue;
    }
    return { module: source.compile(url, bytes), relaxed: candidate.relaxed, notRelaxed: candidate.relaxed ? null : reason };
  }
  return reason;
}

function newMemory(shared: boolean): WebAssembly.Memory {
  return new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared } as WebAssembly.MemoryDescriptor);
}

/**
 * Loads the threaded module (with workers) where memory can be shared and
 * there is more than one core, else the single-threaded one; a null runtime
 * with the reason where neither validates or the files are missing.
 */
function load(source: ModuleSource, startWorkers: WorkerStarter): LoadState {
  const cores = coreCount();
  let threadReason: string;
  if (!sharedMemoryAvailable()) threadReason = 'no SharedArrayBuffer (a browser page must be cross-origin isolated)';
  else if (cores < 2) threadReason = 'one core';
  else {
    const picked = pickModule('threads', source);
    if (typeof picked !== 'string') {
      const memory = newMemory(true);
      const start = startWorkers(picked.module, memory);
      const runtime = new KernelRuntime(picked.module, memory, cores, start);
      return { runtime, relaxed: picked.relaxed, reason: start === null ? 'one thread: workers cannot start here' : picked.notRelaxed };
    }
    threadReason = picked;
  }
  const picked = pickModule('single', source);
  if (typeof picked === 'string') return { runtime: null, relaxed: false, reason: picked };
  const runtime = new KernelRuntime(picked.module, newMemory(false), 1, null);
  return { runtime, relaxed: picked.relaxed, reason: `one thread: ${threadReason}` };
}

const nodeSource: ModuleSource = {
  read(url) {
    try {
      return new Uint8Array(nodeHost!.fs.readFileSync(url));
    } catch {
      return null;
    }
  },
  compile: (_url, bytes) => new WebAssembly.Module(bytes),
};

/** The loaded kernels, or null when they cannot run here (see wasmAttentionInfo().reason). */
export function kernelRuntime(): KernelRuntime | null {
  if (state === undefined) {
    if (nodeHost !== null) {
      try {
        state = load(nodeSource, startNodeWorkers);
      } catch (err) {
        state = { runtime: null, relaxed: false, reason: `loading failed: ${(err as Error).message}` };
      }
    } else if (isNode) {
      state = { runtime: null, relaxed: false, reason: 'this Node lacks process.getBuiltinModule (Node >= 20.16 has it)' };
    } else {
      // A browser must compile asynchronously first: initWasmAttention().
      return null;
    }
  }
  return state.runtime;
}

/** Which WebAssembly path runs here, and if none, why. Loads the kernels in Node if needed. */
export function wasmAttentionInfo(): WasmAttentionInfo {
  const runtime = kernelRuntime();
  if (state === undefined || runtime === null) {
    const reason = state?.reason ?? 'not initialised: call initWasmAttention() first (browsers compile WebAssembly asynchronously)';
    return {
      available: false, simd: false, relaxedSimd: false, threads: 0, memoryBytes: 0, workerTasks: 0, path: 'unavailable', reason,
      simdNote: 'no module loaded',
    };
  }
  const threads = runtime.threadLimit;
  const base = state.relaxed ? 'wasm-relaxed-simd' : 'wasm-simd128';
  return {
    available: true, simd: true, relaxedSimd: state.relaxed, threads, memoryBytes: runtime.memory.buffer.byteLength,
    workerTasks: runtime.workerTasks,
    path: threads > 1 ? `${base}-threads` : base, reason: state.reason, simdNote: relaxedSimdNote(state.relaxed),
  };
}

/**
 * Caps the threads impl 'wasm' uses (1 = the calling thread only), for
 * benchmarks and for sharing cores with other work. Results do not depend on it.
 */
export function setWasmAttentionThreads(threads: number): WasmAttentionInfo {
  if (!Number.isInteger(threads) || threads < 1) {
    throw new ScaledotError('E_ARG', `setWasmAttentionThreads: threads is ${String(threads)}; expected an integer >= 1`);
  }
  const runtime = kernelRuntime();
  if (runtime !== null) runtime.threadLimit = Math.min(threads, runtime.poolThreads);
  return wasmAttentionInfo();
}

/**
 * Loads the kernels asynchronously: needed once in a browser (where the main
 * thread may not compile modules synchronously), harmless in Node. `baseUrl`
 * overrides where the .wasm files are fetched from (a folder URL ending in
 * '/'); by default they sit next to this package. Web Workers are used when
 * the page is cross-origin isolated (SharedArrayBuffer), else one thread.
 */
export async function initWasmAttention(options: { baseUrl?: string | URL } = {}): Promise<WasmAttentionInfo> {
  if (state !== undefined || nodeHost !== null) return wasmAttentionInfo();
  const bytes = new Map<string, ArrayBuffer | null>();
  const modules = new Map<string, WebAssembly.Module>();
  const locate = (url: URL): URL => (options.baseUrl === undefined ? url : new URL(url.pathname.split('/').pop()!, options.baseUrl));
  for (const candidate of [...MODULES.threads, ...MODULES.single]) {
    const url = locate(candidate.url());
    try {
      const response = await fetch(url);
      const body = response.ok ? await response.arrayBuffer() : null;
      bytes.set(candidate.url().href, body);
      if (body !== null && WebAssembly.validate(body)) modules.set(candidate.url().href, await WebAssembly.compile(body));
    } catch {
      bytes.set(candidate.url().href, null);
    }
  }
  const prefetched: ModuleSource = {
    read: (url) => bytes.get(url.href) ?? null,
    compile: (url) => modules.get(url.href)!,
  };
  try {
    state = load(prefetched, startWebWorkers);
  } catch (err) {
    state = { runtime: null, relaxed: false, reason: `loading failed: ${(err as Error).message}` };
  }
  return wasmAttentionInfo();
}
